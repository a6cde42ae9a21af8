//! Pod and pod template defaults (`SetDefaults_Pod`, `SetDefaults_PodSpec`, `SetDefaults_Container`, volumes,
//! probes), as `pkg/apis/core/v1/defaults.go` sets them.
use super::defaults::{child, items, set_default};
use serde_json::{Value, json};

/// `defaultMode` of configMap, secret, projected and downwardAPI volumes (0644).
const DEFAULT_MODE: i64 = 0o644;

/// Defaults of a Pod: its spec's, plus what only Pods get (service links, requests from limits, host ports).
pub(super) fn pod(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    pod_spec(spec);
    set_default(spec, "enableServiceLinks", json!(true));
    let host_network = spec.get("hostNetwork") == Some(&Value::Bool(true));
    for key in ["containers", "initContainers"] {
        for container in items(spec, key) {
            requests_from_limits(container);
            if host_network {
                for port in items(container, "ports") {
                    if let Some(number) = port.get("containerPort").cloned() {
                        set_default(port, "hostPort", number);
                    }
                }
            }
        }
    }
}

/// A Pod's `resources.requests` default to its `resources.limits`.
fn requests_from_limits(container: &mut Value) {
    let Some(resources) = container.get_mut("resources").filter(|r| r.is_object()) else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if let Some(requests) = child(resources, "requests").and_then(Value::as_object_mut) {
        for (name, quantity) in limits {
            requests.entry(name).or_insert(quantity);
        }
    }
}

/// Defaults of a pod spec, in a Pod or in a workload's template.
pub(super) fn pod_spec(spec: &mut Value) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for key in ["containers", "initContainers"] {
        for c in items(spec, key) {
            container(c);
        }
    }
    for v in items(spec, "volumes") {
        volume(v);
    }
}

/// `Always` for `:latest` and untagged images, `IfNotPresent` for other tags and digests.
pub fn image_pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_component = name.rsplit('/').next().unwrap_or(name);
    let tag = last_component.split_once(':').map(|(_, tag)| tag);
    match (tag, digest) {
        (Some("latest"), _) | (None, None) => "Always",
        _ => "IfNotPresent",
    }
}

fn container(container: &mut Value) {
    set_default(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set_default(container, "terminationMessagePolicy", json!("File"));
    // `resources` is a struct: Go's encoder writes it even when empty.
    set_default(container, "resources", json!({}));
    if let Some(image) = container.get("image").and_then(Value::as_str) {
        let policy = image_pull_policy(image);
        set_default(container, "imagePullPolicy", json!(policy));
    }
    for port in items(container, "ports") {
        set_default(port, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = container.get_mut(probe).filter(|p| p.is_object()) {
            probe_defaults(p);
        }
    }
    for env in items(container, "env") {
        if let Some(field_ref) = env
            .pointer_mut("/valueFrom/fieldRef")
            .filter(|f| f.is_object())
        {
            set_default(field_ref, "apiVersion", json!("v1"));
        }
    }
}

fn probe_defaults(probe: &mut Value) {
    set_default(probe, "timeoutSeconds", json!(1));
    set_default(probe, "periodSeconds", json!(10));
    set_default(probe, "successThreshold", json!(1));
    set_default(probe, "failureThreshold", json!(3));
    if let Some(http) = probe.get_mut("httpGet").filter(|h| h.is_object()) {
        set_default(http, "path", json!("/"));
        set_default(http, "scheme", json!("HTTP"));
    }
}

fn volume(volume: &mut Value) {
    let Some(map) = volume.as_object_mut() else {
        return;
    };
    if map.keys().all(|k| k == "name") {
        map.insert("emptyDir".into(), json!({}));
    }
    for source in ["configMap", "secret", "projected", "downwardAPI"] {
        if let Some(source) = volume.get_mut(source).filter(|s| s.is_object()) {
            set_default(source, "defaultMode", json!(DEFAULT_MODE));
        }
    }
    if let Some(host_path) = volume.get_mut("hostPath").filter(|h| h.is_object()) {
        set_default(host_path, "type", json!(""));
    }
    for projection in volume
        .pointer_mut("/projected/sources")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(token) = projection
            .get_mut("serviceAccountToken")
            .filter(|t| t.is_object())
        {
            set_default(token, "expirationSeconds", json!(3600));
        }
    }
}
