//! `deploy/` grants exactly what the operator uses (`controller::REQUIRED_ACCESS`), and its Deployment is
//! hardened and sets the malloc environment the benchmarks measured (`controller::MALLOC_ENV`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use configsync_operator::controller::{MALLOC_ENV, REQUIRED_ACCESS};
use serde_json::Value;

fn manifests(file: &str) -> Vec<Value> {
    let path = format!("{}/../deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_multiple(&text).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Every (group, resource, verb) the Roles and ClusterRoles of `deploy/rbac.yaml` grant.
fn granted() -> BTreeSet<(String, String, String)> {
    let mut granted = BTreeSet::new();
    for doc in manifests("rbac.yaml") {
        if !matches!(doc["kind"].as_str(), Some("Role" | "ClusterRole")) {
            continue;
        }
        for rule in doc["rules"].as_array().unwrap() {
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        granted.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
    }
    granted
}

fn used() -> BTreeSet<(String, String, String)> {
    REQUIRED_ACCESS
        .iter()
        .flat_map(|accesses| accesses.iter())
        .flat_map(|a| {
            a.verbs
                .iter()
                .map(|v| (a.group.to_owned(), a.resource.to_owned(), (*v).to_owned()))
        })
        .collect()
}

#[test]
fn rbac_grants_every_verb_the_operator_uses() {
    let granted = granted();
    let missing: Vec<_> = used().difference(&granted).cloned().collect();
    assert!(missing.is_empty(), "deploy/rbac.yaml lacks {missing:?}");
}

#[test]
fn rbac_grants_nothing_the_operator_does_not_use() {
    let granted = granted();
    let extra: Vec<_> = granted.difference(&used()).cloned().collect();
    assert!(extra.is_empty(), "deploy/rbac.yaml grants unused {extra:?}");
    assert!(
        granted
            .iter()
            .all(|(g, r, v)| g != "*" && r != "*" && v != "*")
    );
}

#[test]
fn bindings_point_at_the_operator_service_account() {
    let docs = manifests("rbac.yaml");
    let bindings: Vec<_> = docs
        .iter()
        .filter(|d| d["kind"].as_str().is_some_and(|k| k.ends_with("Binding")))
        .collect();
    assert_eq!(bindings.len(), 2);
    for binding in bindings {
        assert_eq!(binding["subjects"][0]["name"], "configsync-operator");
        assert_eq!(binding["subjects"][0]["namespace"], "configsync-system");
    }
}

#[test]
fn operator_deployment_is_hardened() {
    let docs = manifests("operator.yaml");
    let pod = &docs[0]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "configsync-operator");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
}

#[test]
fn operator_deployment_sets_the_measured_malloc_env() {
    let operator = &manifests("operator.yaml")[0];
    let env = &operator["spec"]["template"]["spec"]["containers"][0]["env"];
    for (name, value) in MALLOC_ENV {
        let entry = env
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == *name)
            .unwrap_or_else(|| panic!("deploy/operator.yaml sets no {name}"));
        assert_eq!(entry["value"], *value, "{name}");
    }
}
