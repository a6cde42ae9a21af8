//! `core/v1` Events and `events.k8s.io/v1` Events share one storage; these convert between the two shapes.
//!
//! The mapping is kube-apiserver's (`pkg/apis/events/v1/conversion.go`), field for field:
//!
//! ```text
//!   events.k8s.io/v1            core/v1
//!   regarding                ↔  involvedObject
//!   note                     ↔  message
//!   reportingController      ↔  reportingComponent
//!   deprecatedSource         ↔  source
//!   deprecatedCount          ↔  count
//!   deprecatedFirstTimestamp ↔  firstTimestamp
//!   deprecatedLastTimestamp  ↔  lastTimestamp
//!   metadata, eventTime, series, related, action, reason, type, reportingInstance: unchanged
//! ```
//! kube-apiserver copies nothing else (it does not derive `source` from `reportingController`). Fields Go always
//! serializes (non-`omitempty` strings, structs, `metav1.Time`) are filled with their zero form (`""`, `{}`,
//! `null`), so the output matches the bytes kube-apiserver writes.
use serde_json::{Map, Value};

/// (events.k8s.io/v1 name, core/v1 name) of every renamed field.
const RENAMED: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedCount", "count"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
];

/// Fields copied unchanged.
const SHARED: &[&str] = &[
    "metadata",
    "eventTime",
    "series",
    "related",
    "action",
    "reason",
    "type",
    "reportingInstance",
];

/// Zero values Go writes for a `core/v1` Event's fields that are never omitted.
const CORE_ZEROS: &[(&str, ZeroKind)] = &[
    ("metadata", ZeroKind::Object),
    ("involvedObject", ZeroKind::Object),
    ("source", ZeroKind::Object),
    ("firstTimestamp", ZeroKind::Null),
    ("lastTimestamp", ZeroKind::Null),
    ("eventTime", ZeroKind::Null),
    ("reportingComponent", ZeroKind::Empty),
    ("reportingInstance", ZeroKind::Empty),
];

/// Zero values Go writes for an `events.k8s.io/v1` Event's fields that are never omitted.
const EVENTS_V1_ZEROS: &[(&str, ZeroKind)] = &[
    ("metadata", ZeroKind::Object),
    ("eventTime", ZeroKind::Null),
    ("regarding", ZeroKind::Object),
    ("deprecatedSource", ZeroKind::Object),
    ("deprecatedFirstTimestamp", ZeroKind::Null),
    ("deprecatedLastTimestamp", ZeroKind::Null),
];

#[derive(Clone, Copy)]
enum ZeroKind {
    Object,
    Null,
    Empty,
}

impl ZeroKind {
    fn value(self) -> Value {
        match self {
            ZeroKind::Object => Value::Object(Map::new()),
            ZeroKind::Null => Value::Null,
            ZeroKind::Empty => Value::String(String::new()),
        }
    }
}

/// Copy `event`'s fields into a new object of `api_version`, renaming with `rename(from) -> to`.
fn convert(
    event: &Value,
    api_version: &str,
    renames: &[(&str, &str)],
    zeros: &[(&str, ZeroKind)],
) -> Value {
    let empty = Map::new();
    let source = event.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    for field in SHARED {
        if let Some(value) = source.get(*field) {
            out.insert((*field).into(), value.clone());
        }
    }
    for (from, to) in renames {
        if let Some(value) = source.get(*from) {
            out.insert((*to).into(), value.clone());
        }
    }
    for (field, zero) in zeros {
        out.entry(*field).or_insert_with(|| zero.value());
    }
    Value::Object(out)
}

/// An `events.k8s.io/v1` Event in its `core/v1` stored form (note → message, regarding → involvedObject, ...).
pub fn to_core(event: &Value) -> Value {
    convert(event, "v1", RENAMED, CORE_ZEROS)
}

/// A stored `core/v1` Event as `events.k8s.io/v1`.
pub fn to_events_v1(event: &Value) -> Value {
    let reversed: Vec<(&str, &str)> = RENAMED.iter().map(|(new, old)| (*old, *new)).collect();
    convert(event, "events.k8s.io/v1", &reversed, EVENTS_V1_ZEROS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mk_core_event() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.17a1", "namespace": "default", "resourceVersion": "7"},
            "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "default",
                               "uid": "u-1", "resourceVersion": "5"},
            "related": {"kind": "ReplicaSet", "name": "web-5d4"},
            "reason": "ScalingReplicaSet",
            "message": "Scaled up replica set web-5d4 to 1",
            "source": {"component": "deployment-controller", "host": "node-1"},
            "firstTimestamp": "2025-01-01T00:00:00Z",
            "lastTimestamp": "2025-01-01T00:01:00Z",
            "count": 3,
            "type": "Normal",
            "eventTime": "2025-01-01T00:00:00.000001Z",
            "series": {"count": 2, "lastObservedTime": "2025-01-01T00:01:00.000000Z"},
            "action": "Scale",
            "reportingComponent": "deployment-controller",
            "reportingInstance": "controller-manager-1"
        })
    }

    #[test]
    fn core_to_events_v1_renames_every_field() {
        let v1 = to_events_v1(&mk_core_event());
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["kind"], "Event");
        assert_eq!(v1["regarding"]["name"], "web");
        assert_eq!(v1["related"]["name"], "web-5d4");
        assert_eq!(v1["note"], "Scaled up replica set web-5d4 to 1");
        assert_eq!(v1["reportingController"], "deployment-controller");
        assert_eq!(v1["reportingInstance"], "controller-manager-1");
        assert_eq!(
            v1["deprecatedSource"],
            json!({"component": "deployment-controller", "host": "node-1"})
        );
        assert_eq!(v1["deprecatedCount"], 3);
        assert_eq!(v1["deprecatedFirstTimestamp"], "2025-01-01T00:00:00Z");
        assert_eq!(v1["deprecatedLastTimestamp"], "2025-01-01T00:01:00Z");
        assert_eq!(v1["series"]["count"], 2);
        assert_eq!(
            (v1["action"].as_str(), v1["reason"].as_str()),
            (Some("Scale"), Some("ScalingReplicaSet"))
        );
        assert_eq!(v1["type"], "Normal");
        for core_only in [
            "involvedObject",
            "message",
            "source",
            "count",
            "firstTimestamp",
            "reportingComponent",
        ] {
            assert!(v1.get(core_only).is_none(), "{core_only}");
        }
    }

    #[test]
    fn core_round_trip_is_lossless() {
        let core = mk_core_event();
        assert_eq!(to_core(&to_events_v1(&core)), core);
    }

    #[test]
    fn events_v1_round_trip_is_lossless_and_zero_fills_like_go() {
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": "ns"},
            "eventTime": "2025-01-01T00:00:00.000000Z",
            "reportingController": "configsync.dev/operator",
            "reportingInstance": "operator-0",
            "action": "Rollout",
            "reason": "ConfigChanged",
            "regarding": {"kind": "Deployment", "name": "web"},
            "note": "restarted",
            "type": "Normal"
        });
        let core = to_core(&v1);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["message"], "restarted");
        assert_eq!(core["reportingComponent"], "configsync.dev/operator");
        assert_eq!(
            core["involvedObject"],
            json!({"kind": "Deployment", "name": "web"})
        );
        assert_eq!(core["source"], json!({}));
        assert_eq!(
            (
                core["firstTimestamp"].clone(),
                core["lastTimestamp"].clone()
            ),
            (Value::Null, Value::Null)
        );
        assert!(core.get("count").is_none());
        let back = to_events_v1(&core);
        let mut expected = v1.clone();
        expected["deprecatedSource"] = json!({});
        expected["deprecatedFirstTimestamp"] = Value::Null;
        expected["deprecatedLastTimestamp"] = Value::Null;
        assert_eq!(back, expected);
        assert_eq!(to_core(&back), core);
    }

    #[test]
    fn garbage_input_gives_an_empty_event() {
        let core = to_core(&json!(["not", "an", "event"]));
        assert_eq!(core["kind"], "Event");
        assert_eq!(core["involvedObject"], json!({}));
        assert_eq!(to_events_v1(&Value::Null)["regarding"], json!({}));
    }
}
