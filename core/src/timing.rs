//! Durations as users write them, and the quiet period `min[,max]`: one grammar for the `configsync.dev/debounce`
//! and `configsync.dev/inject-wait` annotations, the ConfigSync spec's `debounce` and the sidecar's `--wait`.
//!
//! The quiet period works like consul-template's `wait`: each change restarts a `min` timer, but the batch fires
//! at the latest `max` after its first change, so a source that never stops changing still gets published.
//! `max` defaults to 4 × `min` and must not be below it.
use std::str::FromStr;
use std::time::Duration;

/// A duration or a quiet period could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    /// Not `min` or `min,max`.
    #[error("expected min[,max], such as 5s or 5s,1m")]
    WaitShape,
    /// A part is not a duration.
    #[error("{0:?} is not a duration such as 500ms, 5s or 1m")]
    Duration(String),
    /// A negative duration.
    #[error("{0:?} is negative")]
    NegativeDuration(String),
    /// `max` below `min`.
    #[error("max {max:?} is below min {min:?}")]
    MaxBelowMin {
        /// The min part.
        min: String,
        /// The max part.
        max: String,
    },
}

/// Parse a Go-style duration (`500ms`, `5s`, `1m30s`, `1.5s`), as Kubernetes and CEL's `duration()` read it;
/// surrounding white space is ignored, negative durations are refused.
///
/// # Errors
/// [`TimingError::Duration`] or [`TimingError::NegativeDuration`], naming the input.
pub fn parse_duration(input: &str) -> Result<Duration, TimingError> {
    let text = input.trim();
    let invalid = || TimingError::Duration(input.to_owned());
    if text.is_empty() {
        return Err(invalid());
    }
    // jiff's friendly format reads Go-style `500ms`, `5s`, `1m30s` and reports overflow as an error
    // (kube's `Duration` parser panics on `1e400s`).
    let parsed: jiff::SignedDuration = text.parse().map_err(|_| invalid())?;
    if parsed.is_negative() {
        return Err(TimingError::NegativeDuration(input.to_owned()));
    }
    Duration::try_from(parsed).map_err(|_| invalid())
}

/// The quiet period: `min` after the last change, at most `max` after the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Quiet time required after the last change.
    pub min: Duration,
    /// Longest delay after the first change of a batch (at least `min`).
    pub max: Duration,
}

impl Default for Wait {
    /// 1s quiet, 4s at most: long enough to batch a kubelet update of several keys.
    fn default() -> Self {
        Self::new(Duration::from_secs(1), None)
    }
}

impl Wait {
    /// A window with `max` defaulting to 4 × `min` (consul-template's default).
    pub fn new(min: Duration, max: Option<Duration>) -> Self {
        Self {
            min,
            max: max.unwrap_or_else(|| min.saturating_mul(4)),
        }
    }

    /// The window from its two parts as written (the ConfigSync spec holds them apart).
    ///
    /// # Errors
    /// A part is not a duration, or `max` is below `min`.
    pub fn from_parts(min_text: &str, max_text: Option<&str>) -> Result<Self, TimingError> {
        let min = parse_duration(min_text)?;
        let Some(max_text) = max_text else {
            return Ok(Self::new(min, None));
        };
        let max = parse_duration(max_text)?;
        if max < min {
            return Err(TimingError::MaxBelowMin {
                min: min_text.trim().to_owned(),
                max: max_text.trim().to_owned(),
            });
        }
        Ok(Self::new(min, Some(max)))
    }

    /// `wait` widened so that both of its ends are at least `floor` (the operator's `--settle`); `None` stays
    /// `None` only when `floor` is zero.
    pub fn at_least(wait: Option<Self>, floor: Duration) -> Option<Self> {
        if floor.is_zero() {
            return wait;
        }
        let least = Self::new(floor, Some(floor));
        Some(wait.map_or(least, |w| {
            Self::new(w.min.max(floor), Some(w.max.max(floor)))
        }))
    }
}

impl FromStr for Wait {
    type Err = TimingError;

    /// `min` or `min,max`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = input.split(',').map(str::trim).collect();
        match parts.as_slice() {
            [min] if !min.is_empty() => Self::from_parts(min, None),
            [min, max] => Self::from_parts(min, Some(max)),
            _ => Err(TimingError::WaitShape),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn wait(min: u64, max: u64) -> Wait {
        Wait {
            min: Duration::from_millis(min),
            max: Duration::from_millis(max),
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration(" 250ms "), Ok(250 * MS));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(1500 * MS));
        assert_eq!(
            parse_duration("soon"),
            Err(TimingError::Duration("soon".into()))
        );
        assert_eq!(
            parse_duration("-5s"),
            Err(TimingError::NegativeDuration("-5s".into()))
        );
        assert_eq!(parse_duration(""), Err(TimingError::Duration("".into())));
        for weird in [
            "99999999999999999999999h",
            "1e400s",
            "NaNs",
            "infs",
            "s",
            "µs",
            "1h-1s",
            "5x",
            "5",
        ] {
            assert!(parse_duration(weird).is_err(), "{weird}");
        }
    }

    /// One table for every place the grammar is written: annotations, the ConfigSync spec and `--wait`.
    #[test]
    fn wait_grammar() {
        let valid = [
            ("2s", wait(2000, 8000)),
            ("1s,3s", wait(1000, 3000)),
            (" 1s , 3s ", wait(1000, 3000)),
            ("5s,5s", wait(5000, 5000)),
            ("0s", wait(0, 0)),
            ("1m30s", wait(90_000, 360_000)),
        ];
        for (input, expected) in valid {
            assert_eq!(input.parse::<Wait>(), Ok(expected), "{input:?}");
        }
        let invalid = [
            ("", TimingError::WaitShape),
            (" ", TimingError::WaitShape),
            ("1s,2s,3s", TimingError::WaitShape),
            ("5", TimingError::Duration("5".into())),
            ("5s,", TimingError::Duration(String::new())),
            ("-5s", TimingError::NegativeDuration("-5s".into())),
            (
                "10s,5s",
                TimingError::MaxBelowMin {
                    min: "10s".into(),
                    max: "5s".into(),
                },
            ),
        ];
        for (input, expected) in invalid {
            assert_eq!(input.parse::<Wait>(), Err(expected), "{input:?}");
        }
        assert_eq!(Wait::default(), wait(1000, 4000));
        assert_eq!(Wait::from_parts("5s", Some("1m")), Ok(wait(5000, 60_000)));
    }

    #[test]
    fn errors_read_as_the_golden_files_expect() {
        assert_eq!(
            TimingError::Duration("soon".into()).to_string(),
            r#""soon" is not a duration such as 500ms, 5s or 1m"#
        );
    }
}
