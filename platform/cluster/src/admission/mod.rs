//! Mutating admission webhooks on Pod CREATE, as kube-apiserver's MutatingAdmissionWebhook plugin runs them.
//! A CREATE is a POST, or a server-side apply PATCH of a pod that does not exist yet (the handler decides).
//!
//! ```text
//!  POST /api/v1/namespaces/NS/pods ─► mutate_pod_create ─► State::create
//!  PATCH …/pods/NAME (apply, absent) ─┘ (the apply configuration is mutated) ─► State::patch
//!        │ MutatingWebhookConfigurations, by name; their webhooks in order, when
//!        │   rules (CREATE, "", v1, pods) ∧ namespaceSelector(ns labels) ∧ objectSelector(pod labels)
//!        ▼
//!   call::call (HTTPS, caBundle-verified, timeoutSeconds) ─► allowed? ─► apply the JSONPatch
//!        │ call failure: failurePolicy Fail → 500 error; Ignore → skip the webhook
//!        │ denial → 400 "admission webhook "X" denied the request: ..."
//!        └ reinvocationPolicy IfNeeded: a webhook called before a later webhook's change is called once more
//! ```
//! Approximations: only `clientConfig.url` is routable (there is no service network); warnings are logged,
//! not sent as `Warning` headers; objects are taken as JSON (YAML and protobuf bodies skip admission and
//! reach create unchanged, whose own decoding reports any error). An apply-create mutates the apply configuration,
//! so the applier's field manager owns what the webhooks added (a re-apply without those fields drops them).
//! UPDATE is never admitted: patches, updates and applies of existing pods skip the webhooks.
mod call;
mod matching;

use std::time::Duration;

use bytes::Bytes;
use configsync_apimachinery::ResourceType;
use configsync_apimachinery::patch::apply_json_patch;
use serde_json::{Value, json};

use crate::state::State;
use crate::status::ApiError;
use matching::{Attributes, webhook_matches};

/// The `timeoutSeconds` default of admissionregistration/v1.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One matching webhook.
struct Hook {
    name: String,
    webhook: Value,
}

impl Hook {
    fn fails_closed(&self) -> bool {
        self.webhook.get("failurePolicy").and_then(Value::as_str) != Some("Ignore")
    }

    fn reinvokes(&self) -> bool {
        self.webhook
            .get("reinvocationPolicy")
            .and_then(Value::as_str)
            == Some("IfNeeded")
    }

    fn timeout(&self) -> Duration {
        self.webhook
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
    }
}

fn labels_of(object: &Value) -> Value {
    object
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}))
}

fn namespace_labels(state: &State, namespace: &str) -> Value {
    let Some(rt) = state.resolve("", "v1", "namespaces") else {
        return json!({});
    };
    state
        .get(&rt, None, namespace)
        .map(|ns| labels_of(&ns))
        .unwrap_or_else(|_| json!({}))
}

fn matching_hooks(state: &State, namespace: &str, object: &Value) -> Vec<Hook> {
    let Some(rt) = state.resolve(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
    ) else {
        return Vec::new();
    };
    let Ok(listing) = state.list(&rt, None, None) else {
        return Vec::new();
    };
    let (ns_labels, object_labels) = (namespace_labels(state, namespace), labels_of(object));
    let attrs = Attributes {
        group: "",
        version: "v1",
        resource: "pods",
        operation: "CREATE",
        namespace_labels: &ns_labels,
        object_labels: &object_labels,
    };
    // The listing is ordered by name, the order kube-apiserver calls configurations in.
    listing
        .objects
        .iter()
        .flat_map(|config| {
            config
                .get("webhooks")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter(|webhook| webhook_matches(webhook, &attrs))
        .map(|webhook| Hook {
            name: webhook
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            webhook,
        })
        .collect()
}

fn review(object: &Value, namespace: &str) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uuid::Uuid::new_v4().to_string(),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": object.pointer("/metadata/name").cloned().unwrap_or(json!("")),
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "system:admin", "groups": ["system:masters", "system:authenticated"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

/// Call one webhook and apply its answer to `object`; `Ok(true)` when the object changed.
async fn invoke(hook: &Hook, object: &mut Value, namespace: &str) -> Result<bool, ApiError> {
    let client_config = hook
        .webhook
        .get("clientConfig")
        .cloned()
        .unwrap_or_default();
    let outcome = call::call(&client_config, &review(object, namespace), hook.timeout()).await;
    let failed = |reason: String| {
        if hook.fails_closed() {
            return Err(ApiError::internal(format!(
                "failed calling webhook \"{}\": {reason}",
                hook.name
            )));
        }
        tracing::warn!(webhook = %hook.name, %reason, "webhook failed; ignored (failurePolicy Ignore)");
        Ok(false)
    };
    let answer = match outcome {
        Ok(answer) => answer,
        Err(error) => return failed(error.to_string()),
    };
    for warning in &answer.warnings {
        tracing::info!(webhook = %hook.name, %warning, "admission warning");
    }
    if !answer.allowed {
        return Err(ApiError::bad_request(format!(
            "admission webhook \"{}\" denied the request: {}",
            hook.name, answer.message
        )));
    }
    let Some(patch) = answer.patch else {
        return Ok(false);
    };
    match apply_json_patch(object, &patch) {
        Ok(patched) if patched == *object => Ok(false),
        Ok(patched) => {
            *object = patched;
            Ok(true)
        }
        Err(error) => failed(format!("apply the returned patch: {error}")),
    }
}

/// Run the matching mutating webhooks over a Pod create body and return the body to store.
///
/// # Errors
/// A denial (400) or a failed call of a `failurePolicy: Fail` webhook (500).
pub async fn mutate_pod_create(
    state: &State,
    rt: &ResourceType,
    namespace: Option<&str>,
    body: Bytes,
) -> Result<Bytes, ApiError> {
    if !(rt.group.is_empty() && rt.plural == "pods") {
        return Ok(body);
    }
    let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
        return Ok(body);
    };
    let namespace = namespace.unwrap_or("default");
    let hooks = matching_hooks(state, namespace, &object);
    if hooks.is_empty() {
        return Ok(body);
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.entry("namespace").or_insert_with(|| json!(namespace));
    }
    let mut last_change = None;
    for (index, hook) in hooks.iter().enumerate() {
        if invoke(hook, &mut object, namespace).await? {
            last_change = Some(index);
        }
    }
    // Reinvocation: once, for IfNeeded webhooks that ran before the last change made by another webhook.
    if let Some(changed_at) = last_change {
        for hook in hooks.iter().take(changed_at).filter(|h| h.reinvokes()) {
            invoke(hook, &mut object, namespace).await?;
        }
    }
    serde_json::to_vec(&object)
        .map(Bytes::from)
        .map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests;
