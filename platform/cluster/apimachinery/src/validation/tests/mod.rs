//! Tests of defaulting and validation: literal objects in, kube-apiserver's exact causes out.
use super::*;
use crate::registry::{builtin_resources, find_by_kind};
use serde_json::json;

mod crd;
mod data;
mod defaults;
mod events;
mod metadata;
mod networking;
mod schema;
mod workloads;

/// The built-in resource type of `apiVersion`/`kind`.
fn resource(api_version: &str, kind: &str) -> ResourceType {
    find_by_kind(&builtin_resources(), api_version, kind)
        .cloned()
        .unwrap_or_else(|| panic!("{kind} is built in"))
}

/// The (reason, field, message) of every cause, or nothing when valid.
fn causes(
    api_version: &str,
    kind: &str,
    object: &Value,
    old: Option<&Value>,
) -> Vec<(String, String, String)> {
    match validate(&resource(api_version, kind), object, old) {
        Ok(()) => Vec::new(),
        Err(invalid) => {
            assert_eq!(invalid.kind, kind);
            invalid
                .causes
                .into_iter()
                .map(|c| (c.reason, c.field, c.message))
                .collect()
        }
    }
}

fn cause(reason: &str, field: &str, message: &str) -> (String, String, String) {
    (reason.to_owned(), field.to_owned(), message.to_owned())
}

/// `object` after kube-apiserver's defaults.
fn defaulted(api_version: &str, kind: &str, mut object: Value) -> Value {
    apply_defaults(&resource(api_version, kind), &mut object);
    object
}

#[test]
fn status_message_matches_new_invalid() {
    let one = Invalid {
        kind: "Deployment".into(),
        causes: vec![FieldCause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: -1: must be greater than or equal to 0".into(),
            field: "spec.replicas".into(),
        }],
    };
    assert_eq!(
        one.status_message("apps", "web"),
        "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    let mut two = one.clone();
    two.kind = "ConfigMap".into();
    two.causes.push(two.causes[0].clone());
    two.causes.push(FieldCause {
        reason: "FieldValueTooLong".into(),
        message: "Too long: x".into(),
        field: "[]".into(),
    });
    assert_eq!(
        two.status_message("", "c"),
        "ConfigMap \"c\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, []: Too long: x]"
    );
    assert_eq!(one.to_string(), "Deployment is invalid");
}

#[test]
fn non_objects_are_invalid_not_panics() {
    for garbage in [json!(null), json!("x"), json!([1]), json!(3)] {
        let found = causes("v1", "ConfigMap", &garbage, None);
        assert_eq!(found.len(), 1, "{garbage}");
        assert_eq!(found[0].0, "FieldValueTypeInvalid");
        for (api_version, kind) in [
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("v1", "Secret"),
        ] {
            let mut object = garbage.clone();
            apply_defaults(&resource(api_version, kind), &mut object);
            assert_eq!(object, garbage);
        }
    }
}

#[test]
fn wrongly_typed_fields_become_causes() {
    let cases = [
        (
            json!({"metadata": {"name": "a", "namespace": "d"}, "spec": "x"}),
            "spec",
        ),
        (
            json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"replicas": "3"}}),
            "spec.replicas",
        ),
        (
            json!({"metadata": {"name": "a", "namespace": "d", "labels": ["x"]}, "spec": {}}),
            "metadata.labels",
        ),
        (json!({"metadata": "a", "spec": {}}), "metadata"),
        (
            json!({"metadata": {"name": 5, "namespace": "d"}, "spec": {}}),
            "metadata.name",
        ),
    ];
    for (object, field) in cases {
        let found = causes("apps/v1", "Deployment", &object, None);
        assert!(
            found
                .iter()
                .any(|(reason, f, _)| reason == "FieldValueTypeInvalid" && f == field),
            "{field}: {found:?}"
        );
    }
    let mut weird =
        json!({"spec": {"template": {"spec": {"containers": ["x", 1], "volumes": "v"}}}});
    apply_defaults(&resource("apps/v1", "Deployment"), &mut weird);
    assert_eq!(
        weird["spec"]["template"]["spec"]["containers"],
        json!(["x", 1])
    );
}

/// Every JSON pointer inside `value`.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

/// A pod template touching every pod rule and default.
fn mk_template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {
        "hostNetwork": true, "restartPolicy": "Always",
        "volumes": [{"name": "v", "configMap": {}},
                    {"name": "p", "projected": {"sources": [{"serviceAccountToken": {}}]}}],
        "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}],
            "volumeMounts": [{"name": "v", "mountPath": "/v"}], "resources": {"limits": {"cpu": "1"}},
            "livenessProbe": {"httpGet": {}}, "env": [{"name": "E", "valueFrom": {"fieldRef": {}}}]}]}})
}

/// A spec touching every workload, Service and CRD rule and default.
fn mk_spec() -> Value {
    let mut spec = json!({
        "replicas": 1, "group": "x.io", "scope": "Namespaced", "type": "ClusterIP", "clusterIP": "None",
        "names": {"plural": "xs", "kind": "X", "shortNames": ["x"], "categories": ["all"]},
        "versions": [{"name": "v1", "served": true, "storage": true,
                      "schema": {"openAPIV3Schema": {"type": "object"}},
                      "additionalPrinterColumns": [{"name": "A", "type": "string", "jsonPath": ".a"}]}],
        "conversion": {"webhook": {"clientConfig": {"service": {"name": "s"}}}},
        "ports": [{"name": "http", "port": 80, "targetPort": 0}],
        "selector": {"matchLabels": {"app": "web"},
                     "matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
        "updateStrategy": {"type": "", "rollingUpdate": {}}, "persistentVolumeClaimRetentionPolicy": {},
        "volumeClaimTemplates": [{"spec": {}}], "finalizers": ["kubernetes"]
    });
    spec["template"] = mk_template();
    spec
}

/// A rich object touching every rule, to be corrupted field by field.
fn mk_everything() -> Value {
    let mut object = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "d", "labels": {"app": "web"}, "annotations": {"a": "b"},
                     "finalizers": ["x.io/y"], "generateName": "web-",
                     "deletionTimestamp": "2025-01-01T00:00:00Z"},
        "type": "kubernetes.io/tls", "immutable": true,
        "data": {"tls.crt": "eA==", "tls.key": "eA=="}, "binaryData": {"b": "eA=="}, "stringData": {"s": "x"},
        "webhooks": [{"name": "w", "rules": [{"scope": "*"}], "clientConfig": {"service": {"name": "s"}}}],
        "involvedObject": {"namespace": "d"}, "eventTime": "2025-01-01T00:00:00Z", "series": {"count": 2}
    });
    object["spec"] = mk_spec();
    object
}

#[test]
fn no_input_shape_panics() {
    let base = mk_everything();
    let mut paths = Vec::new();
    pointers(&base, String::new(), &mut paths);
    let garbage = [
        json!(null),
        json!(-1),
        json!("x"),
        json!([]),
        json!({}),
        json!([1, "a"]),
        json!(true),
    ];
    let mut resources = builtin_resources();
    resources.extend(
        crate::registry::resources_from_crd(&json!({"spec": base["spec"].clone()}))
            .unwrap_or_default(),
    );
    for resource in &resources {
        let mut pod_shaped = base.clone();
        pod_shaped["spec"] = base["spec"]["template"]["spec"].clone();
        for object in [&base, &pod_shaped] {
            for path in &paths {
                for bad in &garbage {
                    let mut corrupted = object.clone();
                    if let Some(slot) = corrupted.pointer_mut(path) {
                        *slot = bad.clone();
                    }
                    apply_defaults(resource, &mut corrupted);
                    let _ = validate(resource, &corrupted, Some(object));
                    let _ = validate(resource, object, Some(&corrupted));
                }
            }
        }
    }
}
