//! RBAC enforced for real: the operator (with its webhook) and the sidecar run on the real control plane with a
//! token of their own ServiceAccount (TokenRequest, `kubectl create token`), bound by the shipped `deploy/`
//! manifests, never as the admin, and do their whole job: the Lease, ConfigSync status, adoption and rollouts of
//! Deployments, StatefulSets, DaemonSets, CronJobs and Argo Rollouts (the Rollout CRD of
//! tests/workload_kinds/ is installed first), Events (and Event series), injection with the initial config hash,
//! and the sidecar's projection and watch of its own namespace.
//!
//! Least privilege, both ways: for each (role, group, resource, verb) the manifests grant, a case applies the
//! manifests without that one grant and runs the same scenario; the first check that fails is the one the
//! [`CASES`] table names, and the component logged the apiserver's 403 for exactly that verb and resource.
//! SECURITY.md's RBAC table is tested against both the manifests and [`CASES`]
//! (`security_md_rbac_table_matches_the_manifests_and_the_cases`, which needs no cluster).
//!
//! The embedded server stores RBAC objects but enforces nothing (README, approximations), so the end-to-end test
//! needs the real control plane and is ignored without one; CI's real pass runs it with `--include-ignored`.
//! Every case works in namespaces of its own with cluster-scoped objects named after them; the cases run
//! concurrently.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use support::{Cluster, Operator, path_str, run_ok};

/// What a missing grant breaks first, in the order the scenarios check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// The operator holds its Lease.
    LeaseAcquired,
    /// The leader renews its Lease.
    LeaseRenewed,
    /// Every watch of the operator has listed (`/readyz`).
    Ready,
    /// A ConfigSync gets a status.
    ConfigSyncStatus,
    /// Every followed workload is adopted (`configsync.dev/observed-hash`).
    Adopted,
    /// Adoption publishes a `ConfigAdopted` Event.
    AdoptedEvent,
    /// A ConfigMap change rolls the workloads that follow it.
    RolledByConfigMap,
    /// A Secret change rolls the workload that follows it.
    RolledBySecret,
    /// A workload of this kind created after the operator started is adopted.
    LateAdopted(&'static str),
    /// A ConfigSync created after the operator started gets a status.
    LateConfigSync,
    /// A second rollout of a workload makes its `ConfigRolled` Event a series.
    EventSeries,
    /// An apply the API refuses for good sets the `ConfigSyncApplied` condition of a workload of this kind.
    RefusedCondition(&'static str),
    /// The webhook injects a pod naming a source of this kind with the initial config hash.
    InjectedWithHash(&'static str),
    /// The webhook injects a pod of a namespace labelled `configsync.dev/inject=enabled`.
    NamespaceOptIn,
    /// The sidecar projects its sources.
    Projected,
    /// The sidecar projects a change of a source of this kind.
    SidecarUpdated(&'static str),
    /// The sidecar follows a source of this kind by watch, without restarting it.
    SidecarWatch(&'static str),
    /// `--webhook-cert-auto`: the operator makes its certificate Secret and serves the webhook.
    CertMade,
    /// `--webhook-cert-auto`: the webhook configuration's caBundle is the Secret's bundle.
    CaBundleSet,
    /// `--webhook-cert-auto`: a corrupt certificate Secret is replaced.
    CorruptReplaced,
}

impl Check {
    /// SECURITY.md's "what breaks without it" for this check.
    fn what_breaks(self) -> String {
        match self {
            Self::LeaseAcquired => {
                "no Lease: the operator never leads, so it rolls nothing".to_owned()
            }
            Self::LeaseRenewed => {
                "the Lease is never renewed: the leader gives up after the renew deadline and exits"
                    .to_owned()
            }
            Self::Ready => {
                "the watch cannot list: the operator is never ready and rolls nothing".to_owned()
            }
            Self::ConfigSyncStatus => "no ConfigSync status is ever written".to_owned(),
            Self::Adopted => "workloads of this kind are never adopted or rolled".to_owned(),
            Self::AdoptedEvent => "no Event is published".to_owned(),
            Self::RolledByConfigMap => "a ConfigMap change never rolls its workloads".to_owned(),
            Self::RolledBySecret => "a Secret change never rolls its workloads".to_owned(),
            Self::LateAdopted(kind) => {
                format!("a {kind} created after the operator started is never seen")
            }
            Self::LateConfigSync => {
                "a ConfigSync created after the operator started is never seen".to_owned()
            }
            Self::EventSeries => "a repeated Event is lost (it cannot become a series)".to_owned(),
            Self::RefusedCondition(kind) => format!(
                "a refused apply of a {kind} sets no ConfigSyncApplied condition (its Warning Event alone tells)"
            ),
            Self::InjectedWithHash(kind) => {
                format!("pods naming a {kind} are injected without the initial config hash")
            }
            Self::NamespaceOptIn => {
                "pods of a namespace labelled configsync.dev/inject=enabled are not injected"
                    .to_owned()
            }
            Self::Projected => "the sidecar never projects anything".to_owned(),
            Self::SidecarUpdated(kind) => {
                format!("a {kind} change never reaches the sidecar's files")
            }
            Self::SidecarWatch(kind) => format!(
                "the {kind} watch is refused: the sidecar lists every --recheck-interval instead, so a change arrives that much later"
            ),
            Self::CertMade => "no certificate Secret is made: the webhook never serves".to_owned(),
            Self::CaBundleSet => {
                "the caBundle is never set: kube-apiserver cannot verify the webhook".to_owned()
            }
            Self::CorruptReplaced => {
                "the certificate is never renewed and a corrupt Secret is never replaced".to_owned()
            }
        }
    }
}

/// One grant of the shipped manifests and what its absence breaks first.
struct Case {
    role: &'static str,
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
    breaks: Check,
}

const fn case(
    role: &'static str,
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
    breaks: Check,
) -> Case {
    Case {
        role,
        group,
        resource,
        verb,
        breaks,
    }
}

const OPERATOR: &str = "configsync-operator";
const LEADER: &str = "configsync-operator-leader-election";
const WEBHOOK: &str = "configsync-webhook";
const SIDECAR: &str = "configsync-sidecar";
const CERT: &str = "configsync-webhook-cert";
const CABUNDLE: &str = "configsync-webhook-cabundle";

/// Every grant of `deploy/rbac.yaml`, `deploy/webhook.yaml` and `kustomize/webhook-cert-auto/rbac.yaml`, and
/// what breaks first without it.
const CASES: &[Case] = &[
    case(OPERATOR, "", "configmaps", "list", Check::Ready),
    case(
        OPERATOR,
        "",
        "configmaps",
        "watch",
        Check::RolledByConfigMap,
    ),
    case(OPERATOR, "", "secrets", "list", Check::Ready),
    case(OPERATOR, "", "secrets", "watch", Check::RolledBySecret),
    case(OPERATOR, "apps", "deployments", "list", Check::Ready),
    case(
        OPERATOR,
        "apps",
        "deployments",
        "watch",
        Check::LateAdopted("Deployment"),
    ),
    case(OPERATOR, "apps", "deployments", "patch", Check::Adopted),
    case(OPERATOR, "apps", "statefulsets", "list", Check::Ready),
    case(
        OPERATOR,
        "apps",
        "statefulsets",
        "watch",
        Check::LateAdopted("StatefulSet"),
    ),
    case(OPERATOR, "apps", "statefulsets", "patch", Check::Adopted),
    case(OPERATOR, "apps", "daemonsets", "list", Check::Ready),
    case(
        OPERATOR,
        "apps",
        "daemonsets",
        "watch",
        Check::LateAdopted("DaemonSet"),
    ),
    case(OPERATOR, "apps", "daemonsets", "patch", Check::Adopted),
    case(OPERATOR, "batch", "cronjobs", "list", Check::Ready),
    case(
        OPERATOR,
        "batch",
        "cronjobs",
        "watch",
        Check::LateAdopted("CronJob"),
    ),
    case(OPERATOR, "batch", "cronjobs", "patch", Check::Adopted),
    case(OPERATOR, "argoproj.io", "rollouts", "list", Check::Ready),
    case(
        OPERATOR,
        "argoproj.io",
        "rollouts",
        "watch",
        Check::LateAdopted("Rollout"),
    ),
    case(OPERATOR, "argoproj.io", "rollouts", "patch", Check::Adopted),
    case(
        OPERATOR,
        "apps",
        "deployments/status",
        "patch",
        Check::RefusedCondition("Deployment"),
    ),
    case(
        OPERATOR,
        "apps",
        "statefulsets/status",
        "patch",
        Check::RefusedCondition("StatefulSet"),
    ),
    case(
        OPERATOR,
        "apps",
        "daemonsets/status",
        "patch",
        Check::RefusedCondition("DaemonSet"),
    ),
    case(
        OPERATOR,
        "events.k8s.io",
        "events",
        "create",
        Check::AdoptedEvent,
    ),
    case(
        OPERATOR,
        "events.k8s.io",
        "events",
        "patch",
        Check::EventSeries,
    ),
    case(
        OPERATOR,
        "configsync.dev",
        "configsyncs",
        "list",
        Check::ConfigSyncStatus,
    ),
    case(
        OPERATOR,
        "configsync.dev",
        "configsyncs",
        "watch",
        Check::LateConfigSync,
    ),
    case(
        OPERATOR,
        "configsync.dev",
        "configsyncs/status",
        "patch",
        Check::ConfigSyncStatus,
    ),
    case(
        LEADER,
        "coordination.k8s.io",
        "leases",
        "get",
        Check::LeaseAcquired,
    ),
    case(
        LEADER,
        "coordination.k8s.io",
        "leases",
        "create",
        Check::LeaseAcquired,
    ),
    case(
        LEADER,
        "coordination.k8s.io",
        "leases",
        "update",
        Check::LeaseRenewed,
    ),
    case(WEBHOOK, "", "namespaces", "get", Check::NamespaceOptIn),
    case(
        WEBHOOK,
        "",
        "configmaps",
        "get",
        Check::InjectedWithHash("ConfigMap"),
    ),
    case(
        WEBHOOK,
        "",
        "secrets",
        "get",
        Check::InjectedWithHash("Secret"),
    ),
    case(SIDECAR, "", "configmaps", "list", Check::Projected),
    case(
        SIDECAR,
        "",
        "configmaps",
        "watch",
        Check::SidecarWatch("ConfigMap"),
    ),
    case(SIDECAR, "", "secrets", "list", Check::Projected),
    case(
        SIDECAR,
        "",
        "secrets",
        "watch",
        Check::SidecarWatch("Secret"),
    ),
    case(CERT, "", "secrets", "create", Check::CertMade),
    case(CERT, "", "secrets", "update", Check::CorruptReplaced),
    case(
        CABUNDLE,
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "get",
        Check::CaBundleSet,
    ),
    case(
        CABUNDLE,
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "patch",
        Check::CaBundleSet,
    ),
];

// ---------------------------------------------------------------------------------------------------------------
// The manifests

/// The RBAC documents of `deploy/rbac.yaml`, `deploy/webhook.yaml` and the `--webhook-cert-auto` overlay's
/// (ServiceAccounts, Roles, bindings).
fn shipped_rbac() -> Vec<Value> {
    [
        "deploy/rbac.yaml",
        "deploy/webhook.yaml",
        "kustomize/webhook-cert-auto/rbac.yaml",
    ]
    .iter()
    .flat_map(|file| {
        let text = std::fs::read_to_string(support::repo(file)).expect("read deploy/");
        serde_saphyr::from_multiple::<Value>(&text).expect("deploy/ YAML")
    })
    .filter(|doc| {
        matches!(
            doc["kind"].as_str(),
            Some("ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding")
        )
    })
    .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

type Grant = (String, String, String, String);

/// Every (role, group, resource, verb) the Roles and ClusterRoles of `docs` grant.
fn grants(docs: &[Value]) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    for doc in docs {
        if !matches!(doc["kind"].as_str(), Some("Role" | "ClusterRole")) {
            continue;
        }
        let role = doc["metadata"]["name"].as_str().unwrap_or_default();
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        grants.insert((role.to_owned(), group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
    }
    grants
}

/// Every grant of `docs` with the resourceNames that limit it (empty: any name).
fn limited_grants(docs: &[Value]) -> BTreeSet<(Grant, Vec<String>)> {
    let mut limited = BTreeSet::new();
    for doc in docs {
        if !matches!(doc["kind"].as_str(), Some("Role" | "ClusterRole")) {
            continue;
        }
        let role = doc["metadata"]["name"].as_str().unwrap_or_default();
        for rule in doc["rules"].as_array().into_iter().flatten() {
            let names = strings(&rule["resourceNames"]);
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        let grant = (role.to_owned(), group.clone(), resource.clone(), verb);
                        limited.insert((grant, names.clone()));
                    }
                }
            }
        }
    }
    limited
}

/// `docs` without `case`'s one grant: its rule loses the resource, and a rule of that resource alone keeps the
/// other verbs.
fn without(docs: &[Value], case: &Case) -> Vec<Value> {
    let mut docs = docs.to_vec();
    for doc in &mut docs {
        if doc["metadata"]["name"] != case.role
            || !matches!(doc["kind"].as_str(), Some("Role" | "ClusterRole"))
        {
            continue;
        }
        let mut rules = Vec::new();
        for rule in doc["rules"].as_array().cloned().unwrap_or_default() {
            let hit = strings(&rule["apiGroups"]).iter().any(|g| g == case.group)
                && strings(&rule["resources"])
                    .iter()
                    .any(|r| r == case.resource)
                && strings(&rule["verbs"]).iter().any(|v| v == case.verb);
            if !hit {
                rules.push(rule);
                continue;
            }
            let others: Vec<String> = strings(&rule["resources"])
                .into_iter()
                .filter(|r| r != case.resource)
                .collect();
            if !others.is_empty() {
                let mut rest = rule.clone();
                rest["resources"] = json!(others);
                rules.push(rest);
            }
            let verbs: Vec<String> = strings(&rule["verbs"])
                .into_iter()
                .filter(|v| v != case.verb)
                .collect();
            if !verbs.is_empty() {
                let mut rest = rule.clone();
                rest["apiGroups"] = json!([case.group]);
                rest["resources"] = json!([case.resource]);
                rest["verbs"] = json!(verbs);
                rules.push(rest);
            }
        }
        doc["rules"] = json!(rules);
    }
    docs
}

/// `docs` moved into this case's namespace: `configsync-system` becomes `cluster.namespace`, cluster-scoped
/// objects get names of this case's own (deleted when it ends), and every roleRef follows.
fn localize(cluster: &Cluster, docs: &[Value]) -> Vec<Value> {
    let ns = &cluster.namespace;
    let scoped = |kind: &str, name: &str| cluster.cluster_scoped_name(kind, name);
    let renamed = |name: &str| {
        if cluster.is_real() {
            format!("{name}-{ns}")
        } else {
            name.to_owned()
        }
    };
    docs.iter()
        .map(|doc| {
            let mut doc = doc.clone();
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let name = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if kind.starts_with("Cluster") {
                doc["metadata"]["name"] = json!(scoped(&kind.to_lowercase(), &name));
                // The webhook configuration a rule names is this case's own.
                for rule in doc["rules"].as_array_mut().into_iter().flatten() {
                    if strings(&rule["resources"])
                        .contains(&"mutatingwebhookconfigurations".to_owned())
                    {
                        let names: Vec<String> = strings(&rule["resourceNames"])
                            .iter()
                            .map(|n| scoped("mutatingwebhookconfiguration", n))
                            .collect();
                        rule["resourceNames"] = json!(names);
                    }
                }
            } else {
                doc["metadata"]["namespace"] = json!(ns);
            }
            if doc["roleRef"]["kind"] == "ClusterRole" {
                let role = doc["roleRef"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                doc["roleRef"]["name"] = json!(renamed(&role));
            }
            for subject in doc["subjects"].as_array_mut().into_iter().flatten() {
                subject["namespace"] = json!(ns);
            }
            doc
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Identities

/// A kubeconfig of `cluster`'s that authenticates as ServiceAccount `name` of its namespace, with a token from the
/// TokenRequest API.
fn service_account_kubeconfig(cluster: &Cluster, name: &str) -> PathBuf {
    let token = cluster.ok(&["create", "token", name, "--duration", "2h"]);
    let path = cluster.dir.path().join(format!("kubeconfig-{name}"));
    std::fs::copy(&cluster.kubeconfig, &path).expect("copy the kubeconfig");
    let kubectl = |args: &[&str]| {
        run_ok(
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&path)
                .args(args),
        );
    };
    kubectl(&["config", "set-credentials", name, "--token", token.trim()]);
    kubectl(&["config", "set-context", "--current", "--user", name]);
    let whoami = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&path)
        .args([
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .output()
        .expect("kubectl auth whoami");
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout),
        format!("system:serviceaccount:{}:{name}", cluster.namespace),
        "the kubeconfig authenticates as the ServiceAccount"
    );
    path
}

/// Apply `docs` (already localized) as the admin.
fn apply(cluster: &Cluster, name: &str, docs: &[Value]) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": docs});
    let path = cluster.file(name, &list.to_string());
    cluster.ok(&["apply", "-f", path_str(&path)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting

/// How long a check waits for what it expects (cases run concurrently on a shared machine).
const PATIENCE: Duration = Duration::from_secs(30);

/// Poll `condition` every 300 ms until it holds (true) or [`PATIENCE`] runs out (false).
fn within_patience(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `Ok` when `condition` comes to hold, else the check that failed.
fn expect(check: Check, condition: impl FnMut() -> bool) -> Result<(), Check> {
    if within_patience(condition) {
        Ok(())
    } else {
        Err(check)
    }
}

fn get_json(cluster: &Cluster, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    let out = cluster.run(&full);
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------------------------
// The operator's scenario

fn workload(kind: &str, name: &str, annotations: Value) -> Value {
    let labels = json!({"app": name});
    let template = json!({"metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    if kind == "CronJob" {
        // Suspended and yearly: no Job is created during the test.
        let mut template = template;
        template["spec"]["restartPolicy"] = json!("Never");
        return json!({"apiVersion": "batch/v1", "kind": kind,
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"schedule": "0 0 1 1 *", "suspend": true,
                "jobTemplate": {"spec": {"template": template}}}});
    }
    let mut spec = json!({"selector": {"matchLabels": labels}, "template": template});
    if kind != "DaemonSet" {
        spec["replicas"] = json!(1);
    }
    let api_version = if kind == "Rollout" {
        "argoproj.io/v1alpha1"
    } else {
        "apps/v1"
    };
    json!({"apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "annotations": annotations}, "spec": spec})
}

fn follows(kind: &str, source: &str) -> Value {
    match kind {
        "ConfigMap" => json!({"configsync.dev/configmaps": source}),
        _ => json!({"configsync.dev/secrets": source}),
    }
}

fn config_sync(name: &str, target: &str) -> Value {
    json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync", "metadata": {"name": name},
        "spec": {"sources": [{"kind": "ConfigMap", "name": "cm"}],
                 "targets": [{"kind": "Deployment", "name": target}]}})
}

fn sources() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "stringData": {"p": "1"}}),
    ]
}

/// (kind, name) of the workloads present when the operator starts.
const FLEET: &[(&str, &str)] = &[
    ("deployment", "d-cm"),
    ("deployment", "d-sec"),
    ("statefulset", "sts"),
    ("daemonset", "ds"),
    ("cronjob", "cj"),
    ("rollout", "ro"),
    ("deployment", "d-cs"),
];

fn fleet() -> Vec<Value> {
    vec![
        workload("Deployment", "d-cm", follows("ConfigMap", "cm")),
        workload("Deployment", "d-sec", follows("Secret", "sec")),
        workload("StatefulSet", "sts", follows("ConfigMap", "cm")),
        workload("DaemonSet", "ds", follows("ConfigMap", "cm")),
        workload("CronJob", "cj", follows("ConfigMap", "cm")),
        workload("Rollout", "ro", follows("ConfigMap", "cm")),
        workload("Deployment", "d-cs", json!({})),
        config_sync("cs", "d-cs"),
    ]
}

fn annotation(object: &Value, key: &str) -> Option<String> {
    object["metadata"]["annotations"][key]
        .as_str()
        .map(str::to_owned)
}

fn template_hash(object: &Value) -> Option<String> {
    let template = match object["kind"].as_str() {
        Some("CronJob") => &object["spec"]["jobTemplate"]["spec"]["template"],
        _ => &object["spec"]["template"],
    };
    template["metadata"]["annotations"]["configsync.dev/config-hash"]
        .as_str()
        .map(str::to_owned)
}

/// The template hashes of `names` (kind, name).
fn template_hashes(cluster: &Cluster, names: &[(&str, &str)]) -> Vec<Option<String>> {
    names
        .iter()
        .map(|(kind, name)| template_hash(&get_json(cluster, &["get", kind, name])))
        .collect()
}

fn adopted(cluster: &Cluster, kind: &str, name: &str) -> bool {
    annotation(
        &get_json(cluster, &["get", kind, name]),
        "configsync.dev/observed-hash",
    )
    .is_some()
}

/// The operator's Events (`events.k8s.io`) about `name` with `reason`.
fn events_about(cluster: &Cluster, name: &str, reason: &str) -> Vec<Value> {
    let events = get_json(cluster, &["get", "events.events.k8s.io"]);
    events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["regarding"]["name"] == name
                && e["reason"] == reason
                && e["reportingController"] == "configsync.dev/operator"
        })
        .cloned()
        .collect()
}

fn has_status(cluster: &Cluster, name: &str) -> bool {
    get_json(cluster, &["get", "configsync", name])["status"]["observedGeneration"].is_i64()
}

fn lease(cluster: &Cluster) -> Value {
    get_json(cluster, &["get", "lease", "configsync-operator"])["spec"].clone()
}

fn change_sources(cluster: &Cluster, configmap: bool, secret: bool) {
    let value = format!("{}", rand::random::<u32>());
    if configmap {
        cluster.merge_patch(
            "configmap",
            "cm",
            &json!({"data": {"a": value}}).to_string(),
        );
    }
    if secret {
        cluster.merge_patch(
            "secret",
            "sec",
            &json!({"stringData": {"p": value}}).to_string(),
        );
    }
}

/// Run `configsync operator` as ServiceAccount configsync-operator, electing a leader on a Lease in the case's
/// namespace, with the webhook when `webhook` names its certificate directory.
fn spawn_operator(
    cluster: &Cluster,
    kubeconfig: &Path,
    webhook: Option<&Path>,
) -> (Operator, String) {
    let identity = format!("op-{}", cluster.namespace);
    let mut args = vec![
        "--leader-elect",
        "--lease-namespace",
        &cluster.namespace,
        "--identity",
        &identity,
        "--lease-duration",
        "8s",
        "--renew-deadline",
        "6s",
        "--retry-period",
        "1s",
        // The Lease's write errors are logged at debug.
        "--log-level",
        "info,configsync_operator::controller::leader=debug",
    ];
    let (cert, key, addr);
    if let Some(tls) = webhook {
        cert = tls.join("tls.crt");
        key = tls.join("tls.key");
        addr = "127.0.0.1:0";
        args.extend(["--webhook-addr", addr, "--webhook-cert", path_str(&cert)]);
        args.extend(["--webhook-key", path_str(&key)]);
    }
    let args: Vec<&str> = args.iter().map(|a| &**a).collect();
    support::spawn_operator_with(cluster, kubeconfig, &args)
}

/// The operator's whole job, in order; the first check that fails.
fn operator_scenario(cluster: &Cluster, health: &str) -> Result<(), Check> {
    let identity = format!("op-{}", cluster.namespace);
    let mut first_renew = Value::Null;
    expect(Check::LeaseAcquired, || {
        let spec = lease(cluster);
        first_renew = spec["renewTime"].clone();
        spec["holderIdentity"] == identity.as_str()
    })?;
    expect(Check::LeaseRenewed, || {
        let spec = lease(cluster);
        spec["holderIdentity"] == identity.as_str() && spec["renewTime"] != first_renew
    })?;
    expect(Check::Ready, || {
        support::http_get(health, "/readyz").is_some()
    })?;
    expect(Check::ConfigSyncStatus, || has_status(cluster, "cs"))?;
    expect(Check::Adopted, || {
        FLEET
            .iter()
            .all(|(kind, name)| adopted(cluster, kind, name))
    })?;
    expect(Check::AdoptedEvent, || {
        !events_about(cluster, "d-cm", "ConfigAdopted").is_empty()
    })?;

    let by_configmap = [
        ("deployment", "d-cm"),
        ("statefulset", "sts"),
        ("daemonset", "ds"),
        ("cronjob", "cj"),
        ("rollout", "ro"),
        ("deployment", "d-cs"),
    ];
    let by_secret = [("deployment", "d-sec")];
    let before_cm = template_hashes(cluster, &by_configmap);
    let before_sec = template_hashes(cluster, &by_secret);
    change_sources(cluster, true, true);
    let rolled = |names: &[(&str, &str)], before: &[Option<String>]| {
        let now = template_hashes(cluster, names);
        now.iter()
            .zip(before)
            .all(|(now, before)| now.is_some() && now != before)
    };
    expect(Check::RolledByConfigMap, || {
        rolled(&by_configmap, &before_cm)
    })?;
    expect(Check::RolledBySecret, || rolled(&by_secret, &before_sec))?;

    let late = [
        workload("Deployment", "d-late", follows("ConfigMap", "cm")),
        workload("StatefulSet", "sts-late", follows("ConfigMap", "cm")),
        workload("DaemonSet", "ds-late", follows("ConfigMap", "cm")),
        workload("CronJob", "cj-late", follows("ConfigMap", "cm")),
        workload("Rollout", "ro-late", follows("ConfigMap", "cm")),
        workload("Deployment", "d-cs-late", json!({})),
        config_sync("cs-late", "d-cs-late"),
    ];
    apply(cluster, "late.json", &late);
    for (kind, name) in [
        ("Deployment", "d-late"),
        ("StatefulSet", "sts-late"),
        ("DaemonSet", "ds-late"),
        ("CronJob", "cj-late"),
        ("Rollout", "ro-late"),
    ] {
        expect(Check::LateAdopted(kind), || adopted(cluster, kind, name))?;
    }
    expect(Check::LateConfigSync, || has_status(cluster, "cs-late"))?;

    // A second rollout of d-cm within kube-runtime's Event cache (6 min) patches the first Event into a series.
    expect(Check::EventSeries, || {
        !events_about(cluster, "d-cm", "ConfigRolled").is_empty()
    })?;
    let before = template_hashes(cluster, &[("deployment", "d-cm")]);
    change_sources(cluster, true, false);
    expect(Check::EventSeries, || {
        rolled(&[("deployment", "d-cm")], &before)
            && events_about(cluster, "d-cm", "ConfigRolled")
                .iter()
                .any(|e| e["series"]["count"].as_i64() >= Some(2))
    })?;

    // Annotations too full for configsync's observed-hash: the API refuses the apply (422) for good.
    let full: Vec<Value> = ["Deployment", "StatefulSet", "DaemonSet"]
        .iter()
        .map(|kind| full_workload(kind, &format!("{}-full", kind.to_lowercase())))
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": full});
    // `create`, not `apply`: apply would copy the filler into its last-applied annotation.
    let path = cluster.file("full.json", &list.to_string());
    cluster.ok(&["create", "-f", path_str(&path)]);
    for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
        let name = format!("{}-full", kind.to_lowercase());
        expect(Check::RefusedCondition(kind), || {
            get_json(cluster, &["get", kind, &name])["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "ConfigSyncApplied" && c["status"] == "False")
        })?;
    }
    Ok(())
}

/// A workload following `cm` whose annotations leave 60 of their 256 KiB: room for its controller's own
/// annotation, not for configsync's observed-hash.
fn full_workload(kind: &str, name: &str) -> Value {
    let mut object = workload(kind, name, follows("ConfigMap", "cm"));
    let taken = "configsync.dev/configmaps".len() + "cm".len() + "example.com/filler".len();
    object["metadata"]["annotations"]["example.com/filler"] =
        json!("x".repeat(262_144 - taken - 60));
    object
}

// ---------------------------------------------------------------------------------------------------------------
// The webhook's scenario

/// Register `deploy/webhook.yaml`'s webhook (pointed at `url`, trusting `tls/ca.crt`) for `namespace` only.
fn register_webhook(cluster: &Cluster, url: &str, tls: &Path, namespace: &str) {
    let ca = std::fs::read(tls.join("ca.crt")).expect("ca.crt");
    register_webhook_trusting(cluster, url, Some(&ca), namespace);
}

/// [`register_webhook`] trusting `ca`, or with no caBundle (for `--webhook-cert-auto` to set).
fn register_webhook_trusting(cluster: &Cluster, url: &str, ca: Option<&[u8]>, namespace: &str) {
    let text =
        std::fs::read_to_string(support::repo("deploy/webhook.yaml")).expect("deploy/webhook.yaml");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML");
    let mut config = docs
        .into_iter()
        .find(|d| d["kind"] == "MutatingWebhookConfiguration")
        .expect("a MutatingWebhookConfiguration");
    config["webhooks"][0]["clientConfig"] = match ca {
        Some(ca) => {
            json!({"url": url, "caBundle": base64::engine::general_purpose::STANDARD.encode(ca)})
        }
        None => json!({"url": url}),
    };
    let base = config["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    config["metadata"]["name"] =
        json!(cluster.cluster_scoped_name("mutatingwebhookconfiguration", &base));
    config["webhooks"][0]["namespaceSelector"]["matchExpressions"]
        .as_array_mut()
        .expect("matchExpressions")
        .push(
            json!({"key": "kubernetes.io/metadata.name", "operator": "In", "values": [namespace]}),
        );
    apply(cluster, "webhook.json", &[config]);
}

fn is_injected_with_hash(pod: &Value) -> (bool, bool) {
    let injected = pod["spec"]["initContainers"][0]["name"] == "configsync";
    let hash = annotation(pod, "configsync.dev/config-hash").is_some_and(|h| h.starts_with("v1:"));
    (injected, hash)
}

/// Create pod `name` in `namespace` with `annotations`; the pod as stored, and kubectl's stderr (warnings).
fn create_pod(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    annotations: Value,
) -> (Value, String) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    let path = cluster.file(&format!("{name}.json"), &pod.to_string());
    let out = cluster.run(&["create", "-f", path_str(&path)]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "create pod {name}: {stderr}");
    (
        get_json(cluster, &["get", "pod", name, "-n", namespace]),
        stderr,
    )
}

/// The webhook's job: the hash of a named ConfigMap and Secret, and a namespace's opt-in label. Returns the
/// first check that failed, and kubectl's warnings.
fn webhook_scenario(cluster: &Cluster, inject_ns: &str) -> (Result<(), Check>, String) {
    let mut warnings = String::new();
    let mut pod = |name: &str, annotations: Value| {
        let (pod, stderr) = create_pod(cluster, inject_ns, name, annotations);
        warnings.push_str(&stderr);
        is_injected_with_hash(&pod)
    };
    let by_cm = pod(
        "p-cm",
        json!({"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "cm"}),
    );
    let by_sec = pod(
        "p-sec",
        json!({"configsync.dev/inject": "true", "configsync.dev/inject-secrets": "sec"}),
    );
    let by_label = pod("p-label", json!({"configsync.dev/inject-configmaps": "cm"}));
    let outcome = if by_cm != (true, true) {
        Err(Check::InjectedWithHash("ConfigMap"))
    } else if by_sec != (true, true) {
        Err(Check::InjectedWithHash("Secret"))
    } else if !by_label.0 {
        Err(Check::NamespaceOptIn)
    } else {
        Ok(())
    };
    (outcome, warnings)
}

// ---------------------------------------------------------------------------------------------------------------
// The sidecar's scenario

/// The sidecar's job, as ServiceAccount `app`: project `cm` and `sec`, then each change.
fn sidecar_scenario(
    cluster: &Cluster,
    kubeconfig: &Path,
    log: &Arc<Mutex<String>>,
) -> Result<(), Check> {
    let dir = cluster.dir.path().join("projected");
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"));
    child
        .args([
            "sidecar",
            "--configmap",
            "cm",
            "--secret",
            "sec",
            "--namespace",
            &cluster.namespace,
        ])
        // A long recheck, so that only the watch can deliver a change.
        .args([
            "--wait",
            "200ms",
            "--recheck-interval",
            "10m",
            "--stale-after",
            "20m",
        ])
        .args(["--health-addr", "off", "--dir"])
        .arg(&dir)
        .env("KUBECONFIG", kubeconfig)
        .env("CONFIGSYNC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = child.spawn().expect("start configsync-sidecar");
    let stderr = child.stderr.take().expect("stderr");
    let lines = support::lines_of(stderr);
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    let _sidecar = support::Process(child);
    let read = |path: &str| support::read_text(&dir.join(path));
    // A change that does not arrive because the watch was refused (the source lists every 10 minutes instead).
    let refused_watch = |kind: &'static str, source: &str| {
        let log = log.lock().unwrap();
        let refused = log
            .lines()
            .any(|line| line.contains("the watch is forbidden") && line.contains(source));
        if refused {
            Check::SidecarWatch(kind)
        } else {
            Check::SidecarUpdated(kind)
        }
    };
    // The sidecar runs until this returns.
    (|| {
        expect(Check::Projected, || {
            read("cm/a") == "1" && read("sec/p") == "1"
        })?;
        cluster.merge_patch("configmap", "cm", r#"{"data":{"a":"2"}}"#);
        expect(Check::SidecarUpdated("ConfigMap"), || read("cm/a") == "2")
            .map_err(|_| refused_watch("ConfigMap", "configmap/"))?;
        cluster.merge_patch("secret", "sec", r#"{"stringData":{"p":"2"}}"#);
        expect(Check::SidecarUpdated("Secret"), || read("sec/p") == "2")
            .map_err(|_| refused_watch("Secret", "secret/"))?;
        // By now a refused watch has restarted its source many times (it is refused right after the first list).
        for (kind, source) in [("ConfigMap", "configmap/"), ("Secret", "secret/")] {
            let restarted = log
                .lock()
                .unwrap()
                .lines()
                .any(|line| line.contains("restarting source") && line.contains(source));
            if restarted {
                return Err(Check::SidecarWatch(kind));
            }
        }
        Ok(())
    })()
}

// ---------------------------------------------------------------------------------------------------------------
// Running a case

/// Which component a role belongs to, and so which scenario shows what it needs.
fn scenario_of(role: &str) -> &'static str {
    match role {
        WEBHOOK => "webhook",
        SIDECAR => "sidecar",
        CERT | CABUNDLE => "webhook-cert",
        _ => "operator",
    }
}

/// Whether `evidence` holds the apiserver's refusal of `verb` on `resource` (`... cannot list resource
/// "configmaps" ...`).
fn refused(evidence: &str, verb: &str, resource: &str) -> bool {
    let (resource, subresource) = match resource.split_once('/') {
        Some((resource, sub)) => (resource, Some(sub)),
        None => (resource, None),
    };
    evidence.lines().any(|line| {
        line.contains(&format!("cannot {verb} resource"))
            && line.contains(resource)
            && subresource.is_none_or(|sub| line.contains(sub))
    })
}

/// Apply the shipped RBAC, less `removed` when given, into `cluster`'s namespace, with the sidecar's ClusterRole
/// bound to ServiceAccount `app` (per namespace, as deploy/webhook.yaml says), and the sources `cm` and `sec`.
fn apply_rbac(cluster: &Cluster, removed: Option<&Case>) {
    let shipped = shipped_rbac();
    let docs = match removed {
        Some(case) => without(&shipped, case),
        None => shipped,
    };
    let mut objects = localize(cluster, &docs);
    let sidecar_role = objects
        .iter()
        .find(|d| {
            d["kind"] == "ClusterRole"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(SIDECAR))
        })
        .map(|d| d["metadata"]["name"].clone())
        .expect("the sidecar's ClusterRole");
    objects
        .push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}}));
    objects.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "configsync-sidecar-app"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": sidecar_role},
        "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": cluster.namespace}]}));
    objects.extend(sources());
    apply(cluster, "rbac.json", &objects);
}

/// Run `scenario` with the shipped RBAC, less `removed` when given; the first check that failed and the
/// evidence (the components' logs and kubectl's warnings).
fn run_case(scenario: &str, removed: Option<&Case>) -> (Result<(), Check>, String) {
    let cluster = support::start().expect("kubectl");
    support::install_rollout_crd(&cluster);
    apply_rbac(&cluster, removed);
    match scenario {
        "sidecar" => run_sidecar(&cluster),
        "webhook" => run_webhook(&cluster),
        "webhook-cert" => run_webhook_cert(&cluster),
        _ => run_operator(&cluster),
    }
}

fn run_sidecar(cluster: &Cluster) -> (Result<(), Check>, String) {
    let kubeconfig = service_account_kubeconfig(cluster, "app");
    let log = Arc::new(Mutex::new(String::new()));
    let result = sidecar_scenario(cluster, &kubeconfig, &log);
    let evidence = log.lock().unwrap().clone();
    (result, evidence)
}

fn run_operator(cluster: &Cluster) -> (Result<(), Check>, String) {
    apply(cluster, "fleet.json", &fleet());
    let kubeconfig = service_account_kubeconfig(cluster, OPERATOR);
    let (operator, health) = spawn_operator(cluster, &kubeconfig, None);
    let result = operator_scenario(cluster, &health);
    let evidence = operator.log.lock().unwrap().join("\n");
    (result, evidence)
}

/// The operator with its webhook, registered for a namespace of the case's own labelled
/// `configsync.dev/inject=enabled` that holds copies of the sources.
fn run_webhook(cluster: &Cluster) -> (Result<(), Check>, String) {
    let kubeconfig = service_account_kubeconfig(cluster, OPERATOR);
    let inject_ns = cluster.create_namespace("inject");
    cluster.ok(&[
        "label",
        "namespace",
        &inject_ns,
        "configsync.dev/inject=enabled",
    ]);
    let mut sources = sources();
    for source in &mut sources {
        source["metadata"]["namespace"] = json!(inject_ns);
    }
    apply(cluster, "inject-sources.json", &sources);
    support::wait_until("the inject namespace's default ServiceAccount", || {
        cluster
            .run(&["get", "serviceaccount", "default", "-n", &inject_ns])
            .status
            .success()
    });
    let tls = cluster.dir.path().join("tls");
    run_ok(Command::new(env!("CARGO_BIN_EXE_configsync")).args([
        "certs",
        "--out",
        path_str(&tls),
        "--dns",
        "127.0.0.1",
    ]));
    let (operator, _) = spawn_operator(cluster, &kubeconfig, Some(&tls));
    let marker = "injection webhook on https://";
    support::wait_until("the operator prints the webhook's address", || {
        operator.logged(marker)
    });
    let addr = operator.printed_addr(marker).unwrap_or_default();
    register_webhook(cluster, &format!("https://{addr}/mutate"), &tls, &inject_ns);
    let (result, warnings) = webhook_scenario(cluster, &inject_ns);
    let evidence = format!("{}\n{warnings}", operator.log.lock().unwrap().join("\n"));
    (result, evidence)
}

/// `configsync operator --webhook-cert-auto` as ServiceAccount configsync-operator, its Secret (the overlay's
/// name) in the case's namespace, and the case's webhook configuration registered with no caBundle.
fn run_webhook_cert(cluster: &Cluster) -> (Result<(), Check>, String) {
    let kubeconfig = service_account_kubeconfig(cluster, OPERATOR);
    let configuration =
        cluster.cluster_scoped_name("mutatingwebhookconfiguration", "configsync-inject");
    let args = [
        "--webhook-addr",
        "127.0.0.1:0",
        "--webhook-cert-auto",
        &configuration,
        "--webhook-cert-namespace",
        &cluster.namespace,
        "--webhook-cert-hosts",
        "127.0.0.1",
    ];
    let (operator, _) = support::spawn_operator_with(cluster, &kubeconfig, &args);
    let result = webhook_cert_scenario(cluster, &operator, &configuration);
    let evidence = operator.log.lock().unwrap().join("\n");
    (result, evidence)
}

/// The certificate's job: made and served, trusted through the caBundle, a corrupt Secret replaced.
fn webhook_cert_scenario(
    cluster: &Cluster,
    operator: &Operator,
    configuration: &str,
) -> Result<(), Check> {
    expect(Check::CertMade, || {
        operator.logged("made its webhook certificate")
    })?;
    let addr = operator
        .printed_addr("injection webhook on https://")
        .unwrap_or_default();
    let namespace = cluster.namespace.clone();
    register_webhook_trusting(cluster, &format!("https://{addr}/mutate"), None, &namespace);
    let secret_field = |field: &str| {
        let out = cluster.run(&[
            "get",
            "secret",
            CERT,
            "-o",
            &format!("jsonpath={{.data.{field}}}"),
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    expect(Check::CaBundleSet, || {
        let bundle = cluster.run(&[
            "get",
            "mutatingwebhookconfiguration",
            configuration,
            "-o",
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        ]);
        let bundle = String::from_utf8_lossy(&bundle.stdout).into_owned();
        !bundle.is_empty() && bundle == secret_field("ca-bundle\\.crt")
    })?;
    let garbage = base64::engine::general_purpose::STANDARD.encode("garbage");
    cluster.merge_patch(
        "secret",
        CERT,
        &json!({"data": {"tls.key": garbage}}).to_string(),
    );
    expect(Check::CorruptReplaced, || {
        let key = secret_field("tls\\.key");
        !key.is_empty() && key != garbage
    })
}

fn real_dir() -> PathBuf {
    support::real_k8s_dir().unwrap_or_else(|| {
        panic!("needs a real control plane: set CONFIGSYNC_REAL_K8S (hack/real-k8s up DIR)")
    })
}

/// The ConfigSync CRD, cluster-scoped and shared with other tests: applied, never removed.
fn install_crd() {
    let admin = real_dir().join("kubeconfig");
    run_ok(
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&admin)
            .args(["apply", "-f", &support::repo("crds")]),
    );
    run_ok(
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&admin)
            .args([
                "wait",
                "--for",
                "condition=Established",
                "crd/configsyncs.configsync.dev",
            ]),
    );
}

/// At most this many cases at once (each runs a component and polls with kubectl).
const AT_ONCE: usize = 8;

#[test]
#[ignore = "needs a real control plane (the embedded server does not enforce RBAC): set CONFIGSYNC_REAL_K8S"]
fn each_component_does_its_whole_job_with_its_own_service_account_and_each_grant_is_needed() {
    install_crd();
    let started = Instant::now();
    // None: the shipped manifests as they are, for each scenario; Some: the manifests less one grant.
    let mut runs: Vec<(&str, Option<&Case>)> = ["operator", "webhook", "sidecar", "webhook-cert"]
        .into_iter()
        .map(|scenario| (scenario, None))
        .collect();
    runs.extend(
        CASES
            .iter()
            .map(|case| (scenario_of(case.role), Some(case))),
    );
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for batch in runs.chunks(AT_ONCE) {
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|(scenario, removed)| scope.spawn(move || run_case(scenario, *removed)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a case panicked"))
                .collect()
        });
        for ((scenario, removed), (result, evidence)) in batch.iter().zip(outcomes) {
            match removed {
                None => {
                    table.push(format!("{scenario}: shipped RBAC -> {result:?}"));
                    if let Err(check) = result {
                        failures.push(format!(
                            "the {scenario} with the shipped RBAC failed {check:?}:\n{evidence}"
                        ));
                    }
                }
                Some(case) => {
                    let grant = format!(
                        "{} {}/{} {}",
                        case.role, case.group, case.resource, case.verb
                    );
                    table.push(format!("{grant}: removed -> {result:?}"));
                    if result != Err(case.breaks) {
                        failures.push(format!(
                            "without {grant} the first failure was {result:?}, expected {:?}:\n{evidence}",
                            case.breaks
                        ));
                    } else if !refused(&evidence, case.verb, case.resource) {
                        failures.push(format!(
                            "without {grant} nothing shows the apiserver refusing it:\n{evidence}"
                        ));
                    }
                }
            }
        }
    }
    println!("{}", table.join("\n"));
    println!(
        "RBAC e2e: {} runs in {:.0}s",
        runs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------------------------
// SECURITY.md

/// The rows of SECURITY.md's RBAC table (between `<!-- rbac-table -->` and `<!-- /rbac-table -->`):
/// role, group, resource, verb, what breaks.
fn security_md_rows() -> Vec<[String; 5]> {
    let text = std::fs::read_to_string(support::repo("SECURITY.md")).expect("SECURITY.md");
    let (_, rest) = text
        .split_once("<!-- rbac-table -->")
        .expect("SECURITY.md marks its RBAC table");
    let (table, _) = rest
        .split_once("<!-- /rbac-table -->")
        .expect("the table's end marker");
    table
        .lines()
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect();
            let group = if cells[1] == "\"\"" {
                String::new()
            } else {
                cells[1].clone()
            };
            [
                cells[0].clone(),
                group,
                cells[2].clone(),
                cells[3].clone(),
                cells[4].clone(),
            ]
        })
        .collect()
}

#[test]
fn security_md_rbac_table_matches_the_manifests_and_the_cases() {
    let rows = security_md_rows();
    let documented: BTreeSet<Grant> = rows
        .iter()
        .map(|[role, group, resource, verb, _]| {
            (role.clone(), group.clone(), resource.clone(), verb.clone())
        })
        .collect();
    let shipped = grants(&shipped_rbac());
    assert_eq!(
        documented, shipped,
        "SECURITY.md's RBAC table differs from deploy/"
    );
    let tested: BTreeSet<Grant> = CASES
        .iter()
        .map(|c| {
            (
                c.role.to_owned(),
                c.group.to_owned(),
                c.resource.to_owned(),
                c.verb.to_owned(),
            )
        })
        .collect();
    assert_eq!(tested, shipped, "the RBAC cases differ from deploy/");
    for case in CASES {
        let row = rows
            .iter()
            .find(|[role, group, resource, verb, _]| {
                role == case.role
                    && group == case.group
                    && resource == case.resource
                    && verb == case.verb
            })
            .expect("a row per case");
        assert_eq!(
            row[4],
            case.breaks.what_breaks(),
            "SECURITY.md's row for {} {} {}",
            case.role,
            case.resource,
            case.verb
        );
    }
}

/// What `without` leaves is exactly the shipped grants less one.
#[test]
fn removing_a_grant_removes_exactly_that_grant() {
    let shipped = shipped_rbac();
    let all = grants(&shipped);
    for case in CASES {
        let less = grants(&without(&shipped, case));
        let mut expected = all.clone();
        expected.remove(&(
            case.role.to_owned(),
            case.group.to_owned(),
            case.resource.to_owned(),
            case.verb.to_owned(),
        ));
        assert_eq!(
            less, expected,
            "{} {} {}",
            case.role, case.resource, case.verb
        );
        let kept_limits: BTreeSet<_> = limited_grants(&shipped)
            .into_iter()
            .filter(|(grant, _)| expected.contains(grant))
            .collect();
        assert_eq!(
            limited_grants(&without(&shipped, case)),
            kept_limits,
            "the other grants keep their resourceNames"
        );
    }
}

/// The `/metrics` sample `name` (without labels) of the sidecar serving on `addr`.
fn sidecar_metric(addr: &str, name: &str) -> Option<u64> {
    let text = support::http_get(addr, "/metrics")?;
    let line = text.lines().find(|l| l.starts_with(&format!("{name} ")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "needs a real control plane (the embedded server does not enforce RBAC): set CONFIGSYNC_REAL_K8S"]
fn without_watch_the_sidecar_lists_instead_and_publishes_only_changes() {
    let cluster = support::start().expect("kubectl");
    let removed = CASES
        .iter()
        .find(|c| c.role == SIDECAR && c.resource == "configmaps" && c.verb == "watch")
        .expect("the sidecar's configmaps watch grant");
    apply_rbac(&cluster, Some(removed));
    let kubeconfig = service_account_kubeconfig(&cluster, "app");
    let dir = cluster.dir.path().join("projected");
    let log_path = cluster.dir.path().join("sidecar.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"))
        .args([
            "sidecar",
            "--configmap",
            "cm",
            "--namespace",
            &cluster.namespace,
        ])
        .args([
            "--wait",
            "0s",
            "--recheck-interval",
            "300ms",
            "--stale-after",
            "20s",
        ])
        .args(["--health-addr", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .env("KUBECONFIG", &kubeconfig)
        .env("CONFIGSYNC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("start configsync-sidecar");
    let _sidecar = support::Process(child);
    let read = |path: &str| support::read_text(&dir.join(path));
    let log = || support::read_text(&log_path);
    support::wait_until("the first projection", || read("cm/a") == "1");
    support::wait_until("the refused watch logged", || {
        log().contains("the watch is forbidden")
    });
    let addr = support::sidecar_health_addr(&log_path).expect("the health address in the log");
    // The first listing after the refusal reaches the sync loop (unchanged); later ones are heartbeats.
    support::wait_until("a sync after the refusal", || {
        sidecar_metric(&addr, "configsync_sidecar_syncs_total").is_some_and(|n| n >= 2)
    });
    assert_eq!(
        sidecar_metric(&addr, "configsync_sidecar_publishes_total"),
        Some(1),
        "an unchanged listing publishes nothing"
    );
    cluster.merge_patch("configmap", "cm", r#"{"data":{"a":"2"}}"#);
    support::wait_until("the change seen by a listing", || read("cm/a") == "2");
    let log = log();
    assert_eq!(log.matches("published new version").count(), 2, "{log}");
    assert_eq!(log.matches("the watch is forbidden").count(), 1, "{log}");
    assert_eq!(
        log.matches("restarting source").count(),
        1,
        "one restart, into listing: {log}"
    );
}
