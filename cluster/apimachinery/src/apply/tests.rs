use serde_json::{Value, json};

use super::*;

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
fn apply_creates_the_object_with_an_apply_entry() {
    let config = mk_deployment(2, json!({"app": "web"}), nginx());
    let created = applied(None, &config, "kubectl", T1);
    assert_eq!(without_managed(&created), config);
    let expected_entry = json!({
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}
            }}}}
        }
    });
    assert_eq!(
        created.pointer("/metadata/managedFields"),
        Some(&json!([expected_entry]))
    );
}

#[test]
fn reapplying_the_same_config_changes_nothing() {
    let config = mk_deployment(2, json!({"app": "web"}), nginx());
    let created = applied(None, &config, "kubectl", T1);
    let again = applied(Some(&created), &config, "kubectl", T2);
    assert_eq!(again, created);
}

#[test]
fn server_owned_fields_in_the_config_are_ignored() {
    let mut live = mk_deployment(2, json!({"app": "web"}), nginx());
    live["metadata"]["uid"] = json!("uid-1");
    live["metadata"]["resourceVersion"] = json!("7");
    record_update(None, &mut live, "creator", T1, None);
    let mut config = mk_deployment(2, json!({"app": "web"}), nginx());
    config["metadata"]["uid"] = json!("forged");
    config["metadata"]["resourceVersion"] = json!("1");
    config["metadata"]["generation"] = json!(9);
    config["metadata"]["creationTimestamp"] = json!("1999-01-01T00:00:00Z");
    config["metadata"]["managedFields"] =
        json!([{"manager": "forged", "operation": "Apply", "fieldsV1": {}}]);
    let result = applied(Some(&live), &config, "kubectl", T2);
    assert_eq!(result["metadata"]["uid"], "uid-1");
    assert_eq!(result["metadata"]["resourceVersion"], "7");
    assert!(result["metadata"].get("generation").is_none());
    assert!(result["metadata"].get("creationTimestamp").is_none());
    assert_eq!(fields_of(&result, "forged", "Apply"), None);
    assert!(fields_of(&result, "kubectl", "Apply").is_some());
}

#[test]
fn conflict_with_an_update_manager_and_force() {
    let mut live = mk_deployment(2, json!({"app": "web"}), nginx());
    record_update(None, &mut live, "kubectl-client-side-apply", T1, None);
    let config = mk_deployment(3, json!({"app": "web"}), nginx());
    let conflicts = match apply(Some(&live), &config, "kubectl", false, T2) {
        Err(ApplyError::Conflicts(conflicts)) => conflicts,
        other => panic!("expected a conflict, got {other:?}"),
    };
    let expected = Conflict {
        manager: "kubectl-client-side-apply".into(),
        api_version: "apps/v1".into(),
        field: ".spec.replicas".into(),
    };
    assert_eq!(conflicts, vec![expected]);

    let forced = apply(Some(&live), &config, "kubectl", true, T2).ok();
    let forced = forced.unwrap_or_default();
    assert_eq!(forced["spec"]["replicas"], 3);
    let applier = fields_of(&forced, "kubectl", "Apply").unwrap_or_default();
    assert_eq!(applier["f:spec"]["f:replicas"], json!({}));
    // The old owner keeps the fields whose value did not change, and loses replicas.
    let updater = fields_of(&forced, "kubectl-client-side-apply", "Update").unwrap_or_default();
    assert!(updater["f:spec"].get("f:replicas").is_none(), "{updater}");
    assert_eq!(
        updater["f:metadata"]["f:labels"],
        json!({".": {}, "f:app": {}})
    );
}

#[test]
fn conflict_between_two_appliers_lists_every_field() {
    let live = applied(
        None,
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "alice",
        T1,
    );
    let config = mk_deployment(
        5,
        json!({"app": "web"}),
        json!([{"name": "nginx", "image": "nginx:2"}]),
    );
    let Err(ApplyError::Conflicts(conflicts)) = apply(Some(&live), &config, "bob", false, T2)
    else {
        panic!("expected conflicts");
    };
    let fields: Vec<&str> = conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            ".spec.replicas",
            ".spec.template.spec.containers[name=\"nginx\"].image"
        ]
    );
    assert!(
        conflicts
            .iter()
            .all(|c| c.manager == "alice" && c.api_version == "apps/v1")
    );
    // Applying the same values is no conflict: both managers then own them.
    let shared = applied(
        Some(&live),
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "bob",
        T2,
    );
    assert_eq!(
        fields_of(&shared, "bob", "Apply"),
        fields_of(&shared, "alice", "Apply")
    );
}

#[test]
fn omitted_fields_are_removed_unless_someone_else_owns_them() {
    let labels = json!({"app": "web", "tier": "front", "team": "a"});
    let live = applied(None, &mk_deployment(2, labels, nginx()), "kubectl", T1);
    // Another manager changes `team`, so it owns it from now on.
    let mut edited = live.clone();
    edited["metadata"]["labels"]["team"] = json!("b");
    record_update(Some(&live), &mut edited, "editor", T2, None);
    let result = applied(
        Some(&edited),
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "kubectl",
        T3,
    );
    assert_eq!(
        result["metadata"]["labels"],
        json!({"app": "web", "team": "b"})
    );
    let applier = fields_of(&result, "kubectl", "Apply").unwrap_or_default();
    assert_eq!(applier["f:metadata"], json!({"f:labels": {"f:app": {}}}));
}

#[test]
fn two_appliers_share_a_list_by_key() {
    let alice = mk_deployment(2, json!({}), json!([{"name": "a", "image": "a:1"}]));
    let live = applied(None, &alice, "alice", T1);
    let bob = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:1"}]}}}});
    let shared = applied(Some(&live), &bob, "bob", T2);
    let containers = json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]);
    assert_eq!(shared["spec"]["template"]["spec"]["containers"], containers);
    let bob_fields = fields_of(&shared, "bob", "Apply").unwrap_or_default();
    let bob_containers = &bob_fields["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert_eq!(
        bob_containers,
        &json!({"k:{\"name\":\"b\"}": {".": {}, "f:image": {}, "f:name": {}}})
    );
    // Alice drops her container: only hers goes.
    let alice_without = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2}});
    let result = applied(Some(&shared), &alice_without, "alice", T3);
    assert_eq!(
        result["spec"]["template"]["spec"]["containers"],
        json!([{"name": "b", "image": "b:1"}])
    );
    // She also owned the empty `labels` map she applied, and nobody else did.
    assert_eq!(result["metadata"].get("labels"), None);
}

#[test]
fn first_apply_to_an_untracked_object_conflicts_with_before_first_apply() {
    let live = mk_deployment(1, json!({"app": "web"}), nginx());
    let Err(ApplyError::Conflicts(conflicts)) = apply(
        Some(&live),
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "kubectl",
        false,
        T1,
    ) else {
        panic!("expected a conflict");
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        (conflicts[0].manager.as_str(), conflicts[0].field.as_str()),
        (BEFORE_FIRST_APPLY, ".spec.replicas")
    );
}

#[test]
fn bad_apply_requests_are_rejected() {
    let config = mk_deployment(1, json!({}), nginx());
    assert!(matches!(
        apply(None, &config, "", false, T1),
        Err(ApplyError::MissingFieldManager)
    ));
    for bad in [
        json!([1]),
        json!({"kind": "Deployment"}),
        json!({"apiVersion": "v1", "kind": "X", "metadata": 3}),
    ] {
        assert!(
            matches!(
                apply(None, &bad, "m", false, T1),
                Err(ApplyError::InvalidObject(_))
            ),
            "{bad}"
        );
    }
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}});
    assert!(matches!(
        apply(Some(&live), &config, "m", false, T1),
        Err(ApplyError::InvalidObject(_))
    ));
}

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
fn atomic_values_are_owned_and_replaced_whole() {
    let mut live = mk_deployment(1, json!({}), nginx());
    live["spec"]["selector"] = json!({"matchLabels": {"app": "web", "old": "x"}});
    let live = applied(None, &live, "kubectl", T1);
    let selector = fields_of(&live, "kubectl", "Apply").map(|f| f["f:spec"]["f:selector"].clone());
    assert_eq!(selector, Some(json!({})));
    let mut config = mk_deployment(1, json!({}), nginx());
    config["spec"]["selector"] = json!({"matchLabels": {"app": "web"}});
    let result = applied(Some(&live), &config, "kubectl", T2);
    assert_eq!(
        result["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );
}

#[test]
fn conflict_messages_read_like_the_apiservers() {
    let mut live = mk_deployment(2, json!({"app": "web"}), nginx());
    record_update(None, &mut live, "kubectl-client-side-apply", T1, None);
    let Err(ApplyError::Conflicts(conflicts)) = apply(
        Some(&live),
        &mk_deployment(3, json!({"app": "web"}), nginx()),
        "kubectl",
        false,
        T2,
    ) else {
        panic!("expected a conflict");
    };
    assert_eq!(
        conflict_message(&conflicts, Some(&live)),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let alice = applied(
        None,
        &mk_deployment(2, json!({"app": "web"}), nginx()),
        "alice",
        T1,
    );
    let bob = mk_deployment(5, json!({"app": "api"}), nginx());
    let Err(ApplyError::Conflicts(conflicts)) = apply(Some(&alice), &bob, "bob", false, T2) else {
        panic!("expected conflicts");
    };
    assert_eq!(
        conflict_message(&conflicts, Some(&alice)),
        "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .metadata.labels.app\n- .spec.replicas"
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
fn apply_to_the_status_subresource_and_null_removal() {
    let live = applied(
        None,
        &mk_deployment(2, json!({"app": "web", "tier": "a"}), nginx()),
        "kubectl",
        T1,
    );
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "status": {"readyReplicas": 2}});
    let request = ApplyRequest {
        live: Some(&live),
        applied: &status,
        manager: "ctrl",
        force: false,
        now: T2,
        subresource: Some("status"),
    };
    let with_status = server_side_apply(request).unwrap_or_default();
    assert_eq!(with_status["status"], json!({"readyReplicas": 2}));
    let entries = with_status["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ctrl = entries
        .iter()
        .find(|e| e["manager"] == "ctrl")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (ctrl["operation"].clone(), ctrl["subresource"].clone()),
        (json!("Apply"), json!("status"))
    );
    // A null in the applied configuration removes the field and is not owned.
    let config = mk_deployment(2, json!({"app": "web", "tier": null}), nginx());
    let result = applied(Some(&with_status), &config, "kubectl", T3);
    assert_eq!(result["metadata"]["labels"], json!({"app": "web"}));
    let applier = fields_of(&result, "kubectl", "Apply").unwrap_or_default();
    assert_eq!(applier["f:metadata"], json!({"f:labels": {"f:app": {}}}));
}
