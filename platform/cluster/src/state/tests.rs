//! State semantics: metadata, generation, status isolation, conflicts, finalizers, namespaces.
use super::*;
use crate::meta;
use configsync_apimachinery::registry::builtin_resources;
use serde_json::json;

fn mk_state() -> State {
    State::new(builtin_resources(), 100)
}

fn rt(state: &State, group: &str, plural: &str) -> ResourceType {
    state.resolve(group, "v1", plural).expect("served type")
}

fn request<'a>(rt: &'a ResourceType, namespace: Option<&'a str>) -> WriteRequest<'a> {
    WriteRequest {
        rt,
        namespace,
        subresource: None,
        manager: "test",
        dry_run: false,
        strict_fields: false,
    }
}

fn mk_deployment(name: &str, replicas: i64) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            },
        },
        "status": {"replicas": 9},
    })
}

#[test]
fn create_sets_server_metadata_and_drops_status() {
    let state = mk_state();
    let deployments = rt(&state, "apps", "deployments");
    let created = state
        .create(
            &request(&deployments, Some("default")),
            mk_deployment("web", 1),
        )
        .expect("create");
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(
        (created["apiVersion"].as_str(), created["kind"].as_str()),
        (Some("apps/v1"), Some("Deployment"))
    );
    assert!(uuid::Uuid::parse_str(meta::meta_str(&created, "uid").expect("uid")).is_ok());
    let created_at = meta::meta_str(&created, "creationTimestamp").expect("timestamp");
    assert!(
        created_at.ends_with('Z') && !created_at.contains('.'),
        "{created_at}"
    );
    assert_eq!(
        created.get("status"),
        Some(&json!({})),
        "the request's status is dropped on create; the empty status struct is written"
    );
    let duplicate = state
        .create(
            &request(&deployments, Some("default")),
            mk_deployment("web", 1),
        )
        .expect_err("dup");
    assert_eq!((duplicate.code, duplicate.reason), (409, "AlreadyExists"));
}

#[test]
fn generate_name_and_missing_namespaces() {
    let state = mk_state();
    let configmaps = rt(&state, "", "configmaps");
    let generated = json!({"metadata": {"generateName": "cfg-"}});
    let created = state
        .create(&request(&configmaps, Some("default")), generated)
        .expect("create");
    assert!(meta::name(&created).starts_with("cfg-") && meta::name(&created).len() == 9);
    let missing = state
        .create(
            &request(&configmaps, Some("nope")),
            json!({"metadata": {"name": "a"}}),
        )
        .expect_err("404");
    assert_eq!(missing.message, "namespaces \"nope\" not found");
    let nameless = state
        .create(
            &request(&configmaps, Some("default")),
            json!({"metadata": {}}),
        )
        .expect_err("422");
    assert_eq!(nameless.code, 422);
}

#[test]
fn generation_is_kept_only_for_kinds_whose_strategy_sets_it() {
    let state = mk_state();
    let configmaps = rt(&state, "", "configmaps");
    let req = request(&configmaps, Some("default"));
    let created = state
        .create(
            &req,
            json!({"metadata": {"name": "c", "generation": 7}, "data": {"k": "v"}}),
        )
        .expect("create");
    assert!(created["metadata"].get("generation").is_none(), "{created}");
    let change = |old: &Value| {
        let mut new = old.clone();
        new["data"]["k"] = json!("w");
        Ok(new)
    };
    let (changed, _) = state
        .write(&req, "c", Mutation::Patch(&change))
        .expect("patch");
    assert!(changed["metadata"].get("generation").is_none(), "{changed}");
}

#[test]
fn generation_bumps_on_spec_changes_only() {
    let state = mk_state();
    let deployments = rt(&state, "apps", "deployments");
    let req = request(&deployments, Some("default"));
    state.create(&req, mk_deployment("web", 1)).expect("create");
    let relabel = |old: &Value| {
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"a": "b"});
        Ok(new)
    };
    let (labelled, _) = state
        .write(&req, "web", Mutation::Patch(&relabel))
        .expect("label");
    assert_eq!(labelled["metadata"]["generation"], 1);
    let (scaled, _) = state
        .write(&req, "web", Mutation::Replace(mk_deployment("web", 3)))
        .expect("scale");
    assert_eq!(scaled["metadata"]["generation"], 2);
    assert_eq!(
        scaled.get("status"),
        Some(&json!({})),
        "PUT on the main resource keeps the stored (empty) status"
    );
    let status_req = WriteRequest {
        subresource: Some("status"),
        ..req
    };
    let mut status_body = mk_deployment("web", 7);
    status_body["status"] = json!({"readyReplicas": 3});
    let (with_status, _) = state
        .write(&status_req, "web", Mutation::Replace(status_body))
        .expect("status");
    assert_eq!(with_status["status"], json!({"readyReplicas": 3}));
    assert_eq!(
        with_status["spec"]["replicas"], 3,
        "a status write changes only status"
    );
    assert_eq!(with_status["metadata"]["generation"], 2);
}

/// kube-apiserver's Deployment strategy bumps the generation on an annotation change too (the controller copies
/// annotations onto ReplicaSets); a StatefulSet's counts only its spec. Seen on a real v1.37 apiserver.
#[test]
fn annotating_a_deployment_bumps_its_generation_but_not_a_statefulsets() {
    let state = mk_state();
    let annotate = |old: &Value| {
        let mut new = old.clone();
        new["metadata"]["annotations"] = json!({"note": "hello"});
        Ok(new)
    };
    let deployments = rt(&state, "apps", "deployments");
    let req = request(&deployments, Some("default"));
    state.create(&req, mk_deployment("web", 1)).expect("create");
    let (annotated, _) = state
        .write(&req, "web", Mutation::Patch(&annotate))
        .expect("annotate");
    assert_eq!(annotated["metadata"]["generation"], 2);

    let statefulsets = rt(&state, "apps", "statefulsets");
    let req = request(&statefulsets, Some("default"));
    let mut sts = mk_deployment("db", 1);
    sts["kind"] = json!("StatefulSet");
    state.create(&req, sts).expect("create");
    let (annotated, _) = state
        .write(&req, "db", Mutation::Patch(&annotate))
        .expect("annotate");
    assert_eq!(annotated["metadata"]["generation"], 1);
}

#[test]
fn stale_resource_versions_conflict_and_noops_write_nothing() {
    let state = mk_state();
    let deployments = rt(&state, "apps", "deployments");
    let req = request(&deployments, Some("default"));
    let created = state.create(&req, mk_deployment("x", 1)).expect("create");
    let mut stale = created.clone();
    state
        .write(&req, "x", Mutation::Replace(mk_deployment("x", 2)))
        .expect("update");
    stale["spec"]["replicas"] = json!(5);
    let conflict = state
        .write(&req, "x", Mutation::Replace(stale))
        .expect_err("stale");
    assert_eq!(
        conflict.message,
        "Operation cannot be fulfilled on deployments.apps \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let before = state.revision();
    state
        .write(&req, "x", Mutation::Replace(mk_deployment("x", 2)))
        .expect("noop");
    assert_eq!(
        state.revision(),
        before,
        "an update that changes nothing is not written"
    );
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let state = mk_state();
    let configmaps = rt(&state, "", "configmaps");
    let req = request(&configmaps, Some("default"));
    state
        .create(
            &req,
            json!({"metadata": {"name": "held", "finalizers": ["example.com/x"]}}),
        )
        .expect("create");
    let pending = state
        .delete(&req, "held", &DeleteOptions::default())
        .expect("delete");
    assert!(meta::is_deleting(&pending));
    assert!(
        pending["metadata"].get("generation").is_none(),
        "ConfigMaps carry no generation, even while deleting"
    );
    assert!(
        state.get(&configmaps, Some("default"), "held").is_ok(),
        "kept while finalizers remain"
    );
    let add = |old: &Value| {
        let mut new = old.clone();
        new["metadata"]["finalizers"] = json!(["example.com/x", "example.com/y"]);
        Ok(new)
    };
    assert_eq!(
        state
            .write(&req, "held", Mutation::Patch(&add))
            .expect_err("no new finalizers")
            .code,
        422
    );
    let clear = |old: &Value| {
        let mut new = old.clone();
        new["metadata"]["finalizers"] = json!([]);
        Ok(new)
    };
    state
        .write(&req, "held", Mutation::Patch(&clear))
        .expect("clear finalizers");
    assert_eq!(
        state
            .get(&configmaps, Some("default"), "held")
            .expect_err("gone")
            .code,
        404
    );
}

#[test]
fn immediate_delete_returns_status_and_checks_preconditions() {
    let state = mk_state();
    let configmaps = rt(&state, "", "configmaps");
    let req = request(&configmaps, Some("default"));
    let created = state
        .create(&req, json!({"metadata": {"name": "c"}}))
        .expect("create");
    let wrong = DeleteOptions {
        uid: Some("other".into()),
        ..Default::default()
    };
    assert_eq!(
        state
            .delete(&req, "c", &wrong)
            .expect_err("precondition")
            .code,
        409
    );
    let status = state
        .delete(&req, "c", &DeleteOptions::default())
        .expect("delete");
    assert_eq!(
        (status["kind"].as_str(), status["status"].as_str()),
        (Some("Status"), Some("Success"))
    );
    assert_eq!(status["details"]["uid"], created["metadata"]["uid"]);
    let pods = rt(&state, "", "pods");
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    state
        .create(&request(&pods, Some("default")), pod)
        .expect("pod");
    let deleted = state
        .delete(
            &request(&pods, Some("default")),
            "p",
            &DeleteOptions::default(),
        )
        .expect("delete");
    assert_eq!(
        deleted["kind"], "Pod",
        "pods answer with the deleted object"
    );
}

#[test]
fn namespace_deletion_removes_its_objects() {
    let state = mk_state();
    let (namespaces, configmaps) = (rt(&state, "", "namespaces"), rt(&state, "", "configmaps"));
    state
        .create(
            &request(&namespaces, None),
            json!({"metadata": {"name": "team"}}),
        )
        .expect("ns");
    let in_team = request(&configmaps, Some("team"));
    state
        .create(&in_team, json!({"metadata": {"name": "free"}}))
        .expect("cm");
    state
        .create(
            &in_team,
            json!({"metadata": {"name": "held", "finalizers": ["x/y"]}}),
        )
        .expect("cm");
    let terminating = state
        .delete(
            &request(&namespaces, None),
            "team",
            &DeleteOptions::default(),
        )
        .expect("delete");
    assert_eq!(terminating["status"]["phase"], "Terminating");
    assert_eq!(
        state
            .get(&configmaps, Some("team"), "free")
            .expect_err("deleted")
            .code,
        404
    );
    let refused = state
        .create(&in_team, json!({"metadata": {"name": "new"}}))
        .expect_err("terminating");
    assert_eq!(refused.code, 403);
    let clear = |old: &Value| {
        let mut new = old.clone();
        new["metadata"]["finalizers"] = json!(null);
        Ok(new)
    };
    state
        .write(&in_team, "held", Mutation::Patch(&clear))
        .expect("finalize");
    assert_eq!(
        state
            .get(&namespaces, None, "team")
            .expect_err("namespace gone")
            .code,
        404
    );
}

/// A Deployment `web` and a ReplicaSet `web-1` it owns, in `default`.
fn mk_owner_and_dependent(state: &State) -> (ResourceType, ResourceType) {
    let (deployments, replicasets) = (
        rt(state, "apps", "deployments"),
        rt(state, "apps", "replicasets"),
    );
    let owner = state
        .create(
            &request(&deployments, Some("default")),
            mk_deployment("web", 1),
        )
        .expect("owner");
    let mut owned = mk_deployment("web-1", 1);
    owned["metadata"]["ownerReferences"] = json!([{"uid": owner["metadata"]["uid"], "kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}]);
    state
        .create(&request(&replicasets, Some("default")), owned)
        .expect("dependent");
    (deployments, replicasets)
}

fn delete_with(state: &State, rt: &ResourceType, name: &str, policy: &str) -> Value {
    let options = DeleteOptions {
        propagation_policy: Some(policy.into()),
        ..Default::default()
    };
    state
        .delete(&request(rt, Some("default")), name, &options)
        .expect("delete")
}

#[test]
fn background_deletion_leaves_dependents_to_the_garbage_collector() {
    let state = mk_state();
    let (deployments, replicasets) = mk_owner_and_dependent(&state);
    delete_with(&state, &deployments, "web", "Background");
    assert_eq!(
        state
            .get(&deployments, Some("default"), "web")
            .expect_err("owner removed")
            .code,
        404
    );
    let dependent = state
        .get(&replicasets, Some("default"), "web-1")
        .expect("the request does not collect dependents");
    assert!(!meta::is_deleting(&dependent));
}

#[test]
fn orphan_and_foreground_deletion_wait_on_their_finalizer() {
    for (policy, finalizer) in [("Orphan", "orphan"), ("Foreground", "foregroundDeletion")] {
        let state = mk_state();
        let (deployments, replicasets) = mk_owner_and_dependent(&state);
        let pending = delete_with(&state, &deployments, "web", policy);
        assert_eq!(
            pending["metadata"]["finalizers"],
            json!([finalizer]),
            "{policy}"
        );
        assert!(meta::is_deleting(&pending), "{policy}");
        let dependent = state
            .get(&replicasets, Some("default"), "web-1")
            .expect("dependent untouched");
        assert!(
            dependent["metadata"]["ownerReferences"].is_array(),
            "{policy}"
        );
        // The garbage collector's last step: removing the finalizer completes the deletion.
        let release = |old: &Value| {
            let mut new = old.clone();
            new["metadata"]["finalizers"] = json!([]);
            Ok(new)
        };
        state
            .write(
                &request(&deployments, Some("default")),
                "web",
                Mutation::Patch(&release),
            )
            .expect("release");
        assert_eq!(
            state
                .get(&deployments, Some("default"), "web")
                .expect_err("owner gone")
                .code,
            404,
            "{policy}"
        );
    }
}

#[test]
fn propagation_replaces_the_other_deletion_finalizer_and_keeps_the_rest() {
    let state = mk_state();
    let deployments = rt(&state, "apps", "deployments");
    let mut held = mk_deployment("web", 1);
    held["metadata"]["finalizers"] = json!(["example.com/hold", "orphan"]);
    state
        .create(&request(&deployments, Some("default")), held)
        .expect("create");
    let pending = delete_with(&state, &deployments, "web", "Foreground");
    assert_eq!(
        pending["metadata"]["finalizers"],
        json!(["example.com/hold", "foregroundDeletion"])
    );
}

#[test]
fn kinds_without_collected_dependents_are_deleted_at_once_under_any_policy() {
    let state = mk_state();
    let configmaps = rt(&state, "", "configmaps");
    state
        .create(
            &request(&configmaps, Some("default")),
            json!({"metadata": {"name": "c"}}),
        )
        .expect("create");
    delete_with(&state, &configmaps, "c", "Foreground");
    assert_eq!(
        state
            .get(&configmaps, Some("default"), "c")
            .expect_err("removed")
            .code,
        404
    );
}

#[test]
fn secrets_store_base64_data() {
    let state = mk_state();
    let secrets = rt(&state, "", "secrets");
    let secret = json!({"metadata": {"name": "s"}, "stringData": {"password": "1f2d1e2e67df"}});
    let created = state
        .create(&request(&secrets, Some("default")), secret)
        .expect("create");
    assert_eq!(created["data"]["password"], "MWYyZDFlMmU2N2Rm");
    assert!(created.get("stringData").is_none());
}

#[test]
fn dry_run_stores_nothing() {
    let state = mk_state();
    let configmaps = rt(&state, "", "configmaps");
    let dry = WriteRequest {
        dry_run: true,
        ..request(&configmaps, Some("default"))
    };
    let created = state
        .create(&dry, json!({"metadata": {"name": "d"}}))
        .expect("dry create");
    assert_eq!(meta::name(&created), "d");
    assert_eq!(
        state
            .get(&configmaps, Some("default"), "d")
            .expect_err("not stored")
            .code,
        404
    );
}
