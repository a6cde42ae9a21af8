//! End to end: `configsync cluster` as a process, the injection webhook serving a certificate made by
//! `configsync certs`, and kubectl applying the MutatingWebhookConfiguration of `deploy/webhook.yaml` (pointed
//! at the webhook's URL, with the caBundle) and the annotated example Deployment; the pods the simulated
//! controllers create (`kubectl get pod -o yaml`) carry the sidecar.
//!
//! Approximation, until it lands on main: the webhook runs inside the test process (`configsync operator
//! --webhook-addr` is not on main yet); the cluster still calls it over HTTPS like any external webhook.
mod support;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use configsync_operator::webhook::{ReviewPolicy, Webhook, WebhookConfig};
use serde_json::{Value, json};
use support::{path_str, start, wait_until};

fn example_documents() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inject/deployment.yaml");
    let text = std::fs::read_to_string(path).expect("example");
    serde_saphyr::from_multiple(&text).expect("example YAML")
}

fn webhook_configuration(url: &str, ca_pem: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/webhook.yaml");
    let text = std::fs::read_to_string(path).expect("deploy/webhook.yaml");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("deploy YAML");
    let mut config = docs
        .into_iter()
        .find(|d| d["kind"] == "MutatingWebhookConfiguration")
        .expect("a MutatingWebhookConfiguration");
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    config["webhooks"][0]["clientConfig"] = json!({"url": url, "caBundle": ca});
    config
}

fn run_certs(dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["certs", "--out", path_str(dir), "--dns", "127.0.0.1"])
        .output()
        .expect("run configsync certs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The webhook on its own runtime (its worker threads serve while the test thread runs kubectl).
fn start_webhook(runtime: &tokio::runtime::Runtime, kubeconfig: &Path, tls: &Path) -> String {
    runtime.block_on(async {
        let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
        let options = kube::config::KubeConfigOptions::default();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .expect("config");
        let client = kube::Client::try_from(config).expect("client");
        let webhook = Webhook::bind(
            WebhookConfig {
                addr: "127.0.0.1:0".parse().expect("addr"),
                cert: tls.join("tls.crt"),
                key: tls.join("tls.key"),
                policy: ReviewPolicy::default(),
            },
            client,
        )
        .await
        .expect("bind the webhook");
        let url = format!("https://{}/mutate", webhook.local_addr().expect("addr"));
        tokio::spawn(webhook.run());
        url
    })
}

/// The sidecar, volume, mounts and securityContext issue 6 asks for, in `kubectl get pod -o yaml` output.
fn check_injected(yaml: &str) {
    let pod: Value = serde_saphyr::from_str(yaml).expect("pod YAML");
    let spec = &pod["spec"];
    let sidecar = &spec["initContainers"][0];
    assert_eq!(sidecar["name"], "configsync", "{yaml}");
    assert_eq!(sidecar["restartPolicy"], "Always");
    let security = &sidecar["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    let env: Vec<&str> = sidecar["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        env.contains(&"CONFIGSYNC_CONFIGMAP") && env.contains(&"CONFIGSYNC_PROCESS_NAME"),
        "{env:?}"
    );
    assert_eq!(spec["shareProcessNamespace"], true);
    let volume = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "configsync-data");
    assert_eq!(
        volume.expect("the data volume")["emptyDir"]["medium"],
        "Memory"
    );
    let mount = &spec["containers"][0]["volumeMounts"][0];
    assert_eq!(mount["name"], "configsync-data");
    assert_eq!(mount["mountPath"], "/etc/nginx/conf.d");
    assert_eq!(mount["readOnly"], true);
}

#[test]
fn webhook_injects_pods_created_with_kubectl() {
    let Some(cluster) = start() else { return };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let tls = cluster.dir.path().join("tls");
    run_certs(&tls);
    let url = start_webhook(&runtime, &cluster.kubeconfig, &tls);
    let ca = std::fs::read_to_string(tls.join("ca.crt")).expect("ca.crt");

    let config = cluster.file(
        "webhook.json",
        &webhook_configuration(&url, &ca).to_string(),
    );
    cluster.ok(&["apply", "-f", path_str(&config)]);
    let docs = example_documents();
    let config_map = cluster.file("configmap.json", &docs[0].to_string());
    cluster.ok(&["apply", "-f", path_str(&config_map)]);
    let deployment = cluster.file("deployment.json", &docs[1].to_string());
    cluster.ok(&["apply", "-f", path_str(&deployment)]);

    let mut names = Vec::new();
    wait_until("the Deployment's 2 pods exist", || {
        let pods = cluster.json(&["get", "pods", "-l", "app=web"]);
        names = pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        names.len() == 2
    });
    for name in &names {
        let yaml = cluster.ok(&["get", "pod", name, "-o", "yaml"]);
        check_injected(&yaml);
    }
    let yaml = cluster.ok(&["get", "pod", &names[0], "-o", "yaml"]);
    let pod: Value = serde_saphyr::from_str(&yaml).expect("pod YAML");
    // The webhook and `configsync inject` compute the same initial config hash from the same ConfigMap.
    let out = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["inject", "-f", "examples/inject/deployment.yaml"])
        .output()
        .expect("configsync inject");
    let injected: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).expect("YAML");
    let cli_hash =
        &injected[1]["spec"]["template"]["metadata"]["annotations"]["configsync.dev/config-hash"];
    let hash = &pod["metadata"]["annotations"]["configsync.dev/config-hash"];
    assert!(
        hash.as_str().is_some_and(|h| h.starts_with("v1:")),
        "{yaml}"
    );
    assert_eq!(hash, cli_hash);

    // A pod that does not opt in is admitted unchanged.
    let plain = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    let plain = cluster.file("plain.json", &plain.to_string());
    cluster.ok(&["apply", "-f", path_str(&plain)]);
    let stored = cluster.json(&["get", "pod", "plain"]);
    assert!(stored["spec"].get("initContainers").is_none(), "{stored}");
}
