//! The event printer, for core/v1 and events.k8s.io/v1 Events (the apiserver prints both from the internal type,
//! so the events.k8s.io names `regarding`, `note`, `deprecated*` map onto the core ones).
use super::access::{name, opt_i64_at, parse_time, since, str_at, time_at};
use super::{Column, Printer, Row};
use serde_json::Value;

pub(crate) fn printer(now: jiff::Timestamp) -> Printer<'static> {
    Printer {
        columns: vec![
            Column::new("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
            Column::new("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
            Column::new("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
            Column::new("Object", "string", "The object that this event is about."),
            Column::new("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.").wide(),
            Column::new("Source", "string", "The component reporting this event. Should be a short machine understandable string.").wide(),
            Column::new("Message", "string", "A human-readable description of the status of this operation."),
            Column::new("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)").wide(),
            Column::new("Count", "string", "The number of times this event has occurred.").wide(),
            Column { priority: 1, ..Column::name() },
        ],
        row: Box::new(move |event| event_row(event, now)),
    }
}

/// A field by its core/v1 name, falling back to its events.k8s.io/v1 name.
fn field<'a>(event: &'a Value, core: &str, events_v1: &str) -> Option<&'a Value> {
    event
        .get(core)
        .filter(|v| !v.is_null())
        .or_else(|| event.get(events_v1))
}

fn event_row(event: &Value, now: jiff::Timestamp) -> Row {
    let time = |core: &str, events_v1: &str| {
        field(event, core, events_v1)
            .and_then(Value::as_str)
            .and_then(parse_time)
    };
    let first_time = time("firstTimestamp", "deprecatedFirstTimestamp")
        .or_else(|| time_at(event, &["eventTime"]));
    let first_seen = since(now, first_time);
    let mut last_seen = match time("lastTimestamp", "deprecatedLastTimestamp") {
        Some(last) => since(now, Some(last)),
        None => first_seen.clone(),
    };
    let mut count = field(event, "count", "deprecatedCount")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    if let Some(series) = event.get("series").filter(|s| s.is_object()) {
        last_seen = since(now, time_at(series, &["lastObservedTime"]));
        count = opt_i64_at(series, &["count"]).unwrap_or_default();
    } else if count == 0 {
        count = 1;
    }
    let regarding = field(event, "involvedObject", "regarding").unwrap_or(&Value::Null);
    let kind = str_at(regarding, &["kind"]).to_lowercase();
    let object_name = str_at(regarding, &["name"]);
    let target = if object_name.is_empty() {
        kind
    } else {
        format!("{kind}/{object_name}")
    };
    let message = field(event, "message", "note")
        .and_then(Value::as_str)
        .unwrap_or_default();
    vec![
        last_seen.into(),
        str_at(event, &["type"]).into(),
        str_at(event, &["reason"]).into(),
        target.into(),
        str_at(regarding, &["fieldPath"]).into(),
        source(event).into(),
        message.trim().into(),
        first_seen.into(),
        count.into(),
        name(event),
    ]
    .into()
}

/// `formatEventSource`: component (or reporting controller), then `, host` (or reporting instance) if any.
fn source(event: &Value) -> String {
    let source = field(event, "source", "deprecatedSource").unwrap_or(&Value::Null);
    let first = |a: &'_ str, b: &'_ str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let controller = Some(str_at(event, &["reportingComponent"]))
        .filter(|c| !c.is_empty())
        .unwrap_or(str_at(event, &["reportingController"]));
    let component = first(str_at(source, &["component"]), controller);
    let instance = first(
        str_at(source, &["host"]),
        str_at(event, &["reportingInstance"]),
    );
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}
