//! Reload by HTTP request (Prometheus `/-/reload`, Grafana's provisioning API, Alertmanager, ...).
//!
//! `http://` goes out as plain HTTP on the pod network; `https://` needs the CA that signed the app's certificate
//! ([`HttpOptions::ca_file`]; the server is verified against it alone, not the system roots). Basic auth
//! ([`BasicAuth`]) reads its credentials from files or values at every request, so a rotated Secret is used as
//! soon as its volume updates; the header is marked sensitive and no credential is ever logged or put in an error.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use zeroize::Zeroizing;

use super::ReloadError;

/// A username or password: a file read at each request (a mounted Secret) or a value (from the environment).
#[derive(Clone)]
pub enum Credential {
    /// Read this file at each request; one trailing newline is dropped.
    File(PathBuf),
    /// This value.
    Value(Arc<Zeroizing<String>>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "File({})", path.display()),
            Self::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl Credential {
    /// A credential given as a value.
    pub fn value(value: impl Into<String>) -> Self {
        Self::Value(Arc::new(Zeroizing::new(value.into())))
    }

    fn read(&self, what: &str) -> Result<Zeroizing<String>, ReloadError> {
        match self {
            Self::Value(value) => Ok(Zeroizing::new(value.as_str().to_owned())),
            Self::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    ReloadError::ReadCredential {
                        what: format!("{what} file {}", path.display()),
                        source,
                    }
                })?;
                let text = Zeroizing::new(text);
                let trimmed = text.strip_suffix('\n').unwrap_or(&text);
                let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
                Ok(Zeroizing::new(trimmed.to_owned()))
            }
        }
    }
}

/// HTTP basic auth (RFC 7617, credentials encoded as UTF-8).
#[derive(Debug, Clone)]
pub struct BasicAuth {
    /// The user.
    pub username: Credential,
    /// The password.
    pub password: Credential,
}

impl BasicAuth {
    /// The `Authorization` header value, marked sensitive.
    ///
    /// # Errors
    /// [`ReloadError::ReadCredential`] when a credential file cannot be read.
    pub fn header(&self) -> Result<HeaderValue, ReloadError> {
        let username = self.username.read("username")?;
        let password = self.password.read("password")?;
        let joined = Zeroizing::new(format!("{}:{}", username.as_str(), password.as_str()));
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*joined));
        let mut value =
            HeaderValue::from_str(&format!("Basic {}", encoded.as_str())).map_err(|_| {
                ReloadError::ReadCredential {
                    what: "basic auth credentials".into(),
                    source: std::io::Error::other("not a valid header value"),
                }
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Everything about the request besides its URL.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Method such as `POST` (any case).
    pub method: String,
    /// The status the request must answer.
    pub expected: u16,
    /// How long one request may take.
    pub timeout: Duration,
    /// PEM file of the CA(s) that verify an `https://` server.
    pub ca_file: Option<PathBuf>,
    /// Basic auth, if any.
    pub auth: Option<BasicAuth>,
    /// A JSON body (sent with `Content-Type: application/json`).
    pub json_body: Option<Vec<u8>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            method: "POST".into(),
            expected: 200,
            timeout: Duration::from_secs(10),
            ca_file: None,
            auth: None,
            json_body: None,
        }
    }
}

/// One reload request.
#[derive(Debug, Clone)]
pub struct HttpReload {
    uri: Uri,
    method: Method,
    expected: StatusCode,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
    auth: Option<BasicAuth>,
    json_body: Option<Bytes>,
}

impl HttpReload {
    /// A plain `http://` request `method url` that must answer status `expected` within `timeout`.
    ///
    /// # Errors
    /// As [`HttpReload::with_options`].
    pub fn new(
        url: &str,
        method: &str,
        expected: u16,
        timeout: Duration,
    ) -> Result<Self, ReloadError> {
        Self::with_options(
            url,
            HttpOptions {
                method: method.into(),
                expected,
                timeout,
                ..HttpOptions::default()
            },
        )
    }

    /// A request to `url` as `options` describe.
    ///
    /// # Errors
    /// [`ReloadError::InvalidUrl`] for an unparsable URL, method or status, a scheme other than `http`/`https`, or
    /// `https` without a CA file; [`ReloadError::LoadCa`] when the CA file cannot be used.
    pub fn with_options(url: &str, options: HttpOptions) -> Result<Self, ReloadError> {
        let invalid = |reason: &str| ReloadError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let method = Method::from_bytes(options.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid("invalid HTTP method"))?;
        let expected = StatusCode::from_u16(options.expected)
            .map_err(|_| invalid("invalid expected status"))?;
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        let tls = match (uri.scheme_str(), &options.ca_file) {
            (Some("http"), _) => None,
            (Some("https"), Some(ca_file)) => Some(Arc::new(client_config(ca_file)?)),
            (Some("https"), None) => {
                return Err(invalid(
                    "an https:// URL needs the CA file that verifies the server",
                ));
            }
            _ => return Err(invalid("only http:// and https:// URLs are supported")),
        };
        Ok(Self {
            uri,
            method,
            expected,
            timeout: options.timeout,
            tls,
            auth: options.auth,
            json_body: options.json_body.map(Bytes::from),
        })
    }

    /// Send the request once.
    ///
    /// # Errors
    /// [`ReloadError::Http`] when it fails or times out, [`ReloadError::HttpStatus`] for an unexpected status,
    /// [`ReloadError::ReadCredential`] when a credential file cannot be read.
    pub async fn send(&self) -> Result<(), ReloadError> {
        let failed = |reason: String| ReloadError::Http {
            url: self.uri.to_string(),
            reason,
        };
        let mut request = http::Request::builder()
            .method(self.method.clone())
            .uri(self.uri.clone());
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.header()?);
        }
        if self.json_body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let body = Full::new(self.json_body.clone().unwrap_or_default());
        let request = request.body(body).map_err(|e| failed(e.to_string()))?;
        let response = match &self.tls {
            None => {
                let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
                tokio::time::timeout(self.timeout, client.request(request)).await
            }
            Some(tls) => {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(rustls::ClientConfig::clone(tls))
                    .https_only()
                    .enable_http1()
                    .build();
                let client = Client::builder(TokioExecutor::new()).build(connector);
                tokio::time::timeout(self.timeout, client.request(request)).await
            }
        };
        let response = response
            .map_err(|_| failed(format!("timed out after {:?}", self.timeout)))?
            .map_err(|e| failed(error_chain(&e)))?;
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

/// The error and its causes on one line (hyper's own message alone is only "client error (Connect)").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// A TLS client that trusts only the CAs in `ca_file`.
fn client_config(ca_file: &Path) -> Result<rustls::ClientConfig, ReloadError> {
    let failed = |reason: String| ReloadError::LoadCa {
        path: ca_file.to_path_buf(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| failed(e.to_string()))? {
        let cert = cert.map_err(|e| failed(e.to_string()))?;
        roots.add(cert).map_err(|e| failed(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(failed("no certificate in the file".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
