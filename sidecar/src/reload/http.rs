//! Reload by HTTP request (Prometheus `/-/reload`, Grafana's provisioning API, Alertmanager, ...).
//!
//! `http://` goes out as plain HTTP on the pod network; `https://` needs the CA that signed the app's certificate
//! ([`HttpOptions::ca_file`]; the server is verified against it alone, not the system roots), unless
//! [`HttpOptions::insecure_skip_verify`] accepts any certificate (k8s-sidecar's `REQ_SKIP_TLS_VERIFY`; the
//! handshake signatures are still checked, the certificate chain and name are not). Basic auth ([`BasicAuth`])
//! reads its credentials from files or values at every request, so a rotated Secret is used as soon as its volume
//! updates; credentials in the URL (`http://user:pass@host/`, as configmap-reload takes them) become basic auth and
//! leave the URL, so errors and logs never show them. The header is marked sensitive and no credential is ever
//! logged or put in an error. [`HttpReload::fetch`] downloads a body (k8s-sidecar's `.url` keys) with the same
//! client, bounded in size and time.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
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
    /// Accept any `https://` server certificate (no CA file needed). Insecure: the caller logs it loudly.
    pub insecure_skip_verify: bool,
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
            insecure_skip_verify: false,
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
        let shown = redact(url);
        let invalid = |reason: &str| ReloadError::InvalidUrl {
            url: shown.clone(),
            reason: reason.to_string(),
        };
        let method = Method::from_bytes(options.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid("invalid HTTP method"))?;
        let expected = StatusCode::from_u16(options.expected)
            .map_err(|_| invalid("invalid expected status"))?;
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        let (uri, url_auth) = split_credentials(uri).map_err(|reason| invalid(&reason))?;
        let url = uri.to_string();
        let invalid = |reason: &str| ReloadError::InvalidUrl {
            url: url.clone(),
            reason: reason.to_string(),
        };
        let tls = match (uri.scheme_str(), &options.ca_file) {
            (Some("http"), _) => None,
            (Some("https"), _) if options.insecure_skip_verify => {
                Some(Arc::new(insecure_client_config(&url)?))
            }
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
            auth: options.auth.or(url_auth),
            json_body: options.json_body.map(Bytes::from),
        })
    }

    /// The URL, without credentials.
    pub fn url(&self) -> String {
        self.uri.to_string()
    }

    /// Send the request once.
    ///
    /// # Errors
    /// [`ReloadError::Http`] when it fails or times out, [`ReloadError::HttpStatus`] for an unexpected status,
    /// [`ReloadError::ReadCredential`] when a credential file cannot be read.
    pub async fn send(&self) -> Result<(), ReloadError> {
        let response = tokio::time::timeout(self.timeout, self.request())
            .await
            .map_err(|_| self.failed(format!("timed out after {:?}", self.timeout)))??;
        if response.status() != self.expected {
            return Err(ReloadError::HttpStatus {
                url: self.uri.to_string(),
                got: response.status(),
                want: self.expected,
            });
        }
        Ok(())
    }

    /// Send the request once and read the body: at most `limit` bytes, within the timeout, with a 2xx status
    /// (or a 5xx too, with `accept_5xx`).
    ///
    /// # Errors
    /// As [`HttpReload::send`] (any other status is [`ReloadError::HttpStatus`]), and [`ReloadError::Http`] when
    /// the body is larger than `limit`.
    pub async fn fetch(&self, limit: usize, accept_5xx: bool) -> Result<Bytes, ReloadError> {
        let fetched = async {
            let response = self.request().await?;
            let status = response.status();
            if !(status.is_success() || (accept_5xx && status.is_server_error())) {
                return Err(ReloadError::HttpStatus {
                    url: self.uri.to_string(),
                    got: status,
                    want: self.expected,
                });
            }
            http_body_util::Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .map_err(
                    |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                        Some(_) => self.failed(format!("the body is larger than {limit} bytes")),
                        None => self.failed(error_chain(&*e)),
                    },
                )
        };
        tokio::time::timeout(self.timeout, fetched)
            .await
            .map_err(|_| self.failed(format!("timed out after {:?}", self.timeout)))?
    }

    fn failed(&self, reason: String) -> ReloadError {
        ReloadError::Http {
            url: self.uri.to_string(),
            reason,
        }
    }

    /// The request, sent; its response (any status).
    async fn request(&self) -> Result<http::Response<hyper::body::Incoming>, ReloadError> {
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
        let request = request.body(body).map_err(|e| self.failed(e.to_string()))?;
        let response = match &self.tls {
            None => {
                let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
                client.request(request).await
            }
            Some(tls) => {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(rustls::ClientConfig::clone(tls))
                    .https_only()
                    .enable_http1()
                    .build();
                let client = Client::builder(TokioExecutor::new()).build(connector);
                client.request(request).await
            }
        };
        response.map_err(|e| self.failed(error_chain(&e)))
    }
}

/// `url` with any `user:password@` replaced by `***@`, for errors.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[end..]),
        None => url.to_string(),
    }
}

/// The URL without its `user:password@`, and those credentials as basic auth (percent-decoded).
fn split_credentials(uri: Uri) -> Result<(Uri, Option<BasicAuth>), String> {
    let Some((userinfo, host)) = uri
        .authority()
        .and_then(|a| a.as_str().rsplit_once('@'))
        .map(|(userinfo, host)| (Zeroizing::new(userinfo.to_owned()), host.to_owned()))
    else {
        return Ok((uri, None));
    };
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "the credentials in the URL are not UTF-8".to_string())
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo.as_str(), ""));
    let auth = BasicAuth {
        username: Credential::value(decode(user)?),
        password: Credential::value(decode(password)?),
    };
    let mut parts = uri.into_parts();
    parts.authority = Some(
        host.parse()
            .map_err(|_| "not a valid host after the credentials".to_string())?,
    );
    let uri = Uri::from_parts(parts).map_err(|_| "not a valid URL".to_string())?;
    Ok((uri, Some(auth)))
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

/// A TLS client that accepts any server certificate (k8s-sidecar's `REQ_SKIP_TLS_VERIFY`).
fn insecure_client_config(url: &str) -> Result<rustls::ClientConfig, ReloadError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ReloadError::InvalidUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)))
            .with_no_client_auth(),
    )
}

/// Accepts every certificate chain and name; still checks that the server holds the certificate's key.
#[derive(Debug)]
struct AnyServerCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
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
