//! End to end: `configsync explain` (also as `kubectl configsync`), `configsync preflight` and the kubectl-shaped
//! connection flags, against a running operator, on the embedded server or the real control plane.
mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{Cluster, path_str, start, start_operator, two_context_kubeconfig, wait_until};

/// The ConfigMap `app`, the Deployment `web` that follows it, and the workloads below.
fn manifest() -> String {
    let app_and_web = support::app_and_web_manifest(&[("configsync.dev/auto", "true")]);
    format!("{app_and_web}---\n{LEGACY_AND_WAVED}")
}

/// A Deployment that follows `app` by Reloader's annotation, and a StatefulSet by Wave's.
const LEGACY_AND_WAVED: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
  annotations:
    configmap.reloader.stakater.com/reload: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: legacy}
  template:
    metadata:
      labels: {app: legacy}
    spec:
      containers:
      - name: app
        image: nginx:1.25
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: waved
  annotations:
    wave.pusher.com/update-on-config-change: \"true\"
    configsync.dev/strategy: none
spec:
  replicas: 1
  serviceName: waved
  selector:
    matchLabels: {app: waved}
  template:
    metadata:
      labels: {app: waved}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: app, key: greeting}
";

const TEMPLATE: &str = "/spec/template/metadata/annotations/configsync.dev~1config-hash";
const TEMPLATE_LAST_ROLLOUT: &str =
    "/spec/template/metadata/annotations/configsync.dev~1last-rollout";

fn configsync(cluster: &Cluster, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .output()
        .expect("run configsync")
}

fn stdout_ok(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn explain_json(cluster: &Cluster, workload: &str) -> Value {
    let out = configsync(cluster, &["explain", workload, "-o", "json"]);
    serde_json::from_str(&stdout_ok("explain", &out)).expect("explain -o json prints JSON")
}

/// Roll `web` once through the operator: the ConfigMap changes, the template takes the new hash.
fn rolled_web(cluster: &Cluster) {
    let manifest = cluster.file("app.yaml", &manifest());
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    let recorded = || {
        let web = cluster.json(&["get", "deployment", "web"]);
        web.pointer("/metadata/annotations/configsync.dev~1observed-hash")
            .is_some()
    };
    wait_until("the operator records web's config", recorded);
    cluster.merge_patch("configmap", "app", r#"{"data":{"greeting":"bonjour"}}"#);
    wait_until("web's pod template carries the new hash", || {
        cluster
            .json(&["get", "deployment", "web"])
            .pointer(TEMPLATE)
            .is_some()
    });
}

#[test]
fn explain_shows_sources_hashes_verdict_and_the_cause_of_the_last_rollout() {
    let Some(cluster) = start() else { return };
    let _operator = start_operator(&cluster, &[]);
    rolled_web(&cluster);

    let mut explained = Value::Null;
    wait_until("explain finds the ConfigRolled Event", || {
        explained = explain_json(&cluster, "deploy/web");
        explained["lastRollout"]["reason"] == "ConfigRolled"
    });
    assert_eq!(explained["workload"]["kind"], "Deployment");
    assert_eq!(
        explained["workload"]["namespace"],
        cluster.namespace.as_str()
    );
    let source = &explained["sources"][0];
    assert_eq!(source["kind"], "ConfigMap");
    assert_eq!(source["name"], "app");
    assert_eq!(source["via"], serde_json::json!(["envFrom"]));
    assert_eq!(source["state"], "followed");
    let hash = &explained["hash"];
    assert!(hash["current"].is_string(), "{explained}");
    assert_eq!(hash["current"], hash["recorded"]);
    assert_eq!(hash["current"], hash["template"]);
    assert_eq!(explained["nextChange"]["rolls"], true);
    assert_eq!(explained["nextChange"]["reasons"][0]["reason"], "Follows");
    let cause = explained["lastRollout"]["cause"]
        .as_str()
        .unwrap_or_default();
    assert!(
        cause.contains("ConfigMap app keys [greeting] changed"),
        "{cause}"
    );
    assert!(
        !explained.to_string().contains("bonjour"),
        "no value: {explained}"
    );

    let text = stdout_ok(
        "explain",
        &configsync(&cluster, &["explain", "deployment/web"]),
    );
    assert!(text.contains("Next change: rolls it"), "{text}");
    assert!(text.contains("Last rollout: "), "{text}");
    assert!(
        text.contains("ConfigMap app keys [greeting] changed"),
        "{text}"
    );

    let yaml = stdout_ok(
        "explain",
        &configsync(&cluster, &["explain", "sts/waved", "-o", "yaml"]),
    );
    assert!(yaml.contains("rolls: false"), "{yaml}");
    assert!(yaml.contains("reason: Strategy"), "{yaml}");
    assert!(yaml.contains("- env valueFrom"), "{yaml}");

    let missing = configsync(&cluster, &["explain", "pod/web"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("configsync does not roll \"pod\""),
        "{stderr}"
    );
}

/// The reasons of the operator's Events in the test's namespace.
fn event_reasons(cluster: &Cluster) -> Vec<String> {
    let events = cluster.json(&["get", "events.events.k8s.io"]);
    let items = events["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn explain_keeps_the_last_rollout_after_every_event_is_gone() {
    let Some(cluster) = start() else { return };
    let _operator = start_operator(&cluster, &[]);
    rolled_web(&cluster);
    wait_until("the ConfigRolled Event is out", || {
        event_reasons(&cluster).iter().any(|r| r == "ConfigRolled")
    });
    let web = cluster.json(&["get", "deployment", "web"]);
    let annotation = web
        .pointer("/metadata/annotations/configsync.dev~1last-rollout")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    assert!(annotation.contains("\"reason\":\"ConfigRolled\""), "{web}");
    assert!(!annotation.contains("bonjour"), "no value: {annotation}");
    assert!(
        web.pointer(TEMPLATE_LAST_ROLLOUT).is_none(),
        "never on the pod template: {web}"
    );

    // As after the API server's --event-ttl: every Event of the namespace is gone.
    cluster.ok(&["delete", "events", "--all"]);
    wait_until("no Event is left", || event_reasons(&cluster).is_empty());
    let explained = explain_json(&cluster, "deploy/web");
    let last = &explained["lastRollout"];
    assert_eq!(last["from"], "workload", "{explained}");
    assert_eq!(last["reason"], "ConfigRolled", "{explained}");
    let time = last["time"].as_str().unwrap_or_default();
    assert!(
        time.parse::<jiff::Timestamp>().is_ok(),
        "an RFC 3339 time: {explained}"
    );
    assert_eq!(last["cause"], "ConfigMap app keys [greeting] changed");
    let text = stdout_ok("explain", &configsync(&cluster, &["explain", "deploy/web"]));
    assert!(
        text.contains(&format!(
            "Last rollout: {time} ConfigRolled: ConfigMap app keys [greeting] changed (from the workload's"
        )),
        "{text}"
    );

    // An annotation configsync cannot read: explain says so, and falls back to the Events (none here).
    cluster.ok(&[
        "annotate",
        "deployment",
        "legacy",
        "--overwrite",
        "configsync.dev/last-rollout=not json",
    ]);
    let text = stdout_ok(
        "explain",
        &configsync(&cluster, &["explain", "deploy/legacy"]),
    );
    assert!(
        text.contains(
            "Warning: the configsync.dev/last-rollout annotation cannot be read (not the JSON"
        ),
        "{text}"
    );
    assert!(text.contains("Last rollout: none recorded"), "{text}");
}

#[test]
fn kubectl_runs_explain_as_a_plugin() {
    let Some(cluster) = start() else { return };
    let manifest = cluster.file("app.yaml", &manifest());
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    let bin = cluster.dir.path().join("plugins");
    std::fs::create_dir_all(&bin).expect("mkdir");
    // The documented install: a link named kubectl-configsync on PATH.
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_configsync"),
        bin.join("kubectl-configsync"),
    )
    .expect("symlink");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let plugin = |args: &[&str]| {
        Command::new("kubectl")
            .args(["configsync"])
            .args(args)
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .env("PATH", &path)
            .output()
            .expect("run kubectl")
    };
    let text = stdout_ok(
        "kubectl configsync explain",
        &plugin(&["explain", "deploy/legacy"]),
    );
    assert!(
        text.starts_with(&format!("Deployment {}/legacy", cluster.namespace)),
        "{text}"
    );
    assert!(text.contains("ConfigMap app"), "{text}");
    assert!(text.contains("via annotation"), "{text}");
    let help = stdout_ok("kubectl configsync --help", &plugin(&["--help"]));
    assert!(help.contains("Usage: kubectl configsync"), "{help}");
}

#[test]
fn preflight_lists_reloader_and_wave_workloads_with_what_configsync_does() {
    let Some(cluster) = start() else { return };
    let manifest = cluster.file("app.yaml", &manifest());
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    let out = configsync(&cluster, &["preflight", "-o", "json"]);
    let entries: Value = serde_json::from_str(&stdout_ok("preflight", &out)).expect("JSON");
    let names: Vec<&str> = entries
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["workload"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["legacy", "waved"],
        "web carries only configsync annotations"
    );
    let legacy = &entries[0];
    assert_eq!(
        legacy["annotations"],
        serde_json::json!(["configmap.reloader.stakater.com/reload"])
    );
    assert_eq!(legacy["nextChange"]["rolls"], true);
    assert_eq!(legacy["follows"], serde_json::json!(["ConfigMap app"]));
    let waved = &entries[1];
    assert_eq!(waved["workload"]["kind"], "StatefulSet");
    assert_eq!(waved["nextChange"]["rolls"], false);
    assert_eq!(waved["nextChange"]["reasons"][0]["reason"], "Strategy");

    let text = stdout_ok(
        "preflight",
        &configsync(&cluster, &["preflight", "-n", &cluster.namespace]),
    );
    assert!(
        text.contains(&format!(
            "Deployment {}/legacy: rolls on change",
            cluster.namespace
        )),
        "{text}"
    );
    let elsewhere = cluster.create_namespace("empty");
    let text = stdout_ok(
        "preflight",
        &configsync(&cluster, &["preflight", "-n", &elsewhere]),
    );
    assert!(
        text.contains("No workload carries Reloader or wave annotations."),
        "{text}"
    );

    cluster.ok(&["apply", "-n", &elsewhere, "-f", path_str(&manifest)]);
    let out = configsync(&cluster, &["preflight", "-A", "-o", "json"]);
    let all: Value = serde_json::from_str(&stdout_ok("preflight -A", &out)).expect("JSON");
    let found = |namespace: &str| {
        all.as_array()
            .into_iter()
            .flatten()
            .any(|e| e["workload"]["namespace"] == namespace && e["workload"]["name"] == "legacy")
    };
    assert!(found(&cluster.namespace) && found(&elsewhere), "{all}");
}

fn preflight_with(kubeconfig: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["preflight", "--kubeconfig", path_str(kubeconfig)])
        .args(extra)
        .output()
        .expect("run configsync")
}

#[test]
fn context_picks_the_server_of_the_named_context() {
    let Some(cluster) = start() else { return };
    let kubeconfig = two_context_kubeconfig(&cluster);
    let good = cluster.json(&["config", "view", "-o", "json"]);
    let good = good["contexts"][0]["name"]
        .as_str()
        .expect("context name")
        .to_owned();

    let dead = preflight_with(&kubeconfig, &[]);
    assert!(
        !dead.status.success(),
        "the current context's server is down"
    );
    let ok = preflight_with(&kubeconfig, &["--context", &good, "-n", &cluster.namespace]);
    stdout_ok("preflight --context", &ok);
    let dead = preflight_with(&kubeconfig, &["--context", "dead"]);
    assert!(!dead.status.success());
    let stderr = String::from_utf8_lossy(&dead.stderr);
    assert!(
        stderr.contains("127.0.0.1:9") || stderr.contains("onnect"),
        "{stderr}"
    );
}
