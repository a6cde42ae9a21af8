//! End to end, all processes: `configsync cluster`, and `configsync operator --webhook-addr ...` serving a
//! certificate made by `configsync certs`. kubectl applies the MutatingWebhookConfiguration of
//! `deploy/webhook.yaml` (rendered with the webhook's URL and the caBundle, since `deploy/` points at a Service)
//! and an annotated Deployment; the pods the simulated controllers create (`kubectl get pod -o yaml`) carry the
//! sidecar, and the injected env drives the real `configsync sidecar --once` to render the ConfigMap. A second
//! test rotates the certificate files under the running operator and checks that the webhook serves the new one.
//! Two more show what happens when the call fails: with the operator stopped, and with a caBundle that does not
//! trust the serving certificate (failurePolicy Ignore as shipped admits the pod without the sidecar, Fail refuses
//! it); on the real control plane the test also reads kube-apiserver's own log line for the failure.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};
use support::{Cluster, Operator, path_str, run_ok, start, start_operator, wait_until};

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
    run_ok(Command::new(env!("CARGO_BIN_EXE_configsync")).args([
        "certs",
        "--out",
        path_str(dir),
        "--dns",
        "127.0.0.1",
    ]));
}

/// `configsync operator` with the webhook on a free port, serving `tls/tls.crt`, and `extra` flags; returns it
/// and its URL.
fn start_webhook(cluster: &Cluster, tls: &Path, extra: &[&str]) -> (Operator, String) {
    let cert = tls.join("tls.crt");
    let key = tls.join("tls.key");
    let args = [
        "--webhook-addr",
        "127.0.0.1:0",
        "--webhook-cert",
        path_str(&cert),
    ];
    let operator = start_operator(
        cluster,
        &[&args[..], &["--webhook-key", path_str(&key)], extra].concat(),
    );
    let addr = operator
        .printed_addr("injection webhook on https://")
        .expect("the operator prints the webhook's address");
    (operator, format!("https://{addr}/mutate"))
}

/// Register the webhook (deploy/webhook.yaml, pointed at `url`) trusting the CA in `tls/ca.crt`. On the shared
/// real control plane the registration gets a name of this test's own and selects only its namespace, so
/// tests running at once neither replace each other's webhook nor receive each other's pods.
fn register_webhook(cluster: &Cluster, url: &str, tls: &Path) {
    let ca = std::fs::read_to_string(tls.join("ca.crt")).expect("ca.crt");
    let mut config = webhook_configuration(url, &ca);
    let base = config["metadata"]["name"]
        .as_str()
        .unwrap_or("configsync-injector")
        .to_owned();
    config["metadata"]["name"] =
        json!(cluster.cluster_scoped_name("mutatingwebhookconfiguration", &base));
    if cluster.is_real() {
        let only_this_namespace = json!({"key": "kubernetes.io/metadata.name", "operator": "In",
            "values": [cluster.namespace]});
        if let Some(expressions) =
            config["webhooks"][0]["namespaceSelector"]["matchExpressions"].as_array_mut()
        {
            expressions.push(only_this_namespace);
        }
    }
    cluster.apply_json("webhook.json", &config);
}

/// The names of the pods labelled `app=<app>`, once there are `count` of them.
fn pods_of(cluster: &Cluster, app: &str, count: usize) -> Vec<String> {
    let mut names = Vec::new();
    wait_until(&format!("{count} pods of {app} exist"), || {
        let pods = cluster.json(&["get", "pods", "-l", &format!("app={app}")]);
        names = pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        names.len() == count
    });
    names
}

fn pod_yaml(cluster: &Cluster, name: &str) -> (Value, String) {
    let yaml = cluster.ok(&["get", "pod", name, "-o", "yaml"]);
    let pod = serde_saphyr::from_str(&yaml).expect("pod YAML");
    (pod, yaml)
}

/// The example Deployment with a second container, which `configsync.dev/inject-containers: nginx` leaves out.
fn deployment_with_two_containers(docs: &[Value]) -> Value {
    let mut deployment = docs[1].clone();
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("containers");
    containers.push(json!({"name": "exporter", "image": "nginx/nginx-prometheus-exporter:1.3"}));
    deployment
}

/// The sidecar, volume, mounts, securityContext and initial hash issue 6 asks for, in `kubectl get pod -o yaml`.
fn check_injected(pod: &Value, yaml: &str) {
    let spec = &pod["spec"];
    let sidecar = &spec["initContainers"][0];
    assert_eq!(sidecar["name"], "configsync", "{yaml}");
    assert_eq!(
        sidecar["restartPolicy"], "Always",
        "a native sidecar: {yaml}"
    );
    assert_eq!(
        sidecar["startupProbe"]["httpGet"]["path"], "/readyz",
        "the app waits for the first sync: {yaml}"
    );
    let security = &sidecar["securityContext"];
    assert_eq!(security["runAsNonRoot"], true, "{yaml}");
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
    assert_eq!(
        spec["shareProcessNamespace"], true,
        "the reload is a signal: {yaml}"
    );
    let volume = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "configsync-data");
    assert_eq!(
        volume.expect("the data volume")["emptyDir"]["medium"],
        "Memory"
    );
    let mounts = |container: &Value| -> Vec<Value> {
        let mounts = container["volumeMounts"].as_array().into_iter().flatten();
        mounts
            .filter(|m| m["name"] == "configsync-data")
            .cloned()
            .collect()
    };
    let [nginx, exporter] = [0, 1].map(|i| &spec["containers"][i]);
    assert_eq!(
        (&nginx["name"], &exporter["name"]),
        (&json!("nginx"), &json!("exporter"))
    );
    let mount = &mounts(nginx)[..];
    assert_eq!(
        mount.len(),
        1,
        "the chosen container gets the mount: {yaml}"
    );
    assert_eq!(mount[0]["mountPath"], "/etc/nginx/configsync");
    assert_eq!(mount[0]["readOnly"], true);
    assert!(
        mounts(exporter).is_empty(),
        "only the chosen container: {yaml}"
    );
    let hash = &pod["metadata"]["annotations"]["configsync.dev/config-hash"];
    assert!(
        hash.as_str().is_some_and(|h| h.starts_with("v1:")),
        "{yaml}"
    );
}

/// The initial config hash `configsync inject` computes offline for the example (moved into the test's
/// namespace: the hash covers where each source lives).
fn offline_hash(cluster: &Cluster) -> Value {
    let example = std::fs::read_to_string(support::repo("examples/inject/deployment.yaml"))
        .expect("the example");
    let manifest = cluster.file("example.yaml", &cluster.localize_text(&example));
    let out = run_ok(Command::new(env!("CARGO_BIN_EXE_configsync")).args([
        "inject",
        "-f",
        path_str(&manifest),
    ]));
    let injected: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).expect("YAML");
    injected[1]["spec"]["template"]["metadata"]["annotations"]["configsync.dev/config-hash"].clone()
}

/// Run the real sidecar once with the env the webhook injected; returns the file it rendered.
fn run_injected_sidecar(cluster: &Cluster, pod: &Value) -> String {
    let data = cluster.dir.path().join("data");
    let mut sidecar = Command::new(env!("CARGO_BIN_EXE_configsync"));
    sidecar
        .arg("sidecar")
        .env("KUBECONFIG", &cluster.kubeconfig);
    for var in pod["spec"]["initContainers"][0]["env"]
        .as_array()
        .expect("env")
    {
        sidecar.env(
            var["name"].as_str().expect("name"),
            var["value"].as_str().unwrap_or(""),
        );
    }
    let status = sidecar
        .env("CONFIGSYNC_DIR", &data)
        .env("CONFIGSYNC_ONCE", "true")
        .env("CONFIGSYNC_HEALTH_ADDR", "off")
        .status()
        .expect("run configsync sidecar");
    assert!(status.success());
    std::fs::read_to_string(data.join("web-config/nginx.conf")).expect("rendered file")
}

/// A cluster with the operator's webhook registered (certificates from `configsync certs` in `tls`) and the
/// example's ConfigMap applied. The operator stops before the cluster (fields drop in order).
struct Injecting {
    operator: Operator,
    cluster: Cluster,
    tls: PathBuf,
    url: String,
    docs: Vec<Value>,
}

fn start_injecting() -> Option<Injecting> {
    start_injecting_with(&[])
}

/// [`start_injecting`] with further operator flags.
fn start_injecting_with(extra: &[&str]) -> Option<Injecting> {
    let cluster = start()?;
    let tls = cluster.dir.path().join("tls");
    run_certs(&tls);
    let (operator, url) = start_webhook(&cluster, &tls, extra);
    register_webhook(&cluster, &url, &tls);
    let docs = example_documents();
    // The example's ServiceAccount `web` and its Role: a real apiserver admits no pod whose ServiceAccount is
    // missing.
    cluster.apply_repo("examples/inject/rbac.yaml");
    cluster.apply_json("configmap.json", &docs[0]);
    Some(Injecting {
        operator,
        cluster,
        tls,
        url,
        docs,
    })
}

#[test]
fn operator_webhook_injects_pods_created_with_kubectl() {
    let Some(injecting) = start_injecting() else {
        return;
    };
    let (cluster, docs) = (&injecting.cluster, &injecting.docs);
    cluster.apply_json("deployment.json", &deployment_with_two_containers(docs));

    let names = pods_of(cluster, "web", 2);
    let cli_hash = offline_hash(cluster);
    for name in &names {
        let (pod, yaml) = pod_yaml(cluster, name);
        check_injected(&pod, &yaml);
        // The webhook and `configsync inject` compute the same initial hash from the same ConfigMap, so the
        // operator's first pass adopts the Deployment without a rollout.
        assert_eq!(
            pod["metadata"]["annotations"]["configsync.dev/config-hash"],
            cli_hash
        );
        // The (simulated or fake) kubelet takes the injected pod as it is: it comes up Running.
        wait_until(&format!("pod {name} is Running"), || {
            cluster.json(&["get", "pod", name])["status"]["phase"] == "Running"
        });
    }

    // The injected env configures the real sidecar: run it once with that env against the cluster.
    let (pod, _) = pod_yaml(cluster, &names[0]);
    let rendered = run_injected_sidecar(cluster, &pod);
    assert_eq!(
        rendered,
        docs[0]["data"]["nginx.conf"]
            .as_str()
            .expect("example data")
    );

    // A pod that does not opt in is admitted unchanged.
    let plain = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    cluster.apply_json("plain.json", &plain);
    let stored = cluster.json(&["get", "pod", "plain"]);
    assert!(stored["spec"].get("initContainers").is_none(), "{stored}");
}

/// Apply a bare pod that opts in to injection of the example's ConfigMap.
fn apply_opted_in_pod(cluster: &Cluster, name: &str) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name},
            "annotations": {"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "web-config"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    cluster.apply_json(&format!("{name}.json"), &pod);
}

fn is_injected(cluster: &Cluster, name: &str) -> bool {
    let (pod, _) = pod_yaml(cluster, name);
    pod["spec"]["initContainers"][0]["name"] == "configsync"
}

#[test]
fn operator_webhook_serves_rotated_certificate_files() {
    let Some(injecting) = start_injecting() else {
        return;
    };
    let (cluster, tls, url) = (&injecting.cluster, &injecting.tls, &injecting.url);
    apply_opted_in_pod(cluster, "before");
    assert!(
        is_injected(cluster, "before"),
        "the first certificate serves"
    );

    // A new CA and serving pair replace the files under the running operator, and the registration now trusts
    // only the new CA. failurePolicy is Ignore: had the webhook kept serving the old certificate, the cluster's
    // TLS check would fail and admit the pod without the sidecar.
    let old_ca = std::fs::read(tls.join("ca.crt")).expect("ca.crt");
    run_certs(tls);
    assert_ne!(std::fs::read(tls.join("ca.crt")).expect("ca.crt"), old_ca);
    register_webhook(cluster, url, tls);
    apply_opted_in_pod(cluster, "after");
    assert!(
        is_injected(cluster, "after"),
        "the webhook serves the rotated certificate without a restart"
    );
}

/// The failurePolicy `deploy/webhook.yaml` ships.
fn shipped_failure_policy() -> String {
    let config = webhook_configuration("https://unused", "");
    config["webhooks"][0]["failurePolicy"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The lines of the real kube-apiserver's log that name the webhook and hold `needle`.
fn apiserver_log_lines(needle: &str) -> Vec<String> {
    let Some(real) = support::real_k8s_dir() else {
        return Vec::new();
    };
    let log = std::fs::read_to_string(real.join("logs/kube-apiserver.log")).unwrap_or_default();
    log.lines()
        .filter(|line| line.contains("inject.configsync.dev") && line.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Wait until the real kube-apiserver has logged a webhook failure holding `needle` for the webhook called at
/// `url`; returns that line (nothing to wait for on the embedded server, whose log is its stderr).
fn apiserver_logged(cluster: &Cluster, url: &str, needle: &str) -> Option<String> {
    if !cluster.is_real() {
        return None;
    }
    let mut found = None;
    wait_until(&format!("kube-apiserver logs {needle:?} for {url}"), || {
        found = apiserver_log_lines(needle)
            .into_iter()
            .find(|line| line.contains(url.trim_end_matches("/mutate")));
        found.is_some()
    });
    found
}

#[test]
fn with_the_operator_stopped_pods_are_admitted_without_the_sidecar_as_the_manifest_says() {
    assert_eq!(
        shipped_failure_policy(),
        "Ignore",
        "SECURITY.md and deploy/webhook.yaml document failurePolicy Ignore"
    );
    let Some(injecting) = start_injecting() else {
        return;
    };
    let Injecting {
        operator,
        cluster,
        url,
        ..
    } = injecting;
    apply_opted_in_pod(&cluster, "before");
    assert!(is_injected(&cluster, "before"));

    drop(operator);
    let addr = url
        .trim_start_matches("https://")
        .trim_end_matches("/mutate")
        .to_owned();
    wait_until("the webhook's port refuses connections", || {
        std::net::TcpStream::connect(&addr).is_err()
    });
    apply_opted_in_pod(&cluster, "while-down");
    let (pod, yaml) = pod_yaml(&cluster, "while-down");
    assert!(
        pod["spec"].get("initContainers").is_none(),
        "admitted without the sidecar: {yaml}"
    );
    assert_eq!(
        pod["metadata"]["annotations"]["configsync.dev/inject"], "true",
        "the pod is stored as it was sent: {yaml}"
    );
    if let Some(line) = apiserver_logged(&cluster, &url, "failing open") {
        assert!(line.contains("connection refused"), "{line}");
        println!("kube-apiserver: {line}");
    }
}

#[test]
fn a_webhook_certificate_the_cabundle_does_not_trust_makes_the_apiserver_fail_the_call() {
    let Some(injecting) = start_injecting() else {
        return;
    };
    let (cluster, url) = (&injecting.cluster, &injecting.url);
    // A second CA, never seen by the webhook: the registration trusts it instead of the serving certificate's.
    let other = cluster.dir.path().join("other-ca");
    run_certs(&other);
    register_webhook(cluster, url, &other);

    // As shipped (failurePolicy Ignore): the apiserver fails the call on the TLS handshake and admits the pod
    // without the sidecar.
    apply_opted_in_pod(cluster, "untrusted");
    let (pod, yaml) = pod_yaml(cluster, "untrusted");
    assert!(
        pod["spec"].get("initContainers").is_none(),
        "admitted without the sidecar: {yaml}"
    );
    if let Some(line) = apiserver_logged(cluster, url, "failing open") {
        assert!(
            line.contains("x509: certificate signed by unknown authority"),
            "{line}"
        );
        println!("kube-apiserver: {line}");
    }

    // With failurePolicy Fail the same refusal reaches the client: the pod is not created.
    let ca = std::fs::read_to_string(other.join("ca.crt")).expect("ca.crt");
    let mut config = webhook_configuration(url, &ca);
    config["metadata"]["name"] = json!(
        cluster.cluster_scoped_name("mutatingwebhookconfiguration", "configsync-inject-fail")
    );
    config["webhooks"][0]["failurePolicy"] = json!("Fail");
    if cluster.is_real() {
        let only_this_namespace = json!({"key": "kubernetes.io/metadata.name", "operator": "In",
            "values": [cluster.namespace]});
        config["webhooks"][0]["namespaceSelector"]["matchExpressions"]
            .as_array_mut()
            .expect("matchExpressions")
            .push(only_this_namespace);
    }
    cluster.apply_json("webhook-fail.json", &config);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "refused", "namespace": "default",
            "annotations": {"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "web-config"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    let mut pod = pod;
    cluster.localize(&mut pod);
    let path = cluster.file("refused.json", &pod.to_string());
    let refusal = cluster.fails(&["create", "-f", path_str(&path)]);
    println!("kubectl: {}", refusal.trim());
    assert!(
        refusal.contains("inject.configsync.dev"),
        "the refusal names the webhook: {refusal}"
    );
    if cluster.is_real() {
        assert!(
            refusal.contains("failed calling webhook")
                && refusal.contains("x509: certificate signed by unknown authority"),
            "{refusal}"
        );
    }
    assert!(
        !cluster.run(&["get", "pod", "refused"]).status.success(),
        "the refused pod does not exist"
    );
}

/// `--native-sidecars false` (a cluster before 1.29): the webhook injects the classic pair, a render-once init
/// container and a regular sidecar container, and the pod still comes up Running.
#[test]
fn operator_webhook_injects_classic_sidecars_when_told() {
    let Some(injecting) = start_injecting_with(&["--native-sidecars", "false"]) else {
        return;
    };
    let cluster = &injecting.cluster;
    apply_opted_in_pod(cluster, "classic");
    let (pod, yaml) = pod_yaml(cluster, "classic");
    let init = &pod["spec"]["initContainers"][0];
    assert_eq!(init["name"], "configsync-init", "{yaml}");
    assert!(init.get("restartPolicy").is_none(), "{yaml}");
    let once = init["env"]
        .as_array()
        .expect("env")
        .iter()
        .any(|e| e["name"] == "CONFIGSYNC_ONCE");
    assert!(once, "the init container renders once: {yaml}");
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["app", "configsync"], "{yaml}");
    wait_until("the classic pod is Running", || {
        cluster.json(&["get", "pod", "classic"])["status"]["phase"] == "Running"
    });
}

/// The value of the series `series` on the operator's /metrics, if exported.
fn metric(operator: &Operator, series: &str) -> Option<f64> {
    let addr = operator.printed_addr("serving health and metrics on http://")?;
    let text = support::http_get(&addr, "/metrics")?;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn operator_metrics_count_webhook_answers_and_say_build_and_leadership() {
    let Some(injecting) = start_injecting_with(&["--strict"]) else {
        return;
    };
    let (cluster, operator) = (&injecting.cluster, &injecting.operator);
    apply_opted_in_pod(cluster, "counted");
    assert!(is_injected(cluster, "counted"));
    let bad = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "refused", "namespace": "default",
            "annotations": {"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "web-config",
                "configsync.dev/inject-mode": "daemon"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    let mut bad_local = bad.clone();
    cluster.localize(&mut bad_local);
    let path = cluster.file("refused.json", &bad_local.to_string());
    let refused = cluster.fails(&["apply", "-f", path_str(&path)]);
    assert!(refused.contains("unknown mode"), "{refused}");

    let allowed = r#"configsync_operator_webhook_requests_total{outcome="allowed"}"#;
    let denied = r#"configsync_operator_webhook_requests_total{outcome="denied"}"#;
    wait_until("the webhook counts its answers", || {
        metric(operator, allowed).is_some_and(|n| n >= 1.0)
            && metric(operator, denied).is_some_and(|n| n >= 1.0)
    });
    let answered =
        metric(operator, allowed).unwrap_or(0.0) + metric(operator, denied).unwrap_or(0.0);
    let timed = metric(
        operator,
        "configsync_operator_webhook_request_duration_seconds_count",
    );
    assert_eq!(timed, Some(answered), "every answer is timed");
    assert_eq!(
        metric(
            operator,
            r#"configsync_operator_webhook_requests_total{outcome="error"}"#
        ),
        None
    );
    let version = env!("CARGO_PKG_VERSION");
    let build = format!("configsync_build_info{{version=\"{version}\",commit=\"");
    let addr = operator
        .printed_addr("serving health and metrics on http://")
        .expect("addr");
    let text = support::http_get(&addr, "/metrics").expect("/metrics");
    let line = text.lines().find(|l| l.starts_with(&build));
    assert!(line.is_some_and(|l| l.ends_with("} 1")), "{text}");
    assert_eq!(
        metric(operator, "configsync_operator_leader"),
        Some(1.0),
        "without --leader-elect the one replica acts"
    );
}
