//! create (POST), update (PUT), patch (PATCH: JSON, merge, strategic merge, server-side apply), delete and
//! deletecollection. The `scale` subresource reads and writes a workload's `spec.replicas` as a `Scale`.
use super::Ctx;
use super::body::{self, PatchKind};
use super::read::{Selectors, to_scale};
use super::render;
use super::respond::{self, Response};
use crate::meta;
use crate::state::{DeleteOptions, Mutation, State};
use crate::status::{ApiError, qualified};
use configsync_apimachinery::apply::{self, ApplyError, ApplyRequest};
use configsync_apimachinery::patch::{self, PatchError};
use serde_json::{Value, json};

fn reply(ctx: &Ctx, code: u16, object: Value) -> Response {
    let revision = meta::meta_str(&object, "resourceVersion")
        .unwrap_or("")
        .to_owned();
    let wire = if object.get("kind").and_then(Value::as_str) == Some("Status") {
        object
    } else {
        ctx.to_wire(object)
    };
    respond::json(code, &render::object(ctx.shape, &ctx.rt, wire, &revision))
}

fn is_scale(ctx: &Ctx) -> bool {
    ctx.target.subresource.as_deref() == Some("scale")
}

pub(super) fn create(state: &State, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let object = ctx.stored_form(body::decode_object(&ctx.content_type, body)?);
    let manager = ctx.manager();
    let created = state.create(&ctx.write_request(&manager, ctx.dry_run()?), object)?;
    Ok(reply(ctx, 201, created))
}

pub(super) fn update(state: &State, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let name = ctx.target.name.as_deref().unwrap_or("");
    let object = body::decode_object(&ctx.content_type, body)?;
    let manager = ctx.manager();
    let request = ctx.write_request(&manager, ctx.dry_run()?);
    if is_scale(ctx) {
        let replicas = object
            .pointer("/spec/replicas")
            .cloned()
            .unwrap_or(json!(0));
        let set_replicas = |old: &Value| Ok(with_replicas(old, replicas.clone()));
        let (updated, _) = state.write(&request, name, Mutation::Patch(&set_replicas))?;
        return Ok(respond::json(200, &to_scale(&ctx.rt, &updated)?));
    }
    let (updated, created) =
        state.write(&request, name, Mutation::Replace(ctx.stored_form(object)))?;
    Ok(reply(ctx, if created { 201 } else { 200 }, updated))
}

fn with_replicas(object: &Value, replicas: Value) -> Value {
    let mut object = object.clone();
    if object.get("spec").is_none_or(|spec| !spec.is_object()) {
        object["spec"] = json!({});
    }
    object["spec"]["replicas"] = replicas;
    object
}

pub(super) fn patch(state: &State, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let name = ctx.target.name.as_deref().unwrap_or("");
    let kind = PatchKind::from_content_type(&ctx.content_type)?;
    if kind == PatchKind::Strategic && state.is_custom(&ctx.rt.group, &ctx.rt.plural) {
        return Err(body::unsupported_patch(&ctx.content_type));
    }
    if kind == PatchKind::Apply {
        return apply_patch(state, ctx, name, body);
    }
    if ctx.query.flag("force") {
        return Err(ApiError::invalid_options(
            "PatchOptions",
            "force",
            "Forbidden",
            "may not be specified for non-apply patch",
        ));
    }
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("invalid patch: {error}")))?;
    let run = |target: &Value| -> Result<Value, ApiError> {
        let patched = match kind {
            PatchKind::Json => patch::apply_json_patch(target, &document),
            PatchKind::Merge => patch::apply_merge_patch(target, &document),
            _ => patch::apply_strategic_merge_patch(target, &document),
        };
        patched.map_err(patch_error)
    };
    let compute = |old: &Value| -> Result<Value, ApiError> {
        if is_scale(ctx) {
            let scale = run(&to_scale(&ctx.rt, old)?)?;
            return Ok(with_replicas(
                old,
                scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0)),
            ));
        }
        Ok(ctx.stored_form(run(&ctx.to_wire(old.clone()))?))
    };
    let manager = ctx.manager();
    let (patched, _) = state.write(
        &ctx.write_request(&manager, ctx.dry_run()?),
        name,
        Mutation::Patch(&compute),
    )?;
    if is_scale(ctx) {
        return Ok(respond::json(200, &to_scale(&ctx.rt, &patched)?));
    }
    Ok(reply(ctx, 200, patched))
}

fn patch_error(error: PatchError) -> ApiError {
    match error {
        PatchError::InvalidPatch(_) => ApiError::bad_request(error.to_string()),
        // kube-apiserver answers a failing JSON patch operation with a generic 422 (the detail goes to its log).
        PatchError::ApplyJsonPatch(_) => {
            tracing::debug!(%error, "JSON patch failed");
            ApiError::rejected()
        }
    }
}

fn apply_patch(state: &State, ctx: &Ctx, name: &str, body: &[u8]) -> Result<Response, ApiError> {
    let manager = ctx.query.non_empty("fieldManager").ok_or_else(|| {
        ApiError::invalid_options(
            "PatchOptions",
            "fieldManager",
            "Required",
            "is required for apply patch",
        )
    })?;
    let applied = ctx.stored_form(body::decode_yaml(body)?);
    let now = meta::now_rfc3339();
    let force = ctx.query.flag("force");
    let subresource = ctx
        .target
        .subresource
        .as_deref()
        .filter(|sub| *sub == "status");
    let compute = |live: Option<&Value>| -> Result<Value, ApiError> {
        let request = ApplyRequest {
            live,
            applied: &applied,
            manager,
            force,
            now: &now,
            subresource,
        };
        apply::server_side_apply(request).map_err(|error| apply_error(ctx, name, live, error))
    };
    let (object, created) = state.write(
        &ctx.write_request(manager, ctx.dry_run()?),
        name,
        Mutation::Apply(&compute),
    )?;
    Ok(reply(ctx, if created { 201 } else { 200 }, object))
}

/// A server-side apply conflict as the apiserver reports it (409, `FieldManagerConflict` causes).
fn apply_error(ctx: &Ctx, name: &str, live: Option<&Value>, error: ApplyError) -> ApiError {
    let conflicts = match error {
        ApplyError::Conflicts(conflicts) => conflicts,
        ApplyError::InvalidObject(message) => return ApiError::bad_request(message),
        ApplyError::MissingFieldManager => return ApiError::bad_request(error.to_string()),
    };
    let mut status = ApiError::conflict(&ctx.rt.group, &ctx.rt.plural, name, "");
    status.message = apply::conflict_message(&conflicts, live);
    // The apiserver's apply conflict carries only the causes.
    status.details = Some(json!({}));
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|conflict| {
            let owner = apply::conflict_owner(conflict, live);
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {owner}"), "field": conflict.field})
        })
        .collect();
    if let Some(details) = status.details.as_mut() {
        details["causes"] = Value::Array(causes);
    }
    status
}

fn delete_options(ctx: &Ctx, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let document = body::decode_optional(&ctx.content_type, body)?;
    let grace = ctx
        .query
        .number("gracePeriodSeconds")
        .map_err(ApiError::bad_request)?;
    Ok(DeleteOptions::from_parts(
        &document,
        grace,
        ctx.query.non_empty("propagationPolicy"),
    ))
}

pub(super) fn delete(state: &State, ctx: &Ctx, body: &[u8]) -> Result<Response, ApiError> {
    let name = ctx.target.name.as_deref().unwrap_or("");
    let options = delete_options(ctx, body)?;
    let manager = ctx.manager();
    let result = state.delete(&ctx.write_request(&manager, ctx.dry_run()?), name, &options)?;
    Ok(reply(ctx, 200, result))
}

pub(super) fn delete_collection(
    state: &State,
    ctx: &Ctx,
    body: &[u8],
) -> Result<Response, ApiError> {
    let options = delete_options(ctx, body)?;
    let selectors = Selectors::parse(ctx, state.is_custom(&ctx.rt.group, &ctx.rt.plural))?;
    let manager = ctx.manager();
    let request = ctx.write_request(&manager, ctx.dry_run()?);
    let listing = state.list(&ctx.storage_rt, ctx.namespace(), None)?;
    let mut deleted = Vec::new();
    for object in listing.objects {
        let wire = ctx.to_wire((*object).clone());
        if !selectors.matches(&wire) {
            continue;
        }
        let mut request = request;
        let namespace = meta::meta_str(&object, "namespace").map(str::to_owned);
        request.namespace = namespace.as_deref();
        match state.delete(&request, meta::name(&object), &options) {
            Ok(_) => deleted.push(wire),
            Err(error) if error.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    if !state.is_custom(&ctx.rt.group, &ctx.rt.plural) {
        render::untyped_items(&mut deleted);
    }
    let metadata = json!({ "resourceVersion": state.revision().to_string() });
    let list = json!({"kind": ctx.rt.list_kind, "apiVersion": ctx.rt.api_version(), "metadata": metadata, "items": deleted});
    tracing::debug!(resource = %qualified(&ctx.rt.group, &ctx.rt.plural), count = list["items"].as_array().map_or(0, Vec::len), "deletecollection");
    Ok(respond::json(200, &list))
}
