//! `configsync sidecar`: keep ConfigMap/Secret data projected into files and env, and tell the app.
//!
//! `configsync sidecar [options]` runs beside the app (or once, as an init container, with `--once`);
//! `configsync sidecar exec [options] -- app args...` runs as the app's entrypoint and supervises it.
//! Every flag can also be set through its `CONFIGSYNC_...` environment variable (the injection webhook uses them).
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser as _;
use configsync_core::env;
use configsync_core::kubeconfig::KubeconfigArgs;
use configsync_core::log::LogOptions;
use configsync_envelope::KeyRing;
use configsync_sidecar::api::{ApiSource, Kinds, Refresh, Selection, selections};
use configsync_sidecar::atomic::Fsync;
use configsync_sidecar::atomic::files::Publish;
use configsync_sidecar::cache::SourceCache;
use configsync_sidecar::compat::url_keys::{Downloads, UrlKeys};
use configsync_sidecar::compat::{self, Compat, k8s_sidecar::FileNames};
use configsync_sidecar::health::MetricsPath;
use configsync_sidecar::mounted::MountedDir;
use configsync_sidecar::reload::http::{BasicAuth, Credential, HttpOptions, HttpReload};
use configsync_sidecar::reload::{ProcessTarget, Reloader, Retry};
use configsync_sidecar::render::{DirLayout, EnvRules, Item, Layout};
use configsync_sidecar::runner::{NotifyPolicy, RunConfig, run_exec_mode, run_sidecar};
use configsync_sidecar::signal::Signal;
use configsync_sidecar::source::{Source, SourceKind};
use configsync_sidecar::supervise::{ExecPolicy, forward_os_signals};
use configsync_sidecar::sync::{CacheConfig, SyncConfig};
use configsync_sidecar::timing::{Wait, parse_duration};
use configsync_sidecar::watchdog::WatchdogConfig;

pub mod install;

/// Project ConfigMaps and Secrets into files and env atomically, and reload the app on change.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SidecarArgs {
    #[command(flatten)]
    options: SidecarOptions,
    #[command(subcommand)]
    mode: Option<SidecarMode>,
}

#[derive(Debug, clap::Subcommand)]
enum SidecarMode {
    /// Run the app as a child: render first, start it with the projected env, reload or restart it on change.
    Exec(Box<ExecArgs>),
    /// Stand in for k8s-sidecar (configured by its environment variables) or configmap-reload (by its flags);
    /// chosen automatically when the container starts the way those do (see the README).
    Compat(CompatArgs),
}

#[derive(Debug, clap::Args)]
struct CompatArgs {
    /// k8s-sidecar or configmap-reload.
    #[arg(value_name = "MODE")]
    mode: Compat,
    /// configmap-reload's flags (`--volume-dir=DIR --webhook-url=URL ...`), or k8s-sidecar's
    /// `--req-username-file`/`--req-password-file`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

/// `configsync sidecar` options alone, to parse a compat translation.
#[derive(Debug, clap::Parser)]
#[command(name = "configsync sidecar", no_binary_name = true)]
struct TranslatedOptions {
    #[command(flatten)]
    options: SidecarOptions,
}

/// `exec`: the sidecar's options, plus how to stop the app and the app itself.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Signal that stops the app for a restart when its env changes.
    #[arg(long, default_value = "TERM", env = "CONFIGSYNC_STOP_SIGNAL")]
    stop_signal: Signal,
    /// How long the app may take to stop before SIGKILL.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "CONFIGSYNC_GRACE_PERIOD")]
    grace_period: Duration,
    /// The app and its arguments.
    // Its own id: `command` is already the flattened `--command` reload option (clap asserts unique ids).
    #[arg(id = "app", value_name = "APP", last = true, required = true, num_args = 1..)]
    command: Vec<String>,
    /// Last: see `SidecarOptions::kube`.
    #[command(flatten)]
    options: SidecarOptions,
}

/// The sidecar's options: sources, cache, projection, reload, health and logs.
#[derive(Debug, clap::Args)]
pub struct SidecarOptions {
    #[command(flatten)]
    log: LogOptions,
    /// ConfigMap to watch through the API (repeatable); NAMESPACE/NAME watches it in that namespace only.
    #[arg(
        long = "configmap",
        env = env::CONFIGMAP,
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    configmaps: Vec<String>,
    /// Secret to watch through the API (repeatable); NAMESPACE/NAME watches it in that namespace only.
    #[arg(
        long = "secret",
        env = env::SECRET,
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    secrets: Vec<String>,
    /// A `--configmap` or `--secret` name that may not exist (repeatable), like `optional: true` on a volume: the
    /// first sync does not wait for it. Every other named source must exist: until it does, nothing is published
    /// and /readyz answers 503 naming it.
    #[arg(
        long = "optional",
        env = "CONFIGSYNC_OPTIONAL",
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    optional: Vec<String>,
    /// Watch every ConfigMap and Secret matching this label selector.
    #[arg(long, env = env::SELECTOR, help_heading = "Sources")]
    selector: Option<String>,
    /// Namespace(s) to watch; defaults to the pod's own (or the kubeconfig context's).
    #[arg(
        short = 'n',
        long = "namespace",
        env = "CONFIGSYNC_NAMESPACE",
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    namespaces: Vec<String>,
    /// INSECURE: do not verify the API server's certificate, as kubectl's flag (k8s-sidecar's SKIP_TLS_VERIFY);
    /// logged as a warning at start.
    #[arg(
        long,
        env = "CONFIGSYNC_INSECURE_SKIP_TLS_VERIFY",
        help_heading = "Sources"
    )]
    insecure_skip_tls_verify: bool,
    /// Download keys ending in .url: the file named without .url holds what the URL answers (k8s-sidecar's
    /// behaviour), fetched with the reload request's auth, CA, timeout and retries, at most 16 MiB. A failed
    /// download is logged and keeps the file's last content.
    #[arg(long, env = "CONFIGSYNC_URL_KEYS", help_heading = "Sources")]
    url_keys: bool,
    /// With --url-keys: a 5xx answer's body is the content too (k8s-sidecar's ENABLE_5XX).
    #[arg(
        long,
        env = "CONFIGSYNC_URL_KEYS_ACCEPT_5XX",
        requires = "url_keys",
        help_heading = "Sources"
    )]
    url_keys_accept_5xx: bool,
    /// Mounted ConfigMap volume or plain directory to watch, as DIR or NAME=DIR (repeatable).
    #[arg(
        long = "watch-dir",
        env = "CONFIGSYNC_WATCH_DIR",
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    watch_dirs: Vec<DirSpec>,
    /// Mounted Secret volume to watch, as DIR or NAME=DIR (repeatable; files default to mode 0400).
    #[arg(
        long = "watch-secret-dir",
        env = "CONFIGSYNC_WATCH_SECRET_DIR",
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    watch_secret_dirs: Vec<DirSpec>,
    /// Re-read watched directories and re-list watched objects this often, catching missed events.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "CONFIGSYNC_RECHECK_INTERVAL", help_heading = "Sources")]
    recheck_interval: Duration,
    /// Restart a source that reported nothing (not even a heartbeat) for this long; liveness fails meanwhile.
    #[arg(long, default_value = "2m", value_parser = parse_duration, env = "CONFIGSYNC_STALE_AFTER", help_heading = "Sources")]
    stale_after: Duration,

    /// Keep the last synced ConfigMaps and Secrets here, encrypted (AES-256-GCM), and serve them at start when the
    /// API server is unreachable. Needs --cache-keys.
    #[arg(
        long,
        env = "CONFIGSYNC_CACHE_DIR",
        requires = "cache_keys",
        help_heading = "Cache"
    )]
    cache_dir: Option<PathBuf>,
    /// Key ring file for the cache, as `configsync keys generate` writes it.
    #[arg(
        long,
        env = "CONFIGSYNC_CACHE_KEYS",
        requires = "cache_dir",
        help_heading = "Cache"
    )]
    cache_keys: Option<PathBuf>,
    /// Serve the cache when the API has not answered this long after the start (the API is still retried).
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "CONFIGSYNC_CACHE_TIMEOUT", help_heading = "Cache")]
    cache_timeout: Duration,

    /// Output directory for files (kubelet-style atomic `..data` swap per source; one for all with --flat).
    #[arg(long, env = env::DIR, help_heading = "Projection")]
    dir: Option<PathBuf>,
    /// fsync what is published into --dir: never (tmpfs or an emptyDir, which a restarted sidecar re-checks
    /// against the API before it is ready) or always (a target that must survive a node crash on its own).
    #[arg(
        long,
        default_value = "never",
        env = "CONFIGSYNC_FSYNC",
        help_heading = "Projection"
    )]
    fsync: Fsync,
    /// Put all keys directly in --dir instead of one sub-directory per source.
    #[arg(long, env = "CONFIGSYNC_FLAT", help_heading = "Projection")]
    flat: bool,
    /// Project only listed keys of a source, as SOURCE:KEY=PATH or SOURCE:KEY=PATH:MODE (repeatable).
    #[arg(
        long = "item",
        env = "CONFIGSYNC_ITEM",
        value_delimiter = ',',
        help_heading = "Projection"
    )]
    items: Vec<ItemSpec>,
    /// File mode of ConfigMap keys (octal).
    #[arg(long, default_value = "0644", value_parser = parse_mode, env = "CONFIGSYNC_CONFIGMAP_MODE", help_heading = "Projection")]
    configmap_mode: u32,
    /// File mode of Secret keys (octal).
    #[arg(long, default_value = "0400", value_parser = parse_mode, env = "CONFIGSYNC_SECRET_MODE", help_heading = "Projection")]
    secret_mode: u32,
    /// Write the env as a dotenv file (`set -a; . FILE` reads it back exactly).
    #[arg(long, env = "CONFIGSYNC_ENV_FILE", help_heading = "Projection")]
    env_file: Option<PathBuf>,
    /// Write the env as a JSON object.
    #[arg(long, env = "CONFIGSYNC_ENV_JSON", help_heading = "Projection")]
    env_json: Option<PathBuf>,
    /// Only these sources feed the env (repeatable; default: all).
    #[arg(
        long = "env-from",
        env = "CONFIGSYNC_ENV_FROM",
        value_delimiter = ',',
        help_heading = "Projection"
    )]
    env_from: Vec<String>,
    /// Prefix of every env variable name.
    #[arg(
        long,
        default_value = "",
        env = "CONFIGSYNC_ENV_PREFIX",
        help_heading = "Projection"
    )]
    env_prefix: String,
    /// Upper-case env variable names.
    #[arg(long, env = "CONFIGSYNC_ENV_UPPER_CASE", help_heading = "Projection")]
    env_upper_case: bool,

    /// Signal the process whose PID is in this file.
    #[arg(
        long,
        env = "CONFIGSYNC_PID_FILE",
        group = "reload",
        help_heading = "Reload"
    )]
    pid_file: Option<PathBuf>,
    /// Signal every process with this name (needs shareProcessNamespace).
    #[arg(
        long,
        env = env::PROCESS_NAME,
        group = "reload",
        help_heading = "Reload"
    )]
    process_name: Option<String>,
    /// Reload signal (HUP, SIGHUP, hup or a number).
    #[arg(
        long,
        default_value = "HUP",
        env = env::SIGNAL,
        help_heading = "Reload"
    )]
    signal: Signal,
    /// Send an HTTP request to this URL (repeatable: each one is called, and retried, on its own). Credentials in
    /// the URL (http://user:pass@host/) are sent as basic auth and never logged.
    #[arg(
        long = "http-url",
        value_name = "URL",
        env = env::HTTP_URL,
        group = "reload",
        help_heading = "Reload"
    )]
    http_urls: Vec<String>,
    /// HTTP method of the reload request.
    #[arg(
        long,
        default_value = "POST",
        env = "CONFIGSYNC_HTTP_METHOD",
        help_heading = "Reload"
    )]
    http_method: String,
    /// Status the reload request must answer.
    #[arg(
        long,
        default_value_t = 200,
        env = "CONFIGSYNC_HTTP_STATUS",
        help_heading = "Reload"
    )]
    http_status: u16,
    /// Timeout of one reload request or command.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "CONFIGSYNC_RELOAD_TIMEOUT", help_heading = "Reload")]
    reload_timeout: Duration,
    /// Run this command through `sh -c` (before the HTTP request when both are given).
    #[arg(long, env = env::COMMAND, help_heading = "Reload")]
    command: Option<String>,
    /// Attempts per notice before giving up on a batch.
    #[arg(
        long,
        default_value_t = 5,
        env = "CONFIGSYNC_RELOAD_ATTEMPTS",
        help_heading = "Reload"
    )]
    reload_attempts: u32,
    /// Quiet period: MIN or MIN,MAX (MAX defaults to 4×MIN).
    #[arg(
        long,
        default_value = "1s",
        env = env::WAIT,
        help_heading = "Reload"
    )]
    wait: Wait,
    /// Random delay up to this before each notice, to spread replicas.
    #[arg(long, default_value = "0s", value_parser = parse_duration, env = "CONFIGSYNC_SPLAY", help_heading = "Reload")]
    splay: Duration,
    /// Also notify after the initial sync.
    #[arg(long, env = "CONFIGSYNC_NOTIFY_ON_START", help_heading = "Reload")]
    notify_on_start: bool,

    /// Render once and exit (init container).
    #[arg(long, env = env::ONCE)]
    once: bool,
    /// Serve /readyz (ready after the first complete publish), /healthz (live: sources report; /livez is the
    /// same) and the metrics (at --metrics-path) here ("off" to disable).
    #[arg(long, default_value = "0.0.0.0:9533", env = env::HEALTH_ADDR)]
    health_addr: HealthAddr,
    /// The path of the metrics on --health-addr, and their only one (configmap-reload's --web.telemetry-path):
    /// absolute, matched exactly, not /healthz, /readyz or /livez.
    #[arg(long, default_value = "/metrics", env = "CONFIGSYNC_METRICS_PATH")]
    metrics_path: MetricsPath,

    // Sources and reload options of issue 20 (all namespaces, kinds, polling, k8s-sidecar file names, HTTPS,
    // basic auth, JSON body, backoff).
    /// Watch in every namespace (needs a ClusterRole) instead of --namespace.
    #[arg(
        short = 'A',
        long,
        env = "CONFIGSYNC_ALL_NAMESPACES",
        conflicts_with = "namespaces",
        help_heading = "Sources"
    )]
    all_namespaces: bool,
    /// Which kinds --selector watches: configmap, secret or both.
    #[arg(
        long,
        default_value = "both",
        env = "CONFIGSYNC_SELECTOR_KIND",
        help_heading = "Sources"
    )]
    selector_kind: Kinds,
    /// List the watched objects this often instead of watching them (for a Role without `watch`).
    #[arg(long, value_parser = parse_duration, env = "CONFIGSYNC_POLL_INTERVAL", help_heading = "Sources")]
    poll_interval: Option<Duration>,
    /// With --flat: put an object's keys in the folder (under --dir) its annotation of this name gives.
    #[arg(
        long,
        env = "CONFIGSYNC_FOLDER_ANNOTATION",
        requires = "flat",
        help_heading = "Projection"
    )]
    folder_annotation: Option<String>,
    /// How --dir is published: swap (every file through ..data, a source's files switched at once) or files
    /// (regular files, each replaced by its own rename: k8s-sidecar's layout).
    #[arg(
        long,
        default_value = "swap",
        env = "CONFIGSYNC_PUBLISH",
        help_heading = "Projection"
    )]
    publish: Publish,
    /// With --flat: name each file namespace_NS.KIND_NAME.KEY, as k8s-sidecar's UNIQUE_FILENAMES does.
    #[arg(
        long,
        env = "CONFIGSYNC_UNIQUE_FILENAMES",
        requires = "flat",
        help_heading = "Projection"
    )]
    unique_filenames: bool,
    /// PEM file of the CA that verifies an https:// --http-url.
    #[arg(long, env = "CONFIGSYNC_HTTP_CA_FILE", help_heading = "Reload")]
    http_ca_file: Option<PathBuf>,
    /// INSECURE: accept any certificate from an https:// --http-url (or --url-keys download), as k8s-sidecar's
    /// REQ_SKIP_TLS_VERIFY does; logged as a warning at start. Prefer --http-ca-file.
    #[arg(
        long,
        env = "CONFIGSYNC_HTTP_INSECURE_SKIP_TLS_VERIFY",
        help_heading = "Reload"
    )]
    http_insecure_skip_tls_verify: bool,
    /// Basic auth user of the reload request.
    #[arg(
        long,
        env = "CONFIGSYNC_HTTP_USERNAME",
        conflicts_with = "http_username_file",
        help_heading = "Reload"
    )]
    http_username: Option<String>,
    /// Basic auth user, read from this file at each request.
    #[arg(long, env = "CONFIGSYNC_HTTP_USERNAME_FILE", help_heading = "Reload")]
    http_username_file: Option<PathBuf>,
    /// Basic auth password, read from this file at each request (a mounted Secret).
    #[arg(
        long,
        env = "CONFIGSYNC_HTTP_PASSWORD_FILE",
        conflicts_with = "http_password_env",
        help_heading = "Reload"
    )]
    http_password_file: Option<PathBuf>,
    /// Basic auth password, read from this environment variable (e.g. one set from a Secret).
    #[arg(
        long,
        env = "CONFIGSYNC_HTTP_PASSWORD_ENV",
        value_name = "VAR",
        help_heading = "Reload"
    )]
    http_password_env: Option<String>,
    /// JSON body of the reload request.
    #[arg(long, env = "CONFIGSYNC_HTTP_BODY", help_heading = "Reload")]
    http_body: Option<String>,
    /// Wait after the first failed reload attempt; doubles after each one.
    #[arg(long, default_value = "500ms", value_parser = parse_duration, env = "CONFIGSYNC_RELOAD_BACKOFF", help_heading = "Reload")]
    reload_backoff: Duration,
    /// Longest wait between reload attempts.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "CONFIGSYNC_RELOAD_BACKOFF_MAX", help_heading = "Reload")]
    reload_backoff_max: Duration,
    /// `--kubeconfig` and `--context` for the API sources, as the `configsync` commands take them.
    // Last, here and where these options are flattened: clap's `next_help_heading` also applies to every
    // argument declared after it.
    #[command(flatten, next_help_heading = "Sources")]
    kube: KubeconfigArgs,
}

/// `DIR` or `NAME=DIR`.
#[derive(Debug, Clone)]
struct DirSpec {
    name: Option<String>,
    dir: PathBuf,
}

impl FromStr for DirSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.split_once('=') {
            Some((name, dir)) if !name.is_empty() && !name.contains('/') && !dir.is_empty() => {
                Ok(Self {
                    name: Some(name.to_string()),
                    dir: dir.into(),
                })
            }
            _ if input.is_empty() => Err("empty directory".into()),
            _ => Ok(Self {
                name: None,
                dir: input.into(),
            }),
        }
    }
}

/// `SOURCE:KEY=PATH[:MODE]`.
#[derive(Debug, Clone)]
struct ItemSpec {
    source: String,
    item: Item,
}

impl FromStr for ItemSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let malformed =
            || format!("invalid item {input:?}: expected SOURCE:KEY=PATH or SOURCE:KEY=PATH:MODE");
        let (source, rest) = input.split_once(':').ok_or_else(malformed)?;
        let (key, target) = rest.split_once('=').ok_or_else(malformed)?;
        let (path, mode) = match target.rsplit_once(':') {
            Some((path, mode)) => (path, Some(parse_mode(mode)?)),
            None => (target, None),
        };
        if source.is_empty() || key.is_empty() || path.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            source: source.into(),
            item: Item {
                key: key.into(),
                path: path.into(),
                mode,
            },
        })
    }
}

/// Where `selection` is watched in the round of the namespace loop for `namespace` (`first`: the loop's first
/// round): a `NAMESPACE/NAME` name in its own namespace, once, whatever `--namespace` says; anything else in
/// `namespace`. `None`: not in this round.
fn placement<'a>(
    selection: &'a Selection,
    namespace: &'a str,
    first: bool,
    all_namespaces: bool,
) -> anyhow::Result<Option<(&'a str, Selection)>> {
    let Selection::Name(qualified) = selection else {
        return Ok(Some((namespace, selection.clone())));
    };
    Ok(match qualified.split_once('/') {
        None => Some((namespace, selection.clone())),
        Some((only, _)) if all_namespaces => {
            bail!(
                "{qualified}: a NAMESPACE/NAME cannot be used with --all-namespaces ({only} only)"
            )
        }
        Some((only, name)) if !only.is_empty() && !name.is_empty() && !name.contains('/') => {
            first.then(|| (only, Selection::Name(name.to_string())))
        }
        Some(_) => bail!("{qualified}: expected NAME or NAMESPACE/NAME"),
    })
}

/// A socket address, or `off`.
#[derive(Debug, Clone, Copy)]
struct HealthAddr(Option<SocketAddr>);

impl FromStr for HealthAddr {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        input
            .parse()
            .map(|addr| Self(Some(addr)))
            .map_err(|_| format!("invalid address {input:?}: expected IP:PORT or off"))
    }
}

fn parse_mode(input: &str) -> Result<u32, String> {
    let digits = input.strip_prefix("0o").unwrap_or(input);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| format!("invalid file mode {input:?}: expected octal like 0644"))
}

/// The sidecar's runtime, for both binaries: one thread. The sidecar waits on a few watches and writes files
/// (through tokio's blocking pool), so worker threads would only add stacks, per-thread malloc arenas and
/// cross-thread wake-ups on the event → swap path.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

impl SidecarArgs {
    /// Run in the chosen mode (beside the app, or `exec` as its entrypoint).
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            Self {
                mode: Some(SidecarMode::Exec(exec)),
                ..
            } => exec.run().await,
            Self {
                mode: Some(SidecarMode::Compat(compat)),
                ..
            } => compat.run().await,
            Self {
                options,
                mode: None,
            } => options.run().await,
        }
    }
}

impl ExecArgs {
    /// Run the app as a child and keep its files and env current.
    pub async fn run(self) -> anyhow::Result<()> {
        self.options.log.init()?;
        let Self {
            options,
            stop_signal,
            grace_period,
            command,
        } = self;
        let policy = ExecPolicy {
            reload_signal: options.signal,
            stop_signal,
            grace: grace_period,
        };
        let (sources, config) = options.normalise(true).await?;
        let signals = forward_os_signals()?;
        let code = run_exec_mode(sources, config, &command, policy, signals).await?;
        std::process::exit(code)
    }
}

impl CompatArgs {
    /// Translate, log what is handled differently, and run the sidecar those flags describe.
    async fn run(self) -> anyhow::Result<()> {
        let lookup = |name: &str| std::env::var(name).ok();
        let translation = compat::translate(self.mode, &self.args, &lookup)?;
        let options = TranslatedOptions::try_parse_from(&translation.args)
            .with_context(|| format!("{} mode: the translated flags are invalid", self.mode))?
            .options;
        // Before the first line, so the translation's warnings are not lost (`run` keeps this subscriber).
        options.log.init()?;
        tracing::info!(mode = %self.mode, "running as a drop-in replacement");
        for warning in &translation.warnings {
            tracing::warn!(mode = %self.mode, warning);
        }
        options.run().await
    }
}

impl SidecarOptions {
    /// Keep the files and env current beside the app, and tell it of changes.
    pub async fn run(self) -> anyhow::Result<()> {
        self.log.init()?;
        let reloader = self.reloader()?;
        let policy = NotifyPolicy {
            notify_on_start: self.notify_on_start,
            splay: self.splay,
            retry: self.retry(),
        };
        let (sources, config) = self.normalise(false).await?;
        if config.sync.dir.is_none()
            && config.sync.env_file.is_none()
            && config.sync.env_json.is_none()
            && reloader.is_none()
        {
            bail!("nothing to do: give --dir, --env-file, --env-json or a reload method");
        }
        run_sidecar(sources, config, reloader, policy).await?;
        Ok(())
    }

    /// The retries of a reload (and of a --url-keys download).
    fn retry(&self) -> Retry {
        Retry {
            attempts: self.reload_attempts.max(1),
            base: self.reload_backoff,
            max: self.reload_backoff_max.max(self.reload_backoff),
        }
    }

    /// The reload methods given, in the order they run: signal, command, HTTP requests.
    fn reloader(&self) -> anyhow::Result<Option<Reloader>> {
        let target = match (&self.pid_file, &self.process_name) {
            (Some(file), _) => Some(ProcessTarget::PidFile(file.clone())),
            (None, Some(name)) => Some(ProcessTarget::Name(name.clone())),
            (None, None) => None,
        };
        let mut all = Vec::new();
        if let Some(target) = target {
            all.push(Reloader::Signal {
                target,
                signal: self.signal,
            });
        }
        if let Some(command) = &self.command {
            all.push(Reloader::Command {
                command: command.clone(),
                timeout: self.reload_timeout,
            });
        }
        for url in &self.http_urls {
            all.push(Reloader::Http(HttpReload::with_options(
                url,
                self.http_options()?,
            )?));
        }
        Ok(match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(Reloader::Each(all)),
        })
    }

    fn http_options(&self) -> anyhow::Result<HttpOptions> {
        let username = match (&self.http_username, &self.http_username_file) {
            (Some(name), _) => Some(Credential::value(name.clone())),
            (None, Some(file)) => Some(Credential::File(file.clone())),
            (None, None) => None,
        };
        let password = match (&self.http_password_file, &self.http_password_env) {
            (Some(file), _) => Some(Credential::File(file.clone())),
            (None, Some(var)) => Some(Credential::value(std::env::var(var).with_context(
                || format!("--http-password-env: the environment variable {var} is not set"),
            )?)),
            (None, None) => None,
        };
        let auth = match (username, password) {
            (Some(username), Some(password)) => Some(BasicAuth { username, password }),
            (None, None) => None,
            _ => bail!(
                "basic auth needs both a user (--http-username[-file]) and a password (--http-password-file or --http-password-env)"
            ),
        };
        if let Some(body) = &self.http_body {
            serde_json::from_str::<serde_json::Value>(body).context("--http-body must be JSON")?;
        }
        Ok(HttpOptions {
            method: self.http_method.clone(),
            expected: self.http_status,
            timeout: self.reload_timeout,
            ca_file: self.http_ca_file.clone(),
            auth,
            json_body: self.http_body.clone().map(String::into_bytes),
            insecure_skip_verify: self.http_insecure_skip_tls_verify,
        })
    }

    /// API-watch sources for `--configmap`, `--secret` and `--selector`, in each `--namespace` (default: the
    /// client's namespace, which is the pod's own in-cluster).
    async fn api_sources(&self) -> anyhow::Result<Vec<Arc<dyn Source>>> {
        if let Some(name) = self
            .optional
            .iter()
            .find(|name| !self.configmaps.contains(name) && !self.secrets.contains(name))
        {
            bail!("--optional {name}: not a --configmap or --secret name");
        }
        let wanted =
            !self.configmaps.is_empty() || !self.secrets.is_empty() || self.selector.is_some();
        if !wanted {
            if !self.namespaces.is_empty() || self.all_namespaces {
                bail!("--namespace and --all-namespaces need --configmap, --secret or --selector");
            }
            return Ok(Vec::new());
        }
        if self.insecure_skip_tls_verify {
            tracing::warn!(
                "--insecure-skip-tls-verify: the API server's certificate is NOT verified; anyone on the path can \
                 impersonate it and feed this pod's files"
            );
        }
        let client = configsync_sidecar::api::connect(
            self.kube.kubeconfig.as_deref(),
            self.kube.context.as_deref(),
            self.insecure_skip_tls_verify,
        )
        .await
        .context(
            "--configmap, --secret and --selector watch the Kubernetes API: no cluster connection",
        )?;
        let namespaces = if self.namespaces.is_empty() {
            vec![client.default_namespace().to_string()]
        } else {
            self.namespaces.clone()
        };
        let selections = selections(
            &self.configmaps,
            &self.secrets,
            self.selector.as_deref(),
            self.selector_kind,
        );
        let file_names = (self.folder_annotation.is_some() || self.unique_filenames).then(|| {
            FileNames {
                dir: self.dir.clone().unwrap_or_default(),
                folder_annotation: self.folder_annotation.clone(),
                unique: self.unique_filenames,
            }
            .into_reshape()
        });
        // Each source resolves its own objects (one Downloads remembers one source's objects).
        let download_options = self.url_keys.then(|| self.http_options()).transpose()?;
        let refresh = match self.poll_interval {
            Some(every) => Refresh::Poll { every },
            None => Refresh::Watch {
                resync: self.recheck_interval,
            },
        };
        let mut sources: Vec<Arc<dyn Source>> = Vec::new();
        for namespace in &namespaces {
            for (kind, selection) in &selections {
                let optional =
                    matches!(selection, Selection::Name(name) if self.optional.contains(name));
                let first = namespace == &namespaces[0];
                let Some((namespace, selection)) =
                    placement(selection, namespace, first, self.all_namespaces)
                        .with_context(|| format!("--{kind}"))?
                else {
                    continue;
                };
                let source = ApiSource::new(
                    client.clone(),
                    *kind,
                    namespace,
                    selection,
                    self.recheck_interval,
                )
                .with_refresh(refresh)
                .optional(optional);
                let source = match &file_names {
                    Some(reshape) => source.with_reshape(reshape.clone()),
                    None => source,
                };
                let source = if self.all_namespaces {
                    source.in_all_namespaces()
                } else {
                    source
                };
                let source: Arc<dyn Source> = Arc::new(source);
                sources.push(match &download_options {
                    Some(options) => {
                        let downloads =
                            Downloads::new(options.clone(), self.retry(), self.url_keys_accept_5xx);
                        Arc::new(UrlKeys::new(source, Arc::new(downloads)))
                    }
                    None => source,
                });
            }
            if self.all_namespaces {
                break;
            }
        }
        Ok(sources)
    }

    /// Check the combination of flags and build the sources and run configuration.
    async fn normalise(self, exec: bool) -> anyhow::Result<(Vec<Arc<dyn Source>>, RunConfig)> {
        if self.http_insecure_skip_tls_verify {
            tracing::warn!(
                "--http-insecure-skip-tls-verify: https:// reload requests and downloads accept ANY certificate; \
                 anyone on the path can impersonate the server"
            );
        }
        if self.recheck_interval.is_zero() || self.stale_after <= self.recheck_interval {
            bail!(
                "--stale-after ({:?}) must be longer than --recheck-interval ({:?})",
                self.stale_after,
                self.recheck_interval
            );
        }
        if let Some(every) = self.poll_interval
            && (every.is_zero() || self.stale_after <= every)
        {
            bail!(
                "--stale-after ({:?}) must be longer than --poll-interval ({every:?})",
                self.stale_after
            );
        }
        let mut sources = self.api_sources().await?;
        let dirs = self
            .watch_dirs
            .iter()
            .map(|spec| (spec, SourceKind::ConfigMap));
        let secret_dirs = self
            .watch_secret_dirs
            .iter()
            .map(|spec| (spec, SourceKind::Secret));
        for (spec, kind) in dirs.chain(secret_dirs) {
            let source = MountedDir::new(&spec.dir, kind, self.recheck_interval);
            let source = match &spec.name {
                Some(name) => source.with_name(name),
                None => source,
            };
            sources.push(Arc::new(source));
        }
        if sources.is_empty() {
            bail!(
                "no source: give --configmap, --secret, --selector, --watch-dir or --watch-secret-dir"
            );
        }
        let mut items: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for spec in self.items {
            items.entry(spec.source).or_default().push(spec.item);
        }
        let wants_env = exec || self.env_file.is_some() || self.env_json.is_some();
        let layout = Layout {
            dirs: if self.flat {
                DirLayout::Flat
            } else {
                DirLayout::PerSource
            },
            configmap_mode: self.configmap_mode,
            secret_mode: self.secret_mode,
            items,
            env: wants_env.then_some(EnvRules {
                prefix: self.env_prefix,
                upper_case: self.env_upper_case,
            }),
            env_sources: (!self.env_from.is_empty())
                .then(|| self.env_from.into_iter().collect::<BTreeSet<_>>()),
        };
        let cache = match (&self.cache_dir, &self.cache_keys) {
            (Some(dir), Some(keys)) => {
                let ring = KeyRing::load_file(keys)
                    .with_context(|| format!("load the cache key ring {}", keys.display()))?;
                Some(CacheConfig {
                    cache: SourceCache::new(dir, ring),
                    timeout: self.cache_timeout,
                })
            }
            _ => None,
        };
        let sync = SyncConfig {
            layout,
            dir: self.dir,
            fsync: self.fsync,
            publish: self.publish,
            env_file: self.env_file,
            env_json: self.env_json,
            wait: self.wait,
            cache,
        };
        let watchdog = WatchdogConfig {
            stale_after: self.stale_after,
            restart: Retry::default(),
        };
        let health_addr = if self.once { None } else { self.health_addr.0 };
        let config = RunConfig {
            sync,
            health_addr,
            metrics_path: self.metrics_path,
            watchdog,
            once: self.once,
        };
        Ok((sources, config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_and_dir_specs_parse() {
        let item: ItemSpec = "app:log.level=conf/level:0600".parse().expect("valid");
        assert_eq!(
            (
                item.source.as_str(),
                item.item.key.as_str(),
                item.item.path.as_str()
            ),
            ("app", "log.level", "conf/level")
        );
        assert_eq!(item.item.mode, Some(0o600));
        assert!("app=x".parse::<ItemSpec>().is_err());
        assert!("app:k=p:999".parse::<ItemSpec>().is_err());
        let named: DirSpec = "redis-config=/etc/redis".parse().expect("valid");
        assert_eq!(
            (named.name.as_deref(), named.dir),
            (Some("redis-config"), PathBuf::from("/etc/redis"))
        );
        let plain: DirSpec = "/etc/a=b/c".parse().expect("valid");
        assert_eq!((plain.name, plain.dir), (None, PathBuf::from("/etc/a=b/c")));
        assert_eq!(parse_mode("0o755"), Ok(0o755));
    }

    fn translated(mode: Compat, args: &[&str], env: &[(&str, &str)]) -> SidecarOptions {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let translation = compat::translate(mode, &args, &lookup).expect("translates");
        TranslatedOptions::try_parse_from(&translation.args)
            .expect("the translation parses as sidecar flags")
            .options
    }

    #[test]
    fn a_namespace_qualified_name_is_watched_once_in_its_namespace() {
        let named = |name: &str| Selection::Name(name.into());
        let labels = Selection::Labels("app=web".into());
        assert_eq!(
            placement(&named("app"), "a", false, false).expect("valid"),
            Some(("a", named("app")))
        );
        assert_eq!(
            placement(&named("team/app"), "a", true, false).expect("valid"),
            Some(("team", named("app")))
        );
        assert_eq!(
            placement(&named("team/app"), "b", false, false).expect("valid"),
            None,
            "once, not per --namespace"
        );
        assert_eq!(
            placement(&labels, "b", false, false).expect("valid"),
            Some(("b", labels.clone()))
        );
        for bad in ["/app", "team/", "a/b/c"] {
            assert!(placement(&named(bad), "a", true, false).is_err(), "{bad}");
        }
        assert!(placement(&named("team/app"), "a", true, true).is_err());
    }

    #[test]
    fn kubectl_connection_flags() {
        let parsed = TranslatedOptions::try_parse_from([
            "--configmap",
            "app",
            "-n",
            "a,b",
            "--kubeconfig",
            "/k",
            "--context",
            "prod",
        ])
        .expect("parses")
        .options;
        assert_eq!(parsed.namespaces, ["a", "b"]);
        assert_eq!(
            parsed.kube,
            KubeconfigArgs {
                kubeconfig: Some(PathBuf::from("/k")),
                context: Some("prod".into()),
            }
        );
        let both = ["--configmap", "app", "-n", "a", "--all-namespaces"];
        assert!(TranslatedOptions::try_parse_from(both).is_err());
        let all = TranslatedOptions::try_parse_from(["--selector", "app=web", "-A"])
            .expect("-A as kubectl spells it")
            .options;
        assert!(all.all_namespaces);
    }

    #[test]
    fn compat_translations_are_valid_sidecar_command_lines() {
        let grafana = translated(
            Compat::K8sSidecar,
            &["--req-password-file", "/etc/secrets/admin-password"],
            &[
                ("LABEL", "grafana_dashboard"),
                ("LABEL_VALUE", "1"),
                ("FOLDER", "/tmp/dashboards"),
                ("NAMESPACE", "ALL"),
                ("RESOURCE", "both"),
                ("METHOD", "SLEEP"),
                ("UNIQUE_FILENAMES", "true"),
                (
                    "REQ_URL",
                    "http://localhost:3000/api/admin/provisioning/dashboards/reload",
                ),
                ("REQ_METHOD", "POST"),
                ("REQ_USERNAME", "admin"),
                ("SCRIPT", "/scripts/notify.sh"),
            ],
        );
        assert_eq!(grafana.dir, Some(PathBuf::from("/tmp/dashboards")));
        assert!(grafana.flat && grafana.all_namespaces && grafana.unique_filenames);
        assert_eq!(grafana.selector.as_deref(), Some("grafana_dashboard=1"));
        assert_eq!(grafana.selector_kind, Kinds::Both);
        assert_eq!(grafana.poll_interval, Some(Duration::from_secs(60)));
        assert_eq!(grafana.secret_mode, 0o644);
        assert_eq!(
            grafana.http_password_file,
            Some(PathBuf::from("/etc/secrets/admin-password"))
        );
        let reloader = grafana.reloader().expect("valid").expect("a reloader");
        assert_eq!(reloader.method(), "each", "SCRIPT, then the request");
        assert!(grafana.url_keys && !grafana.url_keys_accept_5xx);
        assert_eq!(
            grafana.log.log_format,
            configsync_core::log::LogFormat::Json
        );
        let insecure = translated(
            Compat::K8sSidecar,
            &[],
            &[
                ("LABEL", "l"),
                ("FOLDER", "/f"),
                ("SKIP_TLS_VERIFY", "true"),
                ("REQ_SKIP_TLS_VERIFY", "true"),
                ("LOG_LEVEL", "DEBUG"),
            ],
        );
        assert!(insecure.insecure_skip_tls_verify && insecure.http_insecure_skip_tls_verify);
        assert_eq!(insecure.log.log_level.as_deref(), Some("debug"));
        let prometheus = translated(
            Compat::ConfigmapReload,
            &[
                "--volume-dir=/etc/config",
                "--webhook-url=http://localhost:9090/-/reload",
                "--webhook-retries=4",
            ],
            &[],
        );
        assert_eq!(prometheus.watch_dirs.len(), 1);
        assert_eq!(prometheus.dir, None);
        assert_eq!(prometheus.reload_attempts, 4);
        assert_eq!(
            prometheus.reloader().expect("valid").map(|r| r.method()),
            Some("http")
        );
        let two = translated(
            Compat::ConfigmapReload,
            &[
                "--volume-dir=/etc/config",
                "--webhook-url=http://localhost:9090/-/reload",
                "--webhook-url=http://admin:pw@localhost:9093/-/reload",
            ],
            &[],
        );
        assert_eq!(two.http_urls.len(), 2);
        let Some(Reloader::Each(each)) = two.reloader().expect("valid") else {
            panic!("one reload per URL");
        };
        let urls: Vec<String> = each
            .iter()
            .map(|r| match r {
                Reloader::Http(request) => request.url(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            urls,
            [
                "http://localhost:9090/-/reload",
                "http://localhost:9093/-/reload"
            ],
            "the credentials leave the URL"
        );
    }

    /// The injection webhook writes `configsync_core::env` names into injected containers: each must be a flag's.
    #[test]
    fn reads_every_variable_the_injector_writes() {
        use clap::Args as _;
        let command = SidecarArgs::augment_args(clap::Command::new("sidecar"));
        let read: BTreeSet<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_env())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        for name in env::INJECTED
            .iter()
            .chain([&env::LOG_FORMAT, &env::LOG_LEVEL])
        {
            assert!(read.contains(*name), "{name} is read by no flag: {read:?}");
        }
    }
}
