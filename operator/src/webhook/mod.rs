//! The mutating admission webhook: AdmissionReview v1 over HTTPS (rustls), injecting the sync sidecar.
//!
//! # Theory of operation
//! ```text
//!  kube-apiserver ──TLS (tls::ReloadingCert: follows tls.crt/tls.key)──► hyper http1
//!     POST /mutate ──► review::review ──► inject::inject (pure) ──► AdmissionReview (patch | warnings | deny)
//!     GET  /healthz ─► 200 ok
//! ```
//! The HTTP adapter is thin: everything it decides is in [`review`] and [`crate::inject`].
//! [`certs`] generates a development CA and serving certificate (`configsync certs`); [`autocert`] makes and
//! rotates the operator's own, kept in a Secret, and keeps the configuration's `caBundle` current.
pub mod autocert;
pub mod certs;
pub mod lookup;
pub mod review;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use lookup::Lookup;
pub use review::ReviewPolicy;

/// Largest AdmissionReview body accepted (kube-apiserver's request limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Listen address, e.g. `0.0.0.0:8443`.
    pub addr: SocketAddr,
    /// PEM certificate chain file.
    pub cert: PathBuf,
    /// PEM private key file.
    pub key: PathBuf,
    /// How reviews are answered.
    pub policy: ReviewPolicy,
}

/// Failures of the webhook server.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The certificate could not be loaded.
    #[error("load webhook certificate: {0}")]
    LoadCertificate(#[from] tls::TlsError),
    /// rustls refused the protocol configuration.
    #[error("configure TLS: {0}")]
    ConfigureTls(#[from] rustls::Error),
    /// The address could not be bound.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Accepting a connection failed.
    #[error("accept: {0}")]
    Accept(std::io::Error),
}

/// A bound webhook, ready to [`Webhook::run`].
pub struct Webhook<L> {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    lookup: Arc<L>,
    policy: Arc<ReviewPolicy>,
    metrics: Option<crate::metrics::Metrics>,
}

impl<L: Lookup> Webhook<L> {
    /// Load the certificate and bind the address.
    ///
    /// # Errors
    /// [`WebhookError::LoadCertificate`] or [`WebhookError::Bind`].
    pub async fn bind(config: WebhookConfig, lookup: L) -> Result<Self, WebhookError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = tls::ReloadingCert::new(&config.cert, &config.key, provider)?;
        Self::bind_with(config.addr, config.policy, Arc::new(resolver), lookup).await
    }

    /// Bind `addr`, serving the certificate `resolver` gives (e.g. an [`autocert::ServingCert`]).
    ///
    /// # Errors
    /// [`WebhookError::ConfigureTls`] or [`WebhookError::Bind`].
    pub async fn bind_with(
        addr: SocketAddr,
        policy: ReviewPolicy,
        resolver: Arc<dyn rustls::server::ResolvesServerCert>,
        lookup: L,
    ) -> Result<Self, WebhookError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| WebhookError::Bind { addr, source })?;
        Ok(Self {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            lookup: Arc::new(lookup),
            policy: Arc::new(policy),
            metrics: None,
        })
    }

    /// Count every answer in `metrics` (`configsync_operator_webhook_*`).
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The bound address (useful with port 0).
    ///
    /// # Errors
    /// The socket's error, if it has none.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until the task is dropped; each connection runs on its own task.
    ///
    /// # Errors
    /// [`WebhookError::Accept`] when the listener fails.
    pub async fn run(self) -> Result<(), WebhookError> {
        loop {
            let (stream, peer) = self.listener.accept().await.map_err(WebhookError::Accept)?;
            // kube-apiserver waits on every admission answer: no delayed-ACK stall (Go's servers set it too).
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%peer, %error, "setting TCP_NODELAY failed");
            }
            let acceptor = self.acceptor.clone();
            let (lookup, policy) = (self.lookup.clone(), self.policy.clone());
            let metrics = self.metrics.clone();
            tokio::spawn(async move {
                let tls = match acceptor.accept(stream).await {
                    Ok(tls) => tls,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                };
                let service = hyper::service::service_fn(move |request| {
                    let (lookup, policy) = (lookup.clone(), policy.clone());
                    let metrics = metrics.clone();
                    async move {
                        let started = std::time::Instant::now();
                        let (response, outcome) = handle(request, &*lookup, &policy).await;
                        if let (Some(metrics), Some(outcome)) = (&metrics, outcome) {
                            metrics.webhook_request(outcome, started.elapsed().as_secs_f64());
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service);
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "webhook connection ended");
                }
            });
        }
    }
}

/// Bind and serve the webhook with `client` for lookups (what `configsync operator --webhook-addr` runs).
///
/// # Errors
/// See [`Webhook::bind`] and [`Webhook::run`].
pub async fn serve(config: WebhookConfig, client: kube::Client) -> Result<(), WebhookError> {
    let webhook = Webhook::bind(config, client).await?;
    tracing::info!(addr = ?webhook.local_addr().ok(), "serving the injection webhook");
    webhook.run().await
}

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// The response, and the outcome to count (`None` for health checks and other methods).
async fn handle(
    request: Request<Incoming>,
    lookup: &impl Lookup,
    policy: &ReviewPolicy,
) -> (Response<Full<Bytes>>, Option<&'static str>) {
    if request.method() == Method::GET && request.uri().path() == "/healthz" {
        return (reply(StatusCode::OK, "text/plain", b"ok".to_vec()), None);
    }
    if request.method() != Method::POST {
        let response = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            b"POST an AdmissionReview".to_vec(),
        );
        return (response, None);
    }
    let (response, outcome) = answer(request, lookup, policy).await;
    (response, Some(outcome))
}

/// Answer one AdmissionReview: `allowed`, `denied` or `error`.
async fn answer(
    request: Request<Incoming>,
    lookup: &impl Lookup,
    policy: &ReviewPolicy,
) -> (Response<Full<Bytes>>, &'static str) {
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            let text = error.to_string().into_bytes();
            return (reply(StatusCode::BAD_REQUEST, "text/plain", text), "error");
        }
    };
    match review::review(&body, lookup, policy).await {
        Ok(review) => {
            let allowed = review.response.as_ref().is_some_and(|r| r.allowed);
            match review::to_wire(&review) {
                Ok(json) => {
                    let outcome = if allowed { "allowed" } else { "denied" };
                    (reply(StatusCode::OK, "application/json", json), outcome)
                }
                Err(error) => {
                    let text = error.to_string().into_bytes();
                    let status = StatusCode::INTERNAL_SERVER_ERROR;
                    (reply(status, "text/plain", text), "error")
                }
            }
        }
        Err(error) => {
            let text = error.to_string().into_bytes();
            (reply(StatusCode::BAD_REQUEST, "text/plain", text), "error")
        }
    }
}
