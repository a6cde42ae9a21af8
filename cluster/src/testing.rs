//! Test helpers: resource types and a small built-in list for tests that must not depend on
//! `registry::builtin_resources()`.
use configsync_apimachinery::ResourceType;

/// A resource type with the usual verbs; `has_status` for the kinds that have a status subresource.
pub fn mk_type(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
) -> ResourceType {
    let verbs = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: Vec::new(),
        categories: Vec::new(),
        verbs: verbs.iter().map(|verb| (*verb).to_owned()).collect(),
        has_status: matches!(
            kind,
            "Deployment" | "Namespace" | "Pod" | "CustomResourceDefinition"
        ),
        has_scale: kind == "Deployment",
        printer_columns: None,
    }
}

/// The types the state and handler tests use.
pub fn test_types() -> Vec<ResourceType> {
    vec![
        mk_type("", "v1", "Namespace", "namespaces", false),
        mk_type("", "v1", "ConfigMap", "configmaps", true),
        mk_type("", "v1", "Secret", "secrets", true),
        mk_type("", "v1", "Pod", "pods", true),
        mk_type("", "v1", "Event", "events", true),
        mk_type("events.k8s.io", "v1", "Event", "events", true),
        mk_type("apps", "v1", "Deployment", "deployments", true),
        mk_type("apps", "v1", "ReplicaSet", "replicasets", true),
        mk_type(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        ),
    ]
}
