//! End to end: `configsync operator --dry-run` beside Reloader. A change gives exactly one `WouldRollOut`
//! Event on the workload and a metric, and the workload is never written (no apply, no patch). Also the
//! leader gauge of two `--leader-elect` replicas.
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
    assert!(
        !text.contains("configsync_operator_requests_total{request=\"apply\""),
        "no apply was sent: {text}"
    );
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
