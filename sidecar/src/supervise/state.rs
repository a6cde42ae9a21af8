//! The exec-mode state machine, pure: inputs in, actions out, no processes involved.
//!
//! ```text
//!            first batch                      child exited
//!   Waiting ─────────────▶ Running ◀──────────────────────── Restarting
//!      │                  │  │  │ env changed: stop signal, arm grace │ ▲
//!      │                  │  │  └─────────────────────────────────────┘ │ grace expired: SIGKILL
//!      │ TERM/INT         │  │ files changed only: reload signal        │
//!      ▼                  │  ▼ TERM/INT: forward                        │
//!    Done ◀── child exited ── Stopping ◀──── TERM/INT: forward ─────────┘
//! ```
//! A child that exits on its own ends the supervisor with the child's exit code (like consul-template and the
//! Vault Agent process supervisor; the kubelet restarts the container). Grace timers carry a generation number so a
//! timer left over from an earlier restart never kills a later child.
use std::time::Duration;

use crate::render::EnvVars;
use crate::signal::Signal;
use crate::sync::Batch;

/// Signals and timing of exec mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecPolicy {
    /// Sent when only files changed (default SIGHUP).
    pub reload_signal: Signal,
    /// Sent to stop the child for a restart (default SIGTERM).
    pub stop_signal: Signal,
    /// How long the child may take to stop before SIGKILL.
    pub grace: Duration,
}

impl Default for ExecPolicy {
    fn default() -> Self {
        Self {
            reload_signal: Signal::HUP,
            stop_signal: Signal::TERM,
            grace: Duration::from_secs(30),
        }
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The sync loop published a batch.
    Batch(Batch),
    /// The supervisor received this signal (SIGTERM/SIGINT) from outside.
    Signal(Signal),
    /// The child exited with this code (128+n when killed by signal n).
    ChildExited(i32),
    /// The grace timer of this generation ran out.
    GraceExpired(u64),
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start the child with this environment added to the supervisor's own.
    Spawn(EnvVars),
    /// Tell the child to reload its files: send it the policy's reload signal.
    Reload,
    /// Stop the child for a restart: send it `signal` (the policy's stop signal) and call back with
    /// [`Input::GraceExpired`] carrying `grace` (a generation number) after the grace period.
    Stop {
        /// The stop signal.
        signal: Signal,
        /// The generation of the grace timer to arm.
        grace: u64,
    },
    /// Pass on a signal the supervisor received (SIGTERM/SIGINT) to the child.
    Forward(Signal),
    /// The child outlived its grace period: SIGKILL.
    Kill,
    /// Exit the supervisor with this code.
    Exit(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Restarting { generation: u64 },
    Stopping { generation: u64 },
    Done,
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct Supervisor {
    policy: ExecPolicy,
    phase: Phase,
    env: EnvVars,
    generation: u64,
}

impl Supervisor {
    /// Nothing started yet.
    pub fn new(policy: ExecPolicy) -> Self {
        Self {
            policy,
            phase: Phase::Waiting,
            env: EnvVars::new(),
            generation: 0,
        }
    }

    /// Whether the supervisor has decided to exit.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Feed one input; returns the actions to perform.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        match (&self.phase, input) {
            (Phase::Done, _) => vec![],
            (Phase::Waiting, Input::Batch(batch)) => {
                self.env = batch.env;
                self.phase = Phase::Running;
                vec![Action::Spawn(self.env.clone())]
            }
            (Phase::Waiting, Input::Signal(signal)) => self.finish(128 + signal.number()),
            (Phase::Running, Input::Batch(batch)) if batch.env_changed && batch.env != self.env => {
                self.env = batch.env;
                self.phase = Phase::Restarting {
                    generation: self.next_generation(),
                };
                vec![Action::Stop {
                    signal: self.policy.stop_signal,
                    grace: self.generation,
                }]
            }
            (Phase::Running, Input::Batch(batch)) if batch.files_changed || batch.env_changed => {
                vec![Action::Reload]
            }
            (Phase::Restarting { .. }, Input::Batch(batch)) => {
                self.env = batch.env;
                vec![]
            }
            (Phase::Running | Phase::Restarting { .. }, Input::Signal(signal)) => {
                self.phase = Phase::Stopping {
                    generation: self.next_generation(),
                };
                vec![Action::Forward(signal)]
            }
            (Phase::Restarting { .. }, Input::ChildExited(_)) => {
                self.phase = Phase::Running;
                vec![Action::Spawn(self.env.clone())]
            }
            (
                Phase::Running | Phase::Stopping { .. } | Phase::Waiting,
                Input::ChildExited(code),
            ) => self.finish(code),
            (Phase::Restarting { generation }, Input::GraceExpired(expired))
                if *generation == expired =>
            {
                vec![Action::Kill]
            }
            (Phase::Stopping { .. }, Input::Signal(signal)) => vec![Action::Forward(signal)],
            (_, Input::Batch(_) | Input::GraceExpired(_)) => vec![],
        }
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn finish(&mut self, code: i32) -> Vec<Action> {
        self.phase = Phase::Done;
        vec![Action::Exit(code)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Value;

    fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect()
    }

    fn batch(
        initial: bool,
        files_changed: bool,
        env_changed: bool,
        vars: &[(&str, &str)],
    ) -> Input {
        Input::Batch(Batch {
            initial,
            files_changed,
            env_changed,
            env: env(vars),
        })
    }

    #[test]
    fn starts_after_the_first_batch_with_its_env() {
        let mut s = Supervisor::new(ExecPolicy::default());
        assert_eq!(
            s.handle(batch(true, true, true, &[("A", "1")])),
            vec![Action::Spawn(env(&[("A", "1")]))]
        );
    }

    #[test]
    fn file_change_reloads_env_change_restarts_gracefully() {
        let mut s = Supervisor::new(ExecPolicy {
            reload_signal: Signal::HUP,
            ..ExecPolicy::default()
        });
        s.handle(batch(true, true, true, &[("A", "1")]));
        assert_eq!(
            s.handle(batch(false, true, false, &[("A", "1")])),
            vec![Action::Reload]
        );
        assert_eq!(
            s.handle(batch(false, true, true, &[("A", "2")])),
            vec![Action::Stop {
                signal: Signal::TERM,
                grace: 1
            }]
        );
        assert_eq!(
            s.handle(batch(false, false, true, &[("A", "3")])),
            vec![],
            "restart already under way"
        );
        assert_eq!(s.handle(Input::GraceExpired(1)), vec![Action::Kill]);
        assert_eq!(
            s.handle(Input::ChildExited(137)),
            vec![Action::Spawn(env(&[("A", "3")]))],
            "latest env wins"
        );
        assert_eq!(
            s.handle(Input::GraceExpired(1)),
            vec![],
            "a stale timer kills nothing"
        );
        assert!(!s.is_done());
    }

    #[test]
    fn forwards_stop_signals_and_exits_with_the_child_code() {
        let mut s = Supervisor::new(ExecPolicy::default());
        s.handle(batch(true, false, false, &[]));
        assert_eq!(
            s.handle(Input::Signal(Signal::INT)),
            vec![Action::Forward(Signal::INT)]
        );
        assert_eq!(
            s.handle(batch(false, true, false, &[])),
            vec![],
            "no reloads while stopping"
        );
        assert_eq!(
            s.handle(Input::Signal(Signal::TERM)),
            vec![Action::Forward(Signal::TERM)]
        );
        assert_eq!(s.handle(Input::ChildExited(130)), vec![Action::Exit(130)]);
        assert!(s.is_done());
        assert_eq!(s.handle(batch(false, true, false, &[])), vec![]);
    }

    #[test]
    fn a_child_that_dies_ends_the_supervisor_and_a_signal_before_start_exits() {
        let mut s = Supervisor::new(ExecPolicy::default());
        s.handle(batch(true, false, false, &[]));
        assert_eq!(s.handle(Input::ChildExited(3)), vec![Action::Exit(3)]);
        let mut waiting = Supervisor::new(ExecPolicy::default());
        assert_eq!(
            waiting.handle(Input::Signal(Signal::TERM)),
            vec![Action::Exit(143)]
        );
    }
}
