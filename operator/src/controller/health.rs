//! `/healthz`, `/readyz` and `/metrics` over plain HTTP (hyper).
//!
//! `/healthz` answers while the process serves requests; `/readyz` once every watch has listed and the
//! catch-up pass has been queued; `/metrics` is the prometheus-client text format.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

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
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::BindListener { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::BindListener { addr, source })?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| respond(request, state.clone()));
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if let Err(error) = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "health connection ended");
                }
            });
        }
    });
    Ok(bound)
}

async fn respond(
    request: Request<Incoming>,
    state: HealthState,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/healthz" => (StatusCode::OK, "ok".to_owned()),
        "/readyz" if state.ready.load(Ordering::Acquire) => (StatusCode::OK, "ok".to_owned()),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned()),
        "/metrics" => {
            let mut text = String::new();
            match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
                Ok(()) => (StatusCode::OK, text),
                Err(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "encoding failed".to_owned(),
                ),
            }
        }
        _ => (StatusCode::NOT_FOUND, "not found".to_owned()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}
