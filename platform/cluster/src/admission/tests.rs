//! Admission through the real handler: scripted HTTPS webhooks (a fixed answer, a call counter) called on
//! Pod CREATE by the in-process cluster. Covers ordering, reinvocation, denial, timeouts, non-pods and
//! server-side apply creates.
#![allow(clippy::unwrap_used)]
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::{Config, EmbeddedCluster};

/// What a scripted webhook answers.
#[derive(Clone)]
enum Script {
    /// Allow with this JSON patch.
    Patch(Value),
    /// Allow with this JSON patch written as an array of numbers instead of base64 (what kube-core 5 emits).
    PatchAsNumbers(Value),
    /// Deny with this message.
    Deny(&'static str),
    /// Never answer.
    Hang,
}

struct Scripted {
    url: String,
    ca: String,
    calls: Arc<AtomicUsize>,
}

async fn answer(body: &[u8], script: &Script) -> Value {
    let review: Value = serde_json::from_slice(body).unwrap();
    let uid = review["request"]["uid"].clone();
    match script {
        Script::Patch(patch) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(patch.to_string());
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": encoded}})
        }
        Script::PatchAsNumbers(patch) => {
            let numbers: Vec<u8> = patch.to_string().into_bytes();
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": numbers}})
        }
        Script::Deny(message) => {
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": uid, "allowed": false, "status": {"message": message, "code": 403}}})
        }
        Script::Hang => std::future::pending().await,
    }
}

async fn scripted(script: Script) -> Scripted {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/mutate", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let (script, counter) = (script.clone(), counter.clone());
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let (script, counter) = (script.clone(), counter.clone());
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let reply = answer(&body, &script).await;
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(reply.to_string()),
                        )))
                    }
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service),
            );
        }
    });
    let ca = base64::engine::general_purpose::STANDARD.encode(cert.pem());
    Scripted { url, ca, calls }
}

fn hook_config(name: &str, hook: &Scripted, extra: Value) -> MutatingWebhookConfiguration {
    let mut webhook = json!({
        "name": format!("{name}.test.dev"),
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": hook.url, "caBundle": hook.ca},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None",
    });
    if let (Some(webhook), Some(extra)) = (webhook.as_object_mut(), extra.as_object()) {
        webhook.extend(extra.clone());
    }
    serde_json::from_value(json!({"metadata": {"name": name}, "webhooks": [webhook]})).unwrap()
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]}}))
    .unwrap()
}

async fn cluster() -> (EmbeddedCluster, Api<MutatingWebhookConfiguration>, Api<Pod>) {
    let cluster = EmbeddedCluster::start(Config::default()).await;
    let configs = Api::all(cluster.client());
    let pods = Api::namespaced(cluster.client(), "default");
    (cluster, configs, pods)
}

/// Two webhooks that each add a label: `a-first` (`first: "1"`, with `reinvocation`) then `b-second`
/// (`second: "2"`).
async fn two_label_hooks(
    configs: &Api<MutatingWebhookConfiguration>,
    reinvocation: &str,
) -> (Scripted, Scripted) {
    let adds = |label: &str, value: &str| {
        Script::Patch(
            json!([{"op": "add", "path": format!("/metadata/labels/{label}"), "value": value}]),
        )
    };
    let first = scripted(adds("first", "1")).await;
    let second = scripted(adds("second", "2")).await;
    let post = PostParams::default();
    let policy = json!({"reinvocationPolicy": reinvocation});
    configs
        .create(&post, &hook_config("a-first", &first, policy))
        .await
        .unwrap();
    configs
        .create(&post, &hook_config("b-second", &second, json!({})))
        .await
        .unwrap();
    (first, second)
}

#[tokio::test]
async fn a_webhook_changed_by_a_later_one_is_reinvoked_once_if_needed() {
    let (_cluster, configs, pods) = cluster().await;
    let (first, second) = two_label_hooks(&configs, "IfNeeded").await;
    let post = PostParams::default();
    let created = pods.create(&post, &pod("p")).await.unwrap();
    let labels = created.metadata.labels.unwrap();
    assert_eq!(
        (labels["first"].as_str(), labels["second"].as_str()),
        ("1", "2")
    );
    assert_eq!(
        first.calls.load(Ordering::SeqCst),
        2,
        "a-first runs again after b-second changed the pod"
    );
    assert_eq!(second.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_if_needed_each_webhook_runs_once() {
    let (_cluster, configs, pods) = cluster().await;
    let (first, second) = two_label_hooks(&configs, "Never").await;
    pods.create(&PostParams::default(), &pod("p"))
        .await
        .unwrap();
    let calls = |hook: &Scripted| hook.calls.load(Ordering::SeqCst);
    assert_eq!((calls(&first), calls(&second)), (1, 1));
}

#[tokio::test]
async fn denial_refuses_the_pod_with_the_webhook_message() {
    let (_cluster, configs, pods) = cluster().await;
    let deny = scripted(Script::Deny("bad annotation configsync.dev/inject-mode")).await;
    let post = PostParams::default();
    configs
        .create(
            &post,
            &hook_config("deny", &deny, json!({"failurePolicy": "Ignore"})),
        )
        .await
        .unwrap();
    let error = pods.create(&post, &pod("p")).await.unwrap_err().to_string();
    assert!(
        error.contains("admission webhook \"deny.test.dev\" denied the request: bad annotation"),
        "{error}"
    );
    assert!(
        pods.get_opt("p").await.unwrap().is_none(),
        "a denied pod was stored"
    );
}

#[tokio::test]
async fn timeouts_follow_the_failure_policy_and_other_kinds_are_not_sent() {
    let (cluster, configs, pods) = cluster().await;
    let hang = scripted(Script::Hang).await;
    let post = PostParams::default();
    let slow = json!({"timeoutSeconds": 1, "failurePolicy": "Fail"});
    configs
        .create(&post, &hook_config("hang", &hang, slow))
        .await
        .unwrap();
    let error = pods.create(&post, &pod("p")).await.unwrap_err().to_string();
    assert!(
        error.contains("failed calling webhook \"hang.test.dev\"") && error.contains("deadline"),
        "{error}"
    );
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
    Api::<ConfigMap>::namespaced(cluster.client(), "default")
        .create(&post, &cm)
        .await
        .unwrap();
    assert_eq!(
        hang.calls.load(Ordering::SeqCst),
        1,
        "only the pod was sent to the webhook"
    );
}

#[tokio::test]
async fn a_patch_that_is_not_base64_fails_the_call_as_in_kube_apiserver() {
    let (_cluster, configs, pods) = cluster().await;
    let add = json!([{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}]);
    let numbers = scripted(Script::PatchAsNumbers(add)).await;
    let post = PostParams::default();
    configs
        .create(
            &post,
            &hook_config("numbers", &numbers, json!({"failurePolicy": "Fail"})),
        )
        .await
        .unwrap();
    let error = pods.create(&post, &pod("p")).await.unwrap_err().to_string();
    assert!(
        error.contains("failed calling webhook \"numbers.test.dev\"") && error.contains("base64"),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_side_apply_that_creates_a_pod_is_admitted_as_create_and_an_update_is_not() {
    let (_cluster, configs, pods) = cluster().await;
    let (first, second) = two_label_hooks(&configs, "Never").await;
    let apply = PatchParams::apply("tester");
    let created = pods
        .patch("p", &apply, &Patch::Apply(&pod("p")))
        .await
        .unwrap();
    let labels = created.metadata.labels.unwrap();
    assert_eq!(
        (labels["first"].as_str(), labels["second"].as_str()),
        ("1", "2"),
        "the webhooks' mutations are stored"
    );
    let stored = pods.get("p").await.unwrap().metadata.labels.unwrap();
    assert_eq!(stored.get("second").map(String::as_str), Some("2"));
    let mut changed = pod("p");
    changed.metadata.labels = Some([("app".to_owned(), "y".to_owned())].into());
    pods.patch("p", &apply, &Patch::Apply(&changed))
        .await
        .unwrap();
    let calls = |hook: &Scripted| hook.calls.load(Ordering::SeqCst);
    assert_eq!(
        (calls(&first), calls(&second)),
        (1, 1),
        "an apply that updates is not a CREATE and these webhooks register only CREATE"
    );
}
