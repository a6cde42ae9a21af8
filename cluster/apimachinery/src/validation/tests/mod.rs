//! Tests of defaulting and validation: literal objects in, kube-apiserver's exact causes out.
use super::*;
use crate::registry::{builtin_resources, find_by_kind};
use serde_json::json;

mod crd;
mod data;
mod defaults;
mod events;
mod metadata;
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
