//! Create and update: the pipeline every write goes through, in kube-apiserver's order.
//!
//! create: type and namespace checks → name/generateName → namespace exists and is not terminating → status
//! dropped (types with a status subresource) → Secret stringData → defaults → validation → server metadata
//! (uid, creationTimestamp, generation 1) → managedFields → store.
//!
//! update: name, resourceVersion and uid preconditions → status isolation → server metadata kept from the stored
//! object → Secret stringData → defaults → validation → finalizer rules → generation → managedFields → no-op
//! detection (nothing written) → store, or removal when the last finalizer of a deleting object goes.
use super::{Inner, custom, lifecycle, object_key, payload, services};
use crate::meta::{self, metadata_mut};
use crate::status::ApiError;
use crate::store::StoreError;
use configsync_apimachinery::validation::FieldCause;
use configsync_apimachinery::{ResourceType, apply};
use serde_json::{Value, json};

/// Who writes what, and how.
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    /// The resource type addressed.
    pub rt: &'a ResourceType,
    /// The namespace from the path.
    pub namespace: Option<&'a str>,
    /// The subresource written (`status` or `scale`), recorded in managedFields; only `status` writes are
    /// isolated to the status.
    pub subresource: Option<&'a str>,
    /// The field manager recorded in managedFields.
    pub manager: &'a str,
    /// `dryRun=All`: run every check, store nothing.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: a custom resource's unknown fields are an error instead of being pruned.
    pub strict_fields: bool,
}

/// How the new object is computed from the stored one.
pub enum Mutation<'a> {
    /// PUT: the body is the new object.
    Replace(Value),
    /// A patch applied to the stored object (404 when missing).
    Patch(&'a dyn Fn(&Value) -> Result<Value, ApiError>),
    /// Server-side apply: creates when missing; the result already carries its managedFields.
    Apply(&'a dyn Fn(Option<&Value>) -> Result<Value, ApiError>),
}

pub(super) fn write(
    inner: &mut Inner,
    request: &WriteRequest<'_>,
    name: &str,
    mutation: Mutation<'_>,
) -> Result<(Value, bool), ApiError> {
    let key = object_key(request.rt, request.namespace, name);
    let old = inner.store.get(&key);
    let missing = || ApiError::not_found(&request.rt.group, &request.rt.plural, name);
    match mutation {
        Mutation::Replace(new) => {
            let old = old.ok_or_else(missing)?;
            Ok((
                update(inner, request, &old, check_name(new, name)?, true)?,
                false,
            ))
        }
        Mutation::Patch(patch) => {
            let old = old.ok_or_else(missing)?;
            let new = patch(&old)?;
            Ok((
                update(inner, request, &old, check_name(new, name)?, true)?,
                false,
            ))
        }
        Mutation::Apply(apply) => {
            let new = check_name(apply(old.as_deref())?, name)?;
            match old {
                Some(old) => Ok((update(inner, request, &old, new, false)?, false)),
                None if request.subresource.is_some() => Err(missing()),
                None => Ok((create(inner, request, new, false)?, true)),
            }
        }
    }
}

/// The body's name must be empty (then the URL's is used) or equal to the URL's.
fn check_name(mut object: Value, name: &str) -> Result<Value, ApiError> {
    match meta::name(&object) {
        "" => {
            metadata_mut(&mut object).insert("name".into(), json!(name));
            Ok(object)
        }
        body if body == name => Ok(object),
        body => Err(ApiError::bad_request(format!(
            "the name of the object ({body}) does not match the name on the URL ({name})"
        ))),
    }
}

pub(super) fn create(
    inner: &mut Inner,
    request: &WriteRequest<'_>,
    mut object: Value,
    record: bool,
) -> Result<Value, ApiError> {
    let rt = request.rt;
    check_type(rt, &mut object)?;
    let namespace = check_namespace(rt, request.namespace, &mut object)?;
    let name = assign_name(rt, &mut object)?;
    if let Some(namespace) = &namespace {
        lifecycle::check_namespace_accepts(inner, rt, namespace, &name)?;
    }
    if meta::meta_str(&object, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::internal(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if rt.has_status
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    payload::normalize(rt, &mut object)?;
    lifecycle::prepare_create(rt, &mut object)?;
    let schema = custom::schema_of(inner, rt);
    custom::apply_defaults(rt, schema.as_ref(), &mut object, request.strict_fields)?;
    custom::validate(rt, schema.as_ref(), &object, None)
        .map_err(|invalid| ApiError::invalid(&rt.group, &rt.kind, &name, &invalid.causes))?;
    let now = meta::now_rfc3339();
    stamp_new(rt, &mut object, &now);
    if record {
        apply::record_update(
            None,
            &mut object,
            request.manager,
            &now,
            request.subresource,
        );
    }
    configsync_apimachinery::validation::storage_fields(rt, &mut object);
    let key = object_key(rt, namespace.as_deref(), &name);
    allocate_addresses(inner, rt, &key, &mut object, None)?;
    if request.dry_run {
        return Ok(object);
    }
    let stored = inner
        .store
        .create(key, object)
        .map_err(|error| match error {
            StoreError::CreateExisting => ApiError::already_exists(&rt.group, &rt.plural, &name),
            StoreError::UpdateMissing => ApiError::internal("store refused the create"),
        })?;
    lifecycle::after_write(inner, rt, &stored)
}

/// A Service's ClusterIP and node ports ([`services`]), after field management as in kube-apiserver's storage.
fn allocate_addresses(
    inner: &Inner,
    rt: &ResourceType,
    key: &crate::store::ObjectKey,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    if !(rt.group.is_empty() && rt.plural == "services") {
        return Ok(());
    }
    services::allocate(inner, key, object, old)
        .map_err(|causes| ApiError::invalid(&rt.group, &rt.kind, meta::name(object), &causes))
}

/// The metadata the server sets on create: uid, creationTimestamp, generation 1 (for kinds that track it), no
/// deletion fields.
fn stamp_new(rt: &ResourceType, object: &mut Value, now: &str) {
    let metadata = metadata_mut(object);
    for field in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
    ] {
        metadata.remove(field);
    }
    metadata.insert("uid".into(), json!(meta::new_uid()));
    metadata.insert("creationTimestamp".into(), json!(now));
    if meta::tracks_generation(rt) {
        metadata.insert("generation".into(), json!(1));
    } else {
        metadata.remove("generation");
    }
}

/// Fill in apiVersion and kind, and reject a body of another type.
fn check_type(rt: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON or YAML object",
        ));
    };
    let expected = rt.api_version();
    for (field, want) in [
        ("apiVersion", expected.as_str()),
        ("kind", rt.kind.as_str()),
    ] {
        match map.get(field).and_then(Value::as_str) {
            None | Some("") => {
                map.insert(field.into(), json!(want));
            }
            Some(got) if got == want => {}
            Some(got) => {
                return Err(ApiError::bad_request(format!(
                    "the {field} in the data ({got}) does not match the expected {field} ({want})"
                )));
            }
        }
    }
    Ok(())
}

/// The namespace of a namespaced object: the path's, which the body must agree with.
fn check_namespace(
    rt: &ResourceType,
    path: Option<&str>,
    object: &mut Value,
) -> Result<Option<String>, ApiError> {
    let metadata = metadata_mut(object);
    if !rt.namespaced {
        metadata.remove("namespace");
        return Ok(None);
    }
    let body = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let namespace = match (path, body.as_str()) {
        (Some(path), "") => path.to_owned(),
        (Some(path), body) if body == path => path.to_owned(),
        (Some(_), _) => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        (None, _) => {
            return Err(ApiError::bad_request(
                "a namespace is required in the request path",
            ));
        }
    };
    metadata.insert("namespace".into(), json!(namespace));
    Ok(Some(namespace))
}

fn assign_name(rt: &ResourceType, object: &mut Value) -> Result<String, ApiError> {
    let metadata = metadata_mut(object);
    let name = metadata.get("name").and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() {
        return Ok(name.to_owned());
    }
    match metadata.get("generateName").and_then(Value::as_str) {
        Some(prefix) if !prefix.is_empty() => {
            let name = meta::generate_name(prefix);
            metadata.insert("name".into(), json!(name));
            Ok(name)
        }
        _ => Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            "",
            &[FieldCause {
                reason: "FieldValueRequired".into(),
                message: "Required value: name or generateName is required".into(),
                field: "metadata.name".into(),
            }],
        )),
    }
}

/// Update `old` to `new`; `record` adds an `Update` managedFields entry (false for apply, which did it).
fn update(
    inner: &mut Inner,
    request: &WriteRequest<'_>,
    old: &Value,
    mut new: Value,
    record: bool,
) -> Result<Value, ApiError> {
    let rt = request.rt;
    let name = meta::name(old).to_owned();
    check_type(rt, &mut new)?;
    check_preconditions(rt, old, &new, &name)?;
    let status_write = request.subresource == Some("status");
    if rt.has_status {
        let annotations_via_status = rt.group == "apps" && rt.plural == "deployments";
        new = isolate_status(old, new, status_write, annotations_via_status);
    }
    keep_server_metadata(old, &mut new);
    payload::normalize(rt, &mut new)?;
    let schema = custom::schema_of(inner, rt);
    custom::apply_defaults(rt, schema.as_ref(), &mut new, request.strict_fields)?;
    custom::validate(rt, schema.as_ref(), &new, Some(old))
        .map_err(|invalid| ApiError::invalid(&rt.group, &rt.kind, &name, &invalid.causes))?;
    lifecycle::check_finalizers(rt, old, &new, &name)?;
    if meta::tracks_generation(rt) {
        let generation = meta::generation(old);
        let generation = if !status_write && meta::bumps_generation(rt, old, &new) {
            generation + 1
        } else {
            generation
        };
        metadata_mut(&mut new).insert("generation".into(), json!(generation));
    } else {
        metadata_mut(&mut new).remove("generation");
    }
    let now = meta::now_rfc3339();
    if record {
        apply::record_update(
            Some(old),
            &mut new,
            request.manager,
            &now,
            request.subresource,
        );
    }
    let key = object_key(rt, request.namespace, &name);
    allocate_addresses(inner, rt, &key, &mut new, Some(old))?;
    if meta::is_noop(old, &new) {
        return Ok(old.clone());
    }
    if request.dry_run {
        return Ok(new);
    }
    if meta::is_deleting(&new) && meta::finalizers(&new).is_empty() {
        return lifecycle::finish_deletion(inner, &key, new);
    }
    let stored = inner
        .store
        .update(key, new)
        .map_err(|_| ApiError::not_found(&rt.group, &rt.plural, &name))?;
    lifecycle::after_write(inner, rt, &stored)
}

/// resourceVersion and uid in the body, when set, must match the stored object.
fn check_preconditions(
    rt: &ResourceType,
    old: &Value,
    new: &Value,
    name: &str,
) -> Result<(), ApiError> {
    let stored_rv = meta::meta_str(old, "resourceVersion").unwrap_or("");
    if let Some(rv) = meta::meta_str(new, "resourceVersion").filter(|rv| !rv.is_empty())
        && rv != stored_rv
    {
        return Err(ApiError::modified(&rt.group, &rt.plural, name));
    }
    let stored_uid = meta::meta_str(old, "uid").unwrap_or("");
    if let Some(uid) = meta::meta_str(new, "uid").filter(|uid| !uid.is_empty())
        && uid != stored_uid
    {
        let why = format!(
            "Precondition failed: UID in precondition: {uid}, UID in object meta: {stored_uid}"
        );
        return Err(ApiError::conflict(&rt.group, &rt.plural, name, &why));
    }
    Ok(())
}

/// A main-resource write keeps the stored status; a status write changes only the status.
///
/// With `annotations_via_status` a status write also takes the new `metadata.annotations`: kube-apiserver's
/// Deployment status strategy resets only the spec and the labels, and kube-controller-manager records
/// `deployment.kubernetes.io/revision` that way, without bumping the generation.
fn isolate_status(
    old: &Value,
    new: Value,
    status_write: bool,
    annotations_via_status: bool,
) -> Value {
    let (mut base, source) = if status_write {
        (old.clone(), &new)
    } else {
        (new.clone(), old)
    };
    if let Some(map) = base.as_object_mut() {
        match source.get("status") {
            Some(status) => map.insert("status".into(), status.clone()),
            None => map.remove("status"),
        };
    }
    if status_write && let Some(fields) = new.pointer("/metadata/managedFields") {
        metadata_mut(&mut base).insert("managedFields".into(), fields.clone());
    }
    if status_write && annotations_via_status {
        match new.pointer("/metadata/annotations") {
            Some(annotations) => {
                metadata_mut(&mut base).insert("annotations".into(), annotations.clone())
            }
            None => metadata_mut(&mut base).remove("annotations"),
        };
    }
    base
}

/// Fields only the server sets are taken from the stored object.
fn keep_server_metadata(old: &Value, new: &mut Value) {
    let metadata = metadata_mut(new);
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "generation",
    ] {
        match old.pointer(&format!("/metadata/{field}")) {
            Some(value) => metadata.insert(field.into(), value.clone()),
            None => metadata.remove(field),
        };
    }
}
