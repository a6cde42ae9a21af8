//! One webhook call: AdmissionReview v1 over HTTPS, the server verified against the webhook's `caBundle`.
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

/// Why a call did not produce a usable answer (the failurePolicy decides what follows).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// The clientConfig cannot be used here.
    #[error("{0}")]
    ClientConfig(String),
    /// Connecting, TLS, or HTTP failed.
    #[error("{0}")]
    Transport(String),
    /// The call took longer than timeoutSeconds.
    #[error("context deadline exceeded (timeout {0:?})")]
    Timeout(Duration),
    /// The answer is not a valid AdmissionReview response.
    #[error("invalid response: {0}")]
    DecodeResponse(String),
}

/// The parts of an AdmissionResponse the API server uses.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The denial's `status.message`.
    pub message: String,
    /// The JSON patch document, if any.
    pub patch: Option<Value>,
    /// Warnings for the client.
    pub warnings: Vec<String>,
}

fn roots(client_config: &Value) -> Result<rustls::RootCertStore, CallError> {
    let bundle = client_config
        .get("caBundle")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| CallError::ClientConfig("clientConfig.caBundle is empty".to_owned()))?;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(bundle)
        .map_err(|e| CallError::ClientConfig(format!("caBundle is not base64: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| CallError::ClientConfig(format!("caBundle: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| CallError::ClientConfig(format!("caBundle: {e}")))?;
    }
    Ok(roots)
}

/// POST `review` to the webhook and read its answer, within `timeout`.
pub(crate) async fn call(
    client_config: &Value,
    review: &Value,
    timeout: Duration,
) -> Result<Answer, CallError> {
    let url = client_config
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            CallError::ClientConfig(
                "only clientConfig.url is routable from the embedded cluster (no service network)"
                    .to_owned(),
            )
        })?;
    let uri: http::Uri = url
        .parse()
        .map_err(|e| CallError::ClientConfig(format!("clientConfig.url {url:?}: {e}")))?;
    let roots = roots(client_config)?;
    let body = serde_json::to_vec(review).map_err(|e| CallError::Transport(e.to_string()))?;
    let exchange = exchange(uri, roots, body);
    let bytes = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| CallError::Timeout(timeout))??;
    decode(&bytes, review)
}

async fn exchange(
    uri: http::Uri,
    roots: rustls::RootCertStore,
    body: Vec<u8>,
) -> Result<Bytes, CallError> {
    let transport = |e: &dyn std::fmt::Display| CallError::Transport(e.to_string());
    if uri.scheme_str() != Some("https") {
        return Err(CallError::ClientConfig(format!(
            "{uri}: the URL must be https"
        )));
    }
    let host = uri.host().unwrap_or("").trim_matches(['[', ']']).to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| transport(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone()).map_err(|e| transport(&e))?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| transport(&e))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| transport(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| transport(&e))?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = http::Request::post(path)
        .header(
            http::header::HOST,
            uri.authority().map_or("", |a| a.as_str()),
        )
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| transport(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| transport(&e))?;
    if !response.status().is_success() {
        return Err(CallError::Transport(format!(
            "the webhook answered HTTP {}",
            response.status()
        )));
    }
    let collected = response
        .into_body()
        .collect()
        .await
        .map_err(|e| transport(&e))?;
    Ok(collected.to_bytes())
}

/// The patch bytes. Like kube-apiserver, which decodes the Go `[]byte` field from JSON, only a base64 string
/// is accepted: anything else (e.g. the array of numbers kube-core 5 writes by default) fails the call.
fn patch_bytes(patch: &Value) -> Result<Vec<u8>, CallError> {
    match patch {
        Value::String(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| CallError::DecodeResponse(format!("patch: decode base64: {e}"))),
        _ => Err(CallError::DecodeResponse(
            "patch: decode base64: the patch is not a base64 string".to_owned(),
        )),
    }
}

fn decode(bytes: &[u8], review: &Value) -> Result<Answer, CallError> {
    let answer: Value =
        serde_json::from_slice(bytes).map_err(|e| CallError::DecodeResponse(e.to_string()))?;
    let response = answer
        .get("response")
        .ok_or_else(|| CallError::DecodeResponse("no response".to_owned()))?;
    let uid = review.pointer("/request/uid");
    if response.get("uid") != uid {
        return Err(CallError::DecodeResponse(
            "response uid does not match the request uid".to_owned(),
        ));
    }
    let patch = match response.get("patch").filter(|p| !p.is_null()) {
        None => None,
        Some(patch) => {
            let patch_type = response.get("patchType").and_then(Value::as_str);
            if patch_type != Some("JSONPatch") {
                return Err(CallError::DecodeResponse(format!(
                    "unsupported patchType {patch_type:?}"
                )));
            }
            let bytes = patch_bytes(patch)?;
            Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| CallError::DecodeResponse(format!("patch: {e}")))?,
            )
        }
    };
    Ok(Answer {
        allowed: response
            .get("allowed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        message: response
            .pointer("/status/message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        patch,
        warnings: response
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}
