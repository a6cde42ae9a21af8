//! `core/v1` Events and `events.k8s.io/v1` Events share one storage; these convert between the two shapes.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use serde_json::Value;

/// An `events.k8s.io/v1` Event in its `core/v1` stored form (note → message, regarding → involvedObject, ...).
pub fn to_core(event: &Value) -> Value {
    event.clone()
}

/// A stored `core/v1` Event as `events.k8s.io/v1`.
pub fn to_events_v1(event: &Value) -> Value {
    event.clone()
}
