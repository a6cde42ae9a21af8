//! `ValidateEventCreate` (`pkg/apis/core/validation/events.go`): the legacy rules every Event passes, plus the
//! strict rules of `events.k8s.io/v1`. Messages name the `core/v1` fields, as kube-apiserver's do, except the
//! reporting controller, which is named after the API the request used.
use super::Causes;
use super::names::{go_quote, is_dns1123_subdomain, is_qualified_name};
use serde_json::Value;

const REASON_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const INSTANCE_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn is_set(object: &Value, key: &str) -> bool {
    object
        .get(key)
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

/// Validate an Event sent to `group` (`""` or `events.k8s.io`), in either shape.
pub(super) fn event(causes: &mut Causes, group: &str, object: &Value) {
    let events_v1 = group == "events.k8s.io";
    let shaped_v1 = text(object, "/apiVersion") == "events.k8s.io/v1"
        || (events_v1 && object.get("involvedObject").is_none());
    let core = if shaped_v1 {
        crate::events::to_core(object)
    } else {
        object.clone()
    };
    legacy(causes, &core, events_v1);
    if events_v1 {
        strict(causes, &core);
    }
}

fn limit(causes: &mut Causes, core: &Value, key: &str, max: usize) {
    if text(core, &format!("/{key}")).len() > max {
        causes.invalid(key, "\"\"", &format!("can have at most {max} characters"));
    }
}

/// `legacyValidateEvent`.
fn legacy(causes: &mut Causes, core: &Value, events_v1: bool) {
    let namespace = text(core, "/metadata/namespace");
    let involved_namespace = text(core, "/involvedObject/namespace");
    let mismatch = "does not match event.namespace";
    if !is_set(core, "eventTime") {
        let compatible = if involved_namespace.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved_namespace
        };
        if !compatible {
            causes.invalid(
                "involvedObject.namespace",
                &go_quote(involved_namespace),
                mismatch,
            );
        }
    } else {
        if involved_namespace.is_empty() && namespace != "default" && namespace != "kube-system" {
            causes.invalid(
                "involvedObject.namespace",
                &go_quote(involved_namespace),
                mismatch,
            );
        }
        let controller_field = if events_v1 {
            "reportingController"
        } else {
            "reportingComponent"
        };
        let controller = text(core, "/reportingComponent");
        if controller.is_empty() {
            causes.required(controller_field, "");
        }
        for message in is_qualified_name(controller) {
            causes.invalid(controller_field, &go_quote(controller), &message);
        }
        for (key, max) in [
            ("reportingInstance", INSTANCE_LIMIT),
            ("action", ACTION_LIMIT),
            ("reason", REASON_LIMIT),
        ] {
            if !is_set(core, key) {
                causes.required(key, "");
            }
            limit(causes, core, key, max);
        }
        limit(causes, core, "message", NOTE_LIMIT);
    }
    for message in is_dns1123_subdomain(namespace) {
        causes.invalid("namespace", &go_quote(namespace), &message);
    }
}

/// The `events.k8s.io/v1` rules on top of the legacy ones.
fn strict(causes: &mut Causes, core: &Value) {
    if let Some(series) = core.get("series").filter(|s| !s.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            causes.invalid("series.count", "\"\"", "should be at least 2");
        }
        if !is_set(series, "lastObservedTime") {
            causes.required("series.lastObservedTime", "");
        }
    }
    if !is_set(core, "eventTime") {
        causes.required("eventTime", "");
    }
    let event_type = text(core, "/type");
    if event_type != "Normal" && event_type != "Warning" {
        causes.invalid("type", "\"\"", &format!("has invalid value: {event_type}"));
    }
    for key in ["firstTimestamp", "lastTimestamp"] {
        if is_set(core, key) {
            causes.invalid(key, "\"\"", "needs to be unset");
        }
    }
    if core.get("count").and_then(Value::as_i64).unwrap_or(0) != 0 {
        causes.invalid("count", "\"\"", "needs to be unset");
    }
    if !text(core, "/source/component").is_empty() || !text(core, "/source/host").is_empty() {
        causes.invalid("source", "\"\"", "needs to be unset");
    }
}
