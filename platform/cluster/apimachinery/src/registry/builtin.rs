//! The built-in resource types, with kube-apiserver v1.33's discovery data (`kubectl api-resources -o wide`).
use crate::ResourceType;

/// The verbs of an ordinary collection resource, as kube-apiserver advertises them (sorted).
const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces cannot be deleted as a collection.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// What differs between built-in resources; everything else is derived.
struct Spec {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    scale: bool,
}

const fn spec(group: &'static str, kind: &'static str, plural: &'static str) -> Spec {
    Spec {
        group,
        kind,
        plural,
        namespaced: true,
        short_names: &[],
        categories: &[],
        status: false,
        scale: false,
    }
}

const ALL: &[&str] = &["all"];
const API_EXTENSIONS: &[&str] = &["api-extensions"];
/// RBAC objects are stored and served, never enforced: this server authorizes every request.
const RBAC: &str = "rbac.authorization.k8s.io";

/// Built-in resources in the order kube-apiserver lists their groups (core, apps, events, batch, networking, policy, rbac,
/// admissionregistration, coordination, apiextensions). The namespace status subresource is real: `PUT /namespaces/x` keeps the status.
const SPECS: &[Spec] = &[
    Spec {
        namespaced: false,
        short_names: &["ns"],
        status: true,
        ..spec("", "Namespace", "namespaces")
    },
    Spec {
        short_names: &["cm"],
        ..spec("", "ConfigMap", "configmaps")
    },
    spec("", "Secret", "secrets"),
    Spec {
        short_names: &["po"],
        categories: ALL,
        status: true,
        ..spec("", "Pod", "pods")
    },
    Spec {
        short_names: &["ev"],
        ..spec("", "Event", "events")
    },
    Spec {
        short_names: &["sa"],
        ..spec("", "ServiceAccount", "serviceaccounts")
    },
    Spec {
        short_names: &["svc"],
        categories: ALL,
        status: true,
        ..spec("", "Service", "services")
    },
    Spec {
        short_names: &["deploy"],
        categories: ALL,
        status: true,
        scale: true,
        ..spec("apps", "Deployment", "deployments")
    },
    Spec {
        short_names: &["sts"],
        categories: ALL,
        status: true,
        scale: true,
        ..spec("apps", "StatefulSet", "statefulsets")
    },
    Spec {
        short_names: &["ds"],
        categories: ALL,
        status: true,
        ..spec("apps", "DaemonSet", "daemonsets")
    },
    Spec {
        short_names: &["rs"],
        categories: ALL,
        status: true,
        scale: true,
        ..spec("apps", "ReplicaSet", "replicasets")
    },
    spec("apps", "ControllerRevision", "controllerrevisions"),
    Spec {
        short_names: &["ev"],
        ..spec("events.k8s.io", "Event", "events")
    },
    Spec {
        short_names: &["cj"],
        categories: ALL,
        status: true,
        ..spec("batch", "CronJob", "cronjobs")
    },
    Spec {
        categories: ALL,
        status: true,
        ..spec("batch", "Job", "jobs")
    },
    Spec {
        short_names: &["ing"],
        status: true,
        ..spec("networking.k8s.io", "Ingress", "ingresses")
    },
    Spec {
        namespaced: false,
        ..spec("networking.k8s.io", "IngressClass", "ingressclasses")
    },
    Spec {
        short_names: &["pdb"],
        status: true,
        ..spec("policy", "PodDisruptionBudget", "poddisruptionbudgets")
    },
    Spec {
        namespaced: false,
        ..spec(RBAC, "ClusterRole", "clusterroles")
    },
    Spec {
        namespaced: false,
        ..spec(RBAC, "ClusterRoleBinding", "clusterrolebindings")
    },
    spec(RBAC, "Role", "roles"),
    spec(RBAC, "RoleBinding", "rolebindings"),
    Spec {
        namespaced: false,
        categories: API_EXTENSIONS,
        ..spec(
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
        )
    },
    spec("coordination.k8s.io", "Lease", "leases"),
    Spec {
        namespaced: false,
        short_names: &["crd", "crds"],
        categories: API_EXTENSIONS,
        status: true,
        ..spec(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        )
    },
];

/// Every built-in resource this server serves.
pub(super) fn resources() -> Vec<ResourceType> {
    SPECS.iter().map(to_resource).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn to_resource(spec: &Spec) -> ResourceType {
    let verbs = if spec.kind == "Namespace" {
        NAMESPACE_VERBS
    } else {
        ALL_VERBS
    };
    ResourceType {
        group: spec.group.to_owned(),
        version: "v1".to_owned(),
        kind: spec.kind.to_owned(),
        list_kind: format!("{}List", spec.kind),
        plural: spec.plural.to_owned(),
        singular: spec.kind.to_lowercase(),
        namespaced: spec.namespaced,
        short_names: strings(spec.short_names),
        categories: strings(spec.categories),
        verbs: strings(verbs),
        has_status: spec.status,
        has_scale: spec.scale,
        printer_columns: None,
    }
}

/// The group/version/kind kube-apiserver stores a built-in resource as; `events.k8s.io` Events cohabit with
/// `core/v1` Events. `None` for resources that are not built in.
pub(super) fn storage_gvk(
    resource: &ResourceType,
) -> Option<(&'static str, &'static str, &'static str)> {
    let found = SPECS.iter().find(|s| {
        s.group == resource.group && s.plural == resource.plural && resource.version == "v1"
    })?;
    if found.group == "events.k8s.io" {
        return Some(("", "v1", "Event"));
    }
    Some((found.group, "v1", found.kind))
}
