//! The one probes-and-metrics HTTP server (feature `health`), run by the operator and by the sidecar.
//!
//! Each side says what its probes answer through [`Probes`] (the operator: ready once in sync; the sidecar: ready
//! after the first publish, live while no source is stale); this module owns the rest: the accept loop, hyper
//! (HTTP/1 and HTTP/2), the metrics in the prometheus-client text format (at `/metrics`, or where
//! [`Probes::metrics_path`] says), and 404 for any other path.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// The probe endpoints of one process.
pub trait Probes: Clone + Send + Sync + 'static {
    /// The status and body for a probe `path` (`/healthz`, `/readyz`, `/livez`, ...); `None`: not one of its probes.
    fn probe(&self, path: &str) -> Option<(StatusCode, String)>;

    /// The one path the metrics are served at.
    fn metrics_path(&self) -> &str {
        "/metrics"
    }
}

/// The answer to `path`: the probe's, the metrics from `registry` at [`Probes::metrics_path`], else 404.
pub fn answer<P: Probes>(path: &str, probes: &P, registry: &Registry) -> (StatusCode, String) {
    if let Some(answer) = probes.probe(path) {
        return answer;
    }
    if path != probes.metrics_path() {
        return (StatusCode::NOT_FOUND, "not found\n".into());
    }
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, registry) {
        Ok(()) => (StatusCode::OK, text),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics encoding failed\n".into(),
        ),
    }
}

/// Serve [`answer`] on `listener` until the task is dropped.
pub async fn serve<P: Probes>(listener: TcpListener, probes: P, registry: Arc<Registry>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "health server accept failed");
                continue;
            }
        };
        let (probes, registry) = (probes.clone(), Arc::clone(&registry));
        let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let (status, body) = answer(request.uri().path(), &probes, &registry);
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = status;
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, %peer, "health connection ended");
            }
        });
    }
}

/// Bind `addr` and [`serve`] in a background task; returns the bound address.
///
/// # Errors
/// The bind error.
pub async fn spawn<P: Probes>(
    addr: SocketAddr,
    probes: P,
    registry: Arc<Registry>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, probes, registry));
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[derive(Clone)]
    struct Fixed;

    impl Probes for Fixed {
        fn probe(&self, path: &str) -> Option<(StatusCode, String)> {
            (path == "/readyz").then(|| (StatusCode::SERVICE_UNAVAILABLE, "not yet\n".into()))
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    }

    #[tokio::test]
    async fn serves_the_probes_the_metrics_and_404_over_http() {
        let mut registry = Registry::default();
        let counter = Counter::<u64>::default();
        registry.register("probe_test", "A test counter", counter.clone());
        counter.inc();
        let addr = spawn(
            "127.0.0.1:0".parse().expect("addr"),
            Fixed,
            Arc::new(registry),
        )
        .await
        .expect("bind");
        let ready = get(addr, "/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.ends_with("not yet\n"), "{ready}");
        let metrics = get(addr, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("probe_test_total 1"), "{metrics}");
        let other = get(addr, "/other").await;
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
    }
}
