//! Vectors from structured-merge-diff's own tests (`typed/merge_test.go`, `merge/leaf_test.go`).
use serde_json::{Value, json};

use super::*;

/// structured-merge-diff's `typed/merge_test.go` vectors for sets and associative lists, played by
/// `metadata.finalizers` and `metadata.ownerReferences` (its two-field keys become one `uid`).
#[test]
fn merge_order_vectors_from_structured_merge_diff() {
    let sets: [(&[&str], &[&str], &[&str]); 16] = [
        (&["a", "b", "c"], &["a", "b"], &["a", "b", "c"]),
        (&["a", "b"], &["a", "b", "c"], &["a", "b", "c"]),
        (&["a", "b", "c"], &[], &["a", "b", "c"]),
        (&[], &["a", "b", "c"], &["a", "b", "c"]),
        (&["a", "b"], &["b", "a"], &["b", "a"]),
        (
            &["a", "b", "c"],
            &["d", "e", "f"],
            &["a", "b", "c", "d", "e", "f"],
        ),
        (
            &["a", "b", "c"],
            &["c", "d", "e", "f"],
            &["a", "b", "c", "d", "e", "f"],
        ),
        (
            &["a", "b", "c", "g", "f"],
            &["c", "d", "e", "f"],
            &["a", "b", "c", "g", "d", "e", "f"],
        ),
        (
            &["a", "b", "c"],
            &["d", "e", "f", "x", "y", "z"],
            &["a", "b", "c", "d", "e", "f", "x", "y", "z"],
        ),
        (
            &["c", "d", "e", "f"],
            &["a", "c", "e"],
            &["a", "c", "d", "e", "f"],
        ),
        (
            &["a", "b", "c", "x", "y", "z"],
            &["d", "e", "f"],
            &["a", "b", "c", "x", "y", "z", "d", "e", "f"],
        ),
        (
            &["a", "b", "c", "x", "y", "z"],
            &["d", "e", "f", "x", "y", "z"],
            &["a", "b", "c", "d", "e", "f", "x", "y", "z"],
        ),
        (
            &["c", "a", "g", "f"],
            &["c", "f", "a", "g"],
            &["c", "f", "a", "g"],
        ),
        (
            &["a", "b", "c", "d"],
            &["d", "e", "f", "a"],
            &["b", "c", "d", "e", "f", "a"],
        ),
        (
            &["c", "d", "e", "f", "g", "h", "i", "j"],
            &["2", "h", "3", "e", "4", "k", "l"],
            &[
                "c", "d", "f", "g", "2", "h", "i", "j", "3", "e", "4", "k", "l",
            ],
        ),
        (
            &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
            &["1", "b", "2", "h", "3", "e", "4", "k", "l"],
            &[
                "a", "1", "b", "c", "d", "f", "g", "2", "h", "i", "j", "3", "e", "4", "k", "l",
            ],
        ),
    ];
    let mk = |field: &str, items: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {field: items}});
    let merged =
        |live: &Value, config: &Value| walk::merge(Some(live), config, walk::Shape::root(config));
    for (live, config, expected) in sets {
        let (live, config) = (
            mk("finalizers", json!(live)),
            mk("finalizers", json!(config)),
        );
        assert_eq!(
            merged(&live, &config),
            mk("finalizers", json!(expected)),
            "{live} + {config}"
        );
    }
    let owners = |uids: &[&str]| {
        mk(
            "ownerReferences",
            uids.iter().map(|uid| json!({"uid": uid})).collect(),
        )
    };
    let lists: [(&[&str], &[&str], &[&str]); 4] = [
        (&["a1", "b1"], &["a1", "a2"], &["a1", "b1", "a2"]),
        (&["b2"], &["a1", "b2", "c3"], &["a1", "b2", "c3"]),
        (&["a1", "b2", "c3"], &["c3", "b2"], &["a1", "c3", "b2"]),
        (&["a1", "b2", "c3"], &["c3", "a1"], &["b2", "c3", "a1"]),
    ];
    for (live, config, expected) in lists {
        assert_eq!(
            merged(&owners(live), &owners(config)),
            owners(expected),
            "{live:?} + {config:?}"
        );
    }
}

/// structured-merge-diff's `merge/leaf_test.go` scenarios, on a custom resource's `spec`.
#[test]
fn leaf_scenarios_from_structured_merge_diff() {
    let widget = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec});
    let bare = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let update = |old: &Value, spec: Value, manager: &str| {
        let mut new = old.clone();
        new["spec"] = spec;
        record_update(Some(old), &mut new, manager, T2, None);
        new
    };

    // apply_update_apply_with_conflict
    let live = applied(
        None,
        &widget(json!({"numeric": 1, "string": "string"})),
        "default",
        T1,
    );
    let live = update(
        &live,
        json!({"numeric": 1, "string": "controller string", "bool": true}),
        "controller",
    );
    let user = widget(json!({"numeric": 2, "string": "user string"}));
    let Err(ApplyError::Conflicts(conflicts)) = apply(Some(&live), &user, "default", false, T3)
    else {
        panic!("expected a conflict");
    };
    let fields: Vec<(&str, &str)> = conflicts
        .iter()
        .map(|c| (c.manager.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(fields, [("controller", ".spec.string")]);
    let forced = apply(Some(&live), &user, "default", true, T3).unwrap_or_default();
    assert_eq!(
        forced["spec"],
        json!({"numeric": 2, "string": "user string", "bool": true})
    );
    let spec_of =
        |manager, operation| fields_of(&forced, manager, operation).map(|f| f["f:spec"].clone());
    assert_eq!(
        spec_of("default", "Apply"),
        Some(json!({"f:numeric": {}, "f:string": {}}))
    );
    assert_eq!(spec_of("controller", "Update"), Some(json!({"f:bool": {}})));

    // update_apply_omits
    let live = applied(None, &widget(json!({"numeric": 2})), "default", T1);
    let live = update(&live, json!({"numeric": 1}), "controller");
    let result = applied(Some(&live), &bare, "default", T3);
    assert_eq!(result["spec"], json!({"numeric": 1}));
    assert_eq!(fields_of(&result, "default", "Apply"), None);
    assert_eq!(
        fields_of(&result, "controller", "Update"),
        Some(json!({"f:spec": {"f:numeric": {}}}))
    );

    // apply_remove_empty_set
    let live = applied(None, &widget(json!({"string": "string"})), "default", T1);
    let result = applied(Some(&live), &bare, "default", T2);
    assert_eq!(result, bare);
}
