//! Exec mode: `configsync sidecar exec [options] -- app args...`, the sidecar as the app's entrypoint.
//!
//! # Theory of operation
//! The decisions live in the pure [`state::Supervisor`]; this module is the thin shell that turns its actions into
//! system calls and the world's events into its inputs:
//! * batches from the sync loop (the first one starts the child with the projected env added to ours);
//! * SIGTERM/SIGINT received by the supervisor, delivered through a channel ([`forward_os_signals`] in production,
//!   plain sends in tests);
//! * child exits, observed with `waitpid` on every SIGCHLD (plus a slow poll as a safety net). When the supervisor
//!   is PID 1 (or a child subreaper) it reaps every exited process, not just its child, so orphans never linger
//!   as zombies;
//! * grace timers armed by the machine.
pub mod state;

use std::io;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use state::{Action, ExecPolicy, Input, Supervisor};

use crate::metrics::Metrics;
use crate::render::EnvVars;
use crate::signal::Signal;
use crate::sync::Batch;

/// How often child exits are polled for in case a SIGCHLD was missed.
const REAP_POLL: Duration = Duration::from_millis(500);

/// Why exec mode could not run the app.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// No command was given after `--`.
    #[error("no command to run: give one after `--`")]
    NoCommand,
    /// The child could not be started.
    #[error("start {program:?}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Signal handling could not be set up.
    #[error("install signal handler: {0}")]
    Signals(#[source] io::Error),
}

/// Supervise `argv` per `policy`, driven by `batches` and `signals`; returns the exit code to exit with.
///
/// # Errors
/// [`SuperviseError`] when the child cannot be started or signals cannot be watched.
pub async fn run_exec(
    argv: &[String],
    policy: ExecPolicy,
    mut batches: mpsc::Receiver<Batch>,
    mut signals: mpsc::Receiver<Signal>,
    metrics: Metrics,
) -> Result<i32, SuperviseError> {
    let (program, args) = argv.split_first().ok_or(SuperviseError::NoCommand)?;
    let mut machine = Supervisor::new(policy);
    let mut sigchld = signal(SignalKind::child()).map_err(SuperviseError::Signals)?;
    let mut poll = tokio::time::interval(REAP_POLL);
    let (mut child, mut grace): (Option<Pid>, Option<(u64, Instant)>) = (None, None);
    let (mut batches_open, mut signals_open) = (true, true);
    // As PID 1 (or a child subreaper) orphans of the app become our children: reap them all.
    let pid1 = std::process::id() == 1 || nix::sys::prctl::get_child_subreaper().unwrap_or(false);
    loop {
        let grace_deadline = grace.map(|(_, at)| at);
        let input = tokio::select! {
            batch = batches.recv(), if batches_open => match batch {
                Some(batch) => Input::Batch(batch),
                None => { batches_open = false; tracing::warn!("sync loop stopped; the app keeps running"); continue }
            },
            received = signals.recv(), if signals_open => match received {
                Some(received) => Input::Signal(received),
                None => { signals_open = false; continue }
            },
            _ = sigchld.recv() => match reap(child, pid1) { Some(code) => Input::ChildExited(code), None => continue },
            _ = poll.tick() => match reap(child, pid1) { Some(code) => Input::ChildExited(code), None => continue },
            () = sleep_until(grace_deadline) => match grace.take() { Some((generation, _)) => Input::GraceExpired(generation), None => continue },
        };
        if matches!(input, Input::ChildExited(_)) {
            child = None;
        }
        for action in machine.handle(input) {
            match action {
                Action::Spawn(env) => child = Some(spawn(program, args, &env)?),
                Action::Reload => {
                    let sent = send(child, policy.reload_signal);
                    count_reload(&metrics, "signal", sent);
                }
                Action::Stop {
                    signal,
                    grace: generation,
                } => {
                    let sent = send(child, signal);
                    count_reload(&metrics, "restart", sent);
                    grace = Some((generation, Instant::now() + policy.grace));
                }
                Action::Forward(signal) => {
                    send(child, signal);
                }
                Action::Kill => {
                    send(child, Signal::KILL);
                }
                Action::Exit(code) => return Ok(code),
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn spawn(program: &str, args: &[String], env: &EnvVars) -> Result<Pid, SuperviseError> {
    let mut command = std::process::Command::new(program);
    command.args(args);
    for (name, value) in env {
        command.env(name, String::from_utf8_lossy(value.as_bytes()).as_ref());
    }
    // Own process group: a terminal Ctrl-C reaches the app once, forwarded by the supervisor.
    command.process_group(0);
    let child = command.spawn().map_err(|source| SuperviseError::Spawn {
        program: program.to_string(),
        source,
    })?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    tracing::info!(pid, program, vars = env.len(), "started app");
    Ok(Pid::from_raw(pid))
}

/// Signal the child, if there is one; `None` without a child, else whether the signal was delivered.
fn send(child: Option<Pid>, sig: Signal) -> Option<bool> {
    let pid = child?;
    let outcome = nix::sys::signal::kill(pid, sig.to_nix());
    match &outcome {
        Ok(()) => tracing::info!(pid = pid.as_raw(), %sig, "signalled app"),
        Err(error) => tracing::warn!(pid = pid.as_raw(), %sig, %error, "could not signal app"),
    }
    Some(outcome.is_ok())
}

/// Count a reload or restart attempt (`reloads_total{method}`) when there was a child to signal.
fn count_reload(metrics: &Metrics, method: &'static str, sent: Option<bool>) {
    if let Some(success) = sent {
        metrics.reload(method, success);
    }
}

/// Collect exited processes; returns the child's exit code if it was among them.
fn reap(child: Option<Pid>, pid1: bool) -> Option<i32> {
    let target = if pid1 { Pid::from_raw(-1) } else { child? };
    let mut child_code = None;
    loop {
        let (pid, code) = match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (pid, code),
            Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, 128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return child_code,
            Ok(_) => continue,
        };
        if Some(pid) == child {
            child_code = Some(code);
        }
        if !pid1 {
            return child_code;
        }
    }
}

/// Deliver SIGTERM and SIGINT received by this process into a channel for [`run_exec`].
///
/// # Errors
/// [`SuperviseError::Signals`] when the handlers cannot be installed.
pub fn forward_os_signals() -> Result<mpsc::Receiver<Signal>, SuperviseError> {
    let mut term = signal(SignalKind::terminate()).map_err(SuperviseError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(SuperviseError::Signals)?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                Some(()) = term.recv() => Signal::TERM,
                Some(()) = int.recv() => Signal::INT,
                else => return,
            };
            if tx.send(received).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}
