//! Health state and what `/readyz`, `/healthz` and `/livez` answer, served with `/metrics` by the shared
//! [`configsync_core::health`] server (the operator's too, with the same endpoint names and meanings).
//!
//! * `/readyz` (readiness and startup): 503 until the first complete publish — every source reported, the files
//!   swapped in (every source under its `..data`), the env files written (from the live API, or from the cache when
//!   the API stays unreachable) — then 200 for the life of the process: the published data keeps serving through an API outage.
//!   Injected pods point their startupProbe here, so the app starts only on complete files. A named source that does
//!   not exist yet (and is not optional) holds the first publish: the 503 body names it.
//! * `/healthz` (liveness): 503 when a source has not reported (snapshot or heartbeat) for longer than `stale_after`,
//!   so the kubelet restarts a sidecar whose watches are stuck even after the watchdog's restarts; 200 otherwise,
//!   also before the first publish (a slow first list is not a dead process). `/livez` is the same, kept for
//!   existing probes.
//! * `/metrics`: the prometheus-client registry in text format; at [`MetricsPath`] instead when one is given
//!   (`--metrics-path`, configmap-reload's `--web.telemetry-path`), and then only there, as configmap-reload does.
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use configsync_core::health::Probes;
use http::StatusCode;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the probes report, decided by [`HealthState::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The first full sync is done.
    pub synced: bool,
    /// Every source reported within `stale_after`.
    pub live: bool,
}

/// Plain data behind [`Health`].
#[derive(Debug, Clone)]
pub struct HealthState {
    synced: bool,
    last_seen: Vec<Instant>,
    stale_after: Duration,
    missing: Vec<String>,
}

impl HealthState {
    /// `sources` sources, all counted as just seen at `now`.
    pub fn new(sources: usize, stale_after: Duration, now: Instant) -> Self {
        Self {
            synced: false,
            last_seen: vec![now; sources],
            stale_after,
            missing: Vec::new(),
        }
    }

    /// The probe results at `now`.
    pub fn status(&self, now: Instant) -> Status {
        let live = self
            .last_seen
            .iter()
            .all(|seen| now.saturating_duration_since(*seen) <= self.stale_after);
        Status {
            synced: self.synced,
            live,
        }
    }
}

/// Shared health state, updated by the sync loop and the watchdogs.
#[derive(Debug, Clone)]
pub struct Health(Arc<Mutex<HealthState>>);

impl Health {
    /// See [`HealthState::new`].
    pub fn new(sources: usize, stale_after: Duration) -> Self {
        Self(Arc::new(Mutex::new(HealthState::new(
            sources,
            stale_after,
            Instant::now(),
        ))))
    }

    /// Source `slot` reported.
    pub fn seen(&self, slot: usize) {
        if let Ok(mut state) = self.0.lock()
            && let Some(seen) = state.last_seen.get_mut(slot)
        {
            *seen = Instant::now();
        }
    }

    /// The first full sync is done.
    pub fn synced(&self) {
        if let Ok(mut state) = self.0.lock() {
            state.synced = true;
        }
    }

    /// The first publish waits for these named sources, which do not exist (empty: waits for nothing).
    pub fn missing(&self, sources: Vec<String>) {
        if let Ok(mut state) = self.0.lock() {
            state.missing = sources;
        }
    }

    /// The named sources the first publish waits for.
    pub fn missing_sources(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|state| state.missing.clone())
            .unwrap_or_default()
    }

    /// The probe results now.
    pub fn status(&self) -> Status {
        self.0
            .lock()
            .map(|state| state.status(Instant::now()))
            .unwrap_or(Status {
                synced: false,
                live: false,
            })
    }
}

/// Why a metrics path cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// The path is not an absolute URL path, or is taken by a probe.
    #[error("metrics path {path:?}: {reason}")]
    ParseMetricsPath {
        /// What was given.
        path: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
}

/// The one URL path the metrics are served at (default `/metrics`): absolute, matched exactly, not a probe's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsPath(Arc<str>);

impl Default for MetricsPath {
    fn default() -> Self {
        Self("/metrics".into())
    }
}

impl FromStr for MetricsPath {
    type Err = HealthError;

    fn from_str(path: &str) -> Result<Self, Self::Err> {
        let refused = |reason| HealthError::ParseMetricsPath {
            path: path.to_owned(),
            reason,
        };
        if !path.starts_with('/') {
            return Err(refused("must start with /"));
        }
        if path.contains(['?', '#']) || path.chars().any(char::is_whitespace) {
            return Err(refused(
                "must be a plain URL path (no query, fragment or space)",
            ));
        }
        if ["/healthz", "/readyz", "/livez"].contains(&path) {
            return Err(refused("taken by a probe"));
        }
        Ok(Self(path.into()))
    }
}

impl fmt::Display for MetricsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the server answers: the probes of [`Health`], the metrics at their path.
#[derive(Debug, Clone)]
struct Endpoints {
    health: Health,
    metrics_path: MetricsPath,
}

impl Probes for Endpoints {
    fn probe(&self, path: &str) -> Option<(StatusCode, String)> {
        self.health.probe(path)
    }

    fn metrics_path(&self) -> &str {
        &self.metrics_path.0
    }
}

/// Serve the probes, and the metrics at `metrics_path`, on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    health: Health,
    metrics_path: MetricsPath,
    registry: Arc<Registry>,
) {
    let endpoints = Endpoints {
        health,
        metrics_path,
    };
    configsync_core::health::serve(listener, endpoints, registry).await;
}

/// Bind `addr` and [`serve`] in a background task; returns the bound address.
///
/// # Errors
/// The bind error.
pub async fn spawn_server(
    addr: SocketAddr,
    health: Health,
    metrics_path: MetricsPath,
    registry: Arc<Registry>,
) -> std::io::Result<SocketAddr> {
    let endpoints = Endpoints {
        health,
        metrics_path,
    };
    configsync_core::health::spawn(addr, endpoints, registry).await
}

impl Probes for Health {
    fn probe(&self, path: &str) -> Option<(StatusCode, String)> {
        let status = self.status();
        match path {
            "/readyz" if !status.synced => {
                Some((StatusCode::SERVICE_UNAVAILABLE, not_ready_reason(self)))
            }
            "/healthz" | "/livez" if !status.live => Some((
                StatusCode::SERVICE_UNAVAILABLE,
                "a source is stale\n".into(),
            )),
            "/readyz" | "/healthz" | "/livez" => Some((StatusCode::OK, "ok\n".into())),
            _ => None,
        }
    }
}

/// Why `/readyz` is 503 before the first publish.
fn not_ready_reason(health: &Health) -> String {
    let missing = health.missing_sources();
    if missing.is_empty() {
        return "waiting for the first complete publish\n".into();
    }
    format!(
        "waiting for {}: not found (create it, or mark it optional)\n",
        missing.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transport is `configsync_core::health`'s (tested there over HTTP); here, what `/metrics` carries.
    #[test]
    fn metrics_serves_the_sidecar_registry() {
        let health = Health::new(1, Duration::from_secs(3600));
        let mut registry = Registry::default();
        let metrics = crate::metrics::Metrics::register(&mut registry);
        metrics.sync(true);
        let (code, text) = configsync_core::health::answer("/metrics", &health, &registry);
        assert_eq!(code, StatusCode::OK);
        assert!(text.contains("configsync_sidecar_syncs_total 1"), "{text}");
    }

    #[test]
    fn metrics_are_served_at_their_path_only() {
        let endpoints = Endpoints {
            health: Health::new(1, Duration::from_secs(3600)),
            metrics_path: "/custom/telemetry".parse().expect("valid"),
        };
        let mut registry = Registry::default();
        crate::metrics::Metrics::register(&mut registry).sync(true);
        let answer = |path| configsync_core::health::answer(path, &endpoints, &registry);
        let (code, text) = answer("/custom/telemetry");
        assert_eq!(code, StatusCode::OK);
        assert!(text.contains("configsync_sidecar_syncs_total 1"), "{text}");
        assert_eq!(answer("/metrics").0, StatusCode::NOT_FOUND);
        assert_eq!(answer("/healthz").0, StatusCode::OK, "the probes stay");
    }

    #[test]
    fn a_metrics_path_is_absolute_and_not_a_probe() {
        assert_eq!(MetricsPath::default().to_string(), "/metrics");
        assert_eq!(
            "/".parse::<MetricsPath>().map(|p| p.to_string()),
            Ok("/".into())
        );
        for (bad, reason) in [
            ("metrics", "must start with /"),
            ("", "must start with /"),
            ("/m?x=1", "plain URL path"),
            ("/a b", "plain URL path"),
            ("/readyz", "taken by a probe"),
        ] {
            let error = bad.parse::<MetricsPath>().expect_err(bad).to_string();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn status_is_pure_over_time() {
        let t0 = Instant::now();
        let mut state = HealthState::new(2, Duration::from_secs(10), t0);
        assert_eq!(
            state.status(t0),
            Status {
                synced: false,
                live: true
            }
        );
        state.synced = true;
        state.last_seen[0] = t0 + Duration::from_secs(8);
        assert_eq!(
            state.status(t0 + Duration::from_secs(10)),
            Status {
                synced: true,
                live: true
            }
        );
        assert_eq!(
            state.status(t0 + Duration::from_secs(11)),
            Status {
                synced: true,
                live: false
            },
            "slot 1 stale"
        );
    }

    #[test]
    fn probes_answer_by_state() {
        let health = Health::new(1, Duration::from_secs(3600));
        let registry = Registry::default();
        let code = |path: &str, health: &Health| {
            configsync_core::health::answer(path, health, &registry).0
        };
        assert_eq!(code("/readyz", &health), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            code("/healthz", &health),
            StatusCode::OK,
            "alive before the first publish"
        );
        assert_eq!(code("/livez", &health), StatusCode::OK);
        health.missing(vec!["configmap/ns/web".into()]);
        assert_eq!(code("/readyz", &health), StatusCode::SERVICE_UNAVAILABLE);
        let reason = not_ready_reason(&health);
        assert!(
            reason.contains("waiting for configmap/ns/web: not found"),
            "{reason}"
        );
        health.synced();
        assert_eq!(code("/readyz", &health), StatusCode::OK);
        assert_eq!(code("/metrics", &health), StatusCode::OK);
        assert_eq!(code("/other", &health), StatusCode::NOT_FOUND);
        let stale = Health::new(1, Duration::ZERO);
        stale.synced();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while stale.status().live && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(code("/healthz", &stale), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code("/livez", &stale), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            code("/readyz", &stale),
            StatusCode::OK,
            "published data keeps serving while the API is away"
        );
    }
}
