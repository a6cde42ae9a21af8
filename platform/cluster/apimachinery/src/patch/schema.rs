//! The list-merge table of the built-in kinds: which list fields merge by key, which are sets of primitives,
//! and which are atomic, keyed by the Go type that holds the field.
//!
//! This is the `patchStrategy`/`patchMergeKey` struct-tag metadata of `k8s.io/api` for the kinds this
//! server stores, written as data. Strategic merge patch and server-side apply both walk an object with a
//! [`TypeNode`] cursor: start at [`TypeNode::for_object`], then descend with [`TypeNode::field`]; list
//! elements take the node the field returned. A field not in the table is an unknown type: maps merge,
//! lists are atomic, and everything below it is unknown too. `metadata` of any object is `ObjectMeta`.
use serde_json::Value;

/// How a list field combines with another list of the same field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// Replaced as a whole (no `patchStrategy` tag; `+listType=atomic`).
    Atomic,
    /// `patchStrategy:"merge"` with `patchMergeKey`: elements are maps identified by this field.
    MergeByKey(&'static str),
    /// `patchStrategy:"merge"` on a list of primitives: a set (e.g. `metadata.finalizers`).
    PrimitiveSet,
}

/// A position in the built-in type graph; `name` is the Go type, `None` when unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeNode {
    name: Option<&'static str>,
    root: bool,
}

use ListStrategy::{Atomic, MergeByKey, PrimitiveSet};

/// The type of `+structType=atomic` / `+mapType=atomic` values (`LabelSelector`, `OwnerReference`, ...):
/// server-side apply owns and replaces them whole. Strategic merge patch ignores this (it only reads the
/// `patchStrategy` tags), so below such a node it merges maps as for any unknown type.
const ATOMIC: &str = "@atomic";

/// `(holding type, json field, type of the value or of its elements, list strategy)`.
const FIELDS: &[(&str, &str, &str, ListStrategy)] = &[
    ("ObjectMeta", "finalizers", "", PrimitiveSet),
    ("ObjectMeta", "ownerReferences", ATOMIC, MergeByKey("uid")),
    ("Pod", "spec", "PodSpec", Atomic),
    ("Pod", "status", "PodStatus", Atomic),
    ("PodTemplate", "template", "PodTemplateSpec", Atomic),
    ("PodTemplateSpec", "metadata", "ObjectMeta", Atomic),
    ("PodTemplateSpec", "spec", "PodSpec", Atomic),
    ("PodSpec", "containers", "Container", MergeByKey("name")),
    ("PodSpec", "initContainers", "Container", MergeByKey("name")),
    (
        "PodSpec",
        "ephemeralContainers",
        "Container",
        MergeByKey("name"),
    ),
    ("PodSpec", "volumes", "", MergeByKey("name")),
    ("PodSpec", "imagePullSecrets", ATOMIC, MergeByKey("name")),
    ("PodSpec", "nodeSelector", ATOMIC, Atomic),
    ("PodSpec", "hostAliases", "", MergeByKey("ip")),
    (
        "PodSpec",
        "topologySpreadConstraints",
        "",
        MergeByKey("topologyKey"),
    ),
    ("PodSpec", "schedulingGates", "", MergeByKey("name")),
    ("PodSpec", "resourceClaims", "", MergeByKey("name")),
    ("Container", "env", "EnvVar", MergeByKey("name")),
    ("EnvVar", "valueFrom", "EnvVarSource", Atomic),
    ("EnvVarSource", "configMapKeyRef", ATOMIC, Atomic),
    ("EnvVarSource", "secretKeyRef", ATOMIC, Atomic),
    ("EnvVarSource", "fieldRef", ATOMIC, Atomic),
    ("EnvVarSource", "resourceFieldRef", ATOMIC, Atomic),
    ("Container", "ports", "", MergeByKey("containerPort")),
    ("Container", "volumeMounts", "", MergeByKey("mountPath")),
    ("Container", "volumeDevices", "", MergeByKey("devicePath")),
    ("PodStatus", "conditions", "", MergeByKey("type")),
    ("PodStatus", "podIPs", "", MergeByKey("ip")),
    ("PodStatus", "hostIPs", "", MergeByKey("ip")),
    ("PodStatus", "resourceClaimStatuses", "", MergeByKey("name")),
    ("Workload", "spec", "WorkloadSpec", Atomic),
    ("Workload", "status", "ConditionedStatus", Atomic),
    ("WorkloadSpec", "template", "PodTemplateSpec", Atomic),
    ("WorkloadSpec", "selector", ATOMIC, Atomic),
    ("Job", "spec", "JobSpec", Atomic),
    ("Job", "status", "ConditionedStatus", Atomic),
    ("JobSpec", "template", "PodTemplateSpec", Atomic),
    ("JobSpec", "selector", ATOMIC, Atomic),
    ("CronJob", "spec", "CronJobSpec", Atomic),
    ("CronJobSpec", "jobTemplate", "JobTemplateSpec", Atomic),
    ("JobTemplateSpec", "metadata", "ObjectMeta", Atomic),
    ("JobTemplateSpec", "spec", "JobSpec", Atomic),
    ("Service", "spec", "ServiceSpec", Atomic),
    ("Service", "status", "ConditionedStatus", Atomic),
    ("ServiceSpec", "ports", "", MergeByKey("port")),
    ("ServiceSpec", "selector", ATOMIC, Atomic),
    ("Namespace", "status", "ConditionedStatus", Atomic),
    ("ConditionedStatus", "conditions", "", MergeByKey("type")),
    ("ServiceAccount", "secrets", "", MergeByKey("name")),
    ("WebhookConfiguration", "webhooks", "", MergeByKey("name")),
];

/// `(API group, kind, root type)` of the kinds with list-merge metadata below the root.
const ROOTS: &[(&str, &str, &str)] = &[
    ("", "Pod", "Pod"),
    ("", "PodTemplate", "PodTemplate"),
    ("", "Service", "Service"),
    ("", "Namespace", "Namespace"),
    ("", "ServiceAccount", "ServiceAccount"),
    ("", "ReplicationController", "Workload"),
    ("apps", "Deployment", "Workload"),
    ("apps", "ReplicaSet", "Workload"),
    ("apps", "StatefulSet", "Workload"),
    ("apps", "DaemonSet", "Workload"),
    ("batch", "Job", "Job"),
    ("batch", "CronJob", "CronJob"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "WebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "WebhookConfiguration",
    ),
];

/// API groups served by the real apiserver itself; strategic merge patch exists only for these.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "coordination.k8s.io",
    "events.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "discovery.k8s.io",
    "certificates.k8s.io",
    "node.k8s.io",
];

/// The API group of an object (`""` for core `v1`).
pub fn api_group(object: &Value) -> &str {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Whether the object is a built-in kind (its group is served by kube-apiserver, not a CRD).
pub fn is_built_in(object: &Value) -> bool {
    BUILT_IN_GROUPS.contains(&api_group(object))
}

impl TypeNode {
    /// A node about which nothing is known: maps merge, lists are atomic.
    pub const UNKNOWN: TypeNode = TypeNode {
        name: None,
        root: false,
    };

    /// Whether the value is an atomic struct or map, owned and replaced whole by server-side apply.
    pub fn is_atomic(self) -> bool {
        self.name == Some(ATOMIC)
    }

    /// The root node of an object, from its `apiVersion` and `kind`.
    pub fn for_object(object: &Value) -> TypeNode {
        let group = api_group(object);
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = ROOTS
            .iter()
            .find(|(g, k, _)| *g == group && *k == kind)
            .map(|(_, _, root)| *root);
        TypeNode { name, root: true }
    }

    /// The node of a field's value (or of its elements, for a list) and the field's list strategy.
    pub fn field(self, field: &str) -> (TypeNode, ListStrategy) {
        if self.root && field == "metadata" {
            return (
                TypeNode {
                    name: Some("ObjectMeta"),
                    root: false,
                },
                Atomic,
            );
        }
        let Some(name) = self.name else {
            return (TypeNode::UNKNOWN, Atomic);
        };
        FIELDS
            .iter()
            .find(|(holder, json, _, _)| *holder == name && *json == field)
            .map_or((TypeNode::UNKNOWN, Atomic), |(_, _, child, strategy)| {
                let child = if child.is_empty() { None } else { Some(*child) };
                (
                    TypeNode {
                        name: child,
                        root: false,
                    },
                    *strategy,
                )
            })
    }
}

/// Fields whose Go type is a map (`map[string]...`) rather than a struct, wherever they appear. Server-side
/// apply needs the difference: a map's entries are members of a field set, and so is a map an update adds,
/// while a struct is only the parent of its fields.
const MAP_TYPED_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "nodeSelector",
    "matchLabels",
    "limits",
    "requests",
    "overhead",
    "capacity",
    "allocatable",
    "parameters",
];

/// Whether a field holds a Go map (`labels`, `data`, `nodeSelector`, ...); unknown fields are structs.
pub fn is_map_typed(field: &str) -> bool {
    MAP_TYPED_FIELDS.contains(&field)
}

/// Fields of built-in kinds that a zero Go object already has: non-pointer structs (`spec`, `template`, ...)
/// and lists without `omitempty` (`containers`). An update that fills them in does not own them as a
/// whole, only what it puts inside (the apiserver compares against the zero object on create).
const PRESENT_WHEN_ZERO: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "updateStrategy",
    "jobTemplate",
    "containers",
    "resources",
];

/// Whether a field of a built-in kind exists even in a zero Go object (`spec`, `template`, `containers`, ...).
pub fn is_present_when_zero(field: &str) -> bool {
    PRESENT_WHEN_ZERO.contains(&field)
}
