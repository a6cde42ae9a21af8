//! API machinery targets: protobuf bodies, selectors, the four patch flavours, tables, CRDs, validation.
use std::sync::OnceLock;

use configsync_apimachinery::apply::{ApplyRequest, record_update, server_side_apply as apply};
use configsync_apimachinery::patch::{
    apply_json_patch, apply_merge_patch, apply_strategic_merge_patch,
};
use configsync_apimachinery::selector::label::{validate_key, validate_label_value};
use configsync_apimachinery::selector::{FieldSelector, LabelSelector};
use configsync_apimachinery::{
    IncludeObject, ResourceType, protobuf, registry, validation as rules,
};
use serde_json::{Value, json};

use super::{NOW, json_pair, mk_deployment, now, text};

fn builtin() -> &'static [ResourceType] {
    static BUILTIN: OnceLock<Vec<ResourceType>> = OnceLock::new();
    BUILTIN.get_or_init(registry::builtin_resources)
}

/// Decode an arbitrary request body as Kubernetes protobuf; a decoded body is an object naming its kind.
pub fn protobuf_decode(data: &[u8]) {
    if let Ok(object) = protobuf::decode(data) {
        assert!(
            object
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| !k.is_empty())
        );
        assert!(
            serde_json::to_vec(&object).is_ok(),
            "decoded object does not serialize"
        );
    }
}

/// Parse a `labelSelector`; every parsed key and value passes the label syntax checks.
pub fn label_selector(data: &[u8]) {
    let Ok(selector) = LabelSelector::parse(&text(data)) else {
        return;
    };
    for requirement in selector.requirements() {
        assert!(
            validate_key(&requirement.key).is_ok(),
            "accepted key {:?}",
            requirement.key
        );
        for value in &requirement.values {
            assert!(
                validate_label_value(value).is_ok(),
                "accepted value {value:?}"
            );
        }
    }
    let _ = selector.matches_object(&mk_deployment());
}

/// Parse a `fieldSelector` and match it against an object.
pub fn field_selector(data: &[u8]) {
    if let Ok(selector) = FieldSelector::parse(&text(data)) {
        let _ = selector.matches_object(&mk_deployment());
    }
}

/// RFC 6902 JSON patch on `object \0 patch`; a success is an object.
pub fn json_patch(data: &[u8]) {
    if let Some((object, patch)) = json_pair(data)
        && let Ok(patched) = apply_json_patch(&object, &patch)
    {
        assert!(patched.is_object());
    }
}

/// RFC 7386 merge patch on `object \0 patch`: a success is an object, and the patch is idempotent.
pub fn merge_patch(data: &[u8]) {
    let Some((object, patch)) = json_pair(data) else {
        return;
    };
    if let Ok(once) = apply_merge_patch(&object, &patch) {
        let twice = apply_merge_patch(&once, &patch).ok();
        assert_eq!(twice.as_ref(), Some(&once), "merge patch is not idempotent");
    }
}

/// Strategic merge patch on `object \0 patch`; a success is an object.
pub fn strategic_merge_patch(data: &[u8]) {
    if let Some((object, patch)) = json_pair(data)
        && let Ok(patched) = apply_strategic_merge_patch(&object, &patch)
    {
        assert!(patched.is_object());
    }
}

/// Server-side apply of `live \0 applied` (with and without force): a success can be re-applied by the same
/// manager without conflicts; then an update is recorded over the result.
pub fn server_side_apply(data: &[u8]) {
    let Some((live, applied)) = json_pair(data) else {
        return;
    };
    for force in [false, true] {
        let request = ApplyRequest {
            live: Some(&live),
            applied: &applied,
            manager: "fuzz",
            force,
            now: NOW,
            subresource: None,
        };
        if let Ok(mut merged) = apply(request) {
            assert!(merged.is_object());
            let again = ApplyRequest {
                live: Some(&merged),
                force: false,
                ..request
            };
            if let Err(error) = apply(again) {
                panic!("re-applying the same configuration by the same manager failed: {error}");
            }
            record_update(Some(&live), &mut merged, "kubectl-edit", NOW, None);
        }
        let create = ApplyRequest {
            live: None,
            ..request
        };
        let _ = apply(create);
    }
}

/// Every built-in printer on an arbitrary object: one row, as many cells as columns.
pub fn table(data: &[u8]) {
    let Ok(object) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for resource in builtin() {
        check_table(resource, &object);
    }
}

fn check_table(resource: &ResourceType, object: &Value) {
    let objects = std::slice::from_ref(object);
    let table = configsync_apimachinery::table::to_table(
        resource,
        objects,
        IncludeObject::Object,
        now(),
        "1",
    );
    let columns = table["columnDefinitions"].as_array().map_or(0, Vec::len);
    let rows = table["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{} table of one object", resource.kind);
    let cells = rows
        .first()
        .and_then(|r| r["cells"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(
        cells, columns,
        "{} row has {cells} cells for {columns} columns",
        resource.kind
    );
}

/// A CRD object: the resource types it serves, their printer columns on the CRD itself, its status and its
/// validation.
pub fn crd_registry(data: &[u8]) {
    let Ok(crd) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(resources) = registry::resources_from_crd(&crd) {
        for resource in &resources {
            check_table(resource, &crd);
            check_table(
                resource,
                &json!({"metadata": {"name": "x"}, "spec": crd["spec"]}),
            );
        }
    }
    let _ = registry::crd_status(&crd, NOW);
    if let Some(resource) = builtin()
        .iter()
        .find(|r| r.kind == "CustomResourceDefinition")
    {
        let _ = rules::validate(resource, &crd, None);
    }
}

/// Defaulting and validation of an arbitrary object as every built-in kind; defaulting is idempotent.
pub fn validation(data: &[u8]) {
    let Ok(object) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for resource in builtin() {
        let mut defaulted = object.clone();
        rules::apply_defaults(resource, &mut defaulted);
        let mut again = defaulted.clone();
        rules::apply_defaults(resource, &mut again);
        assert_eq!(
            again, defaulted,
            "{} defaulting is not idempotent",
            resource.kind
        );
        if let Err(invalid) = rules::validate(resource, &defaulted, Some(&object)) {
            let _ = invalid.status_message(&resource.group, "x");
        }
        let _ = rules::validate(resource, &defaulted, None);
    }
}
