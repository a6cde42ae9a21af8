//! The operator's dependency graph: it shares vocabulary with the sidecar through `configsync-core`, never by
//! depending on the sidecar crate (which would drag notify, the sidecar's file watcher, into the operator).
use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// The packages the operator library links (normal dependencies, transitively), from `cargo metadata`.
fn linked_packages() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| (node["id"].as_str().expect("id"), node))
        .collect();
    let root = name_of
        .iter()
        .find(|(_, name)| **name == "configsync-operator")
        .map(|(id, _)| *id)
        .expect("the operator package");
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|kind| kind["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().expect("pkg"));
            }
        }
    }
    seen.iter().map(|id| name_of[id].to_owned()).collect()
}

#[test]
fn the_operator_does_not_link_the_sidecar() {
    let linked = linked_packages();
    assert!(linked.contains("configsync-core"), "{linked:?}");
    for forbidden in ["configsync-sidecar", "notify", "configsync-cluster"] {
        assert!(
            !linked.contains(forbidden),
            "configsync-operator links {forbidden}: share vocabulary through configsync-core instead"
        );
    }
}
