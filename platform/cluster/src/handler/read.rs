//! get and list: selectors, `limit`/`continue` paging and the `resourceVersion`/`resourceVersionMatch` rules.
//!
//! - no `resourceVersion`, or `resourceVersionMatch=NotOlderThan`, or `resourceVersion=0`: the latest state
//!   (a newer-than-latest version is served as the latest rather than waited for);
//! - `resourceVersionMatch=Exact`: the state at that revision, rebuilt from the history, or 410 Gone;
//! - `continue`: the next page of the same snapshot, so pages stay consistent while objects change; a token
//!   older than the history is 410 Gone (`Expired`), as etcd compaction makes it on a real cluster.
use super::Ctx;
use super::render;
use super::respond::{self, Response};
use crate::meta;
use crate::state::State;
use crate::status::ApiError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use configsync_apimachinery::selector::{FieldSelector, LabelSelector, SelectableFields};
use serde_json::{Value, json};
use std::sync::Arc;

/// The label and field selectors of a request.
#[derive(Default)]
pub(super) struct Selectors {
    label: Option<LabelSelector>,
    field: Option<FieldSelector>,
}

impl Selectors {
    /// The request's selectors; field labels are checked against the addressed kind (`custom` when it is
    /// served from a CRD), as the apiserver checks them.
    pub(super) fn parse(ctx: &Ctx, custom: bool) -> Result<Self, ApiError> {
        let bad = |error: configsync_apimachinery::selector::SelectorError| {
            ApiError::bad_request(error.to_string())
        };
        let label = ctx
            .query
            .non_empty("labelSelector")
            .map(LabelSelector::parse)
            .transpose()
            .map_err(bad)?;
        let field = ctx
            .query
            .non_empty("fieldSelector")
            .map(|text| FieldSelector::parse_for(text, SelectableFields::of(&ctx.rt, custom)))
            .transpose()
            .map_err(bad)?;
        Ok(Self { label, field })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.label.is_none() && self.field.is_none()
    }

    /// Whether a wire-form object matches both selectors.
    pub(super) fn matches(&self, object: &Value) -> bool {
        self.label.as_ref().is_none_or(|s| s.matches_object(object))
            && self.field.as_ref().is_none_or(|s| s.matches_object(object))
    }
}

pub(super) fn get(state: &State, ctx: &Ctx) -> Result<Response, ApiError> {
    let name = ctx.target.name.as_deref().unwrap_or("");
    let object = state.get(&ctx.storage_rt, ctx.namespace(), name)?;
    let revision = meta::meta_str(&object, "resourceVersion")
        .unwrap_or("")
        .to_owned();
    let wire = if ctx.target.subresource.as_deref() == Some("scale") {
        to_scale(&ctx.rt, &object)?
    } else {
        ctx.to_wire((*object).clone())
    };
    Ok(respond::json(
        200,
        &render::object(ctx.shape, &ctx.rt, wire, &revision),
    ))
}

/// The `autoscaling/v1` Scale of a workload.
pub(super) fn to_scale(
    rt: &configsync_apimachinery::ResourceType,
    object: &Value,
) -> Result<Value, ApiError> {
    if !rt.has_scale {
        return Err(ApiError::unknown_resource());
    }
    let selector: Vec<String> = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    let metadata = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let keep = [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ];
    let metadata: serde_json::Map<String, Value> = metadata
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": { "replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(1)) },
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector.join(","),
        },
    }))
}

/// Where a list starts: a snapshot revision and the last key already returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ContinueToken {
    revision: u64,
    namespace: String,
    name: String,
}

impl ContinueToken {
    /// The token in kube-apiserver's format: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"ns/name\0"}`.
    pub(super) fn encode(&self) -> String {
        let start = format!("{}/{}\u{0}", self.namespace, self.name);
        STANDARD
            .encode(json!({"v": "meta.k8s.io/v1", "rv": self.revision, "start": start}).to_string())
    }

    pub(super) fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            )
        };
        let bytes = STANDARD.decode(text).map_err(|_| invalid())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let revision = value
            .get("rv")
            .and_then(Value::as_u64)
            .ok_or_else(invalid)?;
        let start = value
            .get("start")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        let (namespace, name) = start
            .trim_end_matches('\u{0}')
            .split_once('/')
            .ok_or_else(invalid)?;
        Ok(Self {
            revision,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }
}

fn sort_key(object: &Value) -> (String, String) {
    (
        meta::meta_str(object, "namespace").unwrap_or("").to_owned(),
        meta::name(object).to_owned(),
    )
}

/// Which revision to list at, from the query.
fn list_revision(ctx: &Ctx, token: Option<&ContinueToken>) -> Result<Option<u64>, ApiError> {
    let rv = ctx.query.non_empty("resourceVersion");
    let exact = match ctx.query.non_empty("resourceVersionMatch") {
        None | Some("NotOlderThan") => false,
        Some("Exact") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unsupported resourceVersionMatch value {other:?}"
            )));
        }
    };
    if ctx.query.non_empty("resourceVersionMatch").is_some() && rv.is_none() {
        return Err(ApiError::invalid_options(
            "ListOptions",
            "resourceVersionMatch",
            "Forbidden",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    if let Some(token) = token {
        if rv.is_some_and(|rv| rv != "0") {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        return Ok(Some(token.revision));
    }
    let parsed = rv.map(|rv| {
        rv.parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))
    });
    match (parsed.transpose()?, exact) {
        (Some(revision), true) => Ok(Some(revision)),
        _ => Ok(None),
    }
}

pub(super) fn list(state: &State, ctx: &Ctx) -> Result<Response, ApiError> {
    let selectors = Selectors::parse(ctx, state.is_custom(&ctx.rt.group, &ctx.rt.plural))?;
    let token = ctx
        .query
        .non_empty("continue")
        .map(ContinueToken::decode)
        .transpose()?;
    let revision = list_revision(ctx, token.as_ref())?;
    let limit = ctx
        .query
        .number("limit")
        .map_err(ApiError::bad_request)?
        .filter(|limit| *limit > 0);
    let listing = state.list(&ctx.storage_rt, ctx.namespace(), revision).map_err(|error| match &token {
        Some(_) if error.code == 410 => ApiError::expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        ),
        _ => error,
    })?;
    let start = token
        .as_ref()
        .map(|t| (t.namespace.clone(), t.name.clone()));
    let matching: Vec<Value> = listing
        .objects
        .iter()
        .map(Arc::as_ref)
        .filter(|object| start.as_ref().is_none_or(|start| &sort_key(object) > start))
        .map(|object| ctx.to_wire(object.clone()))
        .filter(|object| selectors.matches(object))
        .collect();
    let (mut items, list_meta) = page(matching, limit, listing.revision, selectors.is_empty());
    if ctx.shape == render::Shape::Object && !state.is_custom(&ctx.rt.group, &ctx.rt.plural) {
        render::untyped_items(&mut items);
    }
    Ok(respond::json(
        200,
        &render::list(ctx.shape, &ctx.rt, items, list_meta),
    ))
}

/// Cut one page and build the list metadata.
fn page(
    mut items: Vec<Value>,
    limit: Option<i64>,
    revision: u64,
    unfiltered: bool,
) -> (Vec<Value>, Value) {
    let mut list_meta = json!({ "resourceVersion": revision.to_string() });
    let limit = limit.and_then(|limit| usize::try_from(limit).ok());
    if let Some(limit) = limit.filter(|limit| items.len() > *limit) {
        let remaining = items.len() - limit;
        items.truncate(limit);
        if let Some(last) = items.last() {
            let (namespace, name) = sort_key(last);
            list_meta["continue"] = json!(
                ContinueToken {
                    revision,
                    namespace,
                    name
                }
                .encode()
            );
        }
        if unfiltered {
            list_meta["remainingItemCount"] = json!(remaining);
        }
    }
    (items, list_meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let token = ContinueToken {
            revision: 42,
            namespace: "ns".into(),
            name: "a/b".into(),
        };
        assert_eq!(
            ContinueToken::decode(&token.encode()).expect("valid"),
            token
        );
        assert_eq!(ContinueToken::decode("!!").expect_err("bad").code, 400);
    }

    #[test]
    fn pages_carry_continue_and_remaining_count() {
        let items: Vec<Value> = (0..5)
            .map(|i| json!({"metadata": {"namespace": "a", "name": format!("n{i}")}}))
            .collect();
        let (page_items, meta) = page(items.clone(), Some(2), 9, true);
        assert_eq!(page_items.len(), 2);
        assert_eq!(meta["remainingItemCount"], 3);
        let token =
            ContinueToken::decode(meta["continue"].as_str().expect("token")).expect("valid");
        assert_eq!((token.revision, token.name.as_str()), (9, "n1"));
        let (all, meta) = page(items, None, 9, true);
        assert_eq!(all.len(), 5);
        assert!(meta.get("continue").is_none());
    }
}
