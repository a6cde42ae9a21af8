//! Vectors from `k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go` ("... and preserve order",
//! "set elements order ... with server-only items"): the three-way patch applied to `Current` must give
//! `Result`. Go's `mergingList` (merge key `name`) is played by a pod's `containers`, and
//! `mergingIntList` (a set of primitives) by `metadata.finalizers`.
use serde_json::{Value, json};

use super::super::*;

fn mk_pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": containers}})
}

fn named(names: &[&str]) -> Value {
    names.iter().map(|name| json!({"name": name})).collect()
}

/// `(description, current containers, patch of spec, result containers)`.
fn merging_list_cases() -> Vec<(&'static str, Value, Value, Value)> {
    let one_two_three = json!([{"name": "1", "other": "a"}, {"name": "2", "value": "2", "other": "b"},
        {"name": "3", "value": "3"}]);
    vec![
        (
            "add multiple items in a list and preserve order",
            json!([{"name": "1", "other": "a"}, {"name": "2", "value": "2", "other": "b"}]),
            json!({"$setElementOrder/containers": named(&["1", "4", "2", "3"]),
                "containers": [{"name": "4", "value": "4"}, {"name": "3", "value": "3"}]}),
            json!([{"name": "1", "other": "a"}, {"name": "4", "value": "4"},
                {"name": "2", "value": "2", "other": "b"}, {"name": "3", "value": "3"}]),
        ),
        (
            "delete an item in a list and preserve order",
            one_two_three.clone(),
            json!({"$setElementOrder/containers": named(&["2", "1"]),
                "containers": [{"name": "3", "$patch": "delete"}]}),
            json!([{"name": "2", "value": "2", "other": "b"}, {"name": "1", "other": "a"}]),
        ),
        (
            "change an item in a list and preserve order",
            one_two_three.clone(),
            json!({"$setElementOrder/containers": named(&["2", "3", "1"]),
                "containers": [{"name": "3", "value": "x"}]}),
            json!([{"name": "2", "value": "2", "other": "b"}, {"name": "3", "value": "x"},
                {"name": "1", "other": "a"}]),
        ),
        (
            "add and delete an item in a list and preserve order",
            one_two_three,
            json!({"$setElementOrder/containers": named(&["4", "2", "1"]),
                "containers": [{"name": "4", "value": "4"}, {"name": "3", "$patch": "delete"}]}),
            json!([{"name": "4", "value": "4"}, {"name": "2", "value": "2", "other": "b"},
                {"name": "1", "other": "a"}]),
        ),
        (
            "set elements order in a list with server-only items",
            named(&["1", "3", "4", "2", "9"]),
            json!({"$setElementOrder/containers": named(&["4", "2", "3", "1"])}),
            named(&["4", "2", "3", "1", "9"]),
        ),
        (
            "set elements order in a list with server-only items 2",
            named(&["1", "2", "9", "3", "4"]),
            json!({"$setElementOrder/containers": named(&["2", "1", "4", "3"])}),
            named(&["2", "1", "9", "4", "3"]),
        ),
        (
            "set elements order in a list with server-only items 3",
            named(&["1", "2", "7", "9", "8", "3", "4"]),
            json!({"$setElementOrder/containers": named(&["2", "1", "4", "3"])}),
            named(&["2", "1", "7", "9", "8", "4", "3"]),
        ),
    ]
}

#[test]
fn merging_list_vectors() {
    for (description, current, patch, result) in merging_list_cases() {
        let patched = apply_strategic_merge_patch(&mk_pod(current), &json!({"spec": patch}));
        assert_eq!(patched.ok(), Some(mk_pod(result)), "{description}");
    }
}

fn mk_secret(finalizers: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"finalizers": finalizers}})
}

#[test]
fn merging_int_list_vectors() {
    let cases: [(&str, &[&str], Value, &[&str]); 7] = [
        (
            "add an item",
            &["1", "2"],
            json!({"$setElementOrder/finalizers": ["3", "1", "2"], "finalizers": ["3"]}),
            &["3", "1", "2"],
        ),
        (
            "add multiple items",
            &["1", "2"],
            json!({"$setElementOrder/finalizers": ["1", "4", "2", "3"], "finalizers": ["4", "3"]}),
            &["1", "4", "2", "3"],
        ),
        (
            "delete an item",
            &["1", "2", "3"],
            json!({"$setElementOrder/finalizers": ["2", "1"], "$deleteFromPrimitiveList/finalizers": ["3"]}),
            &["2", "1"],
        ),
        (
            "add and delete an item",
            &["1", "2", "3"],
            json!({"$setElementOrder/finalizers": ["4", "2", "1"], "finalizers": ["4"],
                "$deleteFromPrimitiveList/finalizers": ["3"]}),
            &["4", "2", "1"],
        ),
        (
            "set elements order with server-only items",
            &["1", "3", "4", "2", "9"],
            json!({"$setElementOrder/finalizers": ["4", "2", "3", "1"]}),
            &["4", "2", "3", "1", "9"],
        ),
        (
            "set elements order with server-only items 2",
            &["1", "2", "9", "3", "4"],
            json!({"$setElementOrder/finalizers": ["2", "1", "4", "3"]}),
            &["2", "1", "9", "4", "3"],
        ),
        (
            "set elements order with server-only items 3",
            &["1", "2", "7", "9", "8", "3", "4"],
            json!({"$setElementOrder/finalizers": ["2", "1", "4", "3"]}),
            &["2", "1", "7", "9", "8", "4", "3"],
        ),
    ];
    for (description, current, patch, result) in cases {
        let patched = apply_strategic_merge_patch(&mk_secret(current), &json!({"metadata": patch}));
        assert_eq!(patched.ok(), Some(mk_secret(result)), "{description}");
    }
}

fn owners(uids: &[&str]) -> Value {
    uids.iter().map(|uid| json!({"uid": uid})).collect()
}

/// The "retainKeys map ..." vectors, with `metadata` playing `retainKeysMap`: `finalizers` is its merging
/// int list, `ownerReferences` (merge key `uid`) its merging list and `labels` its simple map.
#[test]
fn retain_keys_vectors() {
    let cases = [
        (
            "deletes a field and clears a field",
            json!({"name": "foo", "value": "bar", "other": "a"}),
            json!({"$retainKeys": ["name"], "value": null}),
            json!({"name": "foo"}),
        ),
        (
            "adds a field in a nested map",
            json!({"name": "foo", "value": "bar", "labels": {"key1": "a", "key3": "c"}}),
            json!({"$retainKeys": ["name", "labels", "value"], "labels": {"key2": "b"}}),
            json!({"name": "foo", "value": "bar", "labels": {"key1": "a", "key2": "b", "key3": "c"}}),
        ),
        (
            "adds an item in nested merging int list",
            json!({"name": "foo", "finalizers": ["1", "2", "3"]}),
            json!({"$setElementOrder/finalizers": ["1", "2", "4"], "$retainKeys": ["finalizers", "name"],
                "finalizers": ["4"]}),
            json!({"name": "foo", "finalizers": ["1", "2", "4", "3"]}),
        ),
        (
            "adds an item and deletes an item in nested merging int list",
            json!({"name": "foo", "finalizers": ["1", "2", "3", "4"]}),
            json!({"$retainKeys": ["finalizers", "name"], "finalizers": ["5"],
                "$deleteFromPrimitiveList/finalizers": ["2"], "$setElementOrder/finalizers": ["1", "3", "5"]}),
            json!({"name": "foo", "finalizers": ["1", "3", "5", "4"]}),
        ),
        (
            "deletes nested merging int list",
            json!({"name": "foo", "finalizers": ["1", "2", "3"]}),
            json!({"$retainKeys": ["name"], "finalizers": null}),
            json!({"name": "foo"}),
        ),
        (
            "adds an item in nested merging list",
            json!({"name": "foo", "ownerReferences": owners(&["a", "b", "x"])}),
            json!({"$retainKeys": ["ownerReferences", "name"],
                "$setElementOrder/ownerReferences": owners(&["a", "b", "c"]), "ownerReferences": owners(&["c"])}),
            json!({"name": "foo", "ownerReferences": owners(&["a", "b", "c", "x"])}),
        ),
    ];
    for (description, current, patch, result) in cases {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": current});
        let patched = apply_strategic_merge_patch(&object, &json!({"metadata": patch}));
        let expected = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": result});
        assert_eq!(patched.ok(), Some(expected), "{description}");
    }
}
