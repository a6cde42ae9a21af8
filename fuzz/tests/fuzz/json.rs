//! Structure-aware JSON: values built from the vocabulary of Kubernetes objects, patches and CRDs, so random
//! inputs reach the code behind the first `get("spec")`.
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "status",
    "template",
    "containers",
    "initContainers",
    "env",
    "envFrom",
    "value",
    "valueFrom",
    "image",
    "ports",
    "containerPort",
    "replicas",
    "selector",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "data",
    "binaryData",
    "stringData",
    "type",
    "volumes",
    "volumeMounts",
    "configMap",
    "secret",
    "items",
    "path",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "generateName",
    "resourceVersion",
    "uid",
    "conditions",
    "creationTimestamp",
    "deletionTimestamp",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "versions",
    "served",
    "storage",
    "additionalPrinterColumns",
    "jsonPath",
    "names",
    "plural",
    "group",
    "scope",
    "schema",
    "strategy",
    "rollingUpdate",
    "maxSurge",
    "maxUnavailable",
    "updateStrategy",
    "serviceName",
    "clusterIP",
    "targetPort",
    "protocol",
    "nodeName",
    "phase",
    "containerStatuses",
    "ready",
    "restartCount",
    "state",
    "lastTimestamp",
    "count",
    "reason",
    "message",
    "involvedObject",
    "subresources",
    "scale",
    "shortNames",
    "listKind",
    "singular",
    "fieldsV1",
    "f:metadata",
    "f:spec",
    "manager",
    "operation",
    "time",
    "immutable",
    "ports",
    "readyReplicas",
    "availableReplicas",
    "updatedReplicas",
    "podIP",
    "hostIP",
    "startTime",
    "job",
    "successfulJobsHistoryLimit",
    "schedule",
    "completions",
    "parallelism",
    "activeDeadlineSeconds",
];

const STRINGS: &[&str] = &[
    "",
    "v1",
    "apps/v1",
    "batch/v1",
    "events.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "Deployment",
    "Pod",
    "ConfigMap",
    "Secret",
    "Service",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Event",
    "Namespace",
    "Job",
    "CronJob",
    "CustomResourceDefinition",
    "web",
    "default",
    "app",
    "merge",
    "replace",
    "delete",
    "retainKeys",
    "TCP",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "2026-11-27T01:00:00Z",
    "1970-01-01T00:00:00Z",
    "not-a-time",
    "-1",
    "1e400",
    "100%",
    "25%",
    "Always",
    "IfNotPresent",
    "Running",
    "Pending",
    "Failed",
    ".metadata.name",
    ".spec.replicas",
    ".status.conditions[?(@.type==\"Ready\")].status",
    "{.spec}",
    "integer",
    "string",
    "date",
    "boolean",
    "number",
    "Namespaced",
    "Cluster",
    "Apply",
    "Update",
    "True",
    "False",
    "Recreate",
    "RollingUpdate",
    "OnDelete",
    "ClusterIP",
    "None",
    "Opaque",
    "kubernetes.io/tls",
    "cGFzc3dvcmQ=",
    "nginx:1.27",
    "a.b/c",
    "UPPER",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "é\u{0}\u{fffd}",
    "0",
    "*/5 * * * *",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        2 => "\\PC{0,12}".prop_map(Value::String),
        2 => (-3i64..6).prop_map(|n| json!(n)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<u64>().prop_map(|n| json!(n)),
        1 => prop::num::f64::NORMAL.prop_map(|f| json!(f)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![6 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => "\\PC{0,8}"]
}

/// Any JSON value, Kubernetes-flavoured, up to a few levels deep.
pub fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object.
pub fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), value(), 0..8)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

fn templates() -> Vec<Value> {
    vec![
        configsync_fuzz::targets::mk_deployment(),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]},
               "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": true, "restartCount": 1}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"},
               "data": {"a": "1"}, "binaryData": {"b": "AAE="}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
               "type": "Opaque", "data": {"password": "aHVudGVyMg=="}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
               "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "redis"}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "default"},
               "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "web"}}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default"},
               "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Started", "count": 2}),
    ]
}

/// A realistic object of a built-in kind with a few fields replaced by random values.
pub fn k8s_object() -> impl Strategy<Value = Value> {
    let paths = prop::collection::vec(prop::collection::vec(key(), 1..4), 0..4);
    (
        prop::sample::select(templates()),
        paths,
        prop::collection::vec(value(), 4),
    )
        .prop_map(|(mut object, paths, values)| {
            for (path, value) in paths.into_iter().zip(values) {
                set_path(&mut object, &path, value);
            }
            object
        })
}

/// Set `path` in `object`, creating maps on the way (a non-map on the way is replaced).
fn set_path(object: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = object;
    for key in parents {
        if !node.is_object() {
            *node = json!({});
        }
        node = &mut node[key.as_str()];
    }
    if !node.is_object() {
        *node = json!({});
    }
    node[last.as_str()] = value;
}

/// A JSON pointer made of Kubernetes keys, indices and `-`.
pub fn pointer() -> impl Strategy<Value = String> {
    let segment = prop_oneof![3 => key(), 1 => (0usize..3).prop_map(|i| i.to_string()), 1 => Just("-".to_owned()), 1 => Just("a~1b~0".to_owned())];
    prop::collection::vec(segment, 0..6)
        .prop_map(|segments| segments.iter().map(|s| format!("/{s}")).collect())
}

/// Two JSON documents joined by NUL, the convention of the two-document targets.
pub fn pair(first: &Value, second: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(first).unwrap_or_default();
    bytes.push(0);
    bytes.extend(serde_json::to_vec(second).unwrap_or_default());
    bytes
}
