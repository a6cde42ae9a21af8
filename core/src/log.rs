//! The log options every binary takes (`--log-format text|json`, `--log-level FILTER`, `--log-timezone utc|local`,
//! or their `CONFIGSYNC_*` variables), and the one place that turns them into a tracing subscriber. Behind the `cli`
//! feature: the operator and sidecar libraries do not link clap or tracing-subscriber through it.
use std::io::IsTerminal;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use crate::env;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    #[default]
    #[value(alias = "plain")]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The zone of each log line's timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogTimezone {
    /// UTC (`2026-12-07T14:41:10.123456Z`).
    #[default]
    Utc,
    /// The process's own zone (`TZ`, else /etc/localtime; UTC without either), with its offset
    /// (`2026-12-07T20:11:10.123456+05:30`), as k8s-sidecar's `LOG_TZ=LOCAL`.
    Local,
}

/// The filter when neither `--log-level` nor a log variable is set.
pub const DEFAULT_LEVEL: &str = "info";

/// `--log-format` and `--log-level`, flattened into each binary's arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogOptions {
    /// Log format: text, or json (one object per line).
    #[arg(long, value_enum, default_value = "text", env = env::LOG_FORMAT)]
    pub log_format: LogFormat,
    /// Log filter (tracing-subscriber EnvFilter syntax), e.g. `info` or `configsync_sidecar=debug`; without
    /// it, the older CONFIGSYNC_LOG when set, else `info`.
    #[arg(long, env = env::LOG_LEVEL)]
    pub log_level: Option<String>,
    /// Time zone of the log timestamps: utc, or local (the process's: $TZ, else /etc/localtime), with its offset.
    #[arg(long, value_enum, default_value = "utc", env = env::LOG_TIMEZONE)]
    pub log_timezone: LogTimezone,
}

/// `at` in `zone`, RFC 3339 with microseconds and the zone's offset (`+05:30`; `+00:00` for UTC).
pub fn local_timestamp(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%.6f%:z")
        .to_string()
}

/// Each line's timestamp: tracing-subscriber's own UTC one, or [`local_timestamp`] in the zone found at start.
struct Timer(Option<TimeZone>);

impl FormatTime for Timer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        match &self.0 {
            None => SystemTime.format_time(w),
            Some(zone) => w.write_str(&local_timestamp(Timestamp::now(), zone)),
        }
    }
}

/// The log filter is not valid EnvFilter syntax.
#[derive(Debug, thiserror::Error)]
#[error("invalid --log-level {filter:?}")]
pub struct ParseFilterError {
    /// What was given.
    pub filter: String,
    /// Why it does not parse.
    #[source]
    pub source: tracing_subscriber::filter::ParseError,
}

impl LogOptions {
    /// The filter in force: `--log-level`, else the sidecar's older `CONFIGSYNC_LOG`, else `info`.
    pub fn filter(&self) -> String {
        self.log_level
            .clone()
            .or_else(|| std::env::var(env::LOG_LEGACY).ok())
            .unwrap_or_else(|| DEFAULT_LEVEL.to_owned())
    }

    /// Install the global subscriber writing to stderr (a second call keeps the first subscriber).
    ///
    /// # Errors
    /// [`ParseFilterError`] when the filter does not parse.
    pub fn init(&self) -> Result<(), ParseFilterError> {
        let filter = self.filter();
        let env_filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .map_err(|source| ParseFilterError { filter, source })?;
        let zone = match self.log_timezone {
            LogTimezone::Utc => None,
            LogTimezone::Local => Some(TimeZone::system()),
        };
        let builder = tracing_subscriber::fmt()
            .with_timer(Timer(zone))
            .with_env_filter(env_filter)
            .with_writer(std::io::stderr)
            // Plain text into log files and pipes; colours only on a terminal.
            .with_ansi(std::io::stderr().is_terminal());
        let _ = match self.log_format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Args {
        #[command(flatten)]
        log: LogOptions,
    }

    #[test]
    fn formats_and_levels_parse() {
        let args = Args::try_parse_from(["x", "--log-format", "json", "--log-level", "debug"])
            .expect("valid");
        assert_eq!(args.log.log_format, LogFormat::Json);
        assert_eq!(args.log.filter(), "debug");
        let plain = Args::try_parse_from(["x", "--log-format", "plain"]).expect("alias");
        assert_eq!(plain.log.log_format, LogFormat::Text);
        assert!(Args::try_parse_from(["x", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn local_timestamps_carry_the_zone_offset() {
        let at: Timestamp = "2026-12-07T14:41:10.123456789Z".parse().expect("valid");
        let india = TimeZone::posix("IST-5:30").expect("valid");
        assert_eq!(
            local_timestamp(at, &india),
            "2026-12-07T20:11:10.123456+05:30"
        );
        assert_eq!(
            local_timestamp(at, &TimeZone::UTC),
            "2026-12-07T14:41:10.123456+00:00"
        );
        let args = Args::try_parse_from(["x", "--log-timezone", "local"]).expect("valid");
        assert_eq!(args.log.log_timezone, LogTimezone::Local);
        let default = Args::try_parse_from(["x"]).expect("valid");
        assert_eq!(default.log.log_timezone, LogTimezone::Utc);
    }

    #[test]
    fn a_bad_filter_is_an_error_naming_it() {
        let options = LogOptions {
            log_level: Some("info,[".into()),
            ..LogOptions::default()
        };
        let error = options.init().expect_err("invalid filter");
        assert!(error.to_string().contains("info,["), "{error}");
    }
}
