//! The reload request over HTTPS with a CA file, with basic auth and a JSON body, as a test server receives it.
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::http::{Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::http::{BasicAuth, Credential, HttpOptions, HttpReload};
use super::{ReloadError, Reloader, Retry};
use crate::metrics::Metrics;

/// What the server saw of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

/// An HTTPS server on 127.0.0.1 with a certificate from a fresh CA; returns its URL, the CA's PEM and the requests.
async fn https_server() -> (String, String, Arc<Mutex<Vec<Seen>>>) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("cert");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "https://{}/api/reload",
        listener.local_addr().expect("addr")
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(tls) = acceptor.accept(stream).await else {
                continue;
            };
            let record = Arc::clone(&record);
            let service = service_fn(move |request: Request<Incoming>| {
                let record = Arc::clone(&record);
                async move {
                    let header = |name| {
                        request
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let (authorization, content_type) =
                        (header("authorization"), header("content-type"));
                    let method = request.method().to_string();
                    let body = request.into_body().collect().await.map(|b| b.to_bytes());
                    let body = String::from_utf8_lossy(&body.unwrap_or_default()).into_owned();
                    record.lock().expect("lock").push(Seen {
                        method,
                        authorization,
                        content_type,
                        body,
                    });
                    let response = Response::builder()
                        .status(StatusCode::OK)
                        .body(Full::new(Bytes::new()));
                    Ok::<_, Infallible>(response.unwrap_or_default())
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service),
            );
        }
    });
    (url, ca_cert.pem(), seen)
}

#[tokio::test]
async fn https_request_with_ca_file_basic_auth_and_json_body_is_received() {
    let (url, ca_pem, seen) = https_server().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca_file = tmp.path().join("ca.crt");
    std::fs::write(&ca_file, ca_pem).expect("write ca");
    // The Grafana case: the admin Secret mounted as files, the password file ending with a newline.
    let password_file = tmp.path().join("admin-password");
    std::fs::write(&password_file, "s3cr3t-pw\n").expect("write password");
    let auth = BasicAuth {
        username: Credential::value("admin"),
        password: Credential::File(password_file.clone()),
    };
    let options = HttpOptions {
        method: "post".into(),
        ca_file: Some(ca_file),
        auth: Some(auth.clone()),
        json_body: Some(br#"{"reload":true}"#.to_vec()),
        ..HttpOptions::default()
    };
    let reload = HttpReload::with_options(&url, options).expect("valid");
    assert!(
        !format!("{reload:?}").contains("s3cr3t"),
        "Debug never prints a credential"
    );
    Reloader::Http(reload)
        .notify(&Retry::default(), &Metrics::default())
        .await
        .expect("the HTTPS server verified by the CA file answers 200");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        vec![Seen {
            method: "POST".into(),
            // base64("admin:s3cr3t-pw")
            authorization: Some("Basic YWRtaW46czNjcjN0LXB3".into()),
            content_type: Some("application/json".into()),
            body: r#"{"reload":true}"#.into(),
        }]
    );
}

#[tokio::test]
async fn https_without_the_right_ca_fails_and_a_missing_credential_names_only_the_file() {
    let (url, _, seen) = https_server().await;
    let (_, other_ca, _) = https_server().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca_file = tmp.path().join("other-ca.crt");
    std::fs::write(&ca_file, other_ca).expect("write ca");
    let with_ca = |auth| HttpOptions {
        ca_file: Some(ca_file.clone()),
        auth,
        timeout: Duration::from_secs(5),
        ..HttpOptions::default()
    };
    let untrusted = HttpReload::with_options(&url, with_ca(None)).expect("valid");
    let error = untrusted.send().await.expect_err("signed by another CA");
    assert!(matches!(error, ReloadError::Http { .. }), "{error}");
    assert!(error.to_string().contains("certificate"), "{error}");
    let missing = BasicAuth {
        username: Credential::value("admin"),
        password: Credential::File(tmp.path().join("no-such-file")),
    };
    let error = HttpReload::with_options(&url, with_ca(Some(missing)))
        .expect("valid")
        .send()
        .await
        .expect_err("no password file");
    assert!(
        matches!(error, ReloadError::ReadCredential { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("no-such-file"), "{error}");
    assert!(
        seen.lock().expect("lock").is_empty(),
        "nothing was accepted"
    );
    let no_ca = HttpReload::new(&url, "POST", 200, Duration::from_secs(1));
    assert!(matches!(no_ca, Err(ReloadError::InvalidUrl { .. })));
    let empty = tmp.path().join("empty.pem");
    std::fs::write(&empty, "").expect("write");
    let options = HttpOptions {
        ca_file: Some(empty),
        ..HttpOptions::default()
    };
    assert!(matches!(
        HttpReload::with_options(&url, options),
        Err(ReloadError::LoadCa { .. })
    ));
}

#[tokio::test]
async fn skipping_verification_reaches_any_server_and_url_credentials_become_basic_auth() {
    let (url, _, seen) = https_server().await;
    // The server's CA is nowhere: only skipping verification reaches it.
    let with_credentials = url.replacen("https://", "https://admin:p%40ss@", 1);
    let options = HttpOptions {
        insecure_skip_verify: true,
        timeout: Duration::from_secs(5),
        ..HttpOptions::default()
    };
    let request = HttpReload::with_options(&with_credentials, options.clone()).expect("valid");
    assert_eq!(request.url(), url, "the credentials leave the URL");
    assert!(!format!("{request:?}").contains("p%40ss"));
    request.send().await.expect("any certificate is accepted");
    let body = HttpReload::with_options(&url, options)
        .expect("valid")
        .fetch(1024, false)
        .await
        .expect("a download over the same client");
    assert!(body.is_empty(), "the test server answers an empty body");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    // base64("admin:p@ss"), percent-decoded
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Basic YWRtaW46cEBzcw==")
    );
    assert_eq!(seen[1].authorization, None);
}

#[test]
fn errors_never_show_the_credentials_of_a_url() {
    for url in [
        "https://admin:hunter2@127.0.0.1:1/x",
        "http://admin:hunter2@exa mple/",
        "ftp://admin:hunter2@host/",
    ] {
        let error = HttpReload::with_options(url, HttpOptions::default()).expect_err(url);
        let text = error.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(matches!(error, ReloadError::InvalidUrl { .. }), "{text}");
    }
}
