//! jimmidyson/configmap-reload's flags → the sidecar's flags: watch mounted directories, call the webhook.
//!
//! configmap-reload parses Go-style flags: one or two dashes, `-name value` or `-name=value`. [`FLAGS`] is the
//! README's table. The directories are watched by [`crate::mounted`] (any change, including the kubelet's `..data`
//! swap, re-reads the directory; only a content change notifies), nothing is written, and each webhook (the flag
//! repeats, as configmap-reload's does) is one of the sidecar's HTTP reloads, called in order and retried on its
//! own, so one failing URL neither stops nor repeats the others.
use super::{Compat, CompatError, Translation};
use crate::health::{HealthError, MetricsPath};

/// configmap-reload's flags: name, the sidecar's equivalent.
pub const FLAGS: &[(&str, &str)] = &[
    (
        "volume-dir",
        "`--watch-dir` (repeatable); nothing is written",
    ),
    (
        "webhook-url",
        "`--http-url` each (repeatable): every URL is called on each change, in order, each retried on its own; `user:password@` in a URL is sent as basic auth and never logged",
    ),
    ("webhook-method", "`--http-method`, default `POST`"),
    (
        "webhook-status-code",
        "`--http-status`, default 200: any other status is a failed attempt, as in configmap-reload",
    ),
    (
        "webhook-retries",
        "`--reload-attempts`: attempts in all per URL (default 1; 0 counts as 1), with a backoff from 0.5 s doubling (configmap-reload waits a fixed 10 s; `CONFIGSYNC_RELOAD_BACKOFF` changes it)",
    ),
    (
        "web.listen-address",
        "`--health-addr` (default `:9533`, the same port): the metrics (the sidecar's own metric names), `/healthz`, `/readyz`",
    ),
    (
        "web.telemetry-path",
        "`--metrics-path` (default `/metrics`): the metrics are served at that path only, as in configmap-reload (matched exactly: a trailing `/` does not serve a subtree); a path not starting with `/`, or `/healthz`, `/readyz`, `/livez`, is refused at start",
    ),
];

/// Translate configmap-reload's arguments.
///
/// # Errors
/// [`CompatError`] for an unknown flag, a flag without its value, a missing `--volume-dir`/`--webhook-url`, or a
/// setting the sidecar cannot honour. A URL is never put in an error (it may hold credentials).
pub fn translate(args: &[String]) -> Result<Translation, CompatError> {
    let invalid = |setting: &str, reason: &str| CompatError::Invalid {
        tool: Compat::ConfigmapReload,
        setting: setting.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Translation::default();
    let (mut dirs, mut urls, mut attempts) = (0, 0, 1);
    let mut health = ":9533".to_string();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'));
        let Some(flag) = flag.filter(|f| !f.is_empty()) else {
            return Err(invalid(arg, "expected a flag"));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, value.to_string()),
            None => match rest.next() {
                Some(value) => (flag, value.clone()),
                None => return Err(invalid(flag, "needs a value")),
            },
        };
        match name {
            "volume-dir" => {
                dirs += 1;
                out.arg("--watch-dir", value);
            }
            "webhook-url" => {
                urls += 1;
                out.arg("--http-url", value);
            }
            "webhook-method" => out.arg("--http-method", value),
            "webhook-status-code" => out.arg("--http-status", value),
            "webhook-retries" => {
                attempts = value
                    .parse::<u32>()
                    .map_err(|_| invalid(name, "expected a whole number"))?
                    .max(1);
            }
            "web.listen-address" => health = value,
            "web.telemetry-path" => {
                let path: MetricsPath = value.parse().map_err(|error: HealthError| {
                    let HealthError::ParseMetricsPath { reason, .. } = error;
                    invalid(name, &format!("{value:?} {reason}"))
                })?;
                out.arg("--metrics-path", path.to_string());
            }
            _ => return Err(invalid(name, "not a configmap-reload flag")),
        }
    }
    if dirs == 0 {
        return Err(CompatError::Missing {
            tool: Compat::ConfigmapReload,
            setting: "--volume-dir",
        });
    }
    if urls == 0 {
        return Err(CompatError::Missing {
            tool: Compat::ConfigmapReload,
            setting: "--webhook-url",
        });
    }
    // Go's ":9533" listens on every address.
    let health = match health.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => health,
    };
    out.arg("--health-addr", health);
    out.arg("--reload-attempts", attempts.to_string());
    Ok(out)
}
