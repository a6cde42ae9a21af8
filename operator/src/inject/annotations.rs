//! The per-pod injection annotations, parsed into a typed [`InjectSpec`].
//!
//! Opt-in and opt-out:
//! - [`INJECT`] (`configsync.dev/inject`): `"true"` injects, `"false"` opts out even in an opted-in namespace.
//! - [`NAMESPACE_LABEL`] (`configsync.dev/inject=enabled` on the Namespace): every pod without `"false"` is injected.
//! - [`INJECTED`] (`configsync.dev/injected`): the marker the patch sets; a pod carrying it is never patched again.
//!
//! Configuration (all optional except a source):
//! - [`CONFIGMAPS`] / [`SECRETS`]: comma-separated names to project (`CONFIGSYNC_CONFIGMAP` / `CONFIGSYNC_SECRET`).
//! - [`OPTIONAL`]: comma-separated names among those that may not exist (`CONFIGSYNC_OPTIONAL`), like
//!   `optional: true` on a volume; every other named source must exist before the app starts.
//! - [`SELECTOR`]: a label selector; every matching ConfigMap and Secret is projected (`CONFIGSYNC_SELECTOR`).
//! - [`MOUNT_PATH`]: where the rendered files appear in the app containers (absolute; default `/etc/configsync`).
//! - [`CONTAINERS`]: comma-separated app containers that get the mount (default: all of `spec.containers`).
//! - [`MODE`]: `sidecar` (default; a long-running container), `exec` (the app's command is wrapped by
//!   `configsync sidecar exec`, so env stays current) or `init` (render once before the app starts).
//! - Reload, at most one: [`RELOAD_SIGNAL`] (a name like `HUP`/`SIGUSR1` or a number; in sidecar mode it needs
//!   [`PROCESS_NAME`] and turns on `shareProcessNamespace`), [`RELOAD_URL`] (an `http://` URL) or
//!   [`RELOAD_COMMAND`] (run through `sh -c`).
//! - [`WAIT`]: the debounce, `MIN[,MAX]` Go-style durations (`CONFIGSYNC_WAIT`).
//! - [`REQUESTS_CPU`], [`REQUESTS_MEMORY`], [`LIMITS_CPU`], [`LIMITS_MEMORY`]: the sidecar's resources (quantities).
//! - [`RUN_AS_USER`]: the sidecar's UID (default 65532); signal reload needs the app's UID, since all capabilities
//!   are dropped.
//! - [`NATIVE_SIDECAR`]: `"true"` or `"false"` overrides the operator's choice (`--native-sidecars`) for this pod:
//!   a native sidecar (an init container with `restartPolicy: Always`, Kubernetes 1.29+) or a classic one (a
//!   render-once init container, then a regular container).
use std::collections::{BTreeMap, BTreeSet};

use configsync_core::names::is_dns_subdomain;
use configsync_core::signal::{Signal, SignalParseError};
use configsync_core::timing::Wait;

/// Pod annotation: `"true"` opts in, `"false"` opts out.
pub const INJECT: &str = configsync_crds::annotations::INJECT;
/// Namespace label: `enabled` opts in every pod of the namespace.
pub const NAMESPACE_LABEL: &str = configsync_crds::annotations::INJECT;
/// The namespace label's opt-in value.
pub const NAMESPACE_ENABLED: &str = "enabled";
/// Marker set by the patch: the pod is injected, a second pass does nothing.
pub const INJECTED: &str = "configsync.dev/injected";
/// ConfigMap names to project, comma-separated.
pub const CONFIGMAPS: &str = "configsync.dev/inject-configmaps";
/// Secret names to project, comma-separated.
pub const SECRETS: &str = "configsync.dev/inject-secrets";
/// Names among [`CONFIGMAPS`] and [`SECRETS`] that may not exist, comma-separated.
pub const OPTIONAL: &str = "configsync.dev/inject-optional";
/// Label selector: project every matching ConfigMap and Secret.
pub const SELECTOR: &str = "configsync.dev/inject-selector";
/// Absolute mount path of the rendered files in the app containers.
pub const MOUNT_PATH: &str = "configsync.dev/inject-mount-path";
/// App containers that get the mount, comma-separated.
pub const CONTAINERS: &str = "configsync.dev/inject-containers";
/// `sidecar`, `exec` or `init`.
pub const MODE: &str = "configsync.dev/inject-mode";
/// Reload by this signal.
pub const RELOAD_SIGNAL: &str = "configsync.dev/inject-reload-signal";
/// The process the signal goes to (sidecar mode).
pub const PROCESS_NAME: &str = "configsync.dev/inject-process-name";
/// Reload by an HTTP request to this `http://` URL.
pub const RELOAD_URL: &str = "configsync.dev/inject-reload-url";
/// Reload by running this command.
pub const RELOAD_COMMAND: &str = "configsync.dev/inject-reload-command";
/// Debounce, `MIN[,MAX]`.
pub const WAIT: &str = "configsync.dev/inject-wait";
/// The sidecar's CPU request.
pub const REQUESTS_CPU: &str = "configsync.dev/inject-requests-cpu";
/// The sidecar's memory request.
pub const REQUESTS_MEMORY: &str = "configsync.dev/inject-requests-memory";
/// The sidecar's CPU limit.
pub const LIMITS_CPU: &str = "configsync.dev/inject-limits-cpu";
/// The sidecar's memory limit.
pub const LIMITS_MEMORY: &str = "configsync.dev/inject-limits-memory";
/// The sidecar's UID.
pub const RUN_AS_USER: &str = "configsync.dev/inject-run-as-user";

/// `"true"`: a native sidecar; `"false"`: a classic one (init container + regular container).
pub const NATIVE_SIDECAR: &str = "configsync.dev/inject-native-sidecar";

/// The default mount path.
pub const DEFAULT_MOUNT_PATH: &str = "/etc/configsync";
/// The default sidecar UID (distroless `nonroot`).
pub const DEFAULT_RUN_AS_USER: i64 = 65532;

/// How the sidecar runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A long-running container beside the app.
    #[default]
    Sidecar,
    /// The app's entrypoint is wrapped by `configsync sidecar exec`.
    Exec,
    /// Render once in an init container.
    Init,
}

/// How the app is told about a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reload {
    /// Send this signal (canonical name, e.g. `SIGHUP`) to the process named `process` (sidecar mode) or the child.
    Signal {
        /// The signal name, e.g. `SIGHUP`.
        signal: String,
        /// The process name to signal (required in sidecar mode).
        process: Option<String>,
    },
    /// An HTTP request to this URL.
    Http(String),
    /// A command run through `sh -c`.
    Command(String),
}

/// Everything the annotations ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectSpec {
    /// ConfigMaps projected by name.
    pub configmaps: BTreeSet<String>,
    /// Secrets projected by name.
    pub secrets: BTreeSet<String>,
    /// Names among `configmaps` and `secrets` that may not exist (the rest hold the app until they do).
    pub optional: BTreeSet<String>,
    /// Label selector of further sources.
    pub selector: Option<String>,
    /// Mount path in the app containers.
    pub mount_path: String,
    /// App containers that get the mount; `None` means all.
    pub containers: Option<BTreeSet<String>>,
    /// Sidecar, exec or init.
    pub mode: Mode,
    /// The reload method, if any.
    pub reload: Option<Reload>,
    /// The raw debounce value, validated.
    pub wait: Option<String>,
    /// `(requests, limits)` quantities by resource name.
    pub resources: (BTreeMap<String, String>, BTreeMap<String, String>),
    /// The sidecar's UID.
    pub run_as_user: i64,
    /// The pod's choice of a native (`Some(true)`) or classic sidecar; `None` follows the operator.
    pub native_sidecar: Option<bool>,
}

/// Parse the injection annotations, collecting one message per malformed annotation.
///
/// # Errors
/// Every problem, as `annotation: message` lines, sorted by annotation.
pub fn parse(annotations: &BTreeMap<String, String>) -> Result<InjectSpec, Vec<String>> {
    let mut p = Parser {
        annotations,
        problems: Vec::new(),
    };
    let configmaps = p.names(CONFIGMAPS);
    let secrets = p.names(SECRETS);
    let optional = p.names(OPTIONAL);
    if let Some(name) = optional
        .iter()
        .find(|name| !configmaps.contains(*name) && !secrets.contains(*name))
    {
        p.problems.push(format!(
            "{OPTIONAL}: {name:?} is not among {CONFIGMAPS} or {SECRETS}"
        ));
    }
    let selector = p.get(SELECTOR).map(str::to_owned);
    if configmaps.is_empty() && secrets.is_empty() && selector.is_none() {
        p.problems.push(format!(
            "{CONFIGMAPS}: no sources: set {CONFIGMAPS}, {SECRETS} or {SELECTOR}"
        ));
    }
    let mount_path = p.mount_path();
    let containers = p.get(CONTAINERS).map(|_| p.names(CONTAINERS));
    let mode = p.mode();
    let reload = p.reload(mode);
    let wait = p.wait();
    let resources = p.resources();
    let run_as_user = p.run_as_user();
    let native_sidecar = p.native_sidecar();
    if !p.problems.is_empty() {
        p.problems.sort();
        return Err(p.problems);
    }
    Ok(InjectSpec {
        configmaps,
        secrets,
        optional,
        selector,
        mount_path,
        containers,
        mode,
        reload,
        wait,
        resources,
        run_as_user,
        native_sidecar,
    })
}

struct Parser<'a> {
    annotations: &'a BTreeMap<String, String>,
    problems: Vec<String>,
}

impl<'a> Parser<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.annotations
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn bad(&mut self, key: &str, value: &str, why: impl std::fmt::Display) {
        self.problems.push(format!("{key}: {value:?}: {why}"));
    }

    fn names(&mut self, key: &str) -> BTreeSet<String> {
        let Some(value) = self.get(key) else {
            return BTreeSet::new();
        };
        let names: BTreeSet<String> = value
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = names.iter().find(|n| !is_dns_subdomain(n)) {
            let bad = bad.clone();
            self.bad(key, value, format!("{bad:?} is not a valid name"));
        }
        names
    }

    fn mount_path(&mut self) -> String {
        let Some(value) = self.get(MOUNT_PATH) else {
            return DEFAULT_MOUNT_PATH.to_owned();
        };
        let valid = value.starts_with('/') && !value.split('/').any(|part| part == "..");
        if !valid {
            self.bad(MOUNT_PATH, value, "expected an absolute path without '..'");
        }
        value.to_owned()
    }

    fn mode(&mut self) -> Mode {
        match self.get(MODE) {
            None | Some("sidecar") => Mode::Sidecar,
            Some("exec") => Mode::Exec,
            Some("init") => Mode::Init,
            Some(other) => {
                self.bad(MODE, other, "unknown mode: expected sidecar, exec or init");
                Mode::Sidecar
            }
        }
    }

    fn reload(&mut self, mode: Mode) -> Option<Reload> {
        let given: Vec<&str> = [RELOAD_SIGNAL, RELOAD_URL, RELOAD_COMMAND]
            .into_iter()
            .filter(|k| self.get(k).is_some())
            .collect();
        if given.len() > 1 {
            let list = given.join(", ");
            self.problems.push(format!(
                "{RELOAD_SIGNAL}: give at most one reload method, got {list}"
            ));
            return None;
        }
        if let Some(value) = self.get(RELOAD_SIGNAL) {
            return self.signal(value, mode);
        }
        if let Some(value) = self.get(RELOAD_URL) {
            if !is_http_url(value) {
                self.bad(
                    RELOAD_URL,
                    value,
                    "invalid URL: expected http://HOST[:PORT]/PATH",
                );
            }
            return Some(Reload::Http(value.to_owned()));
        }
        self.get(RELOAD_COMMAND)
            .map(|value| Reload::Command(value.to_owned()))
    }

    fn signal(&mut self, value: &str, mode: Mode) -> Option<Reload> {
        let signal = match signal_name(value) {
            Ok(signal) => signal,
            Err(error) => {
                self.bad(RELOAD_SIGNAL, value, error);
                return None;
            }
        };
        let process = self.get(PROCESS_NAME).map(str::to_owned);
        if mode == Mode::Sidecar && process.is_none() {
            self.bad(
                RELOAD_SIGNAL,
                value,
                format!("signal reload in sidecar mode needs {PROCESS_NAME}"),
            );
        }
        Some(Reload::Signal { signal, process })
    }

    fn wait(&mut self) -> Option<String> {
        let value = self.get(WAIT)?;
        if let Err(invalid) = value.parse::<Wait>() {
            self.bad(WAIT, value, invalid);
        }
        Some(value.to_owned())
    }

    fn resources(&mut self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let mut pick = |pairs: [(&str, &str); 2]| {
            let mut out = BTreeMap::new();
            for (key, resource) in pairs {
                let Some(value) = self.get(key) else { continue };
                if !is_quantity(value) {
                    self.bad(
                        key,
                        value,
                        "invalid quantity: expected e.g. 100m, 64Mi or 1",
                    );
                }
                out.insert(resource.to_owned(), value.to_owned());
            }
            out
        };
        let requests = pick([(REQUESTS_CPU, "cpu"), (REQUESTS_MEMORY, "memory")]);
        let limits = pick([(LIMITS_CPU, "cpu"), (LIMITS_MEMORY, "memory")]);
        (requests, limits)
    }

    fn native_sidecar(&mut self) -> Option<bool> {
        match self.get(NATIVE_SIDECAR)? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.bad(NATIVE_SIDECAR, other, "expected \"true\" or \"false\"");
                None
            }
        }
    }

    fn run_as_user(&mut self) -> i64 {
        let Some(value) = self.get(RUN_AS_USER) else {
            return DEFAULT_RUN_AS_USER;
        };
        match value.parse::<i64>() {
            Ok(uid) if uid > 0 => uid,
            _ => {
                self.bad(
                    RUN_AS_USER,
                    value,
                    "expected a non-zero UID (the sidecar runs as non-root)",
                );
                DEFAULT_RUN_AS_USER
            }
        }
    }
}

/// The canonical name (`SIGHUP`) of a signal written as `HUP`, `sighup`, `SIGHUP` or `1`: the sidecar's own
/// parser, so the webhook accepts exactly what `CONFIGSYNC_SIGNAL` accepts.
pub fn signal_name(input: &str) -> Result<String, SignalParseError> {
    input.parse::<Signal>().map(|signal| signal.to_string())
}

fn is_http_url(value: &str) -> bool {
    let Ok(uri) = value.parse::<http::Uri>() else {
        return false;
    };
    uri.scheme_str() == Some("http") && uri.host().is_some_and(|h| !h.is_empty())
}

/// A Kubernetes quantity: a decimal number with an optional binary, decimal or exponent suffix.
fn is_quantity(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let digits_end = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(digits_end);
    let number_ok = number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
        .is_some_and(|exp| !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()));
    number_ok && suffix_ok
}
