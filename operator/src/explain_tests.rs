use std::time::Duration;

use configsync_crds::Strategy;
use configsync_crds::annotations::{self as keys, reloader, wave};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;

use super::*;
use crate::cache::SourceCache;
use crate::fixtures::mk_deployment;
use crate::refs::refs_via;
use crate::workload::{Workload, follow};

/// One table case: the workload's annotations, the sources that exist, the operator's view.
struct Case {
    name: &'static str,
    annotations: &'static [(&'static str, &'static str)],
    ignored: bool,
    cm_missing: bool,
    claim: Option<Claim<'static>>,
    operator: OperatorView,
    record: Record,
    rolls: bool,
    reasons: &'static [Reason],
}

/// What the workload has recorded.
#[derive(Clone, Copy)]
enum Record {
    /// Nothing yet.
    None,
    /// The current content.
    Current,
    /// Older content.
    Stale,
}

const BASE: Case = Case {
    name: "",
    annotations: &[(keys::AUTO, "true")],
    ignored: false,
    cm_missing: false,
    claim: None,
    operator: OperatorView {
        debounce: None,
        max_concurrent_rollouts: None,
        rolling: 0,
    },
    record: Record::Current,
    rolls: true,
    reasons: &[Reason::Follows, Reason::UpToDate],
};

fn pod_spec() -> serde_json::Value {
    json!({
        "containers": [{"name": "app", "image": "app",
            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
            "envFrom": [{"configMapRef": {"name": "app"}}]}],
        "volumes": [{"name": "p", "projected": {"sources": [
            {"configMap": {"name": "app", "items": [{"key": "x", "path": "x"}]}}]}}]
    })
}

fn cache(case: &Case) -> SourceCache {
    let mut cache = SourceCache::default();
    let ignore = if case.ignored {
        json!({keys::IGNORE: "true"})
    } else {
        json!({})
    };
    if !case.cm_missing {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "app", "namespace": "prod", "annotations": ignore},
            "data": {"x": "1"}}))
        .unwrap();
        cache.apply_config_map(&cm);
    }
    let secret = serde_json::from_value(json!({
        "metadata": {"name": "db", "namespace": "prod"}, "data": {"password": "cw=="}}))
    .unwrap();
    cache.apply_secret(&secret);
    cache
}

fn run(case: &Case) -> Explanation {
    let deployment = mk_deployment("prod", "web", case.annotations, pod_spec());
    let workload = deployment.workload_ref();
    let followed = follow(&deployment, false);
    let spec = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    let uses = refs_via(spec);
    let cache = cache(case);
    let current = match &followed {
        Ok(Some(f)) => workload_hash(&f.sources, &cache.namespace("prod"))
            .ok()
            .map(|h| h.as_str().to_owned()),
        _ => None,
    };
    let recorded = match case.record {
        Record::None => None,
        Record::Current => current,
        Record::Stale => Some(crate::fixtures::mk_hash("old").as_str().to_owned()),
    };
    explain(&Input {
        workload: &workload,
        follow: &followed,
        uses: &uses,
        live: Live {
            template_hash: recorded.as_deref(),
            observed_hash: recorded.as_deref(),
            ..Live::default()
        },
        sources: cache.namespace("prod"),
        claim: case.claim,
        operator: case.operator,
    })
}

#[test]
fn one_case_per_reason() {
    let debounce = Debounce::new(Duration::from_secs(5), None);
    let cases = [
        Case {
            name: "followed and up to date",
            ..BASE
        },
        Case {
            name: "malformed annotation",
            annotations: &[(keys::AUTO, "yes")],
            rolls: false,
            reasons: &[Reason::InvalidAnnotation],
            ..BASE
        },
        Case {
            name: "no opt-in",
            annotations: &[],
            rolls: false,
            reasons: &[Reason::NotOptedIn],
            ..BASE
        },
        Case {
            name: "claimed by a ConfigSync",
            claim: Some(Claim {
                name: "web-config",
                strategy: Strategy::Restart,
                suspended: false,
            }),
            reasons: &[Reason::ClaimedByConfigSync],
            ..BASE
        },
        Case {
            name: "claimed by a suspended ConfigSync",
            claim: Some(Claim {
                name: "web-config",
                strategy: Strategy::Restart,
                suspended: true,
            }),
            rolls: false,
            reasons: &[Reason::ClaimedByConfigSync, Reason::Suspended],
            ..BASE
        },
        Case {
            name: "excluded source",
            annotations: &[(keys::AUTO, "true"), (keys::EXCLUDE_CONFIGMAPS, "app")],
            reasons: &[Reason::Follows, Reason::Excluded, Reason::UpToDate],
            ..BASE
        },
        Case {
            name: "opt-in of one kind only",
            annotations: &[(reloader::SECRET_AUTO, "true")],
            reasons: &[Reason::Follows, Reason::NotCovered, Reason::UpToDate],
            ..BASE
        },
        Case {
            name: "ignored source",
            annotations: &[(reloader::CONFIGMAP_AUTO, "true")],
            ignored: true,
            rolls: false,
            reasons: &[
                Reason::NoFollowedSources,
                Reason::NotCovered,
                Reason::IgnoredSource,
            ],
            ..BASE
        },
        Case {
            name: "strategy none",
            annotations: &[(keys::AUTO, "true"), (keys::STRATEGY, "none")],
            rolls: false,
            reasons: &[Reason::Strategy, Reason::UpToDate],
            ..BASE
        },
        Case {
            name: "required source missing",
            cm_missing: true,
            rolls: false,
            reasons: &[Reason::SourceMissing],
            ..BASE
        },
        Case {
            name: "debounce pending",
            annotations: &[(wave::UPDATE_ON_CONFIG_CHANGE, "true")],
            record: Record::Stale,
            operator: OperatorView {
                debounce: Some(debounce),
                ..BASE.operator
            },
            reasons: &[Reason::Follows, Reason::DebouncePending],
            ..BASE
        },
        Case {
            name: "rollout pending without a debounce",
            record: Record::Stale,
            reasons: &[Reason::Follows, Reason::RolloutPending],
            ..BASE
        },
        Case {
            name: "nothing recorded yet",
            record: Record::None,
            reasons: &[Reason::Follows, Reason::AdoptionPending],
            ..BASE
        },
        Case {
            name: "budget full",
            record: Record::Stale,
            operator: OperatorView {
                max_concurrent_rollouts: Some(2),
                rolling: 2,
                ..BASE.operator
            },
            reasons: &[Reason::Follows, Reason::RolloutPending, Reason::BudgetFull],
            ..BASE
        },
    ];
    for case in &cases {
        let explained = run(case);
        let reasons: Vec<Reason> = explained
            .next_change
            .reasons
            .iter()
            .map(|f| f.reason)
            .collect();
        assert_eq!(reasons, case.reasons, "{}", case.name);
        assert_eq!(explained.next_change.rolls, case.rolls, "{}", case.name);
        assert!(
            explained
                .next_change
                .reasons
                .iter()
                .all(|f| !f.message.is_empty()),
            "{}",
            case.name
        );
    }
}

#[test]
fn sources_show_keys_reference_kinds_and_state() {
    let explained = run(&Case {
        annotations: &[
            (keys::AUTO, "true"),
            (keys::EXCLUDE_SECRETS, "db"),
            (keys::CONFIGMAPS, "extra"),
        ],
        ..BASE
    });
    let row = |name: &str| {
        explained
            .sources
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .clone()
    };
    let app = row("app");
    assert_eq!(app.via, ["envFrom", "projected volume"]);
    assert_eq!(app.keys, None, "envFrom consumes every key");
    assert_eq!(app.state, SourceState::Followed);
    assert!(app.exists);
    let db = row("db");
    assert_eq!(db.via, ["env valueFrom"]);
    assert_eq!(db.keys, Some(vec!["password".to_owned()]));
    assert_eq!(db.state, SourceState::Excluded);
    let extra = row("extra");
    assert_eq!(extra.via, ["annotation"]);
    assert!(!extra.exists && extra.optional);
    assert_eq!(extra.state, SourceState::Followed);
    let current = explained.hash.current.unwrap();
    assert_eq!(explained.hash.recorded.as_deref(), Some(current.as_str()));
}

#[test]
fn json_names_no_value() {
    let explained = run(&BASE);
    let text = serde_json::to_string(&explained).unwrap();
    assert!(text.contains("\"nextChange\":{\"rolls\":true"));
    assert!(!text.contains("cw=="), "a Secret value leaked: {text}");
}

#[test]
fn preflight_lists_reloader_and_wave_keys_only() {
    assert_eq!(tool_of(reloader::AUTO), Some(Tool::Reloader));
    assert_eq!(tool_of(reloader::CONFIGMAP_RELOAD), Some(Tool::Reloader));
    assert_eq!(
        tool_of("reloader.stakater.com/search"),
        Some(Tool::Reloader)
    );
    assert_eq!(tool_of(wave::EXTRA_SECRETS), Some(Tool::Wave));
    assert_eq!(tool_of(keys::AUTO), None);
    assert_eq!(tool_of("notreloader.stakater.com.evil/auto"), None);
    let explained = run(&Case {
        annotations: &[(reloader::AUTO, "true")],
        ..BASE
    });
    let keys = [keys::AUTO, reloader::AUTO, "app.kubernetes.io/name"];
    let entry = migration(&explained, keys).unwrap();
    assert_eq!(entry.annotations, [reloader::AUTO]);
    assert!(entry.next_change.rolls);
    assert_eq!(entry.follows, ["ConfigMap app", "Secret db"]);
    assert_eq!(migration(&explained, [keys::AUTO]), None);
}

#[test]
fn the_last_rollout_is_read_from_the_workload_and_a_bad_annotation_is_told() {
    let hash = crate::fixtures::mk_hash("a");
    let at = "2026-12-07T11:00:00Z".parse().unwrap();
    let changes = [crate::plan::event::SourceChange {
        id: crate::refs::SourceId::secret("db"),
        change: crate::plan::event::Change::Keys(["password".to_owned()].into()),
    }];
    let written = last_rollout::LastRollout::of(&Decision::Roll { hash }, &changes, at, None)
        .unwrap()
        .to_annotation();
    assert_eq!(recorded_rollout(None), Ok(None));
    let read = recorded_rollout(Some(&written)).unwrap().unwrap();
    assert_eq!(
        read,
        LastRollout {
            time: "2026-12-07T11:00:00Z".to_owned(),
            reason: "ConfigRolled".to_owned(),
            cause: "Secret db keys [password] changed".to_owned(),
            from: RecordedIn::Workload,
        }
    );
    for malformed in ["", "{", "{\"time\":1}", &"x".repeat(4096)] {
        let problem = recorded_rollout(Some(malformed)).unwrap_err();
        assert!(
            problem.starts_with("the configsync.dev/last-rollout annotation cannot be read (")
                && problem.ends_with("; the last rollout is taken from Events"),
            "{problem}"
        );
    }
    // Through explain: the record wins; a malformed one leaves the Events to the caller, and says why.
    let deployment = mk_deployment("prod", "web", &[(keys::AUTO, "true")], pod_spec());
    let followed = follow(&deployment, false);
    let workload = deployment.workload_ref();
    let cache = cache(&BASE);
    let explain_with = |annotation: Option<&str>| {
        explain(&Input {
            workload: &workload,
            follow: &followed,
            uses: &[],
            live: Live {
                last_rollout: annotation,
                ..Live::default()
            },
            sources: cache.namespace("prod"),
            claim: None,
            operator: OperatorView::default(),
        })
    };
    let good = explain_with(Some(&written));
    assert_eq!(good.last_rollout, Some(read));
    assert_eq!(good.last_rollout_problem, None);
    let bad = explain_with(Some("not json"));
    assert_eq!(bad.last_rollout, None);
    assert!(bad.last_rollout_problem.is_some());
    let json = serde_json::to_value(&bad).unwrap();
    assert!(json["lastRolloutProblem"].is_string(), "{json}");
    assert!(
        serde_json::to_value(&good)
            .unwrap()
            .get("lastRolloutProblem")
            .is_none()
    );
}
