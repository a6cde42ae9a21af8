//! One AdmissionReview in, one out: decode, decide with [`crate::inject::inject`], answer.
//!
//! ```text
//!  body ─decode─► AdmissionRequest<Pod> ─requested?─► lookup (ns labels, sources) ─inject─► response
//!   │ undecodable object: allowed + warning (denied with --strict)
//!   │ bad annotations:    allowed + warning, no patch (denied with --strict)
//!   └ lookup failure:     injected without the config hash, with a warning
//! ```
//! Either the whole patch is sent or none: a pod is never half injected.
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};

use super::lookup::Lookup;
use crate::inject::{InjectConfig, InjectError, inject, requested, sources_to_look_up};

/// How the webhook answers.
#[derive(Clone, Debug, Default)]
pub struct ReviewPolicy {
    /// Deny pods with bad annotations (or undecodable objects) instead of admitting them with a warning.
    pub strict: bool,
    /// How containers are built.
    pub inject: InjectConfig,
}

/// Failures that leave no request to answer.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The body is not an AdmissionReview with a request.
    #[error("decode AdmissionReview: {0}")]
    DecodeReview(String),
}

/// Answer one AdmissionReview body.
///
/// # Errors
/// [`ReviewError::DecodeReview`] when the body is not an AdmissionReview request (HTTP 400).
pub async fn review(
    body: &[u8],
    lookup: &impl Lookup,
    policy: &ReviewPolicy,
) -> Result<AdmissionReview<DynamicObject>, ReviewError> {
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_slice(body).map_err(|e| ReviewError::DecodeReview(e.to_string()))?;
    let request: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| ReviewError::DecodeReview("the review has no request".to_owned()))?;
    let response = AdmissionResponse::from(&request);
    Ok(answer(&request, response, lookup, policy)
        .await
        .into_review())
}

fn refuse(response: AdmissionResponse, strict: bool, message: String) -> AdmissionResponse {
    if strict {
        return response.deny(message);
    }
    with_warnings(response, vec![message])
}

fn with_warnings(mut response: AdmissionResponse, warnings: Vec<String>) -> AdmissionResponse {
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    response
}

async fn answer(
    request: &AdmissionRequest<DynamicObject>,
    response: AdmissionResponse,
    lookup: &impl Lookup,
    policy: &ReviewPolicy,
) -> AdmissionResponse {
    let pod = match decode_pod(request) {
        Ok(pod) => pod,
        Err(message) => return refuse(response, policy.strict, message),
    };
    let namespace = request
        .namespace
        .clone()
        .or_else(|| pod.metadata.as_ref().and_then(|m| m.namespace.clone()))
        .unwrap_or_else(|| "default".to_owned());
    let mut warnings = Vec::new();
    let labels = lookup
        .namespace_labels(&namespace)
        .await
        .unwrap_or_else(|error| {
            warnings.push(format!("namespace {namespace} labels unreadable: {error}"));
            BTreeMap::new()
        });
    let spec = match requested(&pod, &labels) {
        Ok(Some(spec)) => spec,
        Ok(None) => return with_warnings(response, warnings),
        Err(error) => return refuse(response, policy.strict, denial(&error)),
    };
    let ids = sources_to_look_up(&pod, &spec);
    let data = match lookup
        .sources(&namespace, &ids, spec.selector.as_deref())
        .await
    {
        Ok(data) => Some(data),
        Err(error) => {
            tracing::warn!(%error, "source lookup failed; injecting without the config hash");
            None
        }
    };
    match inject(&pod, &labels, &policy.inject, data.as_ref()) {
        Ok(outcome) => {
            warnings.extend(outcome.warnings);
            let response = with_warnings(response, warnings);
            if outcome.patch.0.is_empty() {
                return response;
            }
            match response.clone().with_patch(outcome.patch) {
                Ok(patched) => patched,
                Err(error) => refuse(response, policy.strict, format!("configsync: {error}")),
            }
        }
        Err(error) => refuse(response, policy.strict, denial(&error)),
    }
}

fn denial(error: &InjectError) -> String {
    format!("configsync sidecar not injected: {error}")
}

/// The request's object as a pod template (metadata + spec: the same JSON paths as a Pod).
fn decode_pod(request: &AdmissionRequest<DynamicObject>) -> Result<PodTemplateSpec, String> {
    let object = request
        .object
        .as_ref()
        .ok_or_else(|| "configsync: the admission request carries no object".to_owned())?;
    let value = serde_json::to_value(object).map_err(|e| format!("configsync: {e}"))?;
    let pod: Pod = serde_json::from_value(value)
        .map_err(|e| format!("configsync: the object is not a valid Pod: {e}"))?;
    Ok(PodTemplateSpec {
        metadata: Some(pod.metadata),
        spec: pod.spec,
    })
}
