use serde_json::{Value, json};

use super::*;

mod go_vectors;
mod strategic_cases;

fn mk_configmap() -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"app": "web", "tier": "front"}},
        "data": {"a": "1", "b": "2"}
    })
}

#[test]
fn json_patch_applies_operations() {
    let patch = json!([
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "10"},
        {"op": "add", "path": "/data/c", "value": "3"},
        {"op": "remove", "path": "/metadata/labels/tier"},
        {"op": "copy", "from": "/data/b", "path": "/data/d"},
        {"op": "move", "from": "/data/b", "path": "/data/e"}
    ]);
    let patched = apply_json_patch(&mk_configmap(), &patch).ok();
    let expected = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"app": "web"}},
        "data": {"a": "10", "c": "3", "d": "2", "e": "2"}
    });
    assert_eq!(patched, Some(expected));
}

fn json_patch_error(patch: Value) -> String {
    match apply_json_patch(&mk_configmap(), &patch) {
        Ok(patched) => panic!("{patch} should fail, got {patched}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn json_patch_errors() {
    let failed_test = json_patch_error(json!([{"op": "test", "path": "/data/a", "value": "2"}]));
    assert_eq!(
        failed_test,
        "the JSON patch could not be applied: operation '/0' failed at path '/data/a': value did not match"
    );
    let bad_path =
        json_patch_error(json!([{"op": "replace", "path": "/data/missing/x", "value": 1}]));
    assert!(
        bad_path.contains("failed at path '/data/missing/x': path is invalid"),
        "{bad_path}"
    );
    let bad_remove = json_patch_error(
        json!([{"op": "add", "path": "/x", "value": 1}, {"op": "remove", "path": "/nope"}]),
    );
    assert!(
        bad_remove.contains("operation '/1' failed at path '/nope'"),
        "{bad_remove}"
    );
    let not_a_list = json_patch_error(json!({"op": "add", "path": "/x", "value": 1}));
    assert!(
        not_a_list.starts_with("invalid patch: malformed JSON patch"),
        "{not_a_list}"
    );
    let unknown_op = json_patch_error(json!([{"op": "frobnicate", "path": "/x"}]));
    assert!(
        unknown_op.starts_with("invalid patch: malformed JSON patch"),
        "{unknown_op}"
    );
    let whole = json_patch_error(json!([{"op": "replace", "path": "", "value": [1]}]));
    assert!(
        whole.contains("the result is an array, not an object"),
        "{whole}"
    );
}

#[test]
fn merge_patch_merges_maps_and_replaces_lists() {
    let object = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"list": [1, 2], "x": {"y": 1}}});
    let patch =
        json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"list": [3], "x": null}});
    let expected = json!({"metadata": {"labels": {"b": "2", "c": "3"}}, "spec": {"list": [3]}});
    assert_eq!(apply_merge_patch(&object, &patch).ok(), Some(expected));
}

#[test]
fn patches_of_the_wrong_json_type_are_errors() {
    let object = mk_configmap();
    for patch in [json!([1]), json!("x"), json!(3), json!(null), json!(true)] {
        let merge = apply_merge_patch(&object, &patch);
        assert!(
            matches!(merge, Err(PatchError::InvalidPatch(_))),
            "merge {patch}: {merge:?}"
        );
        let strategic = apply_strategic_merge_patch(&object, &patch);
        assert!(
            matches!(strategic, Err(PatchError::InvalidPatch(_))),
            "smp {patch}: {strategic:?}"
        );
    }
    let message = apply_merge_patch(&object, &json!([1]))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        message.as_deref(),
        Some("invalid patch: a merge patch must be a JSON object, got an array")
    );
    let not_object = apply_strategic_merge_patch(&json!([1]), &json!({}));
    assert!(matches!(not_object, Err(PatchError::InvalidPatch(_))));
}

#[test]
fn strategic_merge_is_offered_for_built_in_kinds_only() {
    assert!(supports_strategic_merge(
        &json!({"apiVersion": "v1", "kind": "ConfigMap"})
    ));
    assert!(supports_strategic_merge(
        &json!({"apiVersion": "apps/v1", "kind": "Deployment"})
    ));
    assert!(!supports_strategic_merge(
        &json!({"apiVersion": "configsync.dev/v1", "kind": "ConfigSync"})
    ));
}

#[test]
fn odd_patches_give_results_or_errors_never_panics() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"finalizers": ["a"], "labels": {"x": "1"}},
        "spec": {"containers": [{"name": "c", "env": [{"name": "E"}], "ports": [{"containerPort": 80}]}]}});
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
        json!([{"$patch": 3}]),
        json!({"$patch": "delete"}),
    ];
    let keys = [
        "spec",
        "containers",
        "env",
        "ports",
        "finalizers",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$deleteFromPrimitiveList/finalizers",
        "$setElementOrder/finalizers",
    ];
    for key in keys {
        for value in &odd_values {
            for patch in [
                json!({key: value}),
                json!({"metadata": {key: value}}),
                json!({"spec": {key: value}}),
                json!({"spec": {"containers": [{"name": "c", key: value}]}}),
            ] {
                for result in [
                    apply_strategic_merge_patch(&pod, &patch),
                    apply_merge_patch(&pod, &patch),
                    apply_json_patch(&pod, &patch),
                ] {
                    assert!(
                        result.as_ref().map_or(true, Value::is_object),
                        "{patch}: {result:?}"
                    );
                }
            }
        }
    }
}
