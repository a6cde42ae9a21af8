//! Kubernetes `Status` errors: every failure the server returns is one of these, with the code, reason and
//! message wording of kube-apiserver (`k8s.io/apimachinery/pkg/api/errors`), so that kubectl and kube-rs
//! print and classify them exactly as they do against a real cluster.
use configsync_apimachinery::validation::{FieldCause, Invalid};
use serde_json::{Value, json};

/// A failed API request, rendered as a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human message, worded as kube-apiserver words it.
    pub message: String,
    /// `details`, if any.
    pub details: Option<Value>,
    /// Seconds for `Retry-After` (429 answers).
    pub retry_after: Option<u32>,
}

/// A `group/resource` pair as the apiserver prints it: `deployments.apps`, or `configmaps` for the core group.
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_owned()
    } else {
        format!("{plural}.{group}")
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut details = json!({ "kind": kind });
    if !name.is_empty() {
        details["name"] = json!(name);
    }
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    details
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 404 for a missing object: `configmaps "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let mut error = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, plural)),
        );
        error.details = Some(details(name, group, plural));
        error
    }

    /// 404 for a path that names no served resource.
    pub fn unknown_resource() -> Self {
        let mut error = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        error.details = Some(json!({}));
        error
    }

    /// 409 on a duplicate create: `configmaps "x" already exists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let mut error = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, plural)),
        );
        error.details = Some(details(name, group, plural));
        error
    }

    /// 409 on a stale write: `Operation cannot be fulfilled on deployments.apps "x": <why>`.
    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": {why}",
            qualified(group, plural)
        );
        let mut error = Self::new(409, "Conflict", message);
        error.details = Some(details(name, group, plural));
        error
    }

    /// The standard stale-resourceVersion conflict.
    pub fn modified(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 Invalid with field causes: `ConfigMap "x" is invalid: data: Too long: ...`, worded by
    /// `validation::Invalid::status_message` (`Deployment.apps "x" is invalid: ...`).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[FieldCause]) -> Self {
        let invalid = Invalid {
            kind: kind.to_owned(),
            causes: causes.to_vec(),
        };
        let mut error = Self::new(422, "Invalid", invalid.status_message(group, name));
        let mut body = details(name, group, kind);
        body["causes"] = causes
            .iter()
            .map(|cause| json!({ "reason": cause.reason, "message": cause.message, "field": cause.field }))
            .collect();
        error.details = Some(body);
        error
    }

    /// 422 for invalid request options, as `ValidateListOptions`/`ValidatePatchOptions` word it:
    /// `ListOptions.meta.k8s.io "" is invalid: <field>: <Reason>: <detail>`.
    pub fn invalid_options(options: &str, field: &str, reason: &str, detail: &str) -> Self {
        let (cause_reason, label) = match reason {
            "Required" => ("FieldValueRequired", "Required value"),
            _ => ("FieldValueForbidden", "Forbidden"),
        };
        let cause = FieldCause {
            reason: cause_reason.into(),
            message: format!("{label}: {detail}"),
            field: field.into(),
        };
        Self::invalid("meta.k8s.io", options, "", &[cause])
    }

    /// 403 Forbidden: `configmaps "x" is forbidden: <why>`.
    pub fn forbidden(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let message = format!(
            "{} \"{name}\" is forbidden: {why}",
            qualified(group, plural)
        );
        let mut error = Self::new(403, "Forbidden", message);
        error.details = Some(details(name, group, plural));
        error
    }

    /// 400 BadRequest with a free message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        let mut error = Self::new(405, "MethodNotAllowed", message);
        error.details = Some(json!({}));
        error
    }

    /// 415 for a request body type the endpoint does not accept.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        tracing::debug!(content_type, "unsupported media type");
        Self::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: \
             application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )
    }

    /// 410 Gone for a resourceVersion older than the retained history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 422 for a request that is well-formed but cannot be applied (e.g. a failing JSON patch).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "UnprocessableEntity", message)
    }

    /// 422 Invalid without detail: what kube-apiserver answers when a JSON patch operation fails.
    pub fn rejected() -> Self {
        let mut error = Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        );
        error.details = Some(json!({}));
        error
    }

    /// 413 for a request body over the limit.
    pub fn request_entity_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// 429 TooManyRequests with a Retry-After.
    pub fn too_many_requests(retry_after: u32) -> Self {
        let mut error = Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        );
        error.details = Some(json!({ "retryAfterSeconds": retry_after }));
        error.retry_after = Some(retry_after);
        error
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// The `Status` a successful immediate delete answers with.
pub fn deleted_status(group: &str, plural: &str, name: &str, uid: &str) -> Value {
    let mut body = details(name, group, plural);
    body["uid"] = json!(uid);
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_message_matches_the_apiserver() {
        let error = ApiError::modified("apps", "deployments", "x");
        assert_eq!(
            error.message,
            "Operation cannot be fulfilled on deployments.apps \"x\": the object has been modified; please apply your changes to the latest version and try again"
        );
        let status = error.to_status();
        assert_eq!(status["code"], 409);
        assert_eq!(status["reason"], "Conflict");
        assert_eq!(
            status["details"],
            json!({"name": "x", "group": "apps", "kind": "deployments"})
        );
    }

    #[test]
    fn invalid_lists_causes_and_brackets_many() {
        let cause = |field: &str| FieldCause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: field.into(),
        };
        let one = ApiError::invalid("", "ConfigMap", "c", &[cause("data")]);
        assert_eq!(
            one.message,
            "ConfigMap \"c\" is invalid: data: Required value"
        );
        let two = ApiError::invalid("apps", "Deployment", "d", &[cause("a"), cause("b")]);
        assert_eq!(
            two.message,
            "Deployment.apps \"d\" is invalid: [a: Required value, b: Required value]"
        );
        assert_eq!(two.to_status()["details"]["causes"][1]["field"], "b");
    }

    #[test]
    fn not_found_uses_the_core_group_without_suffix() {
        assert_eq!(
            ApiError::not_found("", "configmaps", "x").message,
            "configmaps \"x\" not found"
        );
        assert_eq!(
            ApiError::too_many_requests(2).to_status()["details"]["retryAfterSeconds"],
            2
        );
    }
}
