//! Custom resources and their CRD's structural schema: the thin shell that finds the `openAPIV3Schema` of the
//! served version in the stored CRD and runs the pure prune/default/validate of
//! `configsync_apimachinery::validation::schema` on every create and update (status writes included: the whole
//! object is pruned, defaulted and validated, as kube-apiserver does).
use super::Inner;
use crate::status::ApiError;
use crate::store::{ObjectKey, ResourceKey};
use configsync_apimachinery::ResourceType;
use configsync_apimachinery::validation::{self, Invalid, schema};
use serde_json::Value;

/// The schema of `rt`'s served version when `rt` is a custom resource whose stored CRD declares one.
pub(super) fn schema_of(inner: &Inner, rt: &ResourceType) -> Option<Value> {
    rt.printer_columns.as_ref()?;
    let key = ObjectKey {
        resource: ResourceKey::new("apiextensions.k8s.io", "customresourcedefinitions"),
        namespace: String::new(),
        name: format!("{}.{}", rt.plural, rt.group),
    };
    let crd = inner.store.get(&key)?;
    schema::crd_version_schema(&crd, &rt.version).cloned()
}

/// The built-in defaults, then (for a custom resource with a schema) pruning and the schema's `default:`s.
///
/// # Errors
/// With `strict` (`fieldValidation=Strict`, kubectl's default), fields the schema does not know are a 400
/// `BadRequest` worded as kube-apiserver's strict decoder words it, instead of being pruned silently.
pub(super) fn apply_defaults(
    rt: &ResourceType,
    schema: Option<&Value>,
    object: &mut Value,
    strict: bool,
) -> Result<(), ApiError> {
    validation::apply_defaults(rt, object);
    let Some(schema) = schema else {
        return Ok(());
    };
    let unknown = schema::prune_and_default(schema, object);
    if strict && !unknown.is_empty() {
        let fields: Vec<String> = unknown
            .iter()
            .map(|path| format!("unknown field \"{path}\""))
            .collect();
        let kind = &rt.kind;
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{}\" cannot be handled as a {kind}: strict decoding error: {}",
            rt.version,
            fields.join(", ")
        )));
    }
    Ok(())
}

/// The built-in validation and the schema's, with every cause in one `Invalid` as kube-apiserver aggregates them.
pub(super) fn validate(
    rt: &ResourceType,
    schema: Option<&Value>,
    object: &Value,
    old: Option<&Value>,
) -> Result<(), Invalid> {
    let builtin = validation::validate(rt, object, old);
    let Some(schema) = schema else {
        return builtin;
    };
    let mut causes = builtin
        .err()
        .map(|invalid| invalid.causes)
        .unwrap_or_default();
    if let Err(invalid) = schema::validate(&rt.kind, schema, object, old) {
        causes.extend(invalid.causes);
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(Invalid {
            kind: rt.kind.clone(),
            causes,
        })
    }
}
