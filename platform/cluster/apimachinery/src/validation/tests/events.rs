//! Event validation, for both APIs and both shapes.
use super::*;

fn mk_v1_event() -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.17a1", "namespace": "d"},
        "eventTime": "2025-01-01T00:00:00.000000Z",
        "reportingController": "configsync.dev/operator", "reportingInstance": "operator-0",
        "action": "Rollout", "reason": "ConfigChanged", "type": "Normal", "note": "restarted",
        "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "d"}
    })
}

#[test]
fn recorder_events_are_valid_through_both_apis() {
    assert_eq!(
        causes("events.k8s.io/v1", "Event", &mk_v1_event(), None),
        []
    );
    let core = crate::events::to_core(&mk_v1_event());
    assert_eq!(causes("v1", "Event", &core, None), []);
    assert_eq!(causes("events.k8s.io/v1", "Event", &core, None), []);
}

#[test]
fn legacy_core_events_only_need_matching_namespaces() {
    let legacy = json!({"metadata": {"name": "p.1", "namespace": "d"}, "reason": "Started", "message": "ok",
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "d"}, "source": {"component": "kubelet"},
        "firstTimestamp": "2025-01-01T00:00:00Z", "count": 1, "type": "Normal"});
    assert_eq!(causes("v1", "Event", &legacy, None), []);
    let mut elsewhere = legacy.clone();
    elsewhere["involvedObject"]["namespace"] = json!("other");
    assert_eq!(
        causes("v1", "Event", &elsewhere, None),
        [cause(
            "FieldValueInvalid",
            "involvedObject.namespace",
            "Invalid value: \"other\": does not match event.namespace"
        )]
    );
}

#[test]
fn events_v1_require_reporting_fields_and_a_type() {
    let bare = json!({"apiVersion": "events.k8s.io/v1", "metadata": {"name": "e", "namespace": "d"},
        "eventTime": "2025-01-01T00:00:00.000000Z", "type": "Info",
        "regarding": {"kind": "Pod", "name": "p", "namespace": "d"}});
    let found = causes("events.k8s.io/v1", "Event", &bare, None);
    let fields: Vec<&str> = found.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        fields,
        [
            "reportingController",
            "reportingController",
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
            "type"
        ]
    );
    assert_eq!(found[0].2, "Required value");
    assert_eq!(found[6].2, "Invalid value: \"\": has invalid value: Info");
    let core_bare = crate::events::to_core(&bare);
    let through_core = causes("v1", "Event", &core_bare, None);
    assert_eq!(through_core[0].1, "reportingComponent");
}

#[test]
fn events_v1_forbid_deprecated_fields_and_short_series() {
    let mut event = mk_v1_event();
    event["deprecatedCount"] = json!(3);
    event["deprecatedFirstTimestamp"] = json!("2025-01-01T00:00:00Z");
    event["deprecatedSource"] = json!({"component": "x"});
    event["series"] = json!({"count": 1});
    event["reason"] = json!("r".repeat(129));
    let summary: Vec<(String, String)> = causes("events.k8s.io/v1", "Event", &event, None)
        .into_iter()
        .map(|c| (c.1, c.2))
        .collect();
    let expected = [
        (
            "reason",
            "Invalid value: \"\": can have at most 128 characters",
        ),
        ("series.count", "Invalid value: \"\": should be at least 2"),
        ("series.lastObservedTime", "Required value"),
        ("firstTimestamp", "Invalid value: \"\": needs to be unset"),
        ("count", "Invalid value: \"\": needs to be unset"),
        ("source", "Invalid value: \"\": needs to be unset"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(summary, expected);
}
