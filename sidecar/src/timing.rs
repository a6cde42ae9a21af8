//! Time policy, kept pure: durations as users write them, the `--wait min[,max]` quiet period and `--splay`.
//!
//! The quiet period works like consul-template's `wait`: each change restarts a `min` timer, but the batch fires at
//! the latest `max` after its first change, so a source that never stops changing still gets published.
//! [`Debounce`] takes the current time as an argument, so tests drive it with explicit instants.
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

/// A duration string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    /// Not a duration like `5s`, `250ms`, `1m 30s`.
    #[error("invalid duration {input:?}: expected something like 5s, 250ms or 1m30s")]
    Duration {
        /// What the user wrote.
        input: String,
    },
    /// `--wait min,max` with max < min.
    #[error("invalid wait {input:?}: max must not be shorter than min")]
    WaitOrder {
        /// What the user wrote.
        input: String,
    },
}

/// Parse `5s`, `250ms`, `1m30s`, `2h` (jiff's friendly format; negative durations refused).
///
/// # Errors
/// [`TimingError::Duration`] naming the input.
pub fn parse_duration(input: &str) -> Result<Duration, TimingError> {
    let error = || TimingError::Duration {
        input: input.to_string(),
    };
    let signed: jiff::SignedDuration = input.trim().parse().map_err(|_| error())?;
    Duration::try_from(signed).map_err(|_| error())
}

/// The quiet period: `min` after the last change, at most `max` after the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Quiet time required after the last change.
    pub min: Duration,
    /// Longest delay after the first change of a batch.
    pub max: Duration,
}

impl Default for Wait {
    /// 1s quiet, 4s at most: long enough to batch a kubelet update of several keys.
    fn default() -> Self {
        Self {
            min: Duration::from_secs(1),
            max: Duration::from_secs(4),
        }
    }
}

impl FromStr for Wait {
    type Err = TimingError;

    /// `min` or `min,max`; `max` defaults to 4×`min` (consul-template).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (min, max) = match input.split_once(',') {
            Some((min, max)) => (parse_duration(min)?, parse_duration(max)?),
            None => {
                let min = parse_duration(input)?;
                (min, min.saturating_mul(4))
            }
        };
        if max < min {
            return Err(TimingError::WaitOrder {
                input: input.to_string(),
            });
        }
        Ok(Self { min, max })
    }
}

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
    fn parses_durations_and_waits() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(250 * MS));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            parse_duration("soon"),
            Err(TimingError::Duration {
                input: "soon".into()
            })
        );
        assert_eq!(
            parse_duration("-5s"),
            Err(TimingError::Duration {
                input: "-5s".into()
            })
        );
        assert_eq!(
            "2s".parse(),
            Ok(Wait {
                min: Duration::from_secs(2),
                max: Duration::from_secs(8)
            })
        );
        assert_eq!(
            "1s,3s".parse(),
            Ok(Wait {
                min: Duration::from_secs(1),
                max: Duration::from_secs(3)
            })
        );
        assert_eq!(
            "3s,1s".parse::<Wait>(),
            Err(TimingError::WaitOrder {
                input: "3s,1s".into()
            })
        );
    }

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
