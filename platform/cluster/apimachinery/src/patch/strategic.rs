//! Strategic merge patch, ported from `k8s.io/apimachinery/pkg/util/strategicpatch` (`mergeMap`, `mergeSlice`,
//! `mergePatchIntoOriginal`, `normalizeElementOrder`) with the struct tags replaced by [`super::schema`].
//!
//! Per map: `$patch` (replace/delete) ends the merge; `$retainKeys` prunes the original; each
//! `$setElementOrder/<list>` merges its list and fixes the order; each `$deleteFromPrimitiveList/<list>`
//! removes values; every other key merges (null deletes, maps recurse, lists follow their [`ListStrategy`]).
//! Merged lists are ordered as Go orders them: patch items in patch order, server-only items in server order,
//! interleaved by their relative position in the server list.
use serde_json::{Map, Value};

use super::PatchError;
use super::schema::{ListStrategy, TypeNode};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_PREFIX: &str = "$deleteFromPrimitiveList";
const ORDER_PREFIX: &str = "$setElementOrder";

type Result<T> = std::result::Result<T, PatchError>;

fn invalid(message: impl Into<String>) -> PatchError {
    PatchError::InvalidPatch(message.into())
}

/// Merge `patch` into `original`, both maps of type `node`.
pub fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    node: TypeNode,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => merge_map(Map::new(), patch, node),
            Some("delete") => Ok(Map::new()),
            _ => Err(invalid(format!("unknown patch type: {directive} in map"))),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_element_orders(&mut original, &mut patch, node)?;
    let (deletions, fields): (Vec<_>, Vec<_>) = patch
        .into_iter()
        .partition(|(key, _)| key.starts_with(DELETE_PREFIX));
    for (key, values) in deletions {
        delete_from_primitive_list(&mut original, &key, values)?;
    }
    for (key, value) in fields {
        merge_field(&mut original, key, value, node)?;
    }
    Ok(original)
}

fn merge_field(
    original: &mut Map<String, Value>,
    key: String,
    patch: Value,
    node: TypeNode,
) -> Result<()> {
    if key.starts_with('$') {
        return Err(invalid(format!("unknown patch directive {key:?}")));
    }
    if patch.is_null() {
        original.remove(&key);
        return Ok(());
    }
    let (child, strategy) = node.field(&key);
    let old = original.get_mut(&key).map(Value::take);
    let merged = match (old, patch) {
        (Some(Value::Object(old)), Value::Object(patch)) => {
            Value::Object(merge_map(old, patch, child)?)
        }
        (Some(Value::Array(old)), Value::Array(patch)) => {
            Value::Array(merge_list(old, patch, child, strategy)?)
        }
        // A new value (or one of another type) still has its directives applied, against an empty value.
        (_, Value::Object(patch)) => Value::Object(merge_map(Map::new(), patch, child)?),
        (_, Value::Array(patch)) => Value::Array(merge_list(Vec::new(), patch, child, strategy)?),
        (_, scalar) => scalar,
    };
    original.insert(key, merged);
    Ok(())
}

/// Merge two lists of the same field according to its strategy.
pub fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    node: TypeNode,
    strategy: ListStrategy,
) -> Result<Vec<Value>> {
    if strategy == ListStrategy::Atomic {
        // Replaced whole, whatever it holds (Go does not look inside either).
        return Ok(patch);
    }
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let objects = elements_are_objects(&original, &patch)?;
    match strategy {
        ListStrategy::Atomic => Ok(patch),
        ListStrategy::PrimitiveSet if objects => {
            Err(invalid("cannot merge lists without merge key for type map"))
        }
        ListStrategy::PrimitiveSet => {
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for item in original.iter().chain(&patch) {
                if !merged.contains(item) {
                    merged.push(item.clone());
                }
            }
            Ok(order_like_go(merged, &patch, &original, None))
        }
        ListStrategy::MergeByKey(key) if !objects => Err(invalid(format!(
            "the elements of a list merged by {key:?} must be maps"
        ))),
        ListStrategy::MergeByKey(key) => merge_keyed(original, patch, key, node),
    }
}

/// Whether all elements are maps; errors on lists of lists and on mixed element types.
fn elements_are_objects(original: &[Value], patch: &[Value]) -> Result<bool> {
    let kind = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Object(_) | Value::Array(_) => 4,
    };
    if original.iter().chain(patch).any(Value::is_array) {
        return Err(invalid("lists of lists are not supported"));
    }
    let mut kinds = original.iter().chain(patch).map(kind);
    let first = kinds.next().unwrap_or(4);
    if kinds.any(|k| k != first) {
        return Err(invalid("list element types are not identical"));
    }
    Ok(first == 4)
}

fn merge_key_missing(item: &Value, key: &str) -> PatchError {
    invalid(format!(
        "map: {item} does not contain declared merge key: {key}"
    ))
}

fn merge_keyed(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    node: TypeNode,
) -> Result<Vec<Value>> {
    let (original, patch) = apply_special_elements(original, patch, key, node)?;
    let mut merged = original.clone();
    for item in &patch {
        let Some(id) = item.get(key) else {
            return Err(merge_key_missing(item, key));
        };
        let item_map = item.as_object().cloned().unwrap_or_default();
        match merged.iter_mut().find(|m| m.get(key) == Some(id)) {
            Some(slot) => {
                let old = match slot.take() {
                    Value::Object(old) => old,
                    _ => Map::new(),
                };
                *slot = Value::Object(merge_map(old, item_map, node)?);
            }
            None => merged.push(Value::Object(merge_map(Map::new(), item_map, node)?)),
        }
    }
    Ok(order_like_go(merged, &patch, &original, Some(key)))
}

/// Handle list items carrying `$patch`: `delete` removes the matching original items, `replace` makes the
/// other patch items the whole list. Returns the (original, patch) left to merge.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    node: TypeNode,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(id) = item.get(key) else {
                    return Err(merge_key_missing(&item, key));
                };
                original.retain(|o| o.get(key) != Some(id));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(invalid(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => {
                return Err(invalid(format!(
                    "unknown patch type: {directive} in map: {item}"
                )));
            }
        }
    }
    if !replace {
        return Ok((original, plain));
    }
    let replaced = plain
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => merge_map(Map::new(), map, node).map(Value::Object),
            other => Ok(other),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((replaced, Vec::new()))
}

fn index_in(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    match key {
        Some(key) => {
            let id = item.get(key)?;
            list.iter().position(|v| v.get(key) == Some(id))
        }
        None => list.iter().position(|v| v == item),
    }
}

/// Go's `normalizeElementOrder`: items present in `patch_order` sorted by it, the rest sorted by
/// `server_order`, then interleaved so server-only items keep their place relative to the server list.
fn order_like_go(
    merged: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let (mut from_patch, mut server_only): (Vec<_>, Vec<_>) = merged
        .into_iter()
        .partition(|item| index_in(patch_order, item, key).is_some());
    from_patch.sort_by_key(|item| index_in(patch_order, item, key).unwrap_or(usize::MAX));
    server_only.sort_by_key(|item| index_in(server_order, item, key).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        let positions = (
            index_in(server_order, l, key),
            index_in(server_order, r, key),
        );
        let take_left = matches!(positions, (Some(li), Some(ri)) if li < ri);
        out.extend(if take_left { left.next() } else { right.next() });
    }
    out.extend(left);
    out.extend(right);
    out
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<()> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(invalid(
            "invalid patch format of $retainKeys: it must be a list",
        ));
    };
    let retained = |key: &str| retain.iter().any(|r| r.as_str() == Some(key));
    for (key, value) in patch.iter() {
        let directive = key.starts_with(DELETE_PREFIX) || key.starts_with(ORDER_PREFIX);
        if !value.is_null() && !directive && !retained(key) {
            return Err(invalid(format!(
                "invalid patch format of $retainKeys: {key:?} is not in the list"
            )));
        }
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

fn directive_field<'a>(key: &'a str, prefix: &str) -> Result<&'a str> {
    key.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| {
            invalid(format!(
                "invalid patch format of {prefix} directive: {key:?}"
            ))
        })
}

fn delete_from_primitive_list(
    original: &mut Map<String, Value>,
    key: &str,
    values: Value,
) -> Result<()> {
    let field = directive_field(key, DELETE_PREFIX)?;
    let Value::Array(values) = values else {
        return Err(invalid(format!(
            "{key}: the values to delete must be a list"
        )));
    };
    match original.get_mut(field) {
        Some(Value::Array(list)) => list.retain(|item| !values.contains(item)),
        Some(_) => return Err(invalid(format!("{key}: {field:?} is not a list"))),
        None => {}
    }
    Ok(())
}

fn take_list(value: Option<Value>, field: &str) -> Result<Option<Vec<Value>>> {
    match value {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(invalid(format!(
            "{field:?} must be a list to be ordered, got {other}"
        ))),
    }
}

/// Go's `mergePatchIntoOriginal`: merge each list that has a `$setElementOrder` and apply that order.
fn apply_element_orders(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    node: TypeNode,
) -> Result<()> {
    let order_keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(ORDER_PREFIX))
        .cloned()
        .collect();
    for order_key in order_keys {
        let field = directive_field(&order_key, ORDER_PREFIX)?.to_owned();
        let Some(Value::Array(order)) = patch.remove(&order_key) else {
            return Err(invalid(format!(
                "{order_key}: the element order must be a list"
            )));
        };
        let (child, strategy) = node.field(&field);
        let key = match strategy {
            ListStrategy::MergeByKey(key) => Some(key),
            _ => None,
        };
        let server = take_list(original.get(&field).cloned(), &field)?;
        let patch_list = take_list(patch.remove(&field), &field)?;
        validate_order(patch_list.as_deref().unwrap_or_default(), &order, key)?;
        let server_order = server.clone().unwrap_or_default();
        let merged = match (server, patch_list) {
            (Some(server), None) => server,
            (server, Some(patch_list)) => {
                merge_list(server.unwrap_or_default(), patch_list, child, strategy)?
            }
            (None, None) => continue,
        };
        let merged = match strategy {
            ListStrategy::Atomic => merged,
            _ => order_like_go(merged, &order, &server_order, key),
        };
        original.insert(field, Value::Array(merged));
    }
    Ok(())
}

/// Go's `validatePatchWithSetOrderList`: the patch items appear in the order list, in the same order.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&str>) -> Result<()> {
    if let Some(key) = key
        && let Some(bad) = order.iter().find(|item| item.get(key).is_none())
    {
        return Err(merge_key_missing(bad, key));
    }
    let is_deletion = |item: &&Value| item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete");
    let mut pending = patch
        .iter()
        .filter(|item| key.is_none() || !is_deletion(item))
        .peekable();
    for wanted in order {
        while pending
            .next_if(|item| key.is_some() && item.get(DIRECTIVE).is_some())
            .is_some()
        {}
        let Some(item) = pending.peek() else { break };
        let equal = match key {
            Some(key) => {
                item.get(key).ok_or_else(|| merge_key_missing(item, key))?
                    == wanted.get(key).unwrap_or(&Value::Null)
            }
            None => *item == wanted,
        };
        if equal {
            pending.next();
        }
    }
    while pending
        .next_if(|item| key.is_some() && item.get(DIRECTIVE).is_some())
        .is_some()
    {}
    if pending.peek().is_some() {
        let patch = Value::Array(patch.to_vec());
        let order = Value::Array(order.to_vec());
        return Err(invalid(format!(
            "the order in patch list {patch} doesn't match $setElementOrder list {order}"
        )));
    }
    Ok(())
}
