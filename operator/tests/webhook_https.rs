//! The webhook over real HTTPS: a certificate from `DevCerts` (what `configsync certs` writes), AdmissionReview
//! round trips (inject, warn, deny), and certificate reload.
#![allow(clippy::unwrap_used)]
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use configsync_operator::hash::KeyDigests;
use configsync_operator::inject::SourceData;
use configsync_operator::refs::SourceId;
use configsync_operator::webhook::certs::DevCerts;
use configsync_operator::webhook::{Lookup, ReviewPolicy, Webhook, WebhookConfig};
use http_body_util::{BodyExt as _, Full};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};

struct FakeCluster;

impl Lookup for FakeCluster {
    async fn namespace_labels(&self, _: &str) -> Result<BTreeMap<String, String>, kube::Error> {
        Ok(BTreeMap::new())
    }

    async fn sources(
        &self,
        _: &str,
        ids: &BTreeSet<SourceId>,
        _: Option<&str>,
    ) -> Result<SourceData, kube::Error> {
        let mut data = SourceData::default();
        for id in ids {
            data.digests.insert(
                id.clone(),
                KeyDigests::from_entries([("k", b"v".as_slice())]),
            );
        }
        Ok(data)
    }
}

async fn start(dir: &std::path::Path, strict: bool) -> SocketAddr {
    let config = WebhookConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        policy: ReviewPolicy {
            strict,
            ..ReviewPolicy::default()
        },
    };
    let webhook = Webhook::bind(config, FakeCluster).await.unwrap();
    let addr = webhook.local_addr().unwrap();
    tokio::spawn(webhook.run());
    addr
}

async fn post(addr: SocketAddr, ca_pem: &str, body: &Value) -> Result<Value, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::post("/mutate")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("HTTP {}", response.status()));
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Ok(serde_json::from_slice(&bytes).unwrap())
}

fn review(annotations: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "7f0b2c1e-0000-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": "default",
            "operation": "CREATE",
            "userInfo": {"username": "admin"},
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web", "namespace": "default", "annotations": annotations},
                "spec": {"containers": [{"name": "app", "image": "nginx"}]}
            },
            "oldObject": null,
            "dryRun": false,
            "options": null
        }
    })
}

fn certs(dir: &std::path::Path) -> DevCerts {
    let certs = DevCerts::generate(&["localhost".to_owned()]).unwrap();
    certs.write(dir).unwrap();
    certs
}

/// The patch bytes: kube serializes them as a JSON array of bytes, Go also accepts a base64 string.
fn decoded_patch(response: &Value) -> Value {
    let patch = &response["response"]["patch"];
    let bytes: Vec<u8> = match patch {
        Value::String(encoded) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap()
        }
        Value::Array(_) => serde_json::from_value(patch.clone()).unwrap(),
        _ => panic!("no patch in {response}"),
    };
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn injects_over_https_with_a_dev_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let addr = start(dir.path(), false).await;
    let annotations =
        json!({"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "cfg"});
    let response = post(addr, &certs.ca_cert_pem, &review(annotations))
        .await
        .unwrap();
    assert_eq!(
        response["response"]["uid"],
        "7f0b2c1e-0000-4000-8000-000000000001"
    );
    assert_eq!(response["response"]["allowed"], true);
    assert_eq!(response["response"]["patchType"], "JSONPatch");
    let patch: json_patch::Patch = serde_json::from_value(decoded_patch(&response)).unwrap();
    let mut pod = review(json!({}))["request"]["object"].clone();
    pod["metadata"]["annotations"] =
        json!({"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "cfg"});
    json_patch::patch(&mut pod, &patch).unwrap();
    assert_eq!(pod["spec"]["initContainers"][0]["name"], "configsync");
    assert_eq!(pod["spec"]["initContainers"][0]["restartPolicy"], "Always");
    assert_eq!(pod["spec"]["volumes"][0]["emptyDir"]["medium"], "Memory");
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        "/etc/configsync"
    );
    assert!(
        pod["metadata"]["annotations"]["configsync.dev/config-hash"]
            .as_str()
            .unwrap()
            .starts_with("v1:")
    );
}

#[tokio::test]
async fn bad_annotations_warn_by_default_and_deny_when_strict() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let lenient = start(dir.path(), false).await;
    let strict = start(dir.path(), true).await;
    let bad = json!({"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "cfg", "configsync.dev/inject-mode": "daemon"});

    let response = post(lenient, &certs.ca_cert_pem, &review(bad.clone()))
        .await
        .unwrap();
    assert_eq!(response["response"]["allowed"], true);
    assert!(
        response["response"].get("patch").is_none_or(Value::is_null),
        "{response}"
    );
    let warning = response["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("configsync.dev/inject-mode: \"daemon\": unknown mode"),
        "{warning}"
    );

    let response = post(strict, &certs.ca_cert_pem, &review(bad))
        .await
        .unwrap();
    assert_eq!(response["response"]["allowed"], false);
    let message = response["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("unknown mode: expected sidecar, exec or init"),
        "{message}"
    );
}

#[tokio::test]
async fn reloads_the_certificate_when_its_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let first = certs(dir.path());
    let addr = start(dir.path(), false).await;
    let plain = review(json!({}));
    post(addr, &first.ca_cert_pem, &plain).await.unwrap();

    let second = certs(dir.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match post(addr, &second.ca_cert_pem, &plain).await {
            Ok(response) => {
                assert_eq!(response["response"]["allowed"], true);
                break;
            }
            Err(_) if Instant::now() < deadline => tokio::task::yield_now().await,
            Err(error) => panic!("the new certificate was never served: {error}"),
        }
    }
    let stale = post(addr, &first.ca_cert_pem, &plain).await;
    assert!(
        stale.is_err(),
        "the old CA still verifies the served certificate"
    );
}

#[tokio::test]
async fn undecodable_objects_warn_or_deny_and_garbage_is_a_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let lenient = start(dir.path(), false).await;
    let strict = start(dir.path(), true).await;
    let mut broken = review(json!({"configsync.dev/inject": "true"}));
    broken["request"]["object"]["spec"]["containers"] = json!("not a list");

    let response = post(lenient, &certs.ca_cert_pem, &broken).await.unwrap();
    assert_eq!(response["response"]["allowed"], true);
    let warning = response["response"]["warnings"][0].as_str().unwrap();
    assert!(warning.contains("not a valid Pod"), "{warning}");

    let response = post(strict, &certs.ca_cert_pem, &broken).await.unwrap();
    assert_eq!(response["response"]["allowed"], false);

    let garbage = post(lenient, &certs.ca_cert_pem, &json!({"hello": "world"})).await;
    assert_eq!(garbage.unwrap_err(), "HTTP 400 Bad Request");
}
