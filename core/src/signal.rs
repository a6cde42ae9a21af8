//! Signal names as users write them, parsed like watchexec-signals: `HUP`, `SIGHUP`, `hup`, `sighup` or a number.
use std::fmt;
use std::str::FromStr;

use nix::sys::signal::Signal as NixSignal;

/// A Unix signal to send to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(NixSignal);

impl Signal {
    /// SIGHUP, the default reload signal.
    pub const HUP: Self = Self(NixSignal::SIGHUP);
    /// SIGTERM, the default stop signal.
    pub const TERM: Self = Self(NixSignal::SIGTERM);
    /// SIGINT.
    pub const INT: Self = Self(NixSignal::SIGINT);
    /// SIGKILL, sent when the grace period runs out.
    pub const KILL: Self = Self(NixSignal::SIGKILL);

    /// The nix representation, for `kill(2)`.
    pub fn to_nix(self) -> NixSignal {
        self.0
    }

    /// The signal number.
    pub fn number(self) -> i32 {
        self.0 as i32
    }
}

impl From<NixSignal> for Signal {
    fn from(signal: NixSignal) -> Self {
        Self(signal)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The input named no signal this platform knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal {input:?}: expected a name like HUP, SIGTERM, usr1 or a number like 15")]
pub struct SignalParseError {
    /// What the user wrote.
    pub input: String,
}

impl FromStr for Signal {
    type Err = SignalParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || SignalParseError {
            input: input.to_string(),
        };
        let trimmed = input.trim();
        if let Ok(number) = trimmed.parse::<i32>() {
            return NixSignal::try_from(number).map(Self).map_err(|_| error());
        }
        let upper = trimmed.to_ascii_uppercase();
        let name = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        NixSignal::from_str(&name).map(Self).map_err(|_| error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_every_spelling_and_numbers() {
        for input in ["HUP", "SIGHUP", "hup", "sigHup", " 1 "] {
            assert_eq!(input.parse::<Signal>(), Ok(Signal::HUP), "{input}");
        }
        assert_eq!("15".parse::<Signal>(), Ok(Signal::TERM));
        assert_eq!(
            "usr1".parse::<Signal>().map(|s| s.to_string()),
            Ok("SIGUSR1".into())
        );
        assert_eq!("SIGKILL".parse::<Signal>().map(Signal::number), Ok(9));
    }

    #[test]
    fn unknown_names_are_errors_naming_the_input() {
        for input in ["", "HUPP", "SIG", "0", "999", "-1"] {
            let error = input.parse::<Signal>().expect_err(input);
            assert_eq!(error.input, input);
            assert!(error.to_string().contains(&format!("{input:?}")), "{error}");
        }
    }
}
