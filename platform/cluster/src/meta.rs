//! Object metadata as kube-apiserver maintains it: accessors on JSON objects, timestamps, uids, `generateName`
//! suffixes, and the generation rule (bump when anything outside `metadata` and `status` changes).
use rand::RngExt;
use serde_json::{Map, Value, json};

/// Characters of a `generateName` suffix (`k8s.io/apiserver/pkg/storage/names`: no vowels, no confusables).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Length of a `generateName` suffix.
const SUFFIX_LEN: usize = 5;

/// The current time as the apiserver writes timestamps: RFC 3339, second precision, UTC.
pub fn now_rfc3339() -> String {
    format_time(jiff::Timestamp::now())
}

/// Format a timestamp with second precision.
pub fn format_time(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fresh uid.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `generateName` plus a random 5-character suffix.
pub fn generate_name(prefix: &str) -> String {
    let mut rng = rand::rng();
    let suffix: String = (0..SUFFIX_LEN)
        .map(|_| char::from(SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())]))
        .collect();
    format!("{prefix}{suffix}")
}

/// `metadata`, created if missing (or replaced if not an object).
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = json!({});
    }
    let Some(map) = object.as_object_mut() else {
        unreachable_object()
    };
    let metadata = map.entry("metadata").or_insert_with(|| json!({}));
    if !metadata.is_object() {
        *metadata = json!({});
    }
    match metadata.as_object_mut() {
        Some(metadata) => metadata,
        None => unreachable_object(),
    }
}

fn unreachable_object() -> ! {
    // Both call sites have just made the value an object.
    unreachable!("value was made an object")
}

/// A string field of `metadata`.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// `metadata.name`, or empty.
pub fn name(object: &Value) -> &str {
    meta_str(object, "name").unwrap_or("")
}

/// `metadata.resourceVersion` as a number, if it is one.
pub fn resource_version(object: &Value) -> Option<u64> {
    meta_str(object, "resourceVersion")?.parse().ok()
}

/// Whether the apiserver keeps `metadata.generation` for this kind: the strategies of the apps workloads,
/// CustomResourceDefinitions, webhook configurations, Ingresses, IngressClasses and every custom resource set it; ConfigMaps, Secrets,
/// Pods (without the alpha `PodObservedGenerationTracking` gate), Namespaces, Services and the rest do not.
pub fn tracks_generation(rt: &configsync_apimachinery::ResourceType) -> bool {
    let custom_resource = rt.printer_columns.is_some();
    custom_resource
        || matches!(
            (rt.group.as_str(), rt.plural.as_str()),
            (
                "apps",
                "deployments" | "statefulsets" | "daemonsets" | "replicasets"
            ) | ("apiextensions.k8s.io", "customresourcedefinitions")
                | ("networking.k8s.io", "ingresses" | "ingressclasses")
                | (
                    "admissionregistration.k8s.io",
                    "mutatingwebhookconfigurations"
                )
        )
}

/// `metadata.generation`, or 0.
pub fn generation(object: &Value) -> i64 {
    object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// `metadata.finalizers`.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the object has a deletionTimestamp.
pub fn is_deleting(object: &Value) -> bool {
    meta_str(object, "deletionTimestamp").is_some()
}

/// Whether `new` differs from `old` outside `metadata` and `status`: the generation rule.
/// Whether an update from `old` to `new` bumps `metadata.generation` of a kind that tracks it: a change outside
/// metadata and status, and for a Deployment also a change of its annotations (kube-apiserver's Deployment
/// strategy counts them, because the Deployment controller copies them onto its ReplicaSets).
pub fn bumps_generation(
    rt: &configsync_apimachinery::ResourceType,
    old: &Value,
    new: &Value,
) -> bool {
    let annotations = |value: &Value| value.pointer("/metadata/annotations").cloned();
    spec_changed(old, new)
        || (rt.group == "apps"
            && rt.plural == "deployments"
            && annotations(old) != annotations(new))
}

pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |value: &Value| -> Map<String, Value> {
        let mut map = value.as_object().cloned().unwrap_or_default();
        map.remove("metadata");
        map.remove("status");
        map
    };
    strip(old) != strip(new)
}

/// Whether `new` and `old` are the same object apart from the bookkeeping the server maintains; an update that
/// changes nothing is not written (no new resourceVersion, no event), as in kube-apiserver. A change of field
/// ownership is a change; a managedFields entry whose only difference is its `time` is not (kube-apiserver's
/// `IgnoreManagedFieldsTimestampsTransformer`).
pub fn is_noop(old: &Value, new: &Value) -> bool {
    let strip = |value: &Value| -> Value {
        let mut copy = value.clone();
        let metadata = metadata_mut(&mut copy);
        metadata.remove("resourceVersion");
        if let Some(Value::Array(entries)) = metadata.get_mut("managedFields") {
            for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
                entry.remove("time");
            }
        }
        copy
    };
    strip(old) == strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_name_adds_five_safe_characters() {
        let name = generate_name("web-");
        assert_eq!(name.len(), 9);
        assert!(
            name[4..].bytes().all(|b| SUFFIX_ALPHABET.contains(&b)),
            "{name}"
        );
    }

    #[test]
    fn timestamps_have_second_precision() {
        let time: jiff::Timestamp = "2024-05-06T07:08:09.123456Z".parse().expect("valid");
        assert_eq!(format_time(time), "2024-05-06T07:08:09Z");
    }

    #[test]
    fn spec_changes_ignore_metadata_and_status() {
        let old = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 1}, "status": {"x": 1}});
        let relabelled = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"replicas": 1}, "status": {"x": 2}});
        assert!(!spec_changed(&old, &relabelled));
        let scaled = json!({"metadata": {}, "spec": {"replicas": 2}});
        assert!(spec_changed(&old, &scaled));
        let data = json!({"metadata": {}, "data": {"k": "v"}});
        assert!(spec_changed(&json!({"metadata": {}}), &data));
    }

    #[test]
    fn noop_ignores_managed_fields_times_and_resource_version() {
        let entry = |manager: &str, time: &str| json!([{"manager": manager, "time": time}]);
        let old = json!({"metadata": {"resourceVersion": "3", "managedFields": entry("a", "t1")}, "data": {"k": "v"}});
        let same = json!({"metadata": {"resourceVersion": "2", "managedFields": entry("a", "t2")}, "data": {"k": "v"}});
        assert!(is_noop(&old, &same));
        let co_owned = json!({"metadata": {"managedFields": entry("b", "t2")}, "data": {"k": "v"}});
        assert!(!is_noop(&old, &co_owned), "an ownership change is written");
        assert!(!is_noop(&old, &json!({"metadata": {}, "data": {"k": "w"}})));
    }

    #[test]
    fn metadata_mut_repairs_non_objects() {
        let mut value = json!({"metadata": "junk"});
        metadata_mut(&mut value).insert("name".into(), json!("x"));
        assert_eq!(name(&value), "x");
        let mut scalar = json!(3);
        metadata_mut(&mut scalar);
        assert_eq!(scalar, json!({"metadata": {}}));
    }
}
