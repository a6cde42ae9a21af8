//! The Helm chart (charts/configsync) and the kustomize base (deploy/) with its overlays (kustomize/): `helm lint`,
//! `helm template`, RBAC identical to deploy/, and on either backend the rendered manifests apply, the operator
//! they describe (run here as a process with the Deployment's environment and, on the real control plane, the
//! chart ServiceAccount's token, since no pod runs) rolls a Deployment, and deleting them leaves nothing behind.
//!
//! helm comes from `CONFIGSYNC_HELM` or else `hack/build-helm` (built once from the Go module proxy and cached under
//! ~/.cache/configsync/helm/; .ci/run builds it first).
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::{Cluster, path_str, repo, run_ok, wait_until};

fn helm() -> PathBuf {
    if let Some(helm) = std::env::var_os("CONFIGSYNC_HELM").filter(|h| !h.is_empty()) {
        return PathBuf::from(helm);
    }
    let out = run_ok(&mut Command::new(repo("hack/build-helm")));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// `helm template RELEASE charts/configsync -n NAMESPACE ARGS...`, as text.
fn template(release: &str, namespace: &str, args: &[&str]) -> String {
    let out = run_ok(
        Command::new(helm())
            .args([
                "template",
                release,
                &repo("charts/configsync"),
                "-n",
                namespace,
            ])
            .args(args),
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .expect("YAML")
        .into_iter()
        .filter(|doc| doc.is_object())
        .collect()
}

fn repo_documents(file: &str) -> Vec<Value> {
    documents(&std::fs::read_to_string(repo(file)).expect(file))
}

/// `kind/name` → rules, for every Role and ClusterRole.
fn rules(docs: &[Value]) -> BTreeMap<String, Value> {
    docs.iter()
        .filter(|doc| matches!(doc["kind"].as_str(), Some("Role" | "ClusterRole")))
        .map(|doc| {
            let key = format!(
                "{}/{}",
                doc["kind"].as_str().unwrap_or(""),
                doc["metadata"]["name"]
            );
            (key, doc["rules"].clone())
        })
        .collect()
}

#[test]
fn helm_lint_passes_for_every_certificate_mode() {
    for set in [
        "webhook.certificate.mode=helm",
        "webhook.certificate.mode=cert-manager,serviceMonitor.enabled=true",
        "webhook.certificate.mode=secret,webhook.certificate.caBundle=Y2E=",
        "webhook.certificate.mode=operator,webhook.certificate.validity=24h",
        "webhook.enabled=false,replicas=1,leaderElection.enabled=false,podDisruptionBudget.enabled=false",
    ] {
        let out = Command::new(helm())
            .args(["lint", "--strict", &repo("charts/configsync"), "--set", set])
            .output()
            .expect("helm lint");
        assert!(
            out.status.success(),
            "helm lint --set {set}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_chart_renders_deploy_rbac_the_versioned_image_and_the_crd() {
    let docs = documents(&template("configsync", "configsync-system", &[]));
    let mut deployed = repo_documents("deploy/rbac.yaml");
    deployed.extend(repo_documents("deploy/webhook.yaml"));
    assert_eq!(
        rules(&docs),
        rules(&deployed),
        "chart RBAC differs from deploy/"
    );

    let version = env!("CARGO_PKG_VERSION");
    let image = format!("ghcr.io/configsync/configsync:{version}");
    let deployment = docs
        .iter()
        .find(|doc| doc["kind"] == "Deployment")
        .expect("Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], image.as_str());
    let env = &container["env"];
    assert!(
        env.as_array()
            .expect("env")
            .contains(&json!({"name": "CONFIGSYNC_SIDECAR_IMAGE", "value": image})),
        "{env}"
    );
    // The same hardening, resources and malloc settings as deploy/operator.yaml.
    let plain = repo_documents("deploy/operator.yaml");
    let plain = &plain[0]["spec"]["template"]["spec"];
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"], plain["securityContext"]);
    for field in [
        "securityContext",
        "resources",
        "livenessProbe",
        "readinessProbe",
        "ports",
    ] {
        assert_eq!(container[field], plain["containers"][0][field], "{field}");
    }
    let tunables = |env: &Value| {
        env.as_array()
            .into_iter()
            .flatten()
            .find(|var| var["name"] == "GLIBC_TUNABLES")
            .cloned()
    };
    assert_eq!(tunables(env), tunables(&plain["containers"][0]["env"]));
    assert!(tunables(env).is_some());
    let chart_crd = std::fs::read_to_string(repo(
        "charts/configsync/crds/configsync.dev_configsyncs.yaml",
    ));
    let crd = std::fs::read_to_string(repo("crds/configsync.dev_configsyncs.yaml"));
    assert_eq!(
        chart_crd.expect("chart CRD"),
        crd.expect("CRD"),
        "charts/configsync/crds/ is a copy of crds/"
    );
    // The webhook's caBundle is the CA of the certificate the chart generated.
    let webhook = docs
        .iter()
        .find(|doc| doc["kind"] == "MutatingWebhookConfiguration")
        .expect("webhook");
    let secret = docs
        .iter()
        .find(|doc| doc["kind"] == "Secret")
        .expect("webhook Secret");
    assert_eq!(
        webhook["webhooks"][0]["clientConfig"]["caBundle"],
        secret["data"]["ca.crt"]
    );
}

#[test]
fn the_values_schema_and_the_templates_refuse_bad_values() {
    for (set, expected) in [
        ("image.tag=latest", "/image/tag"),
        ("webhook.certificate.mode=self", "/webhook/certificate/mode"),
        ("replicas=0", "/replicas"),
        (
            "replicas=2,leaderElection.enabled=false",
            "needs leaderElection.enabled",
        ),
        ("webhook.certificate.mode=secret", "caBundle is required"),
        ("operator.debounce=5 parsecs", "/operator/debounce"),
    ] {
        let out = Command::new(helm())
            .args(["template", "x", &repo("charts/configsync"), "--set", set])
            .output()
            .expect("helm template");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(expected),
            "--set {set}: {stderr}"
        );
    }
}

/// A kubeconfig of `cluster` that authenticates as the ServiceAccount `name` of the test's namespace (real
/// control plane: RBAC is enforced); the embedded server enforces no RBAC, so its admin kubeconfig stands in.
fn service_account_kubeconfig(cluster: &Cluster, name: &str) -> PathBuf {
    if !cluster.is_real() {
        return cluster.kubeconfig.clone();
    }
    let token = cluster.ok(&["create", "token", name, "--duration", "10m"]);
    let copy = cluster.dir.path().join("operator-kubeconfig");
    std::fs::copy(&cluster.kubeconfig, &copy).expect("copy kubeconfig");
    let config = |args: &[&str]| {
        run_ok(
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&copy)
                .arg("config")
                .args(args),
        );
    };
    config(&[
        "set-credentials",
        "operator",
        &format!("--token={}", token.trim()),
    ]);
    config(&["set-context", "--current", "--user=operator"]);
    copy
}

/// The operator's environment from a rendered Deployment: literal values, and the fieldRefs a pod would get.
fn deployment_env(deployment: &Value, namespace: &str) -> Vec<(String, String)> {
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    container["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|var| {
            let value = match var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("metadata.namespace") => namespace.to_owned(),
                Some("metadata.name") => "configsync-operator-from-chart".to_owned(),
                _ => var["value"].as_str().expect("a literal value").to_owned(),
            };
            (var["name"].as_str().expect("name").to_owned(), value)
        })
        .collect()
}

/// A ConfigMap and a Deployment that follows it; the Deployment's pod-template config hash.
fn followed_workload(cluster: &Cluster) -> impl Fn() -> String + '_ {
    cluster.apply_json(
        "cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app-config", "namespace": "default"}, "data": {"level": "info"}}),
    );
    cluster.apply_json("web.json", &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "annotations": {"configsync.dev/auto": "true"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "app:1",
                    "envFrom": [{"configMapRef": {"name": "app-config"}}]}]}}}}));
    move || {
        cluster.ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.metadata.annotations.configsync\\.dev/config-hash}",
        ])
    }
}

/// The image the chart's `sidecar.image` sets (`--sidecar-image` through `CONFIGSYNC_SIDECAR_IMAGE`).
const SIDECAR_IMAGE: &str = "registry.example/configsync:0.2.0-chart-test";

/// POST an AdmissionReview for an annotated pod to the operator's webhook at `addr`, verifying its certificate
/// against the chart's CA under the webhook Service's DNS name (as kube-apiserver does); the decoded JSON patch.
fn admission_patch(
    tls: &std::path::Path,
    release: &str,
    namespace: &str,
    addr: &str,
    secret: &Value,
) -> String {
    let ca = tls.join("ca.crt");
    std::fs::write(
        &ca,
        decode_base64(secret["data"]["ca.crt"].as_str().expect("ca.crt")),
    )
    .expect("ca");
    let service = format!("{}-webhook", fullname(release));
    let host = format!("{service}.{namespace}.svc");
    let port = addr.rsplit(':').next().expect("port");
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "default",
        "operation": "CREATE", "userInfo": {},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default",
            "annotations": {"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "app-config"}},
            "spec": {"containers": [{"name": "app", "image": "app"}]}}}});
    let out = run_ok(Command::new("curl").args([
        "-sS",
        "--fail",
        "--cacert",
        path_str(&ca),
        "--resolve",
        &format!("{host}:{port}:127.0.0.1"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &review.to_string(),
        &format!("https://{host}:{port}/mutate"),
    ]));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("AdmissionReview");
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    String::from_utf8(decode_base64(
        answer["response"]["patch"].as_str().expect("a patch"),
    ))
    .expect("utf-8")
}

fn decode_base64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

/// The prefix of the chart's object names for `release` (templates/_helpers.tpl, `configsync.fullname`).
fn fullname(release: &str) -> String {
    if release.contains("configsync") {
        release.to_owned()
    } else {
        format!("{release}-configsync")
    }
}

/// The release name: `configsync` on the embedded server (names as in deploy/), one of this test's own on the
/// shared real control plane (cluster-wide objects carry it).
fn release_name(cluster: &Cluster) -> String {
    let namespace = &cluster.namespace;
    if cluster.is_real() {
        format!("cs{}", &namespace[namespace.len().saturating_sub(8)..])
    } else {
        "configsync".to_owned()
    }
}

/// `--set` arguments that keep a release inside this test's namespace.
fn install_values(cluster: &Cluster) -> Vec<String> {
    let namespace = &cluster.namespace;
    vec![
        "--set".to_owned(),
        format!("operator.namespaces={{{namespace}}}"),
        "--set".to_owned(),
        // No pod reaches the webhook through kube-apiserver: the only namespace selected is the release's own, which
        // the chart always excludes (kube-apiserver would dial the Service's cluster IP, which no pod serves here).
        // The test calls the operator's webhook itself.
        format!(
            "webhook.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name={namespace}"
        ),
        "--set".to_owned(),
        format!("sidecar.image={SIDECAR_IMAGE}"),
    ]
}

/// Every object of `release` still in the cluster, as `kind/name` lines.
fn objects_of(cluster: &Cluster, release: &str) -> String {
    let selector = format!("app.kubernetes.io/instance={release}");
    [
        "all",
        "secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets",
        "clusterroles,clusterrolebindings,mutatingwebhookconfigurations",
    ]
    .iter()
    .map(|kinds| cluster.ok(&["get", kinds, "-A", "-l", &selector, "-o", "name"]))
    .collect()
}

/// `helm install`, `helm upgrade` and `helm uninstall` against either backend: the upgrade keeps the generated
/// webhook certificate (the chart looks its Secret up) and its caBundle, and the uninstall leaves nothing.
#[test]
fn helm_install_upgrade_and_uninstall() {
    let Some(cluster) = support::start() else {
        return;
    };
    let release = release_name(&cluster);
    let values = install_values(&cluster);
    let helm_run = |verb: &[&str]| {
        run_ok(
            Command::new(helm())
                .args(verb)
                .args([
                    &release,
                    &repo("charts/configsync"),
                    "-n",
                    &cluster.namespace,
                ])
                .arg("--kubeconfig")
                .arg(&cluster.kubeconfig)
                .args(&values),
        );
    };
    let fullname = fullname(&release);
    let ca = || {
        let secret = format!("{fullname}-webhook-tls");
        cluster.ok(&["get", "secret", &secret, "-o", "jsonpath={.data.ca\\.crt}"])
    };
    let bundle = || {
        let webhook = format!("{fullname}-inject");
        let jsonpath = "jsonpath={.webhooks[0].clientConfig.caBundle}";
        cluster.ok(&[
            "get",
            "mutatingwebhookconfiguration",
            &webhook,
            "-o",
            jsonpath,
        ])
    };
    helm_run(&["install"]);
    let pdb_name = format!("{fullname}-operator");
    let pdb = cluster.json(&["get", "poddisruptionbudget", &pdb_name, "-o", "json"]);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"], release,
        "the chart's PodDisruptionBudget selects the release's operator pods: {pdb}"
    );
    let installed = ca();
    assert!(!installed.is_empty());
    assert_eq!(bundle(), installed);
    helm_run(&["upgrade"]);
    assert_eq!(
        ca(),
        installed,
        "helm upgrade replaced the webhook certificate"
    );
    assert_eq!(bundle(), installed);
    run_ok(
        Command::new(helm())
            .args(["uninstall", &release, "-n", &cluster.namespace, "--wait"])
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig),
    );
    let left = objects_of(&cluster, &release);
    assert!(left.trim().is_empty(), "left behind: {left}");
}

#[test]
fn the_operator_installed_from_the_chart_rolls_a_deployment_and_uninstalls_cleanly() {
    let Some(cluster) = support::start() else {
        return;
    };
    let namespace = cluster.namespace.clone();
    let release = release_name(&cluster);
    let args = install_values(&cluster);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rendered = template(&release, &namespace, &args);
    let manifest = cluster.file("chart.yaml", &rendered);
    cluster.ok(&["apply", "-f", &repo("crds/")]);
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    let docs = documents(&rendered);

    // The webhook's certificate, as the pod would mount it from the chart's Secret.
    let secret = docs
        .iter()
        .find(|doc| doc["kind"] == "Secret")
        .expect("Secret");
    let tls = cluster.dir.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    for key in ["tls.crt", "tls.key"] {
        let pem = decode_base64(secret["data"][key].as_str().expect(key));
        std::fs::write(tls.join(key), pem).expect("write");
    }
    let deployment = docs
        .iter()
        .find(|doc| doc["kind"] == "Deployment")
        .expect("Deployment");
    let account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("sa");
    let kubeconfig = service_account_kubeconfig(&cluster, account);
    let hash = followed_workload(&cluster);
    let env = deployment_env(deployment, &namespace);
    let operator = support::start_operator_with_env(
        &cluster,
        &kubeconfig,
        &[
            "--webhook-addr",
            "127.0.0.1:0",
            "--webhook-cert",
            path_str(&tls.join("tls.crt")),
            "--webhook-key",
            path_str(&tls.join("tls.key")),
        ],
        &env,
    );
    let webhook = operator
        .printed_addr("injection webhook on https://")
        .expect("the operator serves the webhook");
    let patch = admission_patch(&tls, &release, &namespace, &webhook, secret);
    assert!(
        patch.contains(&format!("\"image\":\"{SIDECAR_IMAGE}\"")),
        "{patch}"
    );
    let lease = format!("{}-operator", fullname(&release));
    wait_until("the operator leads (chart RBAC: its Lease)", || {
        cluster.run(&["get", "lease", &lease]).status.success()
    });
    // Adoption records what the operator saw on the workload's metadata and rolls nothing.
    wait_until("the operator adopts web", || {
        cluster
            .ok(&[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.metadata.annotations.configsync\\.dev/observed-hash}",
            ])
            .starts_with("v1:")
    });
    let adopted = hash();
    cluster.merge_patch("configmap", "app-config", r#"{"data":{"level":"debug"}}"#);
    wait_until("the edit rolls web", || {
        let now = hash();
        now.starts_with("v1:") && now != adopted
    });
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    drop(operator);

    // Uninstall: deleting what was applied leaves no object of the release behind.
    cluster.ok(&["delete", "-f", path_str(&manifest), "--wait=true"]);
    let left = objects_of(&cluster, &release);
    assert!(left.trim().is_empty(), "left behind: {left}");
}

/// Certificate mode `operator`: the chart renders no certificate and no caBundle; the operator, run with the
/// chart's env and (real) its ServiceAccount's token bound by the chart's RBAC, makes the Secret, sets the caBundle
/// of the release's webhook configuration, and serves a certificate that verifies against it under the
/// Service's DNS name.
#[test]
fn in_operator_certificate_mode_the_operator_makes_its_certificate_with_the_charts_rbac() {
    let Some(cluster) = support::start() else {
        return;
    };
    let namespace = cluster.namespace.clone();
    let release = release_name(&cluster);
    let mut args = install_values(&cluster);
    args.extend([
        "--set".to_owned(),
        "webhook.certificate.mode=operator".to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rendered = template(&release, &namespace, &args);
    let docs = documents(&rendered);
    assert!(
        !docs.iter().any(|doc| doc["kind"] == "Secret"),
        "the chart makes no certificate"
    );
    let configuration = format!("{}-inject", fullname(&release));
    let registered = docs
        .iter()
        .find(|doc| doc["kind"] == "MutatingWebhookConfiguration")
        .expect("MutatingWebhookConfiguration");
    assert!(registered["webhooks"][0]["clientConfig"]["caBundle"].is_null());
    let manifest = cluster.file("chart.yaml", &rendered);
    cluster.ok(&["apply", "-f", &repo("crds/")]);
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    let deployment = docs
        .iter()
        .find(|doc| doc["kind"] == "Deployment")
        .expect("Deployment");
    let account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("sa");
    let kubeconfig = service_account_kubeconfig(&cluster, account);
    let env = deployment_env(deployment, &namespace);
    let operator = support::start_operator_with_env(
        &cluster,
        &kubeconfig,
        &["--webhook-addr", "127.0.0.1:0"],
        &env,
    );
    let webhook = operator
        .printed_addr("injection webhook on https://")
        .expect("the operator serves the webhook");
    let secret_name = format!("{}-webhook-tls", fullname(&release));
    let mut secret = Value::Null;
    wait_until("the caBundle is the made Secret's bundle", || {
        secret = cluster.json(&["get", "secret", &secret_name]);
        let bundle = cluster.ok(&[
            "get",
            "mutatingwebhookconfiguration",
            &configuration,
            "-o",
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        ]);
        !bundle.is_empty() && secret["data"]["ca-bundle.crt"] == bundle.trim()
    });
    let made = cluster.dir.path().join("made");
    std::fs::create_dir_all(&made).expect("dir");
    let patch = admission_patch(&made, &release, &namespace, &webhook, &secret);
    assert!(patch.contains(SIDECAR_IMAGE), "{patch}");
    drop(operator);
    cluster.ok(&["delete", "-f", path_str(&manifest), "--wait=true"]);
    cluster.ok(&["delete", "secret", &secret_name]);
}

/// `kubectl kustomize` of both overlays, and `kubectl apply -k` of each on either backend.
#[test]
fn the_kustomize_overlays_build_and_apply() {
    let Some(cluster) = support::start() else {
        return;
    };
    let build = |overlay: &str| documents(&cluster.ok(&["kustomize", &repo(overlay)]));
    let names = |docs: &[Value]| -> Vec<String> {
        docs.iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    d["kind"].as_str().unwrap_or(""),
                    d["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let with = build("kustomize/with-webhook");
    let without = build("kustomize/without-webhook");
    let base = build("deploy");
    assert_eq!(names(&with), names(&base));
    assert!(names(&with).contains(&"MutatingWebhookConfiguration/configsync-inject".to_owned()));
    for gone in [
        "MutatingWebhookConfiguration/configsync-inject",
        "Service/configsync-webhook",
        "ClusterRole/configsync-webhook",
    ] {
        assert!(
            !names(&without).contains(&gone.to_owned()),
            "{gone} in without-webhook"
        );
    }
    let operator = without
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("Deployment")
        .to_string();
    assert!(
        !operator.contains("WEBHOOK") && !operator.contains("webhook-tls"),
        "{operator}"
    );
    assert!(operator.contains(&format!(
        "ghcr.io/configsync/configsync:{}",
        env!("CARGO_PKG_VERSION")
    )));
    let auto = build("kustomize/webhook-cert-auto");
    for added in [
        "Role/configsync-webhook-cert",
        "ClusterRole/configsync-webhook-cabundle",
    ] {
        assert!(names(&auto).contains(&added.to_owned()), "{added} missing");
    }
    let operator = auto
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("Deployment");
    let env = &operator["spec"]["template"]["spec"]["containers"][0]["env"];
    let env_names: Vec<&str> = env
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(env_names.contains(&"CONFIGSYNC_WEBHOOK_CERT_AUTO"), "{env}");
    assert!(
        !env_names.contains(&"CONFIGSYNC_WEBHOOK_CERT")
            && !operator.to_string().contains("webhook-tls"),
        "{operator}"
    );
    // Cluster-wide names are fixed in deploy/; on the shared real control plane no other test of this binary uses
    // them (the README test, which applies deploy/ too, is another binary, and cargo runs those one at a time).
    let out = cluster.ok(&["apply", "-k", &repo("kustomize/without-webhook")]);
    assert!(out.contains("deployment.apps/configsync-operator"), "{out}");
    // deploy/'s webhook selects every namespace's pods and calls its Service: kube-apiserver would dial the
    // Service's cluster IP (no pod serves it here) for the pods other tests create meanwhile. On the shared real
    // control plane the with-webhook overlay is applied as a server-side dry run: validated, admitted, not stored.
    let dry_run = cluster.is_real().then_some("--dry-run=server");
    let with = repo("kustomize/with-webhook");
    let out = cluster.ok(&[&["apply", "-k", &with][..], dry_run.as_slice()].concat());
    assert!(
        out.contains("mutatingwebhookconfiguration.admissionregistration.k8s.io/configsync-inject"),
        "{out}"
    );
    if !cluster.is_real() {
        cluster.ok(&["get", "mutatingwebhookconfiguration", "configsync-inject"]);
    }
    // The namespace goes first and takes its objects with it: --ignore-not-found for those.
    cluster.ok(&[
        "delete",
        "-k",
        &repo("kustomize/with-webhook"),
        "--ignore-not-found",
    ]);
    let left = cluster.run(&["get", "clusterrole", "configsync-operator"]);
    assert!(!left.status.success(), "clusterrole left behind");
}
