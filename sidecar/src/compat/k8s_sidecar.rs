//! kiwigrid/k8s-sidecar's environment variables → the sidecar's flags, and its file names on disk.
//!
//! [`VARIABLES`] is the variable-by-variable table of the README (a test checks both ways, and checks that each
//! variable does what its row says: a supported one changes the flags, an unsupported one only warns). Files are
//! named as k8s-sidecar names them: the keys directly in `FOLDER` (`--flat`), under the folder the object's
//! annotation names ([`FileNames`]), as `namespace_NS.KIND_NAME.KEY` with `UNIQUE_FILENAMES=true`; a key ending
//! in `.url` is downloaded into the file named without it (`--url-keys`, [`super::url_keys`]). The `REQ_*` request
//! settings (auth, timeout, retries, TLS) apply to those downloads too, so they are translated even without
//! `REQ_URL`, as k8s-sidecar uses them for both.
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kube::api::ObjectMeta;

use super::{Compat, CompatError, Translation};
use crate::api::Reshape;
use crate::source::SourceData;

/// How the sidecar handles a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// As k8s-sidecar does.
    Supported,
    /// The same need, met another way (the row says how).
    Differently,
    /// Ignored, with a warning when set (the row says why).
    NotSupported,
}

impl Support {
    /// The README's wording.
    pub fn label(self) -> &'static str {
        match self {
            Self::Supported => "supported",
            Self::Differently => "supported differently",
            Self::NotSupported => "not supported",
        }
    }
}

/// One row of the compatibility table.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    /// The environment variable.
    pub name: &'static str,
    /// How it is handled.
    pub support: Support,
    /// Whether the translation turns it into flags (otherwise it is read elsewhere or only warned about).
    pub translated: bool,
    /// A valid value, for the table test.
    pub example: &'static str,
    /// The README's explanation.
    pub how: &'static str,
}

const fn row(
    name: &'static str,
    support: Support,
    translated: bool,
    example: &'static str,
    how: &'static str,
) -> Variable {
    Variable {
        name,
        support,
        translated,
        example,
        how,
    }
}

use Support::{Differently, NotSupported, Supported};

/// Every variable of k8s-sidecar's README, in its order.
pub const VARIABLES: &[Variable] = &[
    row(
        "LABEL",
        Supported,
        true,
        "grafana_dashboard",
        "`--selector LABEL` (any value)",
    ),
    row(
        "LABEL_VALUE",
        Supported,
        true,
        "1",
        "`--selector LABEL=LABEL_VALUE`",
    ),
    row(
        "FOLDER",
        Supported,
        true,
        "/tmp/dashboards",
        "`--dir FOLDER --flat --publish files`: the keys directly in `FOLDER` as regular files, each replaced by rename (see below)",
    ),
    row(
        "FOLDER_ANNOTATION",
        Supported,
        true,
        "grafana_folder",
        "`--folder-annotation`, default `k8s-sidecar-target-directory`; a relative folder is under `FOLDER`, an absolute one must be under `FOLDER` too (else the object's files are skipped with an error log)",
    ),
    row(
        "NAMESPACE",
        Supported,
        true,
        "monitoring,apps",
        "a comma list → `--namespace` each; `ALL` → `--all-namespaces`; default: the pod's own",
    ),
    row(
        "RESOURCE",
        Supported,
        true,
        "both",
        "`--selector-kind` (`configmap`, `secret` or `both`), default `configmap`",
    ),
    row(
        "RESOURCE_NAME",
        Differently,
        true,
        "configmap/dashboards",
        "`NAME`, `KIND/NAME` and `NAMESPACE/KIND/NAME` → `--configmap`/`--secret` (`NAMESPACE/NAME` for the last, watched in that namespace only, skipped with a warning when `NAMESPACE` lists others, as k8s-sidecar skips it), each `--optional` (a missing one is no error); watched by name where k8s-sidecar polls them; not with `NAMESPACE=ALL` (refused at start; k8s-sidecar ignores `RESOURCE_NAME` then)",
    ),
    row(
        "METHOD",
        Supported,
        true,
        "SLEEP",
        "`WATCH` (or unset) watches; `LIST` → `--once` (one pass, then exit); `SLEEP` → `--poll-interval SLEEP_TIME` (list on an interval, never watch)",
    ),
    row(
        "SLEEP_TIME",
        Supported,
        true,
        "30",
        "the `--poll-interval` of `METHOD=SLEEP` (default 60 s)",
    ),
    row(
        "REQ_URL",
        Supported,
        true,
        "http://localhost:3000/api/admin/provisioning/dashboards/reload",
        "`--http-url`; an `https://` URL needs `CONFIGSYNC_HTTP_CA_FILE` (or `REQ_SKIP_TLS_VERIFY`)",
    ),
    row(
        "REQ_METHOD",
        Supported,
        true,
        "POST",
        "`--http-method`, default `GET`",
    ),
    row(
        "REQ_PAYLOAD",
        Supported,
        true,
        "{\"reload\":true}",
        "`--http-body`, sent as JSON with `REQ_METHOD=POST`",
    ),
    row(
        "REQ_SKIP_INIT",
        Supported,
        true,
        "true",
        "without it the request (and `SCRIPT`) also follow the first sync (`--notify-on-start`)",
    ),
    row(
        "REQ_RETRY_TOTAL",
        Supported,
        true,
        "3",
        "`--reload-attempts` = total + 1 (default 5 retries), for the request and `.url` downloads",
    ),
    row(
        "REQ_RETRY_CONNECT",
        Differently,
        false,
        "3",
        "every failed attempt counts against `REQ_RETRY_TOTAL`, whatever failed",
    ),
    row(
        "REQ_RETRY_READ",
        Differently,
        false,
        "3",
        "every failed attempt counts against `REQ_RETRY_TOTAL`, whatever failed",
    ),
    row(
        "REQ_RETRY_BACKOFF_FACTOR",
        Supported,
        true,
        "0.5",
        "`--reload-backoff`: factor × 2ⁿ seconds between attempts, at most 120 s",
    ),
    row(
        "REQ_TIMEOUT",
        Supported,
        true,
        "5",
        "`--reload-timeout`, default 10 s",
    ),
    row(
        "REQ_USERNAME",
        Supported,
        true,
        "admin",
        "`--http-username`",
    ),
    row(
        "REQ_PASSWORD",
        Supported,
        true,
        "secret",
        "`--http-password-env REQ_PASSWORD`: read from the environment at each request, never on the command line, never logged",
    ),
    row(
        "REQ_BASIC_AUTH_ENCODING",
        Differently,
        false,
        "utf-8",
        "credentials are always encoded as UTF-8 (k8s-sidecar's latin1 default differs only for non-ASCII ones)",
    ),
    row(
        "SCRIPT",
        Supported,
        true,
        "/scripts/reload.sh",
        "`--command`: run with `sh` unless executable, before the request",
    ),
    row(
        "ERROR_THROTTLE_SLEEP",
        Differently,
        false,
        "10",
        "a failed watch is restarted after a backoff from 0.5 s doubling to 30 s",
    ),
    row(
        "SKIP_TLS_VERIFY",
        Supported,
        true,
        "true",
        "`true` → `--insecure-skip-tls-verify` (kubectl's flag): the API server's certificate is not verified, and a warning says so at start",
    ),
    row(
        "REQ_SKIP_TLS_VERIFY",
        Supported,
        true,
        "true",
        "`true` → `--http-insecure-skip-tls-verify`: any certificate is accepted from an `https://` `REQ_URL` or `.url` download, with a warning at start; prefer the CA in `CONFIGSYNC_HTTP_CA_FILE`",
    ),
    row(
        "UNIQUE_FILENAMES",
        Supported,
        true,
        "true",
        "`--unique-filenames`: `namespace_NS.KIND_NAME.KEY`",
    ),
    row(
        "DEFAULT_FILE_MODE",
        Supported,
        true,
        "440",
        "`--configmap-mode` and `--secret-mode` (default 0644 for both, as k8s-sidecar writes Secrets too)",
    ),
    row(
        "KUBECONFIG",
        Supported,
        false,
        "/etc/kubeconfig",
        "read by the Kubernetes client as usual",
    ),
    row(
        "ENABLE_5XX",
        Supported,
        true,
        "true",
        "`true` → `--url-keys-accept-5xx`: a `.url` download answered with a 5xx writes that body (without it, a 5xx is retried, then an error)",
    ),
    row(
        "WATCH_SERVER_TIMEOUT",
        Differently,
        false,
        "60",
        "the watch is re-listed every `--recheck-interval` and restarted when silent for `--stale-after`",
    ),
    row(
        "WATCH_CLIENT_TIMEOUT",
        Differently,
        false,
        "66",
        "the watch is re-listed every `--recheck-interval` and restarted when silent for `--stale-after`",
    ),
    row(
        "IGNORE_ALREADY_PROCESSED",
        Differently,
        false,
        "true",
        "always on: an unchanged object rewrites no file and sends no request",
    ),
    row(
        "LOG_LEVEL",
        Supported,
        true,
        "DEBUG",
        "`--log-level`: `DEBUG`, `INFO` (default), `WARN`/`WARNING`, `ERROR`, `CRITICAL` (as `error`)",
    ),
    row(
        "LOG_FORMAT",
        Supported,
        true,
        "LOGFMT",
        "`--log-format`: `JSON` (default, as k8s-sidecar's) → `json`, `LOGFMT` → `text` (`message key=value` lines); unset with `CONFIGSYNC_LOG_FORMAT` set, that one applies",
    ),
    row(
        "LOG_TZ",
        Supported,
        true,
        "UTC",
        "`--log-timezone`: `LOCAL` (default, as k8s-sidecar's: the container's `TZ`, else /etc/localtime, else UTC) → `local`, `UTC` → `utc`; timestamps carry the offset (`+05:30`); another value is LOCAL with a warning (k8s-sidecar takes it silently); unset with `CONFIGSYNC_LOG_TIMEZONE` set, that one applies",
    ),
    row(
        "LOG_CONFIG",
        NotSupported,
        false,
        "/etc/log.yaml",
        "there is no Python logging configuration",
    ),
    row(
        "HEALTH_PORT",
        Differently,
        true,
        "9090",
        "`--health-addr 0.0.0.0:PORT` (default 8080); `/healthz` is liveness only, readiness after the first sync is `/readyz`",
    ),
];

/// k8s-sidecar's command-line flags (the only ones it has) and the sidecar's equivalents.
pub const FLAGS: &[(&str, &str)] = &[
    ("--req-username-file", "--http-username-file"),
    ("--req-password-file", "--http-password-file"),
];

/// Whether `args` hold only k8s-sidecar's own flags (`--flag VALUE` or `--flag=VALUE`).
pub fn only_its_flags(args: &[std::ffi::OsString]) -> bool {
    let mut rest = args.iter().map(|a| a.to_str().unwrap_or(""));
    let mut any = false;
    while let Some(arg) = rest.next() {
        let name = arg.split_once('=').map_or(arg, |(name, _)| name);
        if !FLAGS.iter().any(|(flag, _)| *flag == name) {
            return false;
        }
        if !arg.contains('=') && rest.next().is_none() {
            return false;
        }
        any = true;
    }
    any
}

/// Translate k8s-sidecar's environment (`lookup`) and flags (`args`) into the sidecar's flags.
///
/// # Errors
/// [`CompatError`] naming the variable that is missing or unusable.
pub fn translate(
    lookup: &dyn Fn(&str) -> Option<String>,
    args: &[String],
) -> Result<Translation, CompatError> {
    let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
    let invalid = |setting: &str, reason: &str| CompatError::Invalid {
        tool: Compat::K8sSidecar,
        setting: setting.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Translation::default();
    let folder = get("FOLDER").ok_or(CompatError::Missing {
        tool: Compat::K8sSidecar,
        setting: "FOLDER",
    })?;
    out.arg("--dir", folder);
    out.args.push("--flat".into());
    // The README offers `CONFIGSYNC_PUBLISH=swap` in this mode: a flag given here would override it.
    if lookup("CONFIGSYNC_PUBLISH").is_none() {
        out.arg("--publish", "files");
    }
    // k8s-sidecar writes each event at once; snapshots already queued still land in one publish.
    out.arg("--wait", "0s");
    let annotation = get("FOLDER_ANNOTATION").unwrap_or("k8s-sidecar-target-directory".into());
    out.arg("--folder-annotation", annotation);
    out.args.push("--url-keys".into());
    if is_true(get("ENABLE_5XX")) {
        out.args.push("--url-keys-accept-5xx".into());
    }
    // Exactly `true`, as k8s-sidecar compares: verification is only ever skipped when asked for in its words.
    if get("SKIP_TLS_VERIFY").as_deref() == Some("true") {
        out.args.push("--insecure-skip-tls-verify".into());
    }
    sources(&get, &mut out)?;
    method(&get, &mut out)?;
    request(&get, &mut out)?;
    logs(&get, lookup, &mut out)?;
    if let Some(script) = get("SCRIPT") {
        let quoted = shell_quote(&script);
        out.arg(
            "--command",
            format!("if [ -x {quoted} ]; then exec {quoted}; else exec sh {quoted}; fi"),
        );
    }
    if get("UNIQUE_FILENAMES").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        out.args.push("--unique-filenames".into());
    }
    let mode = match get("DEFAULT_FILE_MODE") {
        Some(mode) => u32::from_str_radix(&mode, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| invalid("DEFAULT_FILE_MODE", "expected octal digits like 644"))?,
        None => 0o644,
    };
    out.arg("--configmap-mode", format!("{mode:04o}"));
    out.arg("--secret-mode", format!("{mode:04o}"));
    let port = match get("HEALTH_PORT") {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| invalid("HEALTH_PORT", "expected a port number"))?,
        None => 8080,
    };
    out.arg("--health-addr", format!("0.0.0.0:{port}"));
    flags(args, &mut out)?;
    credentials(&get, &mut out);
    for variable in VARIABLES.iter().filter(|v| v.support != Supported) {
        if get(variable.name).is_some() {
            out.warnings.push(format!(
                "{} is {}: {}",
                variable.name,
                variable.support.label(),
                variable.how
            ));
        }
    }
    Ok(out)
}

/// k8s-sidecar's booleans: `true` in any case is true.
fn is_true(value: Option<String>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `LOG_LEVEL`, `LOG_TZ` and `LOG_FORMAT` (k8s-sidecar logs JSON by default, in the local zone; the
/// `CONFIGSYNC_LOG_*` variable applies when the k8s-sidecar one is unset).
fn logs(
    get: &dyn Fn(&str) -> Option<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Translation,
) -> Result<(), CompatError> {
    let invalid = |setting: &str, reason: &str| CompatError::Invalid {
        tool: Compat::K8sSidecar,
        setting: setting.to_string(),
        reason: reason.to_string(),
    };
    if let Some(level) = get("LOG_LEVEL") {
        let level = match level.to_ascii_uppercase().as_str() {
            "DEBUG" => "debug",
            "INFO" => "info",
            "WARN" | "WARNING" => "warn",
            "ERROR" | "CRITICAL" => "error",
            _ => {
                return Err(invalid(
                    "LOG_LEVEL",
                    "expected DEBUG, INFO, WARN, ERROR or CRITICAL",
                ));
            }
        };
        out.arg("--log-level", level);
    }
    let timezone = match get("LOG_TZ").map(|tz| tz.to_ascii_uppercase()).as_deref() {
        Some("UTC") => Some("utc"),
        Some("LOCAL") => Some("local"),
        Some(_) => {
            out.warnings
                .push("LOG_TZ: expected LOCAL or UTC; LOCAL is used, as k8s-sidecar does".into());
            Some("local")
        }
        None if lookup(configsync_core::env::LOG_TIMEZONE).is_some() => None,
        None => Some("local"),
    };
    if let Some(timezone) = timezone {
        out.arg("--log-timezone", timezone);
    }
    let format = match get("LOG_FORMAT").map(|f| f.to_ascii_uppercase()).as_deref() {
        Some("JSON") => "json",
        Some("LOGFMT") => "text",
        Some(_) => return Err(invalid("LOG_FORMAT", "expected JSON or LOGFMT")),
        None if lookup(configsync_core::env::LOG_FORMAT).is_some() => return Ok(()),
        None => "json",
    };
    out.arg("--log-format", format);
    Ok(())
}

/// `LABEL`/`LABEL_VALUE` or `RESOURCE_NAME`, `RESOURCE`, `NAMESPACE`.
fn sources(get: &dyn Fn(&str) -> Option<String>, out: &mut Translation) -> Result<(), CompatError> {
    let invalid = |setting: &str, reason: String| CompatError::Invalid {
        tool: Compat::K8sSidecar,
        setting: setting.to_string(),
        reason,
    };
    let resource = get("RESOURCE").unwrap_or("configmap".into());
    let kinds: &[&str] = match resource.as_str() {
        "configmap" => &["configmap"],
        "secret" => &["secret"],
        "both" => &["configmap", "secret"],
        _ => {
            return Err(invalid(
                "RESOURCE",
                "expected configmap, secret or both".into(),
            ));
        }
    };
    let namespace = get("NAMESPACE");
    let all = namespace.as_deref() == Some("ALL");
    if let Some(names) = get("RESOURCE_NAME") {
        if all {
            return Err(invalid(
                "RESOURCE_NAME",
                "cannot be used with NAMESPACE=ALL".into(),
            ));
        }
        let listed: Vec<&str> = namespace
            .as_deref()
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for entry in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(named) = resource_name(entry) else {
                return Err(invalid(
                    "RESOURCE_NAME",
                    format!(
                        "{entry:?}: expected NAME, KIND/NAME or NAMESPACE/KIND/NAME with KIND configmap or secret"
                    ),
                ));
            };
            let name = match named.namespace {
                Some(only) if !listed.is_empty() && !listed.contains(&only) => {
                    out.warnings.push(format!(
                        "RESOURCE_NAME entry {entry} is skipped: {only} is not in NAMESPACE (k8s-sidecar skips it too)"
                    ));
                    continue;
                }
                Some(only) => format!("{only}/{}", named.name),
                None => named.name.to_string(),
            };
            for kind in kinds.iter().filter(|k| named.kind.is_none_or(|f| f == **k)) {
                out.arg(&format!("--{kind}"), name.clone());
                out.arg("--optional", name.clone());
            }
        }
    } else {
        let label = get("LABEL").ok_or(CompatError::Missing {
            tool: Compat::K8sSidecar,
            setting: "LABEL",
        })?;
        let selector = match get("LABEL_VALUE") {
            Some(value) => format!("{label}={value}"),
            None => label,
        };
        out.arg("--selector", selector);
        out.arg("--selector-kind", resource);
    }
    match namespace {
        _ if all => out.args.push("--all-namespaces".into()),
        Some(list) => {
            for namespace in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                out.arg("--namespace", namespace);
            }
        }
        None => {}
    }
    Ok(())
}

/// One entry of `RESOURCE_NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceName<'a> {
    /// The namespace it is read in only (`NAMESPACE/KIND/NAME`).
    pub namespace: Option<&'a str>,
    /// `configmap` or `secret`, when given.
    pub kind: Option<&'a str>,
    /// The object.
    pub name: &'a str,
}

/// `NAME`, `KIND/NAME` or `NAMESPACE/KIND/NAME` (KIND `configmap` or `secret`); `None` for anything else.
pub fn resource_name(entry: &str) -> Option<ResourceName<'_>> {
    let parts: Vec<&str> = entry.split('/').collect();
    let (namespace, kind, name) = match parts[..] {
        [name] => (None, None, name),
        [kind, name] => (None, Some(kind), name),
        [namespace, kind, name] => (Some(namespace), Some(kind), name),
        _ => return None,
    };
    let valid = !name.is_empty()
        && namespace.is_none_or(|n| !n.is_empty())
        && kind.is_none_or(|k| k == "configmap" || k == "secret");
    valid.then_some(ResourceName {
        namespace,
        kind,
        name,
    })
}

/// `METHOD` and `SLEEP_TIME`.
fn method(get: &dyn Fn(&str) -> Option<String>, out: &mut Translation) -> Result<(), CompatError> {
    match get("METHOD").as_deref() {
        Some("LIST") => out.args.push("--once".into()),
        Some("SLEEP") => {
            let seconds = match get("SLEEP_TIME") {
                Some(time) => time.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                    CompatError::Invalid {
                        tool: Compat::K8sSidecar,
                        setting: "SLEEP_TIME".into(),
                        reason: "expected a whole number of seconds".into(),
                    }
                })?,
                None => 60,
            };
            out.arg("--poll-interval", format!("{seconds}s"));
            // The watchdog restarts a source silent for --stale-after: give each listing room.
            out.arg("--stale-after", format!("{}s", (seconds * 3).max(120)));
        }
        _ => {}
    }
    Ok(())
}

/// `REQ_*`: the request after a change, and the settings it shares with `.url` downloads.
fn request(get: &dyn Fn(&str) -> Option<String>, out: &mut Translation) -> Result<(), CompatError> {
    let seconds = |setting: &str, default: f64| -> Result<Duration, CompatError> {
        match get(setting) {
            None => Ok(Duration::from_secs_f64(default)),
            Some(text) => text
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| CompatError::Invalid {
                    tool: Compat::K8sSidecar,
                    setting: setting.to_string(),
                    reason: "expected a number of seconds".into(),
                }),
        }
    };
    match get("REQ_URL") {
        Some(url) => {
            out.arg("--http-url", url);
            let method = get("REQ_METHOD")
                .unwrap_or("GET".into())
                .to_ascii_uppercase();
            out.arg("--http-method", method.clone());
            if let Some(payload) = get("REQ_PAYLOAD").filter(|_| method == "POST") {
                out.arg("--http-body", payload);
            }
            if !is_true(get("REQ_SKIP_INIT")) {
                out.args.push("--notify-on-start".into());
            }
        }
        // k8s-sidecar runs SCRIPT after its first sync whatever REQ_SKIP_INIT says.
        None if get("SCRIPT").is_some() => out.args.push("--notify-on-start".into()),
        None => {}
    }
    // The rest also applies to `.url` downloads.
    let retries = match get("REQ_RETRY_TOTAL") {
        Some(total) => total.parse::<u32>().map_err(|_| CompatError::Invalid {
            tool: Compat::K8sSidecar,
            setting: "REQ_RETRY_TOTAL".into(),
            reason: "expected a whole number".into(),
        })?,
        None => 5,
    };
    out.arg("--reload-attempts", (retries.saturating_add(1)).to_string());
    let backoff = seconds("REQ_RETRY_BACKOFF_FACTOR", 1.1)?;
    out.arg("--reload-backoff", format!("{}ms", backoff.as_millis()));
    out.arg("--reload-backoff-max", "120s");
    let timeout = seconds("REQ_TIMEOUT", 10.0)?;
    out.arg("--reload-timeout", format!("{}ms", timeout.as_millis()));
    if get("REQ_SKIP_TLS_VERIFY").as_deref() == Some("true") {
        out.args.push("--http-insecure-skip-tls-verify".into());
    }
    Ok(())
}

/// Basic auth from `REQ_USERNAME`/`REQ_PASSWORD` or the file flags (a file wins, as in k8s-sidecar), sent only
/// when both a user and a password are given, as k8s-sidecar sends it.
fn credentials(get: &dyn Fn(&str) -> Option<String>, out: &mut Translation) {
    const FILES: [&str; 2] = ["--http-username-file", "--http-password-file"];
    let has = |out: &Translation, flag: &str| out.args.iter().any(|a| a == flag);
    let (user_file, password_file) = (has(out, FILES[0]), has(out, FILES[1]));
    let user = get("REQ_USERNAME").filter(|_| !user_file);
    let password = get("REQ_PASSWORD").is_some() && !password_file;
    if (user_file || user.is_some()) && (password_file || password) {
        if let Some(user) = user {
            out.arg("--http-username", user);
        }
        if password {
            out.arg("--http-password-env", "REQ_PASSWORD");
        }
        return;
    }
    if user_file || password_file || user.is_some() || password {
        let mut kept = Vec::with_capacity(out.args.len());
        let mut args = std::mem::take(&mut out.args).into_iter();
        while let Some(arg) = args.next() {
            if FILES.contains(&arg.as_str()) {
                args.next();
            } else {
                kept.push(arg);
            }
        }
        out.args = kept;
        out.warnings.push(
            "basic auth needs a user (REQ_USERNAME or --req-username-file) and a password (REQ_PASSWORD or \
             --req-password-file): with only one, none is sent, as k8s-sidecar does"
                .into(),
        );
    }
}

/// `--req-username-file`/`--req-password-file`.
fn flags(args: &[String], out: &mut Translation) -> Result<(), CompatError> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (arg.as_str(), rest.next().cloned()),
        };
        let ours = FLAGS.iter().find(|(flag, _)| *flag == name);
        match (ours, value) {
            (Some((_, ours)), Some(value)) => out.arg(ours, value),
            _ => {
                return Err(CompatError::Invalid {
                    tool: Compat::K8sSidecar,
                    setting: arg.clone(),
                    reason: "k8s-sidecar takes only --req-username-file FILE and --req-password-file FILE".into(),
                });
            }
        }
    }
    Ok(())
}

/// `'text'` for `sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// k8s-sidecar's file naming within `--dir` (with `--flat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNames {
    /// The target directory (`FOLDER`).
    pub dir: PathBuf,
    /// The annotation naming an object's folder.
    pub folder_annotation: Option<String>,
    /// Prefix each key with `namespace_NS.KIND_NAME.`.
    pub unique: bool,
}

impl FileNames {
    /// The folder (relative to `dir`, `None` for `dir` itself) an object's annotation asks for.
    ///
    /// # Errors
    /// A reason when the annotation leaves `dir` or is not a plain path.
    pub fn folder(&self, meta: &ObjectMeta) -> Result<Option<String>, String> {
        let Some(value) = self
            .folder_annotation
            .as_ref()
            .and_then(|name| meta.annotations.as_ref()?.get(name))
        else {
            return Ok(None);
        };
        let path = Path::new(value);
        let relative = if path.is_absolute() {
            path.strip_prefix(&self.dir)
                .map_err(|_| format!("{value:?} is outside {}", self.dir.display()))?
        } else {
            path
        };
        let mut parts = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                _ => return Err(format!("{value:?} must not contain '..'")),
            }
        }
        Ok((!parts.is_empty()).then(|| parts.join("/")))
    }

    /// The object with its keys renamed to their paths under `dir`; on a bad annotation, no keys (logged).
    pub fn apply(&self, meta: &ObjectMeta, mut source: SourceData) -> SourceData {
        let folder = match self.folder(meta) {
            Ok(folder) => folder,
            Err(reason) => {
                tracing::error!(
                    object = source.describe(),
                    reason,
                    "unusable folder annotation: the object's files are not projected"
                );
                source.data.clear();
                return source;
            }
        };
        let data = std::mem::take(&mut source.data);
        source.data = data
            .into_iter()
            .map(|(key, value)| {
                let name = if self.unique {
                    format!(
                        "namespace_{}.{}_{}.{key}",
                        source.namespace, source.kind, source.name
                    )
                } else {
                    key
                };
                let path = match &folder {
                    Some(folder) => format!("{folder}/{name}"),
                    None => name,
                };
                (path, value)
            })
            .collect();
        source
    }

    /// As a [`Reshape`] for [`crate::api::ApiSource::with_reshape`].
    pub fn into_reshape(self) -> Reshape {
        Arc::new(move |meta, source| self.apply(meta, source))
    }
}

#[cfg(test)]
mod tests;
