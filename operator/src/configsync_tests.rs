use configsync_crds::configsync::condition;
use serde_json::json;

use super::*;

fn spec(value: serde_json::Value) -> ConfigSyncSpec {
    serde_json::from_value(value).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn at(seconds: i64) -> Time {
    Time(jiff::Timestamp::from_second(seconds).unwrap())
}

#[test]
fn sources_by_name_and_selector_with_keys() {
    let spec = spec(json!({
        "sources": [
            {"kind": "ConfigMap", "name": "redis-config", "keys": ["redis.conf"]},
            {"kind": "Secret", "selector": {"matchLabels": {"team": "a"}}, "optional": true},
            {"kind": "ConfigMap", "name": "myconfig"},
        ],
        "targets": [{"kind": "Deployment", "name": "redis"}],
    }));
    let catalog = [
        (SourceId::secret("a-creds"), labels(&[("team", "a")])),
        (SourceId::secret("b-creds"), labels(&[("team", "b")])),
        (SourceId::config_map("team-a-cm"), labels(&[("team", "a")])),
    ];
    let refs = resolve_sources(&spec, catalog.iter().map(|(id, l)| (id, l))).unwrap();
    let summary: Vec<_> = refs
        .iter()
        .map(|r| (r.id.to_string(), r.keys.clone(), r.optional))
        .collect();
    assert_eq!(
        summary,
        [
            ("ConfigMap myconfig".to_owned(), ConsumedKeys::All, false),
            (
                "ConfigMap redis-config".to_owned(),
                ConsumedKeys::one("redis.conf"),
                false
            ),
            ("Secret a-creds".to_owned(), ConsumedKeys::All, true),
        ]
    );
}

#[test]
fn bad_selector_is_an_error_naming_the_field() {
    let spec = spec(json!({
        "sources": [{"kind": "ConfigMap", "selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}],
        "targets": [{"kind": "Deployment", "name": "x"}],
    }));
    let err = resolve_sources(&spec, std::iter::empty()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("spec.sources[0].selector is invalid"),
        "{err}"
    );
}

#[test]
fn targets_found_missing_and_selected_in_namespace_only() {
    let spec = spec(json!({
        "sources": [{"kind": "ConfigMap", "name": "c"}],
        "targets": [
            {"kind": "Deployment", "name": "redis"},
            {"kind": "StatefulSet", "name": "gone"},
            {"kind": "DaemonSet", "selector": {"matchLabels": {"tier": "edge"}}},
        ],
    }));
    let catalog = [
        (
            WorkloadRef::new(WorkloadKind::Deployment, "ns", "redis"),
            labels(&[]),
        ),
        (
            WorkloadRef::new(WorkloadKind::DaemonSet, "ns", "proxy"),
            labels(&[("tier", "edge")]),
        ),
        (
            WorkloadRef::new(WorkloadKind::DaemonSet, "other", "proxy"),
            labels(&[("tier", "edge")]),
        ),
        (
            WorkloadRef::new(WorkloadKind::Deployment, "ns", "edge-deploy"),
            labels(&[("tier", "edge")]),
        ),
    ];
    let targets = resolve_targets(&spec, "ns", catalog.iter().map(|(w, l)| (w, l))).unwrap();
    assert_eq!(
        targets.found,
        BTreeSet::from([
            WorkloadRef::new(WorkloadKind::Deployment, "ns", "redis"),
            WorkloadRef::new(WorkloadKind::DaemonSet, "ns", "proxy"),
        ])
    );
    assert_eq!(
        targets.missing,
        BTreeSet::from([WorkloadRef::new(WorkloadKind::StatefulSet, "ns", "gone")])
    );
}

#[test]
fn debounce_from_spec() {
    let base = json!({"sources": [{"kind": "ConfigMap", "name": "c"}], "targets": [{"kind": "Deployment", "name": "d"}]});
    assert_eq!(debounce(&spec(base.clone())).unwrap(), None);
    let mut with = base.clone();
    with["debounce"] = json!({"min": "5s"});
    assert_eq!(
        debounce(&spec(with.clone()))
            .unwrap()
            .map(|d| d.max.as_secs()),
        Some(20)
    );
    with["debounce"] = json!({"min": "10s", "max": "5s"});
    assert!(
        debounce(&spec(with.clone()))
            .unwrap_err()
            .to_string()
            .contains("max \"5s\" is below min \"10s\"")
    );
    with["debounce"] = json!({"min": "soon"});
    assert!(
        debounce(&spec(with))
            .unwrap_err()
            .to_string()
            .starts_with("spec.debounce.min is invalid")
    );
}

#[test]
fn the_oldest_configsync_wins_a_shared_target() {
    let web = WorkloadRef::new(WorkloadKind::Deployment, "ns", "web");
    let api = WorkloadRef::new(WorkloadKind::Deployment, "ns", "api");
    let claims = [
        Claim {
            name: "young".into(),
            created: Some(at(200)),
            targets: BTreeSet::from([web.clone(), api.clone()]),
        },
        Claim {
            name: "old".into(),
            created: Some(at(100)),
            targets: BTreeSet::from([web.clone()]),
        },
        Claim {
            name: "ageless".into(),
            created: None,
            targets: BTreeSet::from([web.clone()]),
        },
    ];
    let settled = claim_winners(&claims);
    assert_eq!(settled.winners.get(&web).map(String::as_str), Some("old"));
    assert_eq!(settled.winners.get(&api).map(String::as_str), Some("young"));
    assert_eq!(
        settled.conflicts,
        [
            (web.clone(), "ageless".to_owned()),
            (web, "young".to_owned())
        ]
    );
}

#[test]
fn conditions_keep_transition_time_while_status_holds() {
    let mut conditions = Vec::new();
    let ready = |status, reason, message: &str| ConditionUpdate {
        type_: condition::READY,
        status,
        reason,
        message: message.to_owned(),
    };
    assert!(set_condition(
        &mut conditions,
        ready("False", condition::ROLLOUT_IN_PROGRESS, "1 of 2"),
        Some(1),
        at(10)
    ));
    assert!(set_condition(
        &mut conditions,
        ready("False", condition::ROLLOUT_IN_PROGRESS, "2 of 2"),
        Some(1),
        at(20)
    ));
    assert_eq!(
        conditions[0].last_transition_time,
        at(10),
        "same status keeps the transition time"
    );
    assert!(!set_condition(
        &mut conditions,
        ready("False", condition::ROLLOUT_IN_PROGRESS, "2 of 2"),
        Some(1),
        at(30)
    ));
    assert!(set_condition(
        &mut conditions,
        ready("True", condition::APPLIED, "all applied"),
        Some(1),
        at(40)
    ));
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].last_transition_time, at(40));
    assert_eq!(conditions[0].reason, "Applied");
    let degraded = ConditionUpdate {
        type_: condition::DEGRADED,
        status: "True",
        reason: condition::SOURCE_MISSING,
        message: "ConfigMap redis-config is missing".into(),
    };
    assert!(set_condition(&mut conditions, degraded, Some(2), at(50)));
    assert_eq!(
        conditions
            .iter()
            .map(|c| c.type_.as_str())
            .collect::<Vec<_>>(),
        ["Ready", "Degraded"]
    );
}

#[test]
fn settle_gives_each_claimed_workload_one_owner_the_oldest() {
    let web = WorkloadRef::new(WorkloadKind::Deployment, "prod", "web");
    let api = WorkloadRef::new(WorkloadKind::Deployment, "prod", "api");
    let annotated_only = WorkloadRef::new(WorkloadKind::Deployment, "prod", "batch");
    let catalog = [
        (web.clone(), labels(&[("tier", "front")])),
        (api.clone(), labels(&[("tier", "back")])),
        (annotated_only.clone(), labels(&[])),
    ];
    let by_name = spec(json!({"sources": [{"kind": "ConfigMap", "name": "a"}],
        "targets": [{"kind": "Deployment", "name": "web"}, {"kind": "Deployment", "name": "gone"}]}));
    let by_selector = spec(json!({"sources": [{"kind": "ConfigMap", "name": "b"}],
        "targets": [{"kind": "Deployment", "selector": {"matchExpressions": [
            {"key": "tier", "operator": "Exists"}]}}]}));
    let (old, young) = (at(100), at(200));
    let claimants = [
        Claimant {
            name: "young",
            created: Some(&young),
            spec: &by_selector,
        },
        Claimant {
            name: "old",
            created: Some(&old),
            spec: &by_name,
        },
    ];
    let (drives, owners) =
        settle_namespace("prod", &claimants, catalog.iter().map(|(w, l)| (w, l)));
    assert_eq!(owners.get(&web).map(String::as_str), Some("old"));
    assert_eq!(owners.get(&api).map(String::as_str), Some("young"));
    assert!(
        !owners.contains_key(&annotated_only),
        "unnamed workloads stay with their annotations"
    );
    assert_eq!(drives["old"].mine, BTreeSet::from([web.clone()]));
    assert_eq!(
        drives["old"].missing,
        BTreeSet::from([WorkloadRef::new(WorkloadKind::Deployment, "prod", "gone")])
    );
    assert_eq!(drives["young"].mine, BTreeSet::from([api]));
    assert_eq!(drives["young"].lost, vec![(web, "old".to_owned())]);
}

#[test]
fn a_source_wakes_the_configsyncs_that_name_or_select_it() {
    let spec = spec(json!({
        "sources": [{"kind": "ConfigMap", "name": "redis-config"},
                    {"kind": "Secret", "selector": {"matchLabels": {"team": "a"}}}],
        "targets": [{"kind": "Deployment", "name": "redis"}]}));
    let none = labels(&[]);
    assert!(follows_source(
        &spec,
        &SourceId::config_map("redis-config"),
        &none
    ));
    assert!(!follows_source(
        &spec,
        &SourceId::secret("redis-config"),
        &none
    ));
    assert!(follows_source(
        &spec,
        &SourceId::secret("x"),
        &labels(&[("team", "a")])
    ));
    assert!(!follows_source(
        &spec,
        &SourceId::secret("x"),
        &labels(&[("team", "b")])
    ));
    assert!(!follows_source(
        &spec,
        &SourceId::config_map("x"),
        &labels(&[("team", "a")])
    ));
}
