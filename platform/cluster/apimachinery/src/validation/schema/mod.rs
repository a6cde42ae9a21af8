//! A custom resource checked against its CRD version's structural `openAPIV3Schema`, as apiextensions-apiserver
//! does on create and update.
//!
//! ```text
//!   body ──► prune_and_default (unknown fields dropped, `default:`s filled, nulls of non-nullable fields dropped)
//!        ──► validate: types, enum, pattern, lengths, bounds, item counts, required, format
//!                      └─► x-kubernetes-validations (CEL, `self`; `oldSelf` rules only on update)
//!                      └─► Invalid { causes } with kube-openapi's wording (`spec.x in body should match '...'`)
//! ```
//! The root's `apiVersion`, `kind` and `metadata` are left to the generic metadata checks. Everything here is a
//! plain function over `serde_json::Value`; nothing panics on user data.
use super::{Causes, Invalid};
use serde_json::{Map, Value};

mod checks;
mod rules;
mod structural;

pub use structural::prune_and_default;

/// Fields of the root that the schema walk leaves alone (kube-apiserver handles them as ObjectMeta/TypeMeta).
const ROOT_META: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// The `openAPIV3Schema` of `version` in a CRD object, if it declares one.
pub fn crd_version_schema<'a>(crd: &'a Value, version: &str) -> Option<&'a Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))?
        .pointer("/schema/openAPIV3Schema")
}

/// Validate a (pruned, defaulted) custom resource of `kind` against `schema`; `old` is the stored object on update.
pub fn validate(
    kind: &str,
    schema: &Value,
    object: &Value,
    old: Option<&Value>,
) -> Result<(), Invalid> {
    let mut causes = Causes::default();
    if let Some(map) = object.as_object() {
        let body: Map<String, Value> = map
            .iter()
            .filter(|(key, _)| !ROOT_META.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let old_body = old.and_then(Value::as_object).map(|old| {
            let filtered: Map<String, Value> = old
                .iter()
                .filter(|(key, _)| !ROOT_META.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            Value::Object(filtered)
        });
        checks::walk(
            &mut causes,
            schema,
            &Value::Object(body),
            old_body.as_ref(),
            "",
        );
    }
    causes.into_result(kind)
}

/// The schema of property `key` of an object node: `properties[key]`, else `additionalProperties` (a schema).
fn property_schema<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema
        .get("properties")
        .and_then(|props| props.get(key))
        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// `parent.key`, or `key` at the root.
fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}
