//! Fault injection for tests: make the API server misbehave the way real ones do under load.
//!
//! A [`Faults`] handle is shared by the server and whoever drives the test. Settings:
//!
//! | field (JSON)               | effect                                                                   |
//! |----------------------------|--------------------------------------------------------------------------|
//! | `error500Share`            | share (0..=1) of API requests answered 500 InternalError                  |
//! | `error429Share`            | share answered 429 TooManyRequests with `Retry-After: retryAfterSeconds`  |
//! | `conflict409Share`         | share of writes (POST/PUT/PATCH/DELETE) answered 409 Conflict             |
//! | `retryAfterSeconds`        | the `Retry-After` of 429 answers (default 1)                              |
//! | `latencyMs`                | delay added before every API answer                                       |
//! | `closeWatchesEverySeconds` | every watch stream ends after this many seconds (`null`: never)           |
//!
//! Besides these settings, a cluster can be started with a fixed per-request latency
//! ([`crate::Config::api_latency`], `configsync cluster --api-latency`): it is added before every API answer,
//! on top of `latencyMs`, and is not changed by the admin endpoint. It stands in for the round trip of a real
//! control plane (an etcd write, a network hop) so tests and benchmarks can show its effect.
//!
//! Only resource requests (`/api/v1/...`, `/apis/...` with a resource) are affected; discovery, health and
//! this admin endpoint never are, so that clients can still start. [`Faults::close_watches`] ends every open
//! watch stream at once, like an apiserver restart. The simulated workload controllers use their own
//! in-process client that faults never reach, so rollouts keep progressing while the code under test suffers.
//!
//! Over HTTP, outside the Kubernetes API:
//! - `GET /configsync.dev/faults`: the current settings as JSON;
//! - `PUT /configsync.dev/faults` with a JSON body of settings (missing fields are 0/off): replace them;
//! - `POST /configsync.dev/faults/close-watches`: close all open watches now.
use crate::handler::respond::{self, Response};
use crate::status::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The fault settings; all off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultSettings {
    /// Share of API requests answered 500.
    #[serde(rename = "error500Share")]
    pub error_500_share: f64,
    /// Share of API requests answered 429.
    #[serde(rename = "error429Share")]
    pub error_429_share: f64,
    /// Share of writes answered 409.
    #[serde(rename = "conflict409Share")]
    pub conflict_409_share: f64,
    /// `Retry-After` of 429 answers, in seconds.
    pub retry_after_seconds: u32,
    /// Delay added to every API answer, in milliseconds.
    pub latency_ms: u64,
    /// Close every watch stream after this many seconds.
    pub close_watches_every_seconds: Option<u64>,
}

impl Default for FaultSettings {
    fn default() -> Self {
        Self {
            error_500_share: 0.0,
            error_429_share: 0.0,
            conflict_409_share: 0.0,
            retry_after_seconds: 1,
            latency_ms: 0,
            close_watches_every_seconds: None,
        }
    }
}

impl FaultSettings {
    /// The failure, if any, for a request given a uniform draw in `0..1`.
    pub fn decide(&self, draw: f64, is_write: bool) -> Option<ApiError> {
        let mut threshold = self.error_500_share;
        if draw < threshold {
            return Some(ApiError::internal("injected fault"));
        }
        threshold += self.error_429_share;
        if draw < threshold {
            return Some(ApiError::too_many_requests(self.retry_after_seconds));
        }
        threshold += self.conflict_409_share;
        if is_write && draw < threshold {
            return Some(ApiError::conflict(
                "",
                "injected",
                "fault",
                "injected conflict; please retry",
            ));
        }
        None
    }
}

struct Shared {
    settings: Mutex<FaultSettings>,
    close_tx: watch::Sender<u64>,
    base_latency: Duration,
}

/// A shared fault-injection handle.
#[derive(Clone)]
pub struct Faults {
    shared: Arc<Shared>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::with_latency(Duration::ZERO)
    }
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("settings", &self.settings())
            .finish()
    }
}

impl Faults {
    /// A handle with no faults that adds `base_latency` before every API answer, whatever the settings.
    pub fn with_latency(base_latency: Duration) -> Self {
        let (close_tx, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                settings: Mutex::new(FaultSettings::default()),
                close_tx,
                base_latency,
            }),
        }
    }

    /// The fixed per-request latency this handle was made with.
    pub fn base_latency(&self) -> Duration {
        self.shared.base_latency
    }

    /// The current settings.
    pub fn settings(&self) -> FaultSettings {
        self.shared
            .settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replace the settings.
    pub fn set(&self, settings: FaultSettings) {
        *self
            .shared
            .settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// End every open watch stream now.
    pub fn close_watches(&self) {
        self.shared
            .close_tx
            .send_modify(|generation| *generation += 1);
    }

    /// A receiver that changes whenever watches must close.
    pub(crate) fn close_signal(&self) -> watch::Receiver<u64> {
        self.shared.close_tx.subscribe()
    }

    /// Apply latency, then pick an injected failure for this request, if any.
    pub(crate) async fn before_request(&self, is_write: bool) -> Option<ApiError> {
        let settings = self.settings();
        let latency = self.shared.base_latency + Duration::from_millis(settings.latency_ms);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        settings.decide(rand::random::<f64>(), is_write)
    }

    /// Serve the admin endpoint.
    pub(crate) fn admin(
        &self,
        method: &http::Method,
        body: &[u8],
        close_watches: bool,
    ) -> Response {
        match (method.as_str(), close_watches) {
            ("POST", true) => {
                self.close_watches();
                respond::json(200, &json!({"closed": true}))
            }
            ("GET", false) => respond::json(200, &json!(self.settings())),
            ("PUT", false) => match serde_json::from_slice::<FaultSettings>(body) {
                Ok(settings) => {
                    self.set(settings);
                    respond::json(200, &json!(self.settings()))
                }
                Err(error) => respond::error(&ApiError::bad_request(format!(
                    "invalid fault settings: {error}"
                ))),
            },
            _ => respond::error(&ApiError::method_not_allowed(
                "use GET or PUT, or POST .../close-watches",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_partition_the_draw() {
        let settings = FaultSettings {
            error_500_share: 0.1,
            error_429_share: 0.2,
            conflict_409_share: 0.3,
            ..Default::default()
        };
        assert_eq!(settings.decide(0.05, false).map(|e| e.code), Some(500));
        let throttled = settings.decide(0.25, false).expect("429");
        assert_eq!((throttled.code, throttled.retry_after), (429, Some(1)));
        assert_eq!(settings.decide(0.5, true).map(|e| e.code), Some(409));
        assert_eq!(
            settings.decide(0.5, false),
            None,
            "reads are never answered 409"
        );
        assert_eq!(settings.decide(0.7, true), None);
        assert_eq!(FaultSettings::default().decide(0.0, true), None);
    }

    #[test]
    fn settings_round_trip_through_the_admin_endpoint() {
        let faults = Faults::default();
        let body =
            br#"{"error429Share": 1.0, "retryAfterSeconds": 3, "closeWatchesEverySeconds": 5}"#;
        let response = faults.admin(&http::Method::PUT, body, false);
        assert_eq!(response.status(), 200);
        let settings = faults.settings();
        assert_eq!(
            (settings.error_429_share, settings.retry_after_seconds),
            (1.0, 3)
        );
        assert_eq!(settings.close_watches_every_seconds, Some(5));
        assert_eq!(faults.admin(&http::Method::PUT, b"{", false).status(), 400);
    }

    #[test]
    fn close_watches_signals_receivers() {
        let faults = Faults::default();
        let signal = faults.close_signal();
        faults.close_watches();
        assert!(signal.has_changed().expect("sender alive"));
        assert_eq!(faults.admin(&http::Method::POST, b"", true).status(), 200);
    }
}
