//! Server-side apply: creation, re-apply, conflicts, force, pruning, shared lists.
use serde_json::json;

use super::*;

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

#[test]
fn docs_example_configmap_managed_fields() {
    // The object from "Server-Side Apply: Field Management" in the Kubernetes docs.
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": "some value"}});
    let created = applied(None, &config, "kubectl", "2010-10-10T00:00:00Z");
    let expected = json!([{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2010-10-10T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:test-label": {}}}, "f:data": {"f:key": {}}}
    }]);
    assert_eq!(created.pointer("/metadata/managedFields"), Some(&expected));
}
