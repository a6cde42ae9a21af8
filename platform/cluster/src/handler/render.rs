//! Content negotiation of responses. Everything is JSON; the `Accept` header picks the shape:
//!
//! - `application/json;as=Table;v=v1;g=meta.k8s.io` (kubectl get): a `meta.k8s.io/v1` Table from
//!   `table::to_table`, rows carrying what `includeObject` asks for;
//! - `application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1` (kube-runtime `metadata_watcher`):
//!   only metadata;
//! - anything else: the object itself (protobuf is never answered; clients that list JSON accept it).
use configsync_apimachinery::{IncludeObject, ResourceType, table};
use serde_json::{Value, json};

/// The response shape requested by `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The objects themselves.
    Object,
    /// A server-side printed Table.
    Table(IncludeObject),
    /// `PartialObjectMetadata` / `PartialObjectMetadataList`.
    Metadata,
}

impl Shape {
    /// Pick the shape from `Accept` and the `includeObject` parameter.
    pub fn negotiate(accept: &str, include_object: Option<&str>) -> Self {
        for media in accept.split(',') {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            let has = |wanted: &str| {
                params
                    .iter()
                    .any(|param| param.eq_ignore_ascii_case(wanted))
            };
            if !has("g=meta.k8s.io") {
                continue;
            }
            if has("as=Table") {
                return Self::Table(match include_object {
                    Some("None") => IncludeObject::None,
                    Some("Object") => IncludeObject::Object,
                    _ => IncludeObject::Metadata,
                });
            }
            if has("as=PartialObjectMetadata") || has("as=PartialObjectMetadataList") {
                return Self::Metadata;
            }
        }
        Self::Object
    }
}

/// One object in the requested shape.
pub fn object(shape: Shape, rt: &ResourceType, object: Value, revision: &str) -> Value {
    match shape {
        Shape::Object => object,
        Shape::Table(include) => {
            let objects = std::slice::from_ref(&object);
            let table = table::to_table(rt, objects, include, jiff::Timestamp::now(), revision);
            // A client asking for a Table also accepts the plain object and prints it itself.
            if table.is_object() { table } else { object }
        }
        Shape::Metadata => partial(&object),
    }
}

/// A list in the requested shape; `list_meta` is the list's metadata (resourceVersion, continue, ...).
pub fn list(shape: Shape, rt: &ResourceType, items: Vec<Value>, list_meta: Value) -> Value {
    match shape {
        Shape::Object => json!({
            "kind": rt.list_kind,
            "apiVersion": rt.api_version(),
            "metadata": list_meta,
            "items": items,
        }),
        Shape::Table(include) => {
            let revision = list_meta
                .get("resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let mut table = table::to_table(rt, &items, include, jiff::Timestamp::now(), revision);
            if !table.is_object() {
                return list(Shape::Object, rt, items, list_meta);
            }
            table["metadata"] = list_meta;
            table
        }
        Shape::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": items.iter().map(partial).collect::<Vec<_>>(),
        }),
    }
}

/// The items of a built-in kind's list as kube-apiserver encodes them: without `kind` and `apiVersion` (the
/// list carries them once); custom resources' items keep theirs.
pub fn untyped_items(items: &mut [Value]) {
    for item in items {
        if let Some(object) = item.as_object_mut() {
            object.remove("kind");
            object.remove("apiVersion");
        }
    }
}

/// An object's `PartialObjectMetadata`.
pub fn partial(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::builtin;

    #[test]
    fn negotiates_kubectl_and_kube_runtime_accept_headers() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            Shape::negotiate(kubectl, None),
            Shape::Table(IncludeObject::Metadata)
        );
        assert_eq!(
            Shape::negotiate(kubectl, Some("Object")),
            Shape::Table(IncludeObject::Object)
        );
        let metadata = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(Shape::negotiate(metadata, None), Shape::Metadata);
        assert_eq!(Shape::negotiate("application/json", None), Shape::Object);
        assert_eq!(
            Shape::negotiate("application/vnd.kubernetes.protobuf, */*", None),
            Shape::Object
        );
    }

    #[test]
    fn metadata_lists_carry_only_metadata() {
        let rt = builtin("", "configmaps");
        let items = vec![json!({"metadata": {"name": "a"}, "data": {"secret": "x"}})];
        let rendered = list(Shape::Metadata, &rt, items, json!({"resourceVersion": "5"}));
        assert_eq!(rendered["kind"], "PartialObjectMetadataList");
        assert_eq!(
            rendered["items"][0],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}})
        );
        let plain = list(Shape::Object, &rt, vec![], json!({}));
        assert_eq!(plain["kind"], "ConfigMapList");
    }
}
