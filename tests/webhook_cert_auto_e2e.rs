//! `configsync operator --webhook-cert-auto`, on either backend: the operator makes its webhook's CA and serving
//! certificate, keeps them in a Secret of its namespace, and sets the caBundle of the MutatingWebhookConfiguration
//! (`deploy/webhook.yaml`, registered by URL on 127.0.0.1 as the other webhook tests do, failurePolicy Fail so a
//! call that does not verify refuses the pod).
//! - The caBundle equals the Secret's bundle, a TLS handshake verifying the webhook against it succeeds, and pods
//!   created through the API server are injected.
//! - A second replica serves the same certificate (read from the Secret, not made again).
//! - With a short validity the serving certificate and then the CA rotate under the running operator: the served
//!   certificate and the caBundle change, the old CA stays in the bundle meanwhile, and pods are still injected.
//! - A corrupt Secret is replaced, with a log line and a Warning Event naming what was wrong, never a panic.
mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};
use support::{Cluster, Operator, path_str, start, start_operator, wait_until};

const SECRET: &str = "webhook-cert";

/// The operator with `--webhook-cert-auto` for `configuration`, its Secret in the test's namespace, valid for
/// `validity`; returns it and its webhook address.
fn start_auto(cluster: &Cluster, configuration: &str, validity: &str) -> (Operator, String) {
    let hosts = format!("127.0.0.1,configsync-webhook.{}.svc", cluster.namespace);
    let operator = start_operator(
        cluster,
        &[
            "--webhook-addr",
            "127.0.0.1:0",
            "--webhook-cert-auto",
            configuration,
            "--webhook-cert-secret",
            SECRET,
            "--webhook-cert-namespace",
            &cluster.namespace,
            "--webhook-cert-hosts",
            &hosts,
            "--webhook-cert-validity",
            validity,
        ],
    );
    let addr = operator
        .printed_addr("injection webhook on https://")
        .expect("the operator prints the webhook's address");
    wait_until("the operator made or read its certificate", || {
        operator.logged("made its webhook certificate")
    });
    (operator, addr)
}

/// Register `deploy/webhook.yaml`'s configuration under a name of this test's, pointed at `addr` with no
/// caBundle and failurePolicy Fail; on the shared real control plane it selects only the test's namespace.
fn register(cluster: &Cluster, addr: &str) -> String {
    let text = std::fs::read_to_string(support::repo("deploy/webhook.yaml")).expect("deploy");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("deploy YAML");
    let mut config = docs
        .into_iter()
        .find(|d| d["kind"] == "MutatingWebhookConfiguration")
        .expect("a MutatingWebhookConfiguration");
    let name = cluster.cluster_scoped_name("mutatingwebhookconfiguration", "configsync-inject");
    config["metadata"]["name"] = json!(name);
    let webhook = &mut config["webhooks"][0];
    webhook["clientConfig"] = json!({"url": format!("https://{addr}/mutate")});
    webhook["failurePolicy"] = json!("Fail");
    webhook["namespaceSelector"] = json!({"matchLabels":
        {"kubernetes.io/metadata.name": cluster.namespace}});
    cluster.apply_json("webhook.json", &config);
    name
}

fn secret_data(cluster: &Cluster) -> BTreeMap<String, Vec<u8>> {
    let secret = cluster.json(&["get", "secret", SECRET]);
    secret["data"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), decode(value.as_str().unwrap_or_default())))
        .collect()
}

fn decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

/// The caBundle of each webhook of `configuration`.
fn ca_bundles(cluster: &Cluster, configuration: &str) -> Vec<Vec<u8>> {
    let config = cluster.json(&["get", "mutatingwebhookconfiguration", configuration]);
    config["webhooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| decode(w["clientConfig"]["caBundle"].as_str().unwrap_or_default()))
        .collect()
}

fn count_certificates(pem: &[u8]) -> usize {
    String::from_utf8_lossy(pem)
        .matches("BEGIN CERTIFICATE")
        .count()
}

/// The certificate the server at `addr` presents (PEM), whoever signed it.
fn served_certificate(addr: &str) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", addr])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    let begin = text.find("-----BEGIN CERTIFICATE-----").unwrap_or(0);
    let end = text
        .find("-----END CERTIFICATE-----")
        .map_or(0, |end| end + "-----END CERTIFICATE-----".len());
    text.get(begin..end).unwrap_or_default().to_owned()
}

/// A TLS handshake with `addr` that verifies its certificate against `bundle` (curl), then `GET /healthz`.
fn verified_healthz(cluster: &Cluster, addr: &str, bundle: &[u8]) -> bool {
    let ca = cluster.file("bundle.pem", &String::from_utf8_lossy(bundle));
    Command::new("curl")
        .args(["-sS", "--fail", "--cacert", path_str(&ca)])
        .arg(format!("https://{addr}/healthz"))
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout == b"ok")
}

fn same_pem(a: &str, b: &[u8]) -> bool {
    a.trim() == String::from_utf8_lossy(b).trim()
}

/// A pod opting in to the injection of a ConfigMap, created through the API server; whether it was injected.
fn injected_pod(cluster: &Cluster, name: &str) -> bool {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": {"configsync.dev/inject": "true",
            "configsync.dev/inject-configmaps": "web-config"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    let path = cluster.file(&format!("{name}.json"), &pod.to_string());
    let out = cluster.run(&["create", "-f", path_str(&path)]);
    assert!(
        out.status.success(),
        "the API server admitted the pod: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = cluster.json(&["get", "pod", name]);
    stored["spec"]["initContainers"][0]["name"] == "configsync"
}

fn web_config(cluster: &Cluster) {
    cluster.ok(&["create", "configmap", "web-config", "--from-literal=a=b"]);
}

#[test]
fn the_made_certificate_is_trusted_by_the_ca_bundle_and_shared_by_a_second_replica() {
    let Some(cluster) = start() else {
        return;
    };
    web_config(&cluster);
    let name = cluster.cluster_scoped_name("mutatingwebhookconfiguration", "configsync-inject");
    let (operator, addr) = start_auto(&cluster, &name, "1h");
    register(&cluster, &addr);
    wait_until("the caBundle is the Secret's bundle", || {
        let bundle = secret_data(&cluster).remove("ca-bundle.crt");
        bundle.is_some() && ca_bundles(&cluster, &name) == vec![bundle.unwrap_or_default()]
    });
    let data = secret_data(&cluster);
    let bundle = &data["ca-bundle.crt"];
    assert_eq!(count_certificates(bundle), 1);
    assert!(
        verified_healthz(&cluster, &addr, bundle),
        "the handshake verifies"
    );
    assert!(same_pem(&served_certificate(&addr), &data["tls.crt"]));
    let stranger = cluster.dir.path().join("stranger");
    support::make_certificate(&stranger, "127.0.0.1");
    let other_ca = std::fs::read(stranger.join("ca.crt")).expect("ca.crt");
    assert!(
        !verified_healthz(&cluster, &addr, &other_ca),
        "the check can fail: another CA does not verify it"
    );
    assert!(injected_pod(&cluster, "first"), "the API server called it");

    let (second, second_addr) = start_auto(&cluster, &name, "1h");
    assert!(same_pem(
        &served_certificate(&second_addr),
        &data["tls.crt"]
    ));
    assert_eq!(
        secret_data(&cluster),
        data,
        "the second replica made nothing"
    );
    assert!(verified_healthz(&cluster, &second_addr, bundle));
    drop(second);
    for line in operator.log.lock().map(|l| l.clone()).unwrap_or_default() {
        assert!(!line.contains("PRIVATE KEY"), "key material logged: {line}");
    }
}

/// Validity 6 s: the serving certificate is renewed every 4 s, the CA lives 18 s and a new one joins the bundle
/// 9 s before its end; the next serving certificate is signed by it.
#[test]
fn certificates_rotate_under_the_running_operator_and_the_old_ca_stays_trusted_meanwhile() {
    let Some(cluster) = start() else {
        return;
    };
    web_config(&cluster);
    let name = cluster.cluster_scoped_name("mutatingwebhookconfiguration", "configsync-inject");
    let (mut operator, addr) = start_auto(&cluster, &name, "6s");
    register(&cluster, &addr);
    let first = secret_data(&cluster);
    wait_until("the caBundle is set", || {
        ca_bundles(&cluster, &name) == vec![first["ca-bundle.crt"].clone()]
    });
    wait_until("a new serving certificate is served", || {
        !same_pem(&served_certificate(&addr), &first["tls.crt"])
    });
    let mut two_cas = Vec::new();
    wait_until("a second CA joins the caBundle", || {
        two_cas = ca_bundles(&cluster, &name).pop().unwrap_or_default();
        count_certificates(&two_cas) == 2
    });
    let first_ca = String::from_utf8_lossy(&first["ca.crt"]).trim().to_owned();
    assert!(
        String::from_utf8_lossy(&two_cas).contains(&first_ca),
        "the old CA stays in the bundle"
    );
    let new_ca = secret_data(&cluster)["ca.crt"].clone();
    assert_ne!(new_ca, first["ca.crt"]);
    wait_until("a certificate of the new CA is served", || {
        verified_healthz(&cluster, &addr, &new_ca)
    });
    assert!(
        injected_pod(&cluster, "rotated"),
        "still trusted by the API server"
    );
    assert!(
        operator.child.try_wait().ok().flatten().is_none(),
        "no restart"
    );
}

#[test]
fn a_corrupt_secret_is_replaced_and_reported() {
    let Some(cluster) = start() else {
        return;
    };
    cluster.ok(&[
        "create",
        "secret",
        "generic",
        SECRET,
        "--from-literal=tls.crt=not a certificate",
    ]);
    let name = cluster.cluster_scoped_name("mutatingwebhookconfiguration", "configsync-inject");
    let (mut operator, addr) = start_auto(&cluster, &name, "1h");
    let data = secret_data(&cluster);
    assert_eq!(count_certificates(&data["ca-bundle.crt"]), 1, "replaced");
    assert!(operator.logged("replaced an unusable webhook certificate Secret"));
    let event_note = || {
        let events = cluster.json(&["get", "events.events.k8s.io"]);
        events["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| {
                e["reason"] == "WebhookCertificateReplaced" && e["regarding"]["name"] == SECRET
            })
            .map(|e| e["note"].as_str().unwrap_or_default().to_owned())
    };
    wait_until("a Warning Event on the Secret", || event_note().is_some());
    let note = event_note().unwrap_or_default();
    assert!(note.contains("ca.crt is missing"), "{note}");

    // Broken again while running: the next round replaces it, the webhook keeps serving.
    let broken =
        json!({"data": {"tls.key": base64::engine::general_purpose::STANDARD.encode("garbage")}});
    cluster.merge_patch("secret", SECRET, &broken.to_string());
    wait_until("the broken Secret is replaced", || {
        secret_data(&cluster)
            .get("tls.key")
            .is_some_and(|key| key.starts_with(b"-----BEGIN"))
    });
    let served = served_certificate(&addr);
    assert!(served.contains("BEGIN CERTIFICATE"), "still serving");
    assert!(
        operator.child.try_wait().ok().flatten().is_none(),
        "no panic"
    );
}

/// No certificate source, or two: a clear refusal before anything connects.
#[test]
fn the_webhook_needs_exactly_one_certificate_source() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_configsync"))
            .arg("operator")
            .args(args)
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .expect("run configsync operator");
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let none = run(&["--webhook-addr", "127.0.0.1:0"]);
    assert!(
        none.contains(
            "--webhook-addr needs --webhook-cert and --webhook-key, or --webhook-cert-auto"
        ),
        "{none}"
    );
    let both = run(&[
        "--webhook-addr",
        "127.0.0.1:0",
        "--webhook-cert-auto",
        "configsync-inject",
        "--webhook-cert",
        "tls.crt",
    ]);
    assert!(both.contains("cannot be used with"), "{both}");
}
