//! The sidecar's environment contract: the `CONFIGSYNC_*` variables its flags read, which the injection webhook
//! writes into injected containers. Both sides name them through these constants.

/// `--configmap`: ConfigMaps to watch, comma-separated.
pub const CONFIGMAP: &str = "CONFIGSYNC_CONFIGMAP";
/// `--secret`: Secrets to watch, comma-separated.
pub const SECRET: &str = "CONFIGSYNC_SECRET";
/// `--selector`: a label selector of ConfigMaps and Secrets to watch.
pub const SELECTOR: &str = "CONFIGSYNC_SELECTOR";
/// `--dir`: the output directory.
pub const DIR: &str = "CONFIGSYNC_DIR";
/// `--once`: render once and exit.
pub const ONCE: &str = "CONFIGSYNC_ONCE";
/// `--health-addr`: where /readyz, /healthz and /metrics are served.
pub const HEALTH_ADDR: &str = "CONFIGSYNC_HEALTH_ADDR";
/// `--wait`: the quiet period, `min[,max]`.
pub const WAIT: &str = "CONFIGSYNC_WAIT";
/// `--signal`: the reload signal.
pub const SIGNAL: &str = "CONFIGSYNC_SIGNAL";
/// `--process-name`: the process the reload signal goes to.
pub const PROCESS_NAME: &str = "CONFIGSYNC_PROCESS_NAME";
/// `--http-url`: reload by an HTTP request.
pub const HTTP_URL: &str = "CONFIGSYNC_HTTP_URL";
/// `--command`: reload by running a command.
pub const COMMAND: &str = "CONFIGSYNC_COMMAND";
/// `--log-format`: `text` or `json` (every binary).
pub const LOG_FORMAT: &str = "CONFIGSYNC_LOG_FORMAT";
/// `--log-level`: a tracing filter such as `info` or `configsync_sidecar=debug` (every binary).
pub const LOG_LEVEL: &str = "CONFIGSYNC_LOG_LEVEL";
/// The sidecar's log filter before `--log-level` existed; still read when `--log-level` is not given.
pub const LOG_LEGACY: &str = "CONFIGSYNC_LOG";
/// `--log-timezone`: `utc` or `local` timestamps (every binary).
pub const LOG_TIMEZONE: &str = "CONFIGSYNC_LOG_TIMEZONE";

/// Every variable the injection webhook may write, for tests that check the sidecar reads each.
pub const INJECTED: [&str; 11] = [
    CONFIGMAP,
    SECRET,
    SELECTOR,
    DIR,
    ONCE,
    HEALTH_ADDR,
    WAIT,
    SIGNAL,
    PROCESS_NAME,
    HTTP_URL,
    COMMAND,
];
