//! End to end: the ConfigSync resource with `configsync cluster` and `configsync operator` as processes
//! and the real `kubectl`: apply `crds/` and the example, edit the ConfigMap, read `kubectl get configsync`.
//!
//! The operator starts before the CRD exists, as on a cluster where it is installed later: it says so
//! and picks ConfigSyncs up once the CRD is applied. (On the shared real control plane the CRD may be there
//! already; then the operator must not say it is missing.) kubectl must be on PATH (see
//! `support::kubectl_available`). Every wait polls against a deadline.
mod support;

use support::{Cluster, start, start_operator, wait_until};

/// `kubectl get configsync <extra>` as (column, cell) pairs of the `redis` row. Columns are cut at the
/// header's offsets (names are separated by 2+ spaces; `LAST ROLLOUT` has one), so empty cells survive.
fn table(cluster: &Cluster, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["get", "configsync"];
    args.extend(extra);
    let out = cluster.ok(&args);
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    // With -A, the row of this test's namespace (the shared real control plane holds other tests' too).
    let namespace = extra.contains(&"-A").then_some(cluster.namespace.as_str());
    let row = lines
        .find(|line| line.contains("redis") && namespace.is_none_or(|ns| line.starts_with(ns)))
        .unwrap_or_default();
    let mut starts = vec![0];
    let bytes = header.as_bytes();
    for at in 2..bytes.len() {
        if bytes[at] != b' ' && bytes[at - 1] == b' ' && bytes[at - 2] == b' ' {
            starts.push(at);
        }
    }
    let cut = |line: &str, k: usize| {
        let from = starts[k].min(line.len());
        let to = starts
            .get(k + 1)
            .map_or(line.len(), |&next| next.min(line.len()));
        line[from..to].trim().to_owned()
    };
    (0..starts.len())
        .map(|k| (cut(header, k), cut(row, k)))
        .collect()
}

fn cell<'a>(table: &'a [(String, String)], column: &str) -> &'a str {
    let found = table.iter().find(|(name, _)| name == column);
    found.map_or("<no such column>", |(_, cell)| cell.as_str())
}

fn columns(table: &[(String, String)]) -> Vec<&str> {
    table.iter().map(|(name, _)| name.as_str()).collect()
}

fn status(cluster: &Cluster) -> serde_json::Value {
    cluster.json(&["get", "configsync", "redis"])["status"].clone()
}

fn is_ready(status: &serde_json::Value) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[test]
fn a_configmap_edit_shows_in_kubectl_get_configsync() {
    let Some(cluster) = start() else {
        return;
    };
    // The CRD is cluster-scoped: on the shared real control plane another test may have installed it already,
    // and removing it would pull it from under that test. Whichever the case, the operator must tell it right.
    let installed = cluster
        .run(&["get", "crd", "configsyncs.configsync.dev"])
        .status
        .success();
    let operator = start_operator(&cluster, &[]);
    if installed {
        assert!(
            !operator.logged("ConfigSync resources are not served"),
            "the CRD is served, yet the operator says it is not"
        );
    } else {
        wait_until("the operator says the CRD is missing", || {
            operator.logged("ConfigSync resources are not served")
        });
    }
    cluster.apply_repo("crds/");
    wait_until("ConfigSyncs are served", || {
        cluster.run(&["get", "configsync"]).status.success()
    });
    for manifest in [
        "examples/course/redis-config.yaml",
        "examples/course/myconfig.yaml",
        "examples/configsync/",
    ] {
        cluster.apply_repo(manifest);
    }
    wait_until("the ConfigSync is Ready", || {
        let status = status(&cluster);
        is_ready(&status) && status["targets"][0]["appliedHash"].is_string()
    });
    let adopted = status(&cluster);
    assert_eq!(
        adopted["lastRolloutTime"],
        serde_json::Value::Null,
        "adoption rolls nothing"
    );

    cluster.merge_patch(
        "configmap",
        "redis-config",
        r#"{"data":{"redis.properties":"maxmemory 4mb\nmaxmemory-policy allkeys-lru\n"}}"#,
    );
    wait_until("the new hash is rolled out and Ready", || {
        let status = status(&cluster);
        status["shortHash"] != adopted["shortHash"]
            && status["lastRolloutTime"].is_string()
            && is_ready(&status)
    });
    cluster.ok(&["rollout", "status", "deployment/redis", "--timeout=20s"]);
    let replicasets = cluster.json(&["get", "replicasets", "-l", "app=redis"]);
    let count = replicasets["items"].as_array().map_or(0, Vec::len);
    assert_eq!(count, 2, "the edit made exactly one new ReplicaSet");

    let rolled = status(&cluster);
    let hash = rolled["shortHash"].as_str().unwrap_or_default().to_owned();
    assert_eq!(hash.len(), 12);
    let default = table(&cluster, &[]);
    let wanted = [
        "NAME",
        "SOURCES",
        "TARGETS",
        "HASH",
        "LAST ROLLOUT",
        "READY",
        "AGE",
    ];
    assert_eq!(columns(&default), wanted, "{default:?}");
    let all = table(&cluster, &["-A"]);
    assert_eq!(columns(&all)[0], "NAMESPACE", "{all:?}");
    assert_eq!(cell(&all, "NAMESPACE"), cluster.namespace);
    let wide = table(&cluster, &["-o", "wide"]);
    assert_eq!(
        columns(&wide)[7..],
        ["STRATEGY", "SUSPENDED", "REASON"],
        "{wide:?}"
    );
    assert_eq!(cell(&wide, "STRATEGY"), "restart");
    assert_eq!(cell(&wide, "REASON"), "Applied");
    for (view, table) in [("default", &default), ("-A", &all), ("-o wide", &wide)] {
        assert_eq!(cell(table, "NAME"), "redis", "{view}: {table:?}");
        assert_eq!(cell(table, "SOURCES"), "2", "{view}: {table:?}");
        assert_eq!(cell(table, "TARGETS"), "1", "{view}: {table:?}");
        assert_eq!(cell(table, "HASH"), hash, "{view}: the new hash");
        let last = cell(table, "LAST ROLLOUT");
        assert!(
            !last.is_empty() && last != "<none>",
            "{view}: LAST ROLLOUT {last:?}"
        );
        assert_eq!(cell(table, "READY"), "True", "{view}: {table:?}");
    }

    // `csync`: on a real cluster `cs` is ComponentStatus's short name.
    let by_short_name = cluster.ok(&["get", "csync", "redis", "--no-headers"]);
    assert!(by_short_name.contains(&hash), "{by_short_name}");
}
