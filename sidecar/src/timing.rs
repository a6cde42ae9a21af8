//! Time policy, kept pure: the `--wait min[,max]` quiet period applied ([`Debounce`]) and `--splay`. Durations and
//! the `min[,max]` grammar itself are [`configsync_core::timing`]'s, re-exported here.
//!
//! The quiet period works like consul-template's `wait`: each change restarts a `min` timer, but the batch fires at
//! the latest `max` after its first change, so a source that never stops changing still gets published.
//! [`Debounce`] takes the current time as an argument, so tests drive it with explicit instants.
use std::time::Duration;

use tokio::time::Instant;

pub use configsync_core::timing::{TimingError, Wait, parse_duration};

/// Debounce state: when the pending batch, if any, is due.
#[derive(Debug, Clone)]
pub struct Debounce {
    wait: Wait,
    first_change: Option<Instant>,
    deadline: Option<Instant>,
}

impl Debounce {
    /// Nothing pending.
    pub fn new(wait: Wait) -> Self {
        Self {
            wait,
            first_change: None,
            deadline: None,
        }
    }

    /// A change happened at `now`.
    pub fn change(&mut self, now: Instant) {
        let first = *self.first_change.get_or_insert(now);
        self.deadline = Some((now + self.wait.min).min(first + self.wait.max));
    }

    /// When the pending batch is due, if one is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// `true` (once) when a batch is pending and due at `now`; the state is then reset.
    pub fn fire(&mut self, now: Instant) -> bool {
        match self.deadline {
            Some(deadline) if now >= deadline => {
                (self.first_change, self.deadline) = (None, None);
                true
            }
            _ => false,
        }
    }
}

/// A random delay in `[0, splay]`, so replicas do not all reload at the same moment.
pub fn splay_delay(splay: Duration) -> Duration {
    let millis = u64::try_from(splay.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(rand::random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn debounce_waits_for_quiet_but_not_past_max() {
        let t0 = Instant::now();
        let mut debounce = Debounce::new(Wait {
            min: 100 * MS,
            max: 250 * MS,
        });
        assert!(!debounce.fire(t0 + 1000 * MS), "nothing pending");
        debounce.change(t0);
        assert_eq!(debounce.deadline(), Some(t0 + 100 * MS));
        assert!(!debounce.fire(t0 + 99 * MS));
        debounce.change(t0 + 90 * MS);
        assert_eq!(
            debounce.deadline(),
            Some(t0 + 190 * MS),
            "a change restarts the quiet period"
        );
        debounce.change(t0 + 180 * MS);
        assert_eq!(
            debounce.deadline(),
            Some(t0 + 250 * MS),
            "capped at max after the first change"
        );
        assert!(debounce.fire(t0 + 250 * MS));
        assert!(!debounce.fire(t0 + 260 * MS), "fires once per batch");
        debounce.change(t0 + 300 * MS);
        assert_eq!(
            debounce.deadline(),
            Some(t0 + 400 * MS),
            "a new batch starts fresh"
        );
    }

    #[test]
    fn splay_stays_in_range() {
        assert_eq!(splay_delay(Duration::ZERO), Duration::ZERO);
        assert!((0..100).all(|_| splay_delay(10 * MS) <= 10 * MS));
    }
}
