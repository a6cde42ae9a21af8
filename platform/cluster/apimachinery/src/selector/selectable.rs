//! Which field labels kube-apiserver accepts in a `fieldSelector`, per kind, and how it reads each one.
//!
//! The apiserver converts every label through the scheme's field label conversion for the kind before listing:
//!
//! - kinds with a registered conversion (`AddFieldLabelConversionFunc` in `pkg/apis/core/v1/conversion.go` and
//!   `pkg/apis/events/v1/conversion.go`) accept their own list and answer anything else with
//!   `field label not supported: <label>`;
//! - every other built-in kind (ConfigMap, Deployment, Lease, ...) gets `DefaultMetaV1FieldSelectorConversion`:
//!   only `metadata.name` and `metadata.namespace`, else `"<label>" is not a known field selector: only
//!   "metadata.name", "metadata.namespace"`;
//! - custom resources accept `metadata.name`, plus `metadata.namespace` when namespaced, else
//!   `field label not supported: <label>`.
//!
//! The values are those of the kinds' `ToSelectableFields` (`pkg/registry/*/strategy.go`): mostly the field at
//! the label's path, with a few computed ones (a core Event's `source` falls back to `reportingComponent`, a
//! Pod's `spec.hostNetwork` defaults to `false`, `status.podIP` is the first of `status.podIPs`).
//!
//! Approximation: a CRD's `selectableFields` are not honoured (only `metadata.name`/`metadata.namespace`).
use serde_json::Value;

use super::SelectorError;
use super::field::field_value;
use crate::ResourceType;

const POD: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
    // Old v1 clients' name for spec.nodeName.
    "spec.host",
];
const CORE_EVENT: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
];
const EVENTS_V1_EVENT: &[&str] = &[
    "reason",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reportingController",
    "type",
    "metadata.namespace",
    "metadata.name",
];
const NAMESPACE: &[&str] = &["status.phase", "metadata.name"];
const SECRET: &[&str] = &["type", "metadata.namespace", "metadata.name"];
const SERVICE: &[&str] = &[
    "metadata.namespace",
    "metadata.name",
    "spec.clusterIP",
    "spec.type",
];
const NODE: &[&str] = &["metadata.name", "spec.unschedulable"];
const REPLICATION_CONTROLLER: &[&str] = &["metadata.name", "metadata.namespace", "status.replicas"];

/// The labels of the kinds that register a field label conversion.
fn registered(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    match (group, kind) {
        ("", "Pod") => Some(POD),
        ("", "Event") => Some(CORE_EVENT),
        ("events.k8s.io", "Event") => Some(EVENTS_V1_EVENT),
        ("", "Namespace") => Some(NAMESPACE),
        ("", "Secret") => Some(SECRET),
        ("", "Service") => Some(SERVICE),
        ("", "Node") => Some(NODE),
        ("", "ReplicationController") => Some(REPLICATION_CONTROLLER),
        _ => None,
    }
}

/// The field labels one kind accepts, and how their values are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectableFields {
    group: String,
    kind: String,
    namespaced: bool,
    custom: bool,
}

impl SelectableFields {
    /// The rules for `rt`; `custom` when it is served from a CRD.
    pub fn of(rt: &ResourceType, custom: bool) -> Self {
        Self {
            group: rt.group.clone(),
            kind: rt.kind.clone(),
            namespaced: rt.namespaced,
            custom,
        }
    }

    /// Accepts `label`, or fails with the apiserver's message for this kind.
    pub fn check(&self, label: &str) -> Result<(), SelectorError> {
        let unsupported =
            || SelectorError::Unsupported(format!("field label not supported: {label}"));
        if self.custom {
            return match label {
                "metadata.name" => Ok(()),
                "metadata.namespace" if self.namespaced => Ok(()),
                _ => Err(unsupported()),
            };
        }
        match registered(&self.group, &self.kind) {
            Some(labels) if labels.contains(&label) => Ok(()),
            Some(_) => Err(unsupported()),
            None if matches!(label, "metadata.name" | "metadata.namespace") => Ok(()),
            None => Err(SelectorError::Unsupported(format!(
                "\"{label}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            ))),
        }
    }

    /// The value of `label` on `object` (wire form), as the kind's `ToSelectableFields` computes it.
    pub fn value(&self, object: &Value, label: &str) -> String {
        let core = |kind: &str| self.group.is_empty() && self.kind == kind && !self.custom;
        match label {
            "source" if core("Event") => {
                let component = field_value(object, "source.component");
                if component.is_empty() {
                    field_value(object, "reportingComponent")
                } else {
                    component
                }
            }
            "spec.host" if core("Pod") => field_value(object, "spec.nodeName"),
            "spec.hostNetwork" if core("Pod") => {
                let host_network = field_value(object, label);
                if host_network.is_empty() {
                    "false".to_owned()
                } else {
                    host_network
                }
            }
            "status.podIP" if core("Pod") => object
                .pointer("/status/podIPs/0/ip")
                .and_then(Value::as_str)
                .map_or_else(|| field_value(object, label), str::to_owned),
            _ => field_value(object, label),
        }
    }
}
