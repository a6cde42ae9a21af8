//! `ValidatePodSpec` for Pods and pod templates: containers, images, ports, volumes and their mounts.
use super::Causes;
use super::names::{go_quote, is_dns1123_label};
use serde_json::Value;

pub(super) const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

/// `ValidatePodCreate`/`ValidatePodUpdate` rules a user hits.
pub(super) fn pod(causes: &mut Causes, object: &Value) {
    let empty = Value::Null;
    match object.get("spec").unwrap_or(&empty) {
        spec @ (Value::Object(_) | Value::Null) => pod_spec(causes, spec, "spec", false),
        other => causes.type_invalid("spec", other, "object"),
    }
}

/// Validate a pod spec at `path`; `template` adds the workload rule that `restartPolicy` is `Always`.
pub(crate) fn pod_spec(causes: &mut Causes, spec: &Value, path: &str, template: bool) {
    let volumes = volumes(causes, spec, path);
    let mut names: Vec<String> = Vec::new();
    let containers = causes.array(spec, "containers", &format!("{path}.containers"));
    if containers.is_none_or(Vec::is_empty) {
        causes.required(&format!("{path}.containers"), "");
    }
    for key in ["initContainers", "containers"] {
        let field = format!("{path}.{key}");
        for (i, container) in causes
            .array(spec, key, &field)
            .into_iter()
            .flatten()
            .enumerate()
        {
            container_rules(
                causes,
                container,
                &format!("{field}[{i}]"),
                &volumes,
                &mut names,
            );
        }
    }
    let restart = causes.string(spec, "restartPolicy", &format!("{path}.restartPolicy"));
    let supported: &[&str] = if template {
        &["Always"]
    } else {
        &["Always", "OnFailure", "Never"]
    };
    match restart {
        Some(policy) if !supported.contains(&policy) => {
            causes.not_supported(
                &format!("{path}.restartPolicy"),
                &go_quote(policy),
                supported,
            );
        }
        _ => {}
    }
}

/// A DNS-1123 label that must be present and unique within `seen`.
fn unique_label(causes: &mut Causes, name: Option<&str>, field: &str, seen: &mut Vec<String>) {
    match name.unwrap_or_default() {
        "" => causes.required(field, ""),
        name => {
            for message in is_dns1123_label(name) {
                causes.invalid(field, &go_quote(name), &message);
            }
            if seen.iter().any(|s| s == name) {
                causes.duplicate(field, &go_quote(name));
            } else {
                seen.push(name.to_owned());
            }
        }
    }
}

/// Check volume names; return them for the mounts to refer to.
fn volumes(causes: &mut Causes, spec: &Value, path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let field = format!("{path}.volumes");
    for (i, volume) in causes
        .array(spec, "volumes", &field)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name_field = format!("{field}[{i}].name");
        let name = causes.string(volume, "name", &name_field);
        unique_label(causes, name, &name_field, &mut names);
    }
    names
}

fn container_rules(
    causes: &mut Causes,
    container: &Value,
    path: &str,
    volumes: &[String],
    names: &mut Vec<String>,
) {
    if !container.is_object() {
        causes.type_invalid(path, container, "object");
        return;
    }
    let name_field = format!("{path}.name");
    let name = causes.string(container, "name", &name_field);
    unique_label(causes, name, &name_field, names);
    if causes
        .string(container, "image", &format!("{path}.image"))
        .is_none_or(str::is_empty)
    {
        causes.required(&format!("{path}.image"), "");
    }
    ports(causes, container, path);
    mounts(causes, container, path, volumes);
}

fn ports(causes: &mut Causes, container: &Value, path: &str) {
    for (i, port) in causes
        .array(container, "ports", &format!("{path}.ports"))
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = format!("{path}.ports[{i}].containerPort");
        match causes.integer(port, "containerPort", &field) {
            None | Some(0) => causes.required(&field, ""),
            Some(p) if !(1..=65535).contains(&p) => {
                causes.invalid(&field, &p.to_string(), PORT_RANGE)
            }
            Some(_) => {}
        }
        let protocol_field = format!("{path}.ports[{i}].protocol");
        if let Some(protocol) = causes.string(port, "protocol", &protocol_field)
            && !["SCTP", "TCP", "UDP"].contains(&protocol)
        {
            causes.not_supported(
                &protocol_field,
                &go_quote(protocol),
                &["SCTP", "TCP", "UDP"],
            );
        }
    }
}

fn mounts(causes: &mut Causes, container: &Value, path: &str, volumes: &[String]) {
    let mounts_field = format!("{path}.volumeMounts");
    for (i, mount) in causes
        .array(container, "volumeMounts", &mounts_field)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = format!("{mounts_field}[{i}]");
        let name = causes
            .string(mount, "name", &format!("{field}.name"))
            .unwrap_or_default();
        if name.is_empty() {
            causes.required(&format!("{field}.name"), "");
        }
        if !volumes.iter().any(|v| v == name) {
            causes.not_found(&format!("{field}.name"), &go_quote(name));
        }
        if causes
            .string(mount, "mountPath", &format!("{field}.mountPath"))
            .is_none_or(str::is_empty)
        {
            causes.required(&format!("{field}.mountPath"), "");
        }
    }
}
