//! End to end: `configsync operator --dry-run` beside Reloader. A change gives exactly one `WouldRollOut`
//! Event on the workload and a metric, and the workload is never written (no apply, no patch). Workloads a
//! ConfigSync drives are reported as its pass would roll them, with neither the workloads nor the
//! ConfigSync's status written. Also the leader gauge of two `--leader-elect` replicas.
mod support;

use serde_json::Value;
use support::{
    Cluster, http_get, path_str, spawn_operator_with, start, start_operator, wait_until,
};

/// The ConfigMap `app` and the Deployment `web` that Reloader's annotation makes follow it.
fn manifest() -> String {
    support::app_and_web_manifest(&[("reloader.stakater.com/auto", "true")])
}

/// The notes of the WouldRollOut Events on `web`, each with its count (a repeat becomes a series).
fn would_roll_out(cluster: &Cluster) -> Vec<(String, i64)> {
    let events = cluster.json(&["get", "events.events.k8s.io"]);
    let items = events["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|e| e["reason"] == "WouldRollOut" && e["regarding"]["name"] == "web")
        .map(|e| {
            let count = e["series"]["count"].as_i64().unwrap_or(1);
            (e["note"].as_str().unwrap_or_default().to_owned(), count)
        })
        .collect()
}

fn metric(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find(|line| line.starts_with(series))
        .map(|line| line[series.len()..].trim().to_owned())
}

#[test]
fn dry_run_reports_one_would_roll_out_and_writes_nothing() {
    let Some(cluster) = start() else { return };
    let operator = start_operator(&cluster, &["--dry-run"]);
    let addr = operator
        .printed_addr("serving health and metrics on http://")
        .expect("metrics address");
    let manifest = cluster.file("app.yaml", &manifest());
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    // The first sight is adopted (after `--settle`): a change made before that would be adopted, not reported.
    wait_until("the workload adopted", || {
        operator.logged("dry run: would record config")
    });
    cluster.merge_patch("configmap", "app", r#"{"data":{"greeting":"bonjour"}}"#);
    wait_until("a WouldRollOut Event", || {
        !would_roll_out(&cluster).is_empty()
    });
    let first = would_roll_out(&cluster);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, 1, "reported once: {first:?}");
    assert!(
        first[0].0.contains("ConfigMap app keys [greeting] changed"),
        "{first:?}"
    );
    assert!(!first[0].0.contains("bonjour"), "no value: {first:?}");

    // A workload event and a second change: the first is not reported again, the second is.
    cluster.merge_patch(
        "deployment",
        "web",
        r#"{"metadata":{"labels":{"touched":"yes"}}}"#,
    );
    cluster.merge_patch("configmap", "app", r#"{"data":{"greeting":"hallo"}}"#);
    // kube's Recorder folds a repeat of the same reason on the same object into the Event's series.
    let total = || {
        would_roll_out(&cluster)
            .iter()
            .map(|(_, count)| count)
            .sum::<i64>()
    };
    wait_until("a second WouldRollOut", || total() == 2);

    let web: Value = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(
        web["metadata"]["generation"], 1,
        "the template was never changed"
    );
    let annotations = web["metadata"]["annotations"].to_string();
    assert!(!annotations.contains("configsync.dev/"), "{annotations}");
    let managers: Vec<&str> = web["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(
        !managers.contains(&"configsync"),
        "no apply reached the workload: {managers:?}"
    );

    let text = http_get(&addr, "/metrics").expect("/metrics");
    let would = "configsync_operator_would_roll_out_total{kind=\"Deployment\"}";
    assert_eq!(metric(&text, would).as_deref(), Some("2"), "{text}");
    // The workload event and the reconciles after each change found nothing new to record.
    assert_eq!(
        operator.count("dry run: would record config"),
        1,
        "the adoption is logged once"
    );
    assert!(
        !text.contains("configsync_operator_requests_total{request=\"apply\""),
        "no apply was sent: {text}"
    );
}

/// A ConfigSync over ConfigMap `app` (the first document of [`manifest`]) driving `one` and `two`.
const DRIVEN: &str = "apiVersion: configsync.dev/v1alpha1
kind: ConfigSync
metadata:
  name: fleet
spec:
  sources:
  - {kind: ConfigMap, name: app}
  targets:
  - {kind: Deployment, name: one}
  - {kind: Deployment, name: two}
  rollout:
    maxConcurrent: 1
";

/// The WouldRollOut Events of the namespace, as (workload, count).
fn would_roll_out_on(cluster: &Cluster) -> Vec<(String, i64)> {
    let events = cluster.json(&["get", "events.events.k8s.io"]);
    let items = events["items"].as_array().cloned().unwrap_or_default();
    let mut found: Vec<(String, i64)> = items
        .iter()
        .filter(|e| e["reason"] == "WouldRollOut")
        .map(|e| {
            let name = e["regarding"]["name"].as_str().unwrap_or_default();
            (name.to_owned(), e["series"]["count"].as_i64().unwrap_or(1))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn dry_run_reports_configsync_targets_as_a_real_pass_and_writes_no_status() {
    let Some(cluster) = start() else { return };
    cluster.apply_repo("crds/");
    wait_until("ConfigSyncs are served", || {
        cluster.run(&["get", "configsync"]).status.success()
    });
    for name in ["one", "two"] {
        let manifest = cluster.file(
            &format!("{name}.yaml"),
            &support::deployment_reading_app(name, &[]),
        );
        cluster.ok(&["apply", "-f", path_str(&manifest)]);
        cluster.ok(&[
            "rollout",
            "status",
            &format!("deployment/{name}"),
            "--timeout=60s",
        ]);
    }
    let operator = start_operator(&cluster, &["--dry-run"]);
    let app_and_web = manifest();
    let config_map = app_and_web.split("\n---\n").next().unwrap_or_default();
    let manifest = cluster.file("driven.yaml", &format!("{config_map}\n---\n{DRIVEN}"));
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    // Claiming rolls nothing: each target's record is only remembered.
    wait_until("both targets claimed", || {
        operator.count("dry run: would record config") == 2
    });
    cluster.merge_patch("configmap", "app", r#"{"data":{"greeting":"bonjour"}}"#);
    // maxConcurrent 1: one target, then the other once the first counts as done.
    wait_until("a WouldRollOut Event on each target", || {
        would_roll_out_on(&cluster).len() == 2
    });
    assert_eq!(
        would_roll_out_on(&cluster),
        [("one".to_owned(), 1), ("two".to_owned(), 1)]
    );
    let rolled = operator
        .log
        .lock()
        .map(|log| {
            log.iter()
                .filter(|l| l.contains("dry run: would roll out new config"))
                .map(|l| if l.contains("/one") { "one" } else { "two" })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert_eq!(rolled, ["one", "two"], "in target order");
    assert_eq!(operator.count("dry run: would record config"), 2);

    for name in ["one", "two"] {
        let workload = cluster.json(&["get", "deployment", name]);
        assert_eq!(workload["metadata"]["generation"], 1, "{workload}");
        let annotations = workload["metadata"]["annotations"].to_string();
        assert!(!annotations.contains("configsync.dev/"), "{annotations}");
    }
    let configsync = cluster.json(&["get", "configsync", "fleet"]);
    assert!(
        configsync.get("status").is_none_or(Value::is_null),
        "no status written: {configsync}"
    );
    let managers = configsync["metadata"]["managedFields"].to_string();
    assert!(!managers.contains("\"configsync\""), "{managers}");
}

#[test]
fn the_leader_gauge_is_one_on_the_leader_and_zero_on_the_standby() {
    let Some(cluster) = start() else { return };
    let elect = [
        "--leader-elect",
        "--lease-namespace",
        cluster.namespace.as_str(),
    ];
    let leader_of = |addr: &str| {
        let text = http_get(addr, "/metrics")?;
        metric(&text, "configsync_operator_leader")
    };
    let (_first, first) = spawn_operator_with(
        &cluster,
        &cluster.kubeconfig,
        &[&elect[..], &["--identity", "first"]].concat(),
    );
    wait_until("the first replica leads", || {
        leader_of(&first).as_deref() == Some("1")
    });
    let (_second, second) = spawn_operator_with(
        &cluster,
        &cluster.kubeconfig,
        &[&elect[..], &["--identity", "second"]].concat(),
    );
    wait_until("the second replica stands by", || {
        leader_of(&second).as_deref() == Some("0")
    });
    let lease = cluster.json(&["get", "lease", "configsync-operator"]);
    assert_eq!(lease["spec"]["holderIdentity"], "first");
    assert_eq!(leader_of(&first).as_deref(), Some("1"));
}
