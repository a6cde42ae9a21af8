//! The defaults kube-apiserver fills in (`pkg/apis/{core,apps,admissionregistration}/v1/defaults.go`,
//! apiextensions `SetDefaults_*`, Namespace strategy). Only missing or `null` fields are set; fields of an
//! unexpected type are left alone for validation to report.
use serde_json::{Map, Value, json};

/// `object[key]` as an object, created when missing or null; `None` when it holds something else.
pub(super) fn child<'a>(object: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let map = object.as_object_mut()?;
    let entry = map.entry(key).or_insert(Value::Null);
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    entry.is_object().then_some(entry)
}

/// Set `object[key] = value` when it is missing, null or `""` (Go's zero value for strings).
pub(super) fn set_default(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        let entry = map.entry(key).or_insert(Value::Null);
        if entry.is_null() || entry.as_str() == Some("") {
            *entry = value;
        }
    }
}

/// Mutable items of the list `object[key]`, if it is a list.
pub(super) fn items<'a>(object: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    object
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// Apply the defaults of `group`/`kind` to `object`.
pub(super) fn apply(group: &str, kind: &str, object: &mut Value) {
    match (group, kind) {
        ("", "ConfigMap") => drop_empty_maps(object, &["data", "binaryData"]),
        ("", "Secret") => secret(object),
        ("", "Service") => service(object),
        ("", "Pod") => super::pod_defaults::pod(object),
        ("", "Namespace") => namespace(object),
        ("apps", "Deployment") => deployment(object),
        ("apps", "ReplicaSet") => replicas_and_template(object),
        ("apps", "StatefulSet") => stateful_set(object),
        ("apps", "DaemonSet") => daemon_set(object),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => webhooks(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(object),
        _ => {}
    }
}

/// Empty maps under `keys` are dropped: they are Go maps tagged `omitempty`, which the apiserver never writes.
fn drop_empty_maps(object: &mut Value, keys: &[&str]) {
    if let Some(map) = object.as_object_mut() {
        for key in keys {
            if map
                .get(*key)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                map.remove(*key);
            }
        }
    }
}

/// What the REST storage adds to a new object after field management (so no managedFields entry owns it):
/// workloads' `status` struct, which Go's encoder writes as `{}` before any controller fills it, a
/// Service's `status.loadBalancer` and headless IP fields, a Namespace's finalizer and phase.
pub(super) fn storage_fields(group: &str, kind: &str, object: &mut Value) {
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") => {
            child(object, "status");
        }
        ("", "Namespace") => namespace_storage(object),
        ("networking.k8s.io", "Ingress") => {
            if let Some(status) = child(object, "status") {
                child(status, "loadBalancer");
            }
        }
        ("", "Service") => {
            if let Some(spec) = child(object, "spec") {
                headless_ip_fields(spec);
            }
            if let Some(status) = child(object, "status") {
                child(status, "loadBalancer");
            }
        }
        _ => {}
    }
}

/// `stringData` is merged into `data` (base64) and dropped, as the v1 → internal conversion does before
/// defaulting; entries that are not strings stay in `stringData` for validation to report.
fn secret(object: &mut Value) {
    use base64::Engine as _;
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        let (text, other): (Map<String, Value>, Map<String, Value>) =
            string_data.into_iter().partition(|(_, v)| v.is_string());
        if !other.is_empty() {
            map.insert("stringData".into(), Value::Object(other));
        }
        if !text.is_empty() {
            let data = map.entry("data").or_insert(Value::Null);
            if data.is_null() {
                *data = Value::Object(Map::new());
            }
            if let Some(data) = data.as_object_mut() {
                for (key, value) in text {
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(value.as_str().unwrap_or_default());
                    data.insert(key, Value::String(encoded));
                }
            }
        }
    }
    set_default(object, "type", json!("Opaque"));
    drop_empty_maps(object, &["data"]);
}

fn service(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    set_default(spec, "sessionAffinity", json!("None"));
    if text(spec, "sessionAffinity") == Some("None")
        && let Some(map) = spec.as_object_mut()
    {
        map.remove("sessionAffinityConfig");
    }
    set_default(spec, "type", json!("ClusterIP"));
    for port in items(spec, "ports") {
        set_default(port, "protocol", json!("TCP"));
        let target_unset = matches!(port.get("targetPort"), None | Some(Value::Null))
            || port.get("targetPort") == Some(&json!(0))
            || port.get("targetPort") == Some(&json!(""));
        if target_unset
            && let Some(number) = port.get("port").cloned()
            && let Some(map) = port.as_object_mut()
        {
            map.insert("targetPort".into(), number);
        }
    }
    let service_type = text(spec, "type").unwrap_or_default().to_owned();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|ips| !ips.is_empty());
    let externally_accessible = matches!(service_type.as_str(), "NodePort" | "LoadBalancer")
        || (service_type == "ClusterIP" && has_external_ips);
    if externally_accessible {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(
        service_type.as_str(),
        "NodePort" | "LoadBalancer" | "ClusterIP"
    ) {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

/// A headless Service's `clusterIPs` and single-stack IP family fields, as the service REST storage fills
/// them (no address is allocated, so this needs no allocator).
fn headless_ip_fields(spec: &mut Value) {
    if text(spec, "clusterIP") != Some("None") || text(spec, "type") == Some("ExternalName") {
        return;
    }
    set_default(spec, "clusterIPs", json!(["None"]));
    set_default(spec, "ipFamilies", json!(["IPv4"]));
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
}

fn namespace(object: &mut Value) {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty()
        && let Some(labels) = child(object, "metadata").and_then(|m| child(m, "labels"))
        && let Some(map) = labels.as_object_mut()
    {
        map.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
}

/// The Namespace strategy's `PrepareForCreate`: the `kubernetes` finalizer and phase `Active`.
fn namespace_storage(object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert("spec".into(), json!({ "finalizers": ["kubernetes"] }));
        map.insert("status".into(), json!({ "phase": "Active" }));
    }
}

/// `spec.replicas` 1 and the pod template defaults (ReplicaSet; part of the other workloads).
fn replicas_and_template(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(pod_spec) = child(spec, "template").and_then(|t| child(t, "spec")) {
        super::pod_defaults::pod_spec(pod_spec);
    }
}

fn deployment(object: &mut Value) {
    replicas_and_template(object);
    let Some(spec) = child(object, "spec") else {
        return;
    };
    if let Some(strategy) = child(spec, "strategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if text(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!("25%"));
            set_default(rolling, "maxSurge", json!("25%"));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
}

fn stateful_set(object: &mut Value) {
    replicas_and_template(object);
    let Some(spec) = child(object, "spec") else {
        return;
    };
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(strategy) = child(spec, "updateStrategy") {
        if text(strategy, "type").is_none_or(str::is_empty) {
            set_default(strategy, "type", json!("RollingUpdate"));
            set_default(strategy, "rollingUpdate", json!({}));
        }
        let rolling_type = text(strategy, "type") == Some("RollingUpdate");
        if rolling_type
            && let Some(rolling) = strategy.get_mut("rollingUpdate").filter(|r| r.is_object())
        {
            set_default(rolling, "partition", json!(0));
        }
    }
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        set_default(policy, "whenDeleted", json!("Retain"));
        set_default(policy, "whenScaled", json!("Retain"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    for claim in items(spec, "volumeClaimTemplates") {
        if let Some(claim_spec) = child(claim, "spec") {
            set_default(claim_spec, "volumeMode", json!("Filesystem"));
        }
        if let Some(status) = child(claim, "status") {
            set_default(status, "phase", json!("Pending"));
        }
    }
}

fn daemon_set(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    if let Some(pod_spec) = child(spec, "template").and_then(|t| child(t, "spec")) {
        super::pod_defaults::pod_spec(pod_spec);
    }
    if let Some(strategy) = child(spec, "updateStrategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if text(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!(1));
            set_default(rolling, "maxSurge", json!(0));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
}

fn service_port(client_config: &mut Value) {
    if let Some(service) = client_config.get_mut("service").filter(|s| s.is_object()) {
        set_default(service, "port", json!(443));
    }
}

fn webhooks(object: &mut Value) {
    for webhook in items(object, "webhooks") {
        set_default(webhook, "failurePolicy", json!("Fail"));
        set_default(webhook, "matchPolicy", json!("Equivalent"));
        set_default(webhook, "namespaceSelector", json!({}));
        set_default(webhook, "objectSelector", json!({}));
        set_default(webhook, "timeoutSeconds", json!(10));
        set_default(webhook, "reinvocationPolicy", json!("Never"));
        for rule in items(webhook, "rules") {
            set_default(rule, "scope", json!("*"));
        }
        if let Some(client_config) = webhook.get_mut("clientConfig") {
            service_port(client_config);
        }
    }
}

fn crd(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    if let Some(names) = child(spec, "names") {
        let kind = text(names, "kind").unwrap_or_default().to_owned();
        set_default(names, "singular", json!(kind.to_lowercase()));
        if !kind.is_empty() {
            set_default(names, "listKind", json!(format!("{kind}List")));
        }
    }
    if let Some(conversion) = child(spec, "conversion") {
        set_default(conversion, "strategy", json!("None"));
        if let Some(client_config) = conversion.pointer_mut("/webhook/clientConfig") {
            service_port(client_config);
        }
    }
}
