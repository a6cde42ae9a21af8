//! Pruning and defaulting (`structuralpruning.Prune`, `structuraldefaulting.Default`,
//! `PruneNonNullableNullsWithoutDefaults`): what the stored object looks like before it is validated.
use super::{ROOT_META, flag, property_schema};
use serde_json::Value;

/// Drop fields the schema does not know (unless `x-kubernetes-preserve-unknown-fields`), fill `default:`s of missing
/// properties, and drop (or default) `null`s of non-nullable properties. The root's TypeMeta/ObjectMeta are kept.
/// Returns the paths of the dropped unknown fields (`spec.junk`, `spec.items[0].extra`), which strict field
/// validation (`fieldValidation=Strict`) reports instead of dropping them silently.
pub fn prune_and_default(schema: &Value, object: &mut Value) -> Vec<String> {
    let Some(map) = object.as_object_mut() else {
        return Vec::new();
    };
    let kept: Vec<(String, Value)> = ROOT_META
        .iter()
        .filter_map(|key| map.remove(*key).map(|value| ((*key).to_owned(), value)))
        .collect();
    let mut unknown = Vec::new();
    prune(schema, object, "", &mut unknown);
    default(schema, object);
    if let Some(map) = object.as_object_mut() {
        map.extend(kept);
    }
    unknown
}

fn prune(schema: &Value, value: &mut Value, path: &str, unknown: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            map.retain(|key, _| {
                let known = preserve || property_schema(schema, key).is_some();
                if !known {
                    unknown.push(join(key));
                }
                known
            });
            for (key, child) in map.iter_mut() {
                if let Some(child_schema) = property_schema(schema, key) {
                    prune(child_schema, child, &join(key), unknown);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter_mut().enumerate() {
                    prune(item_schema, item, &format!("{path}[{index}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

fn default(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, property) in properties {
                    let missing = !map.contains_key(key);
                    let bad_null =
                        map.get(key).is_some_and(Value::is_null) && !flag(property, "nullable");
                    if !(missing || bad_null) {
                        continue;
                    }
                    match property.get("default") {
                        Some(default) => {
                            map.insert(key.clone(), default.clone());
                        }
                        None if bad_null => {
                            map.remove(key);
                        }
                        None => {}
                    }
                }
            }
            for (key, child) in map.iter_mut() {
                if let Some(child_schema) = property_schema(schema, key) {
                    default(child_schema, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| default(item_schema, item));
            }
        }
        _ => {}
    }
}
