//! Table tests: literal objects in, expected cells out. `now` is pinned; ages are written as offsets from it.
use super::*;
use crate::PrinterColumn;
use serde_json::{Value, json};

mod custom;
mod kinds;
mod pods;

pub(super) fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_714_564_800).unwrap_or_default() // 2024-05-01T12:00:00Z
}

/// The RFC 3339 time `seconds` before `now`.
pub(super) fn ago(seconds: i64) -> String {
    let then = jiff::Timestamp::from_second(now().as_second() - seconds).unwrap_or_default();
    then.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn resource(
    group: &str,
    plural: &str,
    printer_columns: Option<Vec<PrinterColumn>>,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: "v1".into(),
        kind: String::new(),
        list_kind: String::new(),
        plural: plural.into(),
        singular: String::new(),
        namespaced: true,
        short_names: vec![],
        categories: vec![],
        verbs: vec![],
        has_status: false,
        has_scale: false,
        printer_columns,
    }
}

pub(super) fn table_of(group: &str, plural: &str, objects: &[Value]) -> Value {
    to_table(
        &resource(group, plural, None),
        objects,
        IncludeObject::None,
        now(),
        "42",
    )
}

/// Column names with their priority, e.g. `("IP", 1)`.
pub(super) fn columns(table: &Value) -> Vec<(String, i64)> {
    let definitions = table["columnDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    definitions
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["priority"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// The cells of the only row of `table`.
pub(super) fn only_row(table: &Value) -> Vec<Value> {
    let rows = table["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "expected one row in {table}");
    rows.first()
        .and_then(|r| r["cells"].as_array().cloned())
        .unwrap_or_default()
}

pub(super) fn meta(name: &str, created_seconds_ago: i64) -> Value {
    json!({"name": name, "namespace": "default", "uid": "u", "resourceVersion": "7", "creationTimestamp": ago(created_seconds_ago)})
}

#[test]
fn human_duration_follows_apimachinery() {
    let cases = [
        (-3, "<invalid>"),
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (599, "9m59s"),
        (600, "10m"),
        (10_799, "179m"),
        (10_800, "3h"),
        (3 * 3600 + 300, "3h5m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (53 * 3600, "2d5h"),
        (8 * 86_400, "8d"),
        (729 * 86_400, "729d"),
        (730 * 86_400, "2y"),
        (740 * 86_400, "2y10d"),
        (8 * 365 * 86_400, "8y"),
    ];
    for (seconds, expected) in cases {
        assert_eq!(
            human_duration(jiff::SignedDuration::from_secs(seconds)),
            expected,
            "{seconds}s"
        );
    }
    assert_eq!(
        human_duration(jiff::SignedDuration::from_millis(-1_500)),
        "0s"
    );
}

#[test]
fn table_envelope_and_include_object_modes() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cfg", 30), "data": {"a": "1"}});
    let rt = resource("", "configmaps", None);
    let table = to_table(
        &rt,
        std::slice::from_ref(&cm),
        IncludeObject::Metadata,
        now(),
        "42",
    );
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(
        table["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name",
        "description": NAME_DESCRIPTION, "priority": 0})
    );
    assert_eq!(
        table["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta("cfg", 30)})
    );
    assert_eq!(table["rows"][0].get("conditions"), None);

    let table = to_table(
        &rt,
        std::slice::from_ref(&cm),
        IncludeObject::Object,
        now(),
        "42",
    );
    assert_eq!(table["rows"][0]["object"], cm);
    let table = to_table(
        &rt,
        std::slice::from_ref(&cm),
        IncludeObject::None,
        now(),
        "42",
    );
    assert_eq!(table["rows"][0]["object"], Value::Null);

    let page = to_table_page(&rt, &[], IncludeObject::None, now(), "43", Some("token"));
    assert_eq!(
        page["metadata"],
        json!({"resourceVersion": "43", "continue": "token"})
    );
    assert_eq!(page["rows"], json!([]));
}

#[test]
fn objects_of_the_wrong_shape_give_zero_cells_without_panicking() {
    let junk = [
        json!(null),
        json!("text"),
        json!([1, 2]),
        json!({"metadata": 5, "spec": "x", "status": []}),
    ];
    for (group, plural) in [
        ("", "pods"),
        ("", "services"),
        ("", "events"),
        ("apps", "deployments"),
        ("apps", "daemonsets"),
        ("apps", "controllerrevisions"),
        ("", "secrets"),
        ("coordination.k8s.io", "leases"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    ] {
        let table = table_of(group, plural, &junk);
        let rows = table["rows"].as_array().map_or(0, Vec::len);
        assert_eq!(rows, junk.len(), "{plural}");
        for row in table["rows"].as_array().into_iter().flatten() {
            assert_eq!(
                row["cells"].as_array().map_or(0, Vec::len),
                columns(&table).len(),
                "{plural}: {row}"
            );
        }
    }
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": "oops"}, "status": {"containerStatuses": 5, "phase": 3}});
    assert_eq!(
        only_row(&table_of("", "pods", &[pod]))[..5],
        [
            json!("p"),
            json!("0/0"),
            json!(""),
            json!("0"),
            json!("<unknown>")
        ]
    );
}
