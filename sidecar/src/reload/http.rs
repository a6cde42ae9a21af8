//! Reload by HTTP request (Prometheus `/-/reload`, Alertmanager, ...): plain HTTP on the pod network.
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::ReloadError;

/// One reload request.
#[derive(Debug, Clone)]
pub struct HttpReload {
    uri: Uri,
    method: Method,
    expected: StatusCode,
    timeout: Duration,
}

impl HttpReload {
    /// A request `method url` (method such as `POST`) that must answer status `expected` within `timeout`.
    ///
    /// # Errors
    /// [`ReloadError::InvalidUrl`] for an unparsable URL, method or status, or a scheme other than `http` (TLS is not
    /// supported for reload hooks, which target the app in the same pod).
    pub fn new(
        url: &str,
        method: &str,
        expected: u16,
        timeout: Duration,
    ) -> Result<Self, ReloadError> {
        let invalid = |reason: &str| ReloadError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid("invalid HTTP method"))?;
        let expected =
            StatusCode::from_u16(expected).map_err(|_| invalid("invalid expected status"))?;
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(invalid("only http:// URLs are supported"));
        }
        Ok(Self {
            uri,
            method,
            expected,
            timeout,
        })
    }

    /// Send the request once.
    ///
    /// # Errors
    /// [`ReloadError::Http`] when it fails or times out, [`ReloadError::HttpStatus`] for an unexpected status.
    pub async fn send(&self) -> Result<(), ReloadError> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let request = http::Request::builder()
            .method(self.method.clone())
            .uri(self.uri.clone())
            .body(Empty::new())
            .map_err(|e| ReloadError::Http {
                url: self.uri.to_string(),
                reason: e.to_string(),
            })?;
        let response = tokio::time::timeout(self.timeout, client.request(request))
            .await
            .map_err(|_| ReloadError::Http {
                url: self.uri.to_string(),
                reason: format!("timed out after {:?}", self.timeout),
            })?
            .map_err(|e| ReloadError::Http {
                url: self.uri.to_string(),
                reason: e.to_string(),
            })?;
        if response.status() != self.expected {
            return Err(ReloadError::HttpStatus {
                url: self.uri.to_string(),
                got: response.status(),
                want: self.expected,
            });
        }
        Ok(())
    }
}
