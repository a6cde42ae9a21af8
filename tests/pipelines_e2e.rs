//! Deploy pipelines end to end, on either backend (`CONFIGSYNC_REAL_K8S` chooses): a deploy that changes a
//! ConfigMap's content and the pod template together gives exactly one new template (the Deployment's
//! generation grows by one, one new ReplicaSet), with the API writes in the order the tools make them:
//! - kustomize's `configMapGenerator` through `kubectl apply -k` (a new hashed ConfigMap, then the Deployment
//!   pointing at it, client-side apply);
//! - Helm's `checksum/config` through `helm upgrade` (the ConfigMap, then the Deployment);
//! - an Argo CD sync with server-side apply (field manager `argocd-controller`) that writes the Deployment first;
//! - a Flux sync (server-side apply, field manager `kustomize-controller`) of both in one apply, ConfigMap first;
//! - `kubectl rollout undo` of configsync's own rollout sticks.
//!
//! The sync point after each deploy is the record (`configsync.dev/observed-hash`) moving to the new content:
//! the operator has decided. Only then is the generation read, so "no second rollout" is never a sleep. A
//! later change of the content alone rolls exactly once (configsync's stamp equals the record).
mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::{Cluster, path_str, repo, run_ok, start, start_operator, wait_until};

const OBSERVED: &str = "/metadata/annotations/configsync.dev~1observed-hash";
const STAMP: &str = "/spec/template/metadata/annotations/configsync.dev~1config-hash";
const REVISION: &str = "/metadata/annotations/deployment.kubernetes.io~1revision";

/// The Deployment `name`: its template revision (`deployment.kubernetes.io/revision`, one per template its
/// controller has rolled out), its record and configsync's template stamp. The generation is no count of
/// templates: kube-apiserver bumps a Deployment's on annotation changes too.
fn state(cluster: &Cluster, name: &str) -> (i64, Option<String>, Option<String>) {
    let deployment = cluster.json(&["get", "deployment", name]);
    let text = |pointer: &str| deployment.pointer(pointer)?.as_str().map(str::to_owned);
    let revision = text(REVISION).and_then(|r| r.parse().ok()).unwrap_or(0);
    (revision, text(OBSERVED), text(STAMP))
}

/// Wait until the record of `name` is set and differs from `old`; return it.
fn wait_for_new_record(cluster: &Cluster, name: &str, old: Option<&str>) -> String {
    let mut record = None;
    wait_until("the operator records the new content", || {
        record = state(cluster, name).1;
        record.is_some() && record.as_deref() != old
    });
    record.unwrap_or_default()
}

/// Once the Deployment controller has seen the latest spec of `name`: assert its template revision and
/// how many ReplicaSets (distinct templates) it has.
fn assert_templates(cluster: &Cluster, name: &str, revision: i64, replicasets: usize) {
    wait_until(
        &format!("the controller has seen {name}'s latest spec"),
        || {
            let deployment = cluster.json(&["get", "deployment", name]);
            let observed = deployment["status"]["observedGeneration"].as_i64();
            observed.is_some() && observed == deployment["metadata"]["generation"].as_i64()
        },
    );
    let list = cluster.json(&["get", "replicasets", "-l", &format!("app={name}")]);
    let count = list["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        (state(cluster, name).0, count),
        (revision, replicasets),
        "{name}: (revision, ReplicaSets)"
    );
}

/// The content changes alone (no deploy): configsync rolls exactly once and stamps the record.
fn a_content_change_alone_rolls_once(cluster: &Cluster, name: &str, config_map: &str) {
    let (revision, record, _) = state(cluster, name);
    let list = cluster.json(&["get", "replicasets", "-l", &format!("app={name}")]);
    let replicasets = list["items"].as_array().map_or(0, Vec::len);
    cluster.merge_patch(
        "configmap",
        config_map,
        &json!({"data": {"later": format!("change after revision {revision}")}}).to_string(),
    );
    let new = wait_for_new_record(cluster, name, record.as_deref());
    assert_templates(cluster, name, revision + 1, replicasets + 1);
    assert_eq!(state(cluster, name).2.as_deref(), Some(new.as_str()));
}

fn deployment(name: &str, config_map: &str, version: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": {"configsync.dev/auto": "true"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": {"deploy/version": version}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                    "envFrom": [{"configMapRef": {"name": config_map}}]}]},
            },
        },
    })
}

fn config_map(name: &str, greeting: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
        "data": {"greeting": greeting}})
}

/// Server-side apply `objects` (one List, in order) as `manager` does.
fn server_side_apply(cluster: &Cluster, manager: &str, file: &str, objects: &[Value]) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let path = cluster.file(file, &list.to_string());
    cluster.ok(&[
        "apply",
        "--server-side",
        &format!("--field-manager={manager}"),
        "-f",
        path_str(&path),
    ]);
}

/// The kustomization of `name`: a generated ConfigMap `name-<hash>` and the Deployment reading it.
fn kustomization(cluster: &Cluster, name: &str, greeting: &str) -> PathBuf {
    let dir = cluster.dir.path().join("kustomize");
    std::fs::create_dir_all(&dir).expect("kustomize dir");
    let kustomization = format!(
        "resources: [deployment.json]\nconfigMapGenerator:\n- name: {name}\n  literals: [greeting={greeting}]\n"
    );
    std::fs::write(dir.join("kustomization.yaml"), kustomization).expect("kustomization");
    let body = deployment(name, name, "1").to_string();
    std::fs::write(dir.join("deployment.json"), body).expect("deployment");
    dir
}

#[test]
fn kustomize_config_map_generator_gives_one_rollout() {
    let Some(cluster) = start() else { return };
    let dir = kustomization(&cluster, "kust", "hello");
    cluster.ok(&["apply", "-k", path_str(&dir)]);
    let _operator = start_operator(&cluster, &[]);
    let adopted = wait_for_new_record(&cluster, "kust", None);
    assert_templates(&cluster, "kust", 1, 1);
    kustomization(&cluster, "kust", "bye");
    cluster.ok(&["apply", "-k", path_str(&dir)]);
    wait_for_new_record(&cluster, "kust", Some(&adopted));
    assert_templates(&cluster, "kust", 2, 2);
    let current = cluster.json(&["get", "deployment", "kust"]);
    let pointer = "/spec/template/spec/containers/0/envFrom/0/configMapRef/name";
    let generated = current.pointer(pointer).and_then(Value::as_str);
    let generated = generated.expect("the Deployment names the generated ConfigMap");
    assert!(generated.starts_with("kust-"), "{generated}");
    a_content_change_alone_rolls_once(&cluster, "kust", generated);
}

/// helm from `CONFIGSYNC_HELM` or `hack/build-helm`, as tests/chart.rs.
fn helm() -> PathBuf {
    if let Some(helm) = std::env::var_os("CONFIGSYNC_HELM").filter(|h| !h.is_empty()) {
        return PathBuf::from(helm);
    }
    let out = run_ok(&mut Command::new(repo("hack/build-helm")));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn helm_checksum_config_upgrade_gives_one_rollout() {
    let Some(cluster) = start() else { return };
    let upgrade = |greeting: &str| {
        run_ok(
            Command::new(helm())
                .args([
                    "upgrade",
                    "--install",
                    "hlm",
                    &repo("tests/pipelines/chart"),
                ])
                .args(["-n", &cluster.namespace, "--kubeconfig"])
                .arg(&cluster.kubeconfig)
                .args(["--set", &format!("greeting={greeting}")]),
        );
    };
    upgrade("hello");
    let _operator = start_operator(&cluster, &[]);
    let adopted = wait_for_new_record(&cluster, "hlm", None);
    assert_templates(&cluster, "hlm", 1, 1);
    upgrade("bye");
    wait_for_new_record(&cluster, "hlm", Some(&adopted));
    assert_templates(&cluster, "hlm", 2, 2);
    a_content_change_alone_rolls_once(&cluster, "hlm", "hlm-config");
}

#[test]
fn an_argo_cd_sync_that_writes_the_workload_first_gives_one_rollout() {
    let Some(cluster) = start() else { return };
    let manager = "argocd-controller";
    let sync = |version: &str, greeting: &str| {
        // Argo CD applies in waves; within one, this order (workload, then ConfigMap) is the harder one.
        server_side_apply(
            &cluster,
            manager,
            "argo-deploy.json",
            &[deployment("argo", "argo-config", version)],
        );
        server_side_apply(
            &cluster,
            manager,
            "argo-config.json",
            &[config_map("argo-config", greeting)],
        );
    };
    sync("1", "hello");
    let _operator = start_operator(&cluster, &[]);
    let adopted = wait_for_new_record(&cluster, "argo", None);
    assert_templates(&cluster, "argo", 1, 1);
    sync("2", "bye");
    wait_for_new_record(&cluster, "argo", Some(&adopted));
    assert_templates(&cluster, "argo", 2, 2);
    a_content_change_alone_rolls_once(&cluster, "argo", "argo-config");
}

#[test]
fn a_flux_sync_of_config_and_workload_in_one_apply_gives_one_rollout() {
    let Some(cluster) = start() else { return };
    let manager = "kustomize-controller";
    let sync = |version: &str, greeting: &str| {
        let objects = [
            config_map("flux-config", greeting),
            deployment("flux", "flux-config", version),
        ];
        server_side_apply(&cluster, manager, "flux.json", &objects);
    };
    sync("1", "hello");
    let _operator = start_operator(&cluster, &[]);
    let adopted = wait_for_new_record(&cluster, "flux", None);
    assert_templates(&cluster, "flux", 1, 1);
    sync("2", "bye");
    wait_for_new_record(&cluster, "flux", Some(&adopted));
    assert_templates(&cluster, "flux", 2, 2);
    a_content_change_alone_rolls_once(&cluster, "flux", "flux-config");
}

#[test]
fn rollout_undo_of_configsyncs_rollout_sticks() {
    let Some(cluster) = start() else { return };
    cluster.apply_json("undo-config.json", &config_map("undo-config", "hello"));
    cluster.apply_json("undo.json", &deployment("undo", "undo-config", "1"));
    let _operator = start_operator(&cluster, &[]);
    wait_for_new_record(&cluster, "undo", None);
    a_content_change_alone_rolls_once(&cluster, "undo", "undo-config");
    let (_, rolled, stamp) = state(&cluster, "undo");
    assert_eq!(stamp, rolled, "configsync rolled generation 2");
    cluster.ok(&["rollout", "undo", "deployment/undo"]);
    wait_until("the undo is recorded, not rolled forward", || {
        let (revision, record, _) = state(&cluster, "undo");
        revision == 3 && record == rolled
    });
    // Revision 1's ReplicaSet serves again as revision 3: still two templates.
    assert_templates(&cluster, "undo", 3, 2);
    assert_ne!(
        state(&cluster, "undo").2,
        rolled,
        "the undone template keeps its older stamp"
    );
    a_content_change_alone_rolls_once(&cluster, "undo", "undo-config");
}
