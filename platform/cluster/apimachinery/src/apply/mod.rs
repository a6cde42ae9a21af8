//! Server-side apply and `metadata.managedFields` bookkeeping, after structured-merge-diff's `Updater`.
//!
//! ```text
//!   applied config ──ToFieldSet──► applier's new set ─┐
//!   live + applied ──merge──► merged ──prune(previous set − every owner)──► new object
//!   live vs new object ──compare──► added/modified/removed ──► conflicts with other owners (409 unless force)
//!                                                          └─► other owners lose changed and removed fields
//! ```
//! Ownership lives in `metadata.managedFields` in the apiserver's format: one entry per manager, operation
//! (`Apply`/`Update`), subresource (and apiVersion for `Update`), with `fieldsV1` as `f:<field>`,
//! `k:{"name":"x"}` list items, `v:<json>` set items and `".": {}` for owned parents. [`record_update`] does
//! the `Update` half: every create, update or non-apply patch gives the changed fields to its manager and
//! takes them away from everyone else. As in the apiserver, `apiVersion`, `kind`, `metadata.name`,
//! `namespace`, `uid`, `resourceVersion`, `generation`, `creationTimestamp` and `managedFields` are never
//! tracked, and an object without managed fields gets a `before-first-apply` owner on its first apply.
//!
//! # Approximations compared to structured-merge-diff
//! - There is no OpenAPI schema. Lists merge by key only where [`crate::patch::schema`] lists a
//!   `patchMergeKey`, with that single field as the key (the apiserver keys e.g. container ports by
//!   `containerPort` *and* `protocol`); every other list is atomic, including unknown and custom ones.
//! - Go maps and structs are told apart by field name ([`crate::patch::schema::is_map_typed`]), and so are
//!   the fields a zero Go object already has, which an update filling them in does not own as a whole
//!   ([`crate::patch::schema::is_present_when_zero`]: `spec`, `template`, `containers`, ...); custom
//!   resources have none. No map or struct is atomic (`x-kubernetes-map-type: atomic`, e.g. a
//!   `LabelSelector` is tracked field by field), unions are not normalised, and nothing is defaulted,
//!   validated or converted between versions (each kind is served in one version).
//! - A `null` in the applied configuration removes the field and is not owned.
//! - A map or list emptied by pruning is removed, where Go would keep `{}` for a struct pointer.
//! - A value whose JSON type changes is one modified leaf; conflicts are listed per owned leaf.
use serde_json::{Map, Value};

mod conflict;
pub mod fieldset;
pub mod managers;
#[cfg(test)]
mod tests;
pub mod walk;

pub use conflict::{conflict_message, conflict_owner};
pub use fieldset::{FieldSet, PathElement};
pub use managers::ManagerEntry;
use walk::{Comparison, Mode, Shape};

/// One server-side apply request.
#[derive(Clone, Copy, Debug)]
pub struct ApplyRequest<'a> {
    /// The live object, or `None` when apply creates it.
    pub live: Option<&'a Value>,
    /// The applied configuration (already parsed from YAML or JSON).
    pub applied: &'a Value,
    /// The `fieldManager` query parameter (required for apply).
    pub manager: &'a str,
    /// The `force` query parameter: take ownership of conflicting fields.
    pub force: bool,
    /// The request time, RFC 3339, for the managedFields entry.
    pub now: &'a str,
    /// `Some("status")` when applying to the status subresource.
    pub subresource: Option<&'a str>,
}

/// A field owned by another manager with a different value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The manager that owns the field.
    pub manager: String,
    /// The apiVersion that manager used.
    pub api_version: String,
    /// The field path as the apiserver prints it, e.g. `.spec.replicas`.
    pub field: String,
}

/// Why an apply failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Fields are owned by other managers; becomes a 409 with reason `Conflict` and `FieldManagerConflict` causes.
    #[error("Apply failed with {} conflict(s)", .0.len())]
    Conflicts(Vec<Conflict>),
    /// The applied configuration is not a valid object.
    #[error("invalid object: {0}")]
    InvalidObject(String),
    /// No `fieldManager` was given; the apiserver answers 400.
    #[error("PATCH with apply requires a fieldManager")]
    MissingFieldManager,
}

/// The manager the apiserver invents for fields set before anything was tracked.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Metadata the server owns: dropped from an applied configuration.
const SERVER_OWNED: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// Metadata never tracked in field sets (structured-merge-diff's strip set, with `apiVersion` and `kind`).
const UNTRACKED: &[&str] = &[
    "name",
    "namespace",
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "clusterName",
];

fn metadata_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    object.get_mut("metadata").and_then(Value::as_object_mut)
}

/// The object as field sets see it: without the untracked fields.
fn tracked_view(object: &Value) -> Value {
    let mut view = object.clone();
    if let Some(map) = view.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    if let Some(metadata) = metadata_mut(&mut view) {
        metadata.retain(|key, _| !UNTRACKED.contains(&key.as_str()));
        if metadata.is_empty()
            && let Some(map) = view.as_object_mut()
        {
            map.remove("metadata");
        }
    }
    view
}

fn without_managed_fields(object: &Value) -> Value {
    let mut body = object.clone();
    if let Some(metadata) = metadata_mut(&mut body) {
        metadata.remove("managedFields");
    }
    body
}

fn api_version(object: &Value) -> String {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Check the applied configuration and drop what the server owns.
fn applied_config(applied: &Value, live: Option<&Value>) -> Result<Value, ApplyError> {
    let invalid = |why: &str| Err(ApplyError::InvalidObject(why.to_owned()));
    if !applied.is_object() {
        return invalid("the applied configuration must be a JSON object");
    }
    let text = |object: &Value, key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if text(applied, "apiVersion").is_empty() || text(applied, "kind").is_empty() {
        return invalid("apiVersion and kind must be set in the applied configuration");
    }
    if applied.get("metadata").is_some_and(|m| !m.is_object()) {
        return invalid("metadata must be an object");
    }
    if let Some(live) = live
        && text(live, "kind") != text(applied, "kind")
    {
        return invalid("the applied kind does not match the live object's kind");
    }
    let mut config = applied.clone();
    if let Some(metadata) = metadata_mut(&mut config) {
        metadata.retain(|key, _| !SERVER_OWNED.contains(&key.as_str()));
    }
    Ok(config)
}

/// Other owners lose what changed (after a conflict check unless `force`) and what was removed.
fn transfer_ownership(
    entries: &mut [ManagerEntry],
    comparison: &Comparison,
    force: bool,
) -> Result<(), ApplyError> {
    let changed = comparison.changed();
    if !force {
        let conflicts: Vec<Conflict> = entries
            .iter()
            .flat_map(|entry| {
                let paths = entry.fields.intersection(&changed).member_paths();
                paths.into_iter().map(|field| Conflict {
                    manager: entry.manager.clone(),
                    api_version: entry.api_version.clone(),
                    field,
                })
            })
            .collect();
        if !conflicts.is_empty() {
            return Err(ApplyError::Conflicts(conflicts));
        }
    }
    for entry in entries.iter_mut() {
        entry.fields = entry
            .fields
            .difference(&changed)
            .difference(&comparison.removed);
    }
    Ok(())
}

/// The owner the apiserver gives every field of an object that had no managed fields before its first apply.
fn before_first_apply(live_body: &Value, shape: Shape, now: &str) -> ManagerEntry {
    ManagerEntry {
        manager: BEFORE_FIRST_APPLY.into(),
        operation: managers::UPDATE.into(),
        api_version: api_version(live_body),
        time: Some(now.to_owned()),
        subresource: None,
        fields: walk::object_set(&tracked_view(live_body), shape, Mode::Update),
    }
}

/// Merge `applied` into `live` with field ownership, returning the new object with updated managedFields.
///
/// # Guarantees
/// - `live: None` creates the object; `metadata.managedFields`, `resourceVersion`, `uid`,
///   `creationTimestamp` and `generation` in `applied` are ignored.
/// - Re-applying the same configuration returns `live` unchanged (managed fields and times included).
/// - Fields this manager applied before and omits now are removed unless another manager owns them.
///
/// # Errors
/// [`ApplyError::Conflicts`] when, without `force`, a changed field is owned by another manager (with
/// `force` that manager loses it instead); [`ApplyError::InvalidObject`] for an applied configuration
/// that is not an object with `apiVersion` and `kind` (or of another kind than `live`);
/// [`ApplyError::MissingFieldManager`] for an empty `manager`.
pub fn server_side_apply(request: ApplyRequest<'_>) -> Result<Value, ApplyError> {
    let ApplyRequest {
        live,
        applied,
        manager,
        force,
        now,
        subresource,
    } = request;
    if manager.is_empty() {
        return Err(ApplyError::MissingFieldManager);
    }
    let config = applied_config(applied, live)?;
    let shape = Shape::root(&config);
    let live_body = live.map(without_managed_fields);
    let mut entries = live.map(managers::read).unwrap_or_default();
    if let Some(live_body) = &live_body
        && entries.is_empty()
    {
        entries.push(before_first_apply(live_body, shape, now));
    }
    let applier = ManagerEntry {
        manager: manager.to_owned(),
        operation: managers::APPLY.into(),
        api_version: api_version(&config),
        time: Some(now.to_owned()),
        subresource: subresource.map(str::to_owned),
        fields: walk::object_set(&tracked_view(&config), shape, Mode::Apply),
    };
    let previous = entries
        .iter()
        .position(|e| e.same_manager(&applier))
        .map(|i| entries.remove(i));
    let mut merged = walk::merge(live_body.as_ref(), &config, shape);
    if let Some(previous) = &previous {
        let owned = entries
            .iter()
            .fold(applier.fields.clone(), |owned, e| owned.union(&e.fields));
        walk::prune(&mut merged, &previous.fields.difference(&owned), &owned);
    }
    if let (Some(live), Some(previous)) = (live, &previous)
        && live_body.as_ref() == Some(&merged)
        && previous.fields == applier.fields
        && previous.api_version == applier.api_version
    {
        // A no-op apply leaves the object, its managed fields and their times as they were.
        return Ok(live.clone());
    }
    let old_view = live_body.as_ref().map(tracked_view);
    let comparison = walk::compare_objects(old_view.as_ref(), &tracked_view(&merged), shape);
    transfer_ownership(&mut entries, &comparison, force)?;
    entries.push(applier);
    managers::write(&mut merged, entries);
    Ok(merged)
}

/// Record an `Update` operation by `manager` (create, update, non-apply patch) in `new`'s managedFields.
///
/// The fields that differ between `old` and `new` (all of them on create) join the manager's `Update`
/// entry, whose time becomes `now`; every other entry loses them, and every entry loses removed fields.
/// Managed fields are read from `new` when it carries any, else from `old` (as the apiserver does, so that
/// clients unaware of managedFields cannot erase them). A `new` whose managedFields is `[{}]` asks for
/// a reset: its managedFields are removed and nothing is recorded. A `new` that is not an object is left
/// alone.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: &str,
    subresource: Option<&str>,
) {
    if !new.is_object() {
        return;
    }
    if new.pointer("/metadata/managedFields") == Some(&serde_json::json!([{}])) {
        managers::write(new, Vec::new());
        return;
    }
    let mut entries = managers::read(new);
    if entries.is_empty() {
        entries = old.map(managers::read).unwrap_or_default();
    }
    let old_view = old.map(tracked_view);
    let comparison = walk::compare_objects(old_view.as_ref(), &tracked_view(new), Shape::root(new));
    // Updates always win, so this cannot fail.
    let _ = transfer_ownership(&mut entries, &comparison, true);
    let changed = comparison.changed();
    if !changed.is_empty() {
        let mut updater = ManagerEntry {
            manager: manager.to_owned(),
            operation: managers::UPDATE.into(),
            api_version: api_version(new),
            time: Some(now.to_owned()),
            subresource: subresource.map(str::to_owned),
            fields: FieldSet::default(),
        };
        if let Some(index) = entries.iter().position(|e| e.same_manager(&updater)) {
            updater.fields = entries.remove(index).fields;
        }
        updater.fields = updater.fields.union(&changed);
        entries.push(updater);
    }
    managers::write(new, entries);
}
