//! `record_update`: ownership of created and updated fields, entry merging, subresources, resets.
use serde_json::{Value, json};

use super::*;

#[test]
fn record_update_on_create_owns_every_field() {
    let mut created = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default", "uid": "u", "labels": {"app": "web"}, "finalizers": ["x"]},
        "data": {"key": "v"}});
    record_update(None, &mut created, "kubectl-create", T1, None);
    let expected = json!([{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:data": {".": {}, "f:key": {}},
            "f:metadata": {"f:finalizers": {".": {}, "v:\"x\"": {}}, "f:labels": {".": {}, "f:app": {}}}
        }
    }]);
    assert_eq!(created.pointer("/metadata/managedFields"), Some(&expected));
}

#[test]
fn record_update_moves_ownership_and_merges_entries() {
    let mut live = mk_deployment(2, json!({"app": "web"}), nginx());
    record_update(None, &mut live, "creator", T1, None);
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(4);
    scaled["metadata"]["labels"]["tier"] = json!("front");
    record_update(Some(&live), &mut scaled, "scaler", T2, None);
    let scaler = fields_of(&scaled, "scaler", "Update");
    assert_eq!(
        scaler,
        Some(json!({"f:metadata": {"f:labels": {"f:tier": {}}}, "f:spec": {"f:replicas": {}}}))
    );
    let creator = fields_of(&scaled, "creator", "Update").unwrap_or_default();
    assert!(creator["f:spec"].get("f:replicas").is_none(), "{creator}");
    assert_eq!(
        creator["f:metadata"]["f:labels"],
        json!({".": {}, "f:app": {}})
    );
    // The same manager again: one entry, the union of its fields, the new time.
    let mut again = scaled.clone();
    again["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    record_update(Some(&scaled), &mut again, "scaler", T3, None);
    let entries = again
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let scaler_entries: Vec<&Value> = entries
        .iter()
        .filter(|e| e["manager"] == "scaler")
        .collect();
    assert_eq!(scaler_entries.len(), 1);
    assert_eq!(scaler_entries[0]["time"], T3);
    let containers =
        &scaler_entries[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert_eq!(
        containers,
        &json!({"k:{\"name\":\"nginx\"}": {"f:image": {}}})
    );
    // A change of nothing leaves managedFields alone.
    let mut unchanged = again.clone();
    record_update(Some(&again), &mut unchanged, "idle", T3, None);
    assert_eq!(unchanged, again);
}

#[test]
fn record_update_keeps_a_subresource_entry_apart() {
    let live = applied(None, &mk_deployment(2, json!({}), nginx()), "kubectl", T1);
    let mut with_status = live.clone();
    with_status["status"] =
        json!({"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]});
    record_update(
        Some(&live),
        &mut with_status,
        "controller",
        T2,
        Some("status"),
    );
    let entries = with_status
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let status_entry = entries.iter().find(|e| e["manager"] == "controller");
    assert_eq!(
        status_entry.map(|e| e["subresource"].clone()),
        Some(json!("status"))
    );
    let expected = json!({"f:status": {"f:replicas": {}, "f:conditions": {".": {},
        "k:{\"type\":\"Available\"}": {".": {}, "f:status": {}, "f:type": {}}}}});
    assert_eq!(status_entry.map(|e| e["fieldsV1"].clone()), Some(expected));
    // Apply entries sort before Update entries.
    assert_eq!(
        entries.first().map(|e| e["operation"].clone()),
        Some(json!("Apply"))
    );
}

#[test]
fn record_update_on_create_matches_the_apiserver_shape() {
    // `kubectl create deployment nginx --image=nginx`, as the apiserver records it (defaults trimmed).
    let mut created = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}], "securityContext": {}}
            }
        }
    });
    record_update(None, &mut created, "kubectl-create", T1, None);
    let expected = json!({
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}},
                    "f:securityContext": {}
                }
            }
        }
    });
    assert_eq!(
        fields_of(&created, "kubectl-create", "Update"),
        Some(expected)
    );
}

#[test]
fn managed_fields_reset_with_an_empty_entry() {
    let live = applied(None, &mk_deployment(2, json!({}), nginx()), "kubectl", T1);
    let mut reset = live.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    reset["spec"]["replicas"] = json!(3);
    record_update(Some(&live), &mut reset, "editor", T2, None);
    assert_eq!(reset["metadata"].get("managedFields"), None);
    assert_eq!(reset["spec"]["replicas"], 3);
}

#[test]
fn an_update_takes_a_field_from_an_applier() {
    let live = applied(
        None,
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "kubectl",
        T1,
    );
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(7);
    record_update(Some(&live), &mut scaled, "hpa", T2, Some("scale"));
    let applier = fields_of(&scaled, "kubectl", "Apply").unwrap_or_default();
    assert!(applier["f:spec"].get("f:replicas").is_none(), "{applier}");
    assert_eq!(
        fields_of(&scaled, "hpa", "Update"),
        Some(json!({"f:spec": {"f:replicas": {}}}))
    );
    // Re-applying the old value is now a conflict with the updater.
    let result = apply(
        Some(&scaled),
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "kubectl",
        false,
        T3,
    );
    let Err(ApplyError::Conflicts(conflicts)) = result else {
        panic!("expected a conflict")
    };
    assert_eq!(
        conflict_message(&conflicts, Some(&scaled)),
        "Apply failed with 1 conflict: conflict with \"hpa\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn owner_references_are_keyed_by_uid_and_atomic_items() {
    // As kube-controller-manager's entry on a pod it creates: `k:{"uid":..}: {}`, the item owned whole.
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u-1",
            "controller": true}]}});
    record_update(None, &mut pod, "kube-controller-manager", T1, None);
    let expected =
        json!({"f:metadata": {"f:ownerReferences": {".": {}, "k:{\"uid\":\"u-1\"}": {}}}});
    assert_eq!(
        fields_of(&pod, "kube-controller-manager", "Update"),
        Some(expected)
    );
}
