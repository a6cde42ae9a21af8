//! `/healthz`, `/readyz` and `/metrics` over plain HTTP, served by the shared [`configsync_core::health`].
//!
//! `/healthz` answers while the process serves requests; `/readyz` once every watch has listed and the
//! catch-up pass has been queued; `/metrics` is the prometheus-client text format.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use configsync_core::health::Probes;
use hyper::StatusCode;
use prometheus_client::registry::Registry;

/// Failures of the health server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address could not be bound.
    #[error("binding the health and metrics server to {addr}")]
    BindListener {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What the endpoints report.
#[derive(Clone)]
pub struct HealthState {
    /// Set by the controller once it is in sync.
    pub ready: Arc<AtomicBool>,
    /// The metrics registry.
    pub registry: Arc<Registry>,
}

/// Bind `addr` and serve the endpoints in a background task; returns the bound address.
///
/// # Errors
/// [`Error::BindListener`] when the address cannot be bound.
pub async fn serve(addr: SocketAddr, state: HealthState) -> Result<SocketAddr, Error> {
    let registry = Arc::clone(&state.registry);
    configsync_core::health::spawn(addr, state, registry)
        .await
        .map_err(|source| Error::BindListener { addr, source })
}

impl Probes for HealthState {
    fn probe(&self, path: &str) -> Option<(StatusCode, String)> {
        match path {
            "/healthz" => Some((StatusCode::OK, "ok".to_owned())),
            "/readyz" if self.ready.load(Ordering::Acquire) => {
                Some((StatusCode::OK, "ok".to_owned()))
            }
            "/readyz" => Some((StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned())),
            _ => None,
        }
    }
}
