//! Tests of the built-in table, CRD mapping and every discovery document, against real kube-apiserver output.
use super::*;
use serde_json::json;

mod crd;
mod discovery;

fn by_plural<'a>(resources: &'a [ResourceType], group: &str, plural: &str) -> &'a ResourceType {
    find(resources, group, "v1", plural).unwrap_or_else(|| panic!("{group}/{plural} missing"))
}

#[test]
fn builtins_match_kubectl_api_resources() {
    let all = builtin_resources();
    assert_eq!(all.len(), 25);
    let cronjob = by_plural(&all, "batch", "cronjobs");
    assert_eq!(cronjob.short_names, ["cj"]);
    assert!(cronjob.namespaced && cronjob.has_status && !cronjob.has_scale);
    let job = by_plural(&all, "batch", "jobs");
    assert!(job.short_names.is_empty() && job.namespaced && job.has_status && !job.has_scale);
    let pdb = by_plural(&all, "policy", "poddisruptionbudgets");
    assert_eq!(pdb.short_names, ["pdb"]);
    assert!(pdb.namespaced && pdb.has_status && !pdb.has_scale && pdb.categories.is_empty());
    let ingress = by_plural(&all, "networking.k8s.io", "ingresses");
    assert_eq!(ingress.short_names, ["ing"]);
    assert!(ingress.namespaced && ingress.has_status && ingress.categories.is_empty());
    let class = by_plural(&all, "networking.k8s.io", "ingressclasses");
    assert!(!class.namespaced && class.short_names.is_empty() && !class.has_status);
    let deploy = by_plural(&all, "apps", "deployments");
    assert_eq!(
        (
            deploy.kind.as_str(),
            deploy.list_kind.as_str(),
            deploy.singular.as_str()
        ),
        ("Deployment", "DeploymentList", "deployment")
    );
    assert_eq!(deploy.short_names, ["deploy"]);
    assert_eq!(deploy.categories, ["all"]);
    assert!(deploy.namespaced && deploy.has_status && deploy.has_scale);
    assert_eq!(
        deploy.verbs,
        [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ]
    );
    let ns = by_plural(&all, "", "namespaces");
    assert!(!ns.namespaced);
    assert_eq!(ns.short_names, ["ns"]);
    assert_eq!(
        ns.verbs,
        [
            "create", "delete", "get", "list", "patch", "update", "watch"
        ]
    );
    let crd = by_plural(&all, "apiextensions.k8s.io", "customresourcedefinitions");
    assert_eq!(crd.short_names, ["crd", "crds"]);
    assert_eq!(crd.categories, ["api-extensions"]);
    assert!(!crd.namespaced && crd.has_status && !crd.has_scale);
    let ds = by_plural(&all, "apps", "daemonsets");
    assert!(ds.has_status && !ds.has_scale);
    let secret = by_plural(&all, "", "secrets");
    assert!(secret.short_names.is_empty() && secret.categories.is_empty() && !secret.has_status);
    let mwc = by_plural(
        &all,
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    );
    assert!(!mwc.namespaced);
    assert_eq!(
        by_plural(&all, "events.k8s.io", "events").short_names,
        ["ev"]
    );
    assert!(all.iter().all(|r| r.printer_columns.is_none()));
}

#[test]
fn find_and_resolve_by_kind_and_names() {
    let all = builtin_resources();
    assert_eq!(
        find_by_kind(&all, "apps/v1", "StatefulSet").map(|r| r.plural.as_str()),
        Some("statefulsets")
    );
    assert_eq!(
        find_by_kind(&all, "v1", "Secret").map(|r| r.plural.as_str()),
        Some("secrets")
    );
    assert!(find_by_kind(&all, "apps/v1", "Secret").is_none());
    assert!(find(&all, "apps", "v2", "deployments").is_none());
    let events: Vec<_> = resolve(&all, "ev")
        .iter()
        .map(|r| r.api_version())
        .collect();
    assert_eq!(events, ["v1", "events.k8s.io/v1"]);
    let deploy = resolve(&all, "deployments.apps");
    assert_eq!(deploy.len(), 1);
    assert_eq!(resolve(&all, "Deployment")[0].plural, "deployments");
    assert!(resolve(&all, "nothing").is_empty());
}

/// A two-version CRD with printer columns, status and scale, and one unserved version.
pub(super) fn mk_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "configsyncs.configsync.dev"},
        "spec": {
            "group": "configsync.dev",
            "scope": "Namespaced",
            "names": {"plural": "configsyncs", "kind": "ConfigSync", "shortNames": ["cs"], "categories": ["all"]},
            "versions": [
                {"name": "v1alpha1", "served": true, "storage": false},
                {"name": "v1", "served": true, "storage": true,
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                          "statusReplicasPath": ".status.replicas"}},
                 "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Target", "type": "string", "description": "workload", "priority": 1,
                     "jsonPath": ".spec.target"}]},
                {"name": "v0", "served": false, "storage": false}
            ]
        }
    })
}
