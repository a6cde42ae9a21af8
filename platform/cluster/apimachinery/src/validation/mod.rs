//! Defaulting and validation of objects on create and update, as kube-apiserver does them for the kinds served.
//!
//! ```text
//!   request body ──► apply_defaults (pkg/apis/*/v1/defaults.go) ──► validate (pkg/apis/*/validation) ──► store
//!                                                                      └─► Invalid { causes } ──► 422 Status
//! ```
//! Messages, field paths and `reason`s are kube-apiserver's, so `kubectl` prints the same errors. Fields of the
//! wrong JSON type become causes too (kube-apiserver would fail decoding with a 400); nothing here panics.
//! Kinds without specific rules (custom resources, Leases, ...) get the metadata checks only.
use crate::ResourceType;
use serde_json::Value;

mod causes;
mod crd;
mod data;
mod defaults;
mod events;
mod label_selector;
mod meta;
pub mod names;
mod networking;
mod pod_defaults;
mod pods;
pub mod schema;
mod workloads;

pub(crate) use causes::Causes;
pub use causes::go_value;
pub use label_selector::{go_label_selector, matches_label_selector};
use names::NameRule;
pub use pod_defaults::image_pull_policy;

/// One invalid field; becomes an entry of a 422 Status's `details.causes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldCause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueTooLong`, `FieldValueNotSupported`, ...
    pub reason: String,
    /// The message, e.g. `Invalid value: "A": a lowercase RFC 1123 subdomain must ...`.
    pub message: String,
    /// The field path, e.g. `metadata.name`.
    pub field: String,
}

/// The object is invalid.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{} is invalid", .kind)]
pub struct Invalid {
    /// The object's kind, for the Status message.
    pub kind: String,
    /// Every invalid field.
    pub causes: Vec<FieldCause>,
}

impl Invalid {
    /// The Status `message` kube-apiserver writes (`NewInvalid`): `Deployment.apps "web" is invalid: spec.replicas:
    /// Invalid value: -1: ...`, or `[first, second]` when several fields are invalid (duplicates dropped).
    pub fn status_message(&self, group: &str, name: &str) -> String {
        let qualified = if group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{group}", self.kind)
        };
        let mut errors: Vec<String> = Vec::new();
        for cause in &self.causes {
            let error = format!("{}: {}", cause.field, cause.message);
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
        let aggregate = match errors.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        format!(
            "{qualified} {} is invalid: {aggregate}",
            names::go_quote(name)
        )
    }
}

/// Fields the REST storage of `resource` fills on create after field management (see `defaults`).
pub fn storage_fields(resource: &ResourceType, object: &mut Value) {
    defaults::storage_fields(&resource.group, &resource.kind, object);
}

/// Fill in the defaults kube-apiserver sets (e.g. Deployment strategy, Secret type `Opaque`).
pub fn apply_defaults(resource: &ResourceType, object: &mut Value) {
    defaults::apply(&resource.group, &resource.kind, object);
}

/// How names of `resource` are checked.
fn name_rule(resource: &ResourceType) -> NameRule {
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        _ => NameRule::Subdomain,
    }
}

/// Validate `object` (the new state) against `old` (the stored state on update).
pub fn validate(
    resource: &ResourceType,
    object: &Value,
    old: Option<&Value>,
) -> Result<(), Invalid> {
    let mut causes = Causes::default();
    if !object.is_object() {
        causes.type_invalid("", object, "object");
    } else {
        meta::validate(
            &mut causes,
            name_rule(resource),
            resource.namespaced,
            object,
            old,
        );
        let old = old.filter(|o| o.is_object());
        match (resource.group.as_str(), resource.kind.as_str()) {
            ("", "ConfigMap") => data::config_map(&mut causes, object, old),
            ("", "Secret") => data::secret(&mut causes, object, old),
            ("", "Pod") => pods::pod(&mut causes, object),
            ("", "Service") => workloads::service(&mut causes, object),
            ("" | "events.k8s.io", "Event") => events::event(&mut causes, &resource.group, object),
            ("apps", kind) => workloads::apps(&mut causes, kind, object, old),
            ("networking.k8s.io", "Ingress") => networking::ingress(&mut causes, object),
            ("apiextensions.k8s.io", "CustomResourceDefinition") => crd::crd(&mut causes, object),
            _ => {}
        }
    }
    causes.into_result(&resource.kind)
}

#[cfg(test)]
mod tests;
