//! The two ways in: an in-process `tower::Service` for `kube::Client`, and HTTP/1.1 on 127.0.0.1 (hyper).
//! Both collect the request body and call the same [`Handler`]; responses (watches included) stream.
use crate::handler::{Handler, Response, respond};
use crate::status::ApiError;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The largest request body accepted, as kube-apiserver's default (`--max-request-body-bytes`, 3 MiB).
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

/// The error type of the in-process service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The in-process service behind [`crate::EmbeddedCluster::client`].
#[derive(Clone)]
pub struct InProcessService {
    handler: Arc<Handler>,
}

impl InProcessService {
    /// A service calling `handler` directly.
    pub fn new(handler: Arc<Handler>) -> Self {
        Self { handler }
    }
}

impl tower::Service<http::Request<kube::client::Body>> for InProcessService {
    type Response = Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<kube::client::Body>) -> Self::Future {
        let handler = self.handler.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) => return Ok(body_error(&error)),
            };
            Ok(handler
                .handle(http::Request::from_parts(parts, bytes))
                .await)
        })
    }
}

/// A running HTTP server; dropping it stops the listener and closes every connection.
pub struct HttpServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Serve `handler` on an already bound listener.
    pub fn spawn(listener: TcpListener, handler: Arc<Handler>) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, handler));
        Ok(Self { addr, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, handler: Arc<Handler>) {
    // Owned here so that aborting this task drops (and aborts) every connection, open watches included.
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => without_nagle(stream),
            Err(error) => {
                // E.g. out of file descriptors: back off instead of spinning on the error.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let handler = handler.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(serve_one(&handler, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

/// `TCP_NODELAY` on an accepted connection, as Go's net package sets it on every connection kube-apiserver accepts.
/// Without it a segment written while another is unacknowledged waits for the client's delayed ACK (about 40 ms on
/// Linux): `bench scale` measured that as a reaction p99 of 47 ms at 0 ms latency, 3 ms with it (BENCHMARKS.md).
fn without_nagle(stream: tokio::net::TcpStream) -> tokio::net::TcpStream {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "setting TCP_NODELAY failed");
    }
    stream
}

async fn serve_one(handler: &Handler, request: http::Request<Incoming>) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return body_error(&error),
    };
    handler
        .handle(http::Request::from_parts(parts, bytes))
        .await
}

/// The answer to a body that could not be read: 413 when over the limit, else 400.
fn body_error(error: &BoxError) -> Response {
    let status = if error.is::<http_body_util::LengthLimitError>() {
        ApiError::request_entity_too_large(MAX_REQUEST_BYTES)
    } else {
        ApiError::bad_request(format!("reading the request body failed: {error}"))
    };
    respond::error(&status)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_do_not_wait_for_delayed_acks() {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(
            !accepted.nodelay().unwrap(),
            "a fresh socket has Nagle on: the test would prove nothing"
        );
        assert!(without_nagle(accepted).nodelay().unwrap());
    }
}
