//! Deployment, ReplicaSet, StatefulSet, DaemonSet and Service rules (`pkg/apis/apps/validation`,
//! `ValidateService`).
use super::label_selector::{self, go_label_selector, matches_label_selector};
use super::meta::labels;
use super::names::go_quote;
use super::{Causes, pods};
use serde_json::Value;

const NON_NEGATIVE: &str = "must be greater than or equal to 0";
/// StatefulSet spec fields an update may change (`ValidateStatefulSetUpdate`).
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// Rules for the `apps/v1` workload kinds.
pub(super) fn apps(causes: &mut Causes, kind: &str, object: &Value, old: Option<&Value>) {
    // ControllerRevision has no spec: only the workloads are checked.
    let name = match kind {
        "Deployment" | "ReplicaSet" => "deployment",
        "StatefulSet" => "statefulset",
        "DaemonSet" => "daemonset",
        _ => return,
    };
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    if !spec.is_object() {
        causes.type_invalid("spec", spec, "object");
        return;
    }
    if kind != "DaemonSet"
        && let Some(replicas) = causes.integer(spec, "replicas", "spec.replicas")
        && replicas < 0
    {
        causes.invalid("spec.replicas", &replicas.to_string(), NON_NEGATIVE);
    }
    selector_and_template(causes, spec, name);
    if kind == "Deployment" {
        deployment_strategy(causes, spec);
    }
    if let Some(old_spec) = old.and_then(|o| o.get("spec")) {
        update(causes, kind, spec, old_spec);
    }
}

/// The selector must exist (except on DaemonSets), be non-empty and valid, and select the template's labels.
fn selector_and_template(causes: &mut Causes, spec: &Value, name: &str) {
    let selector = spec.get("selector").filter(|s| !s.is_null());
    match selector {
        None if name != "daemonset" => causes.required("spec.selector", ""),
        None => {}
        Some(selector @ Value::Object(map)) => {
            label_selector::validate(causes, selector, "spec.selector");
            if label_selector::is_empty(map) {
                let detail = format!("empty selector is invalid for {name}");
                causes.invalid("spec.selector", &go_label_selector(selector), &detail);
            }
        }
        Some(other) => {
            causes.type_invalid("spec.selector", other, "object");
            return;
        }
    }
    let empty = Value::Null;
    let template = spec.get("template").unwrap_or(&empty);
    let template_meta = template.get("metadata").unwrap_or(&empty);
    let template_labels = template_meta.get("labels").unwrap_or(&empty);
    let selects_everything = selector
        .and_then(Value::as_object)
        .is_some_and(label_selector::is_empty);
    if !selects_everything && !matches_label_selector(selector.unwrap_or(&empty), template_labels) {
        // kube-apiserver v1.37 prints the labels as JSON here.
        let bad = serde_json::to_string(template_meta.get("labels").unwrap_or(&Value::Null))
            .unwrap_or_default();
        causes.invalid(
            "spec.template.metadata.labels",
            &bad,
            "`selector` does not match template `labels`",
        );
    }
    labels(
        causes,
        template_meta,
        "labels",
        "spec.template.metadata.labels",
    );
    match template.get("spec") {
        Some(pod_spec @ Value::Object(_)) => {
            pods::pod_spec(causes, pod_spec, "spec.template.spec", true)
        }
        None | Some(Value::Null) => causes.required("spec.template.spec.containers", ""),
        Some(other) => causes.type_invalid("spec.template.spec", other, "object"),
    }
}

/// An `intstr` as Go prints it (`25%` or `1`) and its value for comparisons with zero.
fn int_or_percent(value: &Value) -> (String, Option<i64>) {
    match value {
        Value::String(s) => (s.clone(), s.strip_suffix('%').and_then(|n| n.parse().ok())),
        other => (other.to_string(), other.as_i64()),
    }
}

fn deployment_strategy(causes: &mut Causes, spec: &Value) {
    let empty = Value::Null;
    let strategy = spec.get("strategy").unwrap_or(&empty);
    let rolling = strategy.get("rollingUpdate").filter(|r| !r.is_null());
    match strategy.get("type").and_then(Value::as_str) {
        Some("Recreate") if rolling.is_some() => causes.forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ),
        Some("RollingUpdate") | None => {
            if let Some(rolling) = rolling {
                let field = "spec.strategy.rollingUpdate.maxUnavailable";
                let unavailable = rolling.get("maxUnavailable").map(int_or_percent);
                let surge = rolling.get("maxSurge").map(int_or_percent);
                if let (Some((text, Some(0))), Some((_, Some(0)))) = (&unavailable, &surge) {
                    causes.invalid(field, text, "may not be 0 when `maxSurge` is 0");
                }
                if let Some((text, Some(percent))) = &unavailable
                    && text.ends_with('%')
                    && *percent > 100
                {
                    causes.invalid(field, text, "must not be greater than 100%");
                }
            }
        }
        Some("Recreate") => {}
        Some(other) => causes.not_supported(
            "spec.strategy.type",
            &go_quote(other),
            &["Recreate", "RollingUpdate"],
        ),
    }
    let deadline = spec.get("progressDeadlineSeconds").and_then(Value::as_i64);
    let min_ready = spec
        .get("minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(deadline) = deadline
        && deadline <= min_ready
    {
        causes.invalid(
            "spec.progressDeadlineSeconds",
            &deadline.to_string(),
            "must be greater than minReadySeconds",
        );
    }
}

/// `value` with nulls, `""`, `[]` and `{}` dropped at every level: Go decodes all of them to the zero value, and
/// `apiequality.Semantic.DeepEqual` treats nil and empty slices and maps as equal.
fn semantic(value: &Value) -> Value {
    let is_zero = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), semantic(v)))
                .filter(|(_, v)| !is_zero(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(semantic).collect()),
        other => other.clone(),
    }
}

fn update(causes: &mut Causes, kind: &str, spec: &Value, old_spec: &Value) {
    if kind == "StatefulSet" {
        let frozen = |s: &Value| {
            let mut s = s.as_object().cloned().unwrap_or_default();
            s.retain(|k, _| !STATEFULSET_MUTABLE.contains(&k.as_str()));
            semantic(&Value::Object(s))
        };
        if frozen(spec) != frozen(old_spec) {
            causes.forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', \
                 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            );
        }
        return;
    }
    let selector = spec.get("selector").unwrap_or(&Value::Null);
    if semantic(selector) != semantic(old_spec.get("selector").unwrap_or(&Value::Null)) {
        causes.invalid(
            "spec.selector",
            &go_label_selector(selector),
            "field is immutable",
        );
    }
}

/// `ValidateService`: ports, their numbers and names, and the type.
pub(super) fn service(causes: &mut Causes, object: &Value) {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let service_type = causes
        .string(spec, "type", "spec.type")
        .unwrap_or("ClusterIP");
    let supported = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !supported.contains(&service_type) {
        causes.not_supported("spec.type", &go_quote(service_type), &supported);
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let ports = causes
        .array(spec, "ports", "spec.ports")
        .cloned()
        .unwrap_or_default();
    if service_type != "ExternalName" && ports.is_empty() && !headless {
        causes.required("spec.ports", "");
    }
    let mut names: Vec<String> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = causes
            .string(port, "name", &format!("{path}.name"))
            .unwrap_or_default();
        if ports.len() > 1 && name.is_empty() {
            causes.required(&format!("{path}.name"), "");
        } else if !name.is_empty() && names.iter().any(|n| n == name) {
            causes.duplicate(&format!("{path}.name"), &go_quote(name));
        }
        names.push(name.to_owned());
        match causes.integer(port, "port", &format!("{path}.port")) {
            Some(p) if (1..=65535).contains(&p) => {}
            p => causes.invalid(
                &format!("{path}.port"),
                &p.unwrap_or(0).to_string(),
                super::pods::PORT_RANGE,
            ),
        }
    }
    labels(causes, spec, "selector", "spec.selector");
}
