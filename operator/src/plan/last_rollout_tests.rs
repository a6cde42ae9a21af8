use std::collections::BTreeSet;

use configsync_crds::Strategy;

use super::*;
use crate::fixtures::mk_hash;
use crate::refs::SourceId;

fn at() -> jiff::Timestamp {
    "2026-12-07T11:00:00.250Z".parse().unwrap()
}

fn keys(names: &[&str]) -> Change {
    Change::Keys(names.iter().map(|k| (*k).to_owned()).collect())
}

fn change(id: SourceId, change: Change) -> SourceChange {
    SourceChange { id, change }
}

#[test]
fn only_rollouts_and_recorded_changes_are_kept() {
    let hash = mk_hash("a");
    let changes = [change(SourceId::config_map("app"), keys(&["greeting"]))];
    let table = [
        (Decision::Roll { hash: hash.clone() }, Some("ConfigRolled")),
        (
            Decision::Report {
                hash: hash.clone(),
                strategy: Strategy::Reload,
            },
            Some("ConfigChanged"),
        ),
        (Decision::Adopt { hash: hash.clone() }, None),
        (Decision::Record { hash: hash.clone() }, None),
        (Decision::Nothing, None),
        (Decision::Warn { missing: vec![] }, None),
    ];
    for (decision, reason) in table {
        let record = LastRollout::of(&decision, &changes, at(), None);
        assert_eq!(
            record.as_ref().map(|r| r.reason.as_str()),
            reason,
            "{decision:?}"
        );
        if let Some(record) = record {
            assert_eq!(record.hash, hash.short());
            assert_eq!(record.time.to_string(), "2026-12-07T11:00:00Z");
        }
    }
}

#[test]
fn the_annotation_round_trips_and_tells_the_cause_as_the_event_does() {
    let changes = [
        change(SourceId::config_map("app"), keys(&["b", "a"])),
        change(SourceId::secret("db"), Change::Created),
        change(SourceId::secret("old"), Change::Deleted),
        change(SourceId::config_map("app"), keys(&["c"])),
    ];
    let roll = Decision::Roll { hash: mk_hash("a") };
    let record = LastRollout::of(&roll, &changes, at(), None).unwrap();
    let text = record.to_annotation();
    assert_eq!(
        text,
        format!(
            r#"{{"time":"2026-12-07T11:00:00Z","reason":"ConfigRolled","hash":"{}","sources":[{{"kind":"ConfigMap","name":"app","keys":["a","b","c"]}},{{"kind":"Secret","name":"db","change":"created"}},{{"kind":"Secret","name":"old","change":"deleted"}}]}}"#,
            mk_hash("a").short()
        )
    );
    let parsed = LastRollout::parse(&text).unwrap();
    assert_eq!(parsed, record);
    assert_eq!(
        parsed.cause(),
        "ConfigMap app keys [a, b, c] changed; Secret db created; Secret old deleted"
    );
    let driven = LastRollout::of(&roll, &[], at(), Some("fleet")).unwrap();
    assert_eq!(driven.cause(), "ConfigSync fleet: sources changed");
    let unknown_keys = [change(
        SourceId::config_map("app"),
        Change::Keys(BTreeSet::new()),
    )];
    let by_name = LastRollout::of(&roll, &unknown_keys, at(), Some("fleet")).unwrap();
    assert_eq!(by_name.cause(), "ConfigSync fleet: ConfigMap app changed");
}

#[test]
fn long_lists_are_counted_and_the_annotation_stays_under_its_limit() {
    let many: Vec<String> = (0..20).map(|i| format!("key-{i:02}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let roll = Decision::Roll { hash: mk_hash("a") };
    let wide = [change(SourceId::config_map("jumbo"), keys(&refs))];
    let record = LastRollout::of(&roll, &wide, at(), None).unwrap();
    assert_eq!(record.sources[0].keys.len(), KEYS_LISTED);
    assert!(
        record.cause().ends_with("key-07, … and 12 more] changed"),
        "{}",
        record.cause()
    );
    // Names up to 253 characters, in numbers no list bound alone keeps under the limit.
    let long = |i: usize| format!("{i:03}{}", "n".repeat(250));
    let huge: Vec<SourceChange> = (0..40)
        .map(|i| {
            let names = [long(i), long(i + 100)];
            let key_names: Vec<&str> = names.iter().map(String::as_str).collect();
            change(SourceId::secret(long(i)), keys(&key_names))
        })
        .collect();
    let record = LastRollout::of(&roll, &huge, at(), Some(&"c".repeat(253))).unwrap();
    let text = record.to_annotation();
    assert!(text.len() <= LIMIT, "{} bytes", text.len());
    let parsed = LastRollout::parse(&text).unwrap();
    let listed = parsed.sources.len() + parsed.more_sources;
    assert_eq!(listed, 40, "every source is listed or counted: {text}");
}

#[test]
fn no_value_can_enter_it() {
    // Only SourceChange reaches it, which holds key names; the JSON has no field for anything else.
    let record = LastRollout::of(
        &Decision::Roll { hash: mk_hash("a") },
        &[change(SourceId::secret("db"), keys(&["password"]))],
        at(),
        None,
    )
    .unwrap();
    let value = serde_json::to_value(&record).unwrap();
    let fields: Vec<&str> = value["sources"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["keys", "kind", "name"]);
}

#[test]
fn a_malformed_annotation_is_an_error_that_says_why() {
    let table: [(&str, &str); 5] = [
        ("", "not the JSON configsync writes"),
        ("yesterday", "not the JSON configsync writes"),
        (
            r#"{"reason":"ConfigRolled","hash":"ab"}"#,
            "missing field `time`",
        ),
        (
            r#"{"time":"noon","reason":"ConfigRolled","hash":"ab"}"#,
            "not the JSON configsync writes",
        ),
        (
            r#"{"time":"2026-12-07T11:00:00Z","reason":"ConfigRolled","hash":"ab","sources":[{"kind":"Pod","name":"x"}]}"#,
            "unknown variant `Pod`",
        ),
    ];
    for (value, expected) in table {
        let error = LastRollout::parse(value).unwrap_err().to_string();
        assert!(error.contains(expected), "{value:?}: {error}");
    }
    let long = "x".repeat(LIMIT + 1);
    assert_eq!(
        LastRollout::parse(&long).unwrap_err().to_string(),
        format!(
            "longer than {LIMIT} bytes ({}), so not written by configsync",
            LIMIT + 1
        )
    );
}
