use serde_json::{Value, json};

use super::*;

mod apply;
mod update;
mod vectors;

const T1: &str = "2026-01-01T00:00:01Z";
const T2: &str = "2026-01-01T00:00:02Z";
const T3: &str = "2026-01-01T00:00:03Z";

fn mk_deployment(replicas: u32, labels: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}}
    })
}

fn nginx() -> Value {
    json!([{"name": "nginx", "image": "nginx:1"}])
}

fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    server_side_apply(ApplyRequest {
        live,
        applied,
        manager,
        force,
        now,
        subresource: None,
    })
}

fn applied(live: Option<&Value>, config: &Value, manager: &str, now: &str) -> Value {
    match apply(live, config, manager, false, now) {
        Ok(object) => object,
        Err(err) => panic!("apply by {manager} failed: {err:?}"),
    }
}

/// The `fieldsV1` of a manager's entry with that operation.
fn fields_of(object: &Value, manager: &str, operation: &str) -> Option<Value> {
    let entries = object.pointer("/metadata/managedFields")?.as_array()?;
    let entry = entries
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)?;
    entry.get("fieldsV1").cloned()
}

fn without_managed(object: &Value) -> Value {
    let mut body = object.clone();
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    body
}

#[test]
fn field_sets_round_trip_through_fields_v1() {
    let json = json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}, "f:finalizers": {"v:\"x\"": {}}},
        "f:spec": {"f:ports": {"k:{\"port\":80}": {".": {}, "f:port": {}}}}});
    let parsed = FieldSet::from_fields_v1(&json);
    assert_eq!(parsed.as_ref().map(FieldSet::to_fields_v1), Some(json));
    let paths = parsed.map(|set| set.member_paths()).unwrap_or_default();
    let expected = [
        ".metadata.finalizers[=\"x\"]",
        ".metadata.labels",
        ".metadata.labels.a",
        ".spec.ports[port=80]",
        ".spec.ports[port=80].port",
    ];
    assert_eq!(paths, expected);
    assert_eq!(FieldSet::from_fields_v1(&json!({"x:bad": {}})), None);
    assert_eq!(FieldSet::from_fields_v1(&json!([1])), None);
}

/// Every entry names its manager and operation and has a `fieldsV1` object: garbage never survives.
fn assert_well_formed_managed_fields(object: &Value) {
    let Some(managed) = object.pointer("/metadata/managedFields") else {
        return;
    };
    let entries = managed.as_array().cloned().unwrap_or_default();
    assert!(!entries.is_empty(), "{managed}");
    for entry in entries {
        assert!(
            entry["manager"].is_string() && entry["operation"].is_string(),
            "{entry}"
        );
        assert!(
            entry["fieldsV1"].as_object().is_some_and(|f| !f.is_empty()),
            "{entry}"
        );
    }
}

#[test]
fn odd_inputs_give_results_or_errors_never_panics() {
    let odd_values = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!({}),
        json!([1, "a"]),
        json!([{}]),
        json!([[1]]),
        json!([{"name": 1}]),
        json!([{"name": "a"}, {"name": "a"}]),
    ];
    let odd_managed = [
        json!("x"),
        json!([1]),
        json!([{"operation": "Apply", "fieldsV1": 3}]),
        json!([{"operation": "Update", "fieldsV1": {"k:notjson": {}, "f:a": []}}]),
        json!([{}]),
    ];
    for value in &odd_values {
        for managed in &odd_managed {
            let mut live = mk_deployment(1, json!({"a": "b"}), nginx());
            live["metadata"]["managedFields"] = managed.clone();
            live["spec"]["template"]["spec"]["containers"] = value.clone();
            let mut config = mk_deployment(2, json!({"a": "c"}), value.clone());
            config["metadata"]["finalizers"] = value.clone();
            let mut new = config.clone();
            record_update(Some(&live), &mut new, "u", T2, None);
            let results = [
                apply(Some(&live), &config, "m", false, T1),
                apply(Some(&live), &config, "m", true, T1),
                apply(None, &config, "m", false, T1),
                Ok(new),
            ];
            for object in results.iter().flatten() {
                assert_well_formed_managed_fields(object);
            }
            let mut scalar = value.clone();
            record_update(Some(&live), &mut scalar, "u", T2, None);
            assert_eq!(&scalar, value);
        }
    }
}
