use std::collections::BTreeMap;

use configsync_crds::annotations as keys;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;

use super::apply::apply_body;
use super::*;
use crate::fixtures::{mk_deployment, mk_hash, mk_pod_spec};
use crate::hash::{KeyDigests, workload_hash};
use crate::refs::SourceId;
use crate::workload::follow;

fn live<'a>(template: Option<&'a str>, observed: Option<&'a str>) -> Live<'a> {
    Live {
        template_hash: template,
        observed_hash: observed,
        ..Live::default()
    }
}

/// The operator's view of a namespace: the workload object and the source digests.
struct World {
    deployment: Deployment,
    sources: BTreeMap<SourceId, KeyDigests>,
    rollouts: usize,
}

impl World {
    fn new(annotations: &[(&str, &str)]) -> Self {
        let deployment = mk_deployment(
            "ns",
            "web",
            annotations,
            mk_pod_spec(&["app"], &[("shared", "mine")]),
        );
        let mut world = Self {
            deployment,
            sources: BTreeMap::new(),
            rollouts: 0,
        };
        world.set_config_map("app", &[("a", "1")]);
        world.set_config_map("shared", &[("mine", "x"), ("theirs", "y")]);
        world
    }

    fn set_config_map(&mut self, name: &str, data: &[(&str, &str)]) {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": name},
            "data": data.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>()}))
        .unwrap();
        self.sources
            .insert(SourceId::config_map(name), KeyDigests::from_config_map(&cm));
    }

    /// One reconcile: follow → hash → decide → apply (annotations merged as server-side apply would).
    fn reconcile(&mut self) -> Decision {
        let followed = follow(&self.deployment, false).unwrap().unwrap();
        let computed = workload_hash(&followed.sources, &self.sources);
        let decision = decide(
            followed.policy.strategy,
            Live::of(&self.deployment),
            computed,
        );
        let workload = self.deployment.workload_ref();
        if let Some(body) = apply_body(&workload, Live::of(&self.deployment), &decision, None) {
            self.rollouts += usize::from(self.merge(&body));
        }
        decision
    }

    /// Merge an apply body; returns whether the pod template changed (a rollout).
    fn merge(&mut self, body: &serde_json::Value) -> bool {
        let observed = body["metadata"]["annotations"][keys::OBSERVED_HASH]
            .as_str()
            .unwrap();
        self.deployment
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(keys::OBSERVED_HASH.into(), observed.into());
        let Some(template) =
            body["spec"]["template"]["metadata"]["annotations"][keys::CONFIG_HASH].as_str()
        else {
            return false;
        };
        let spec = self.deployment.spec.as_mut().unwrap();
        let annotations = spec
            .template
            .metadata
            .get_or_insert_default()
            .annotations
            .get_or_insert_default();
        annotations.insert(keys::CONFIG_HASH.into(), template.into()) != Some(template.to_owned())
    }
}

#[test]
fn decision_table() {
    let (h, old) = (mk_hash("new"), mk_hash("old"));
    let (hs, olds) = (h.as_str(), old.as_str());
    let restart = Strategy::Restart;
    assert_eq!(
        decide(restart, live(Some("v0:abc"), Some("v0:abc")), Ok(h.clone())),
        Decision::Adopt { hash: h.clone() },
        "another format version is adopted again, not rolled"
    );
    let garbage_record = live(Some(olds), Some("garbage"));
    assert_eq!(
        decide(restart, garbage_record, Ok(h.clone())),
        Decision::Roll { hash: h.clone() }
    );
    assert_eq!(
        decide(restart, live(None, None), Ok(h.clone())),
        Decision::Adopt { hash: h.clone() }
    );
    assert_eq!(
        decide(restart, live(Some(hs), Some(hs)), Ok(h.clone())),
        Decision::Nothing
    );
    assert_eq!(
        decide(restart, live(None, Some(hs)), Ok(h.clone())),
        Decision::Nothing
    );
    assert_eq!(
        decide(restart, live(Some(hs), None), Ok(h.clone())),
        Decision::Record { hash: h.clone() }
    );
    assert_eq!(
        decide(restart, live(Some(olds), Some(olds)), Ok(h.clone())),
        Decision::Roll { hash: h.clone() }
    );
    assert_eq!(
        decide(restart, live(None, Some(olds)), Ok(h.clone())),
        Decision::Roll { hash: h.clone() }
    );
    assert_eq!(
        decide(restart, live(Some(olds), None), Ok(h.clone())),
        Decision::Roll { hash: h.clone() }
    );
    assert_eq!(
        decide(
            Strategy::Reload,
            live(Some(olds), Some(olds)),
            Ok(h.clone())
        ),
        Decision::Report {
            hash: h.clone(),
            strategy: Strategy::Reload
        }
    );
    assert_eq!(
        decide(Strategy::None, live(None, Some(olds)), Ok(h.clone())),
        Decision::Report {
            hash: h,
            strategy: Strategy::None
        }
    );
    let missing = vec![SourceId::secret("db")];
    let err = crate::hash::Error::HashWorkload {
        missing: missing.clone(),
    };
    assert_eq!(
        decide(restart, live(Some(olds), Some(olds)), Err(err)),
        Decision::Warn { missing }
    );
}

#[test]
fn adoption_does_not_restart_and_the_next_pass_is_quiet() {
    let mut world = World::new(&[(keys::AUTO, "true")]);
    assert!(matches!(world.reconcile(), Decision::Adopt { .. }));
    assert_eq!(world.rollouts, 0);
    assert_eq!(world.reconcile(), Decision::Nothing);
    assert_eq!(world.rollouts, 0);
}

#[test]
fn a_change_rolls_exactly_once() {
    let mut world = World::new(&[(keys::AUTO, "true")]);
    let _ = world.reconcile();
    world.set_config_map("app", &[("a", "2")]);
    assert!(world.reconcile().is_rollout());
    assert_eq!(world.reconcile(), Decision::Nothing);
    assert_eq!(world.rollouts, 1);
}

#[test]
fn change_during_downtime_rolls_once_and_plain_restart_rolls_nothing() {
    let mut world = World::new(&[(keys::AUTO, "true")]);
    let _ = world.reconcile();
    // Operator restart with nothing changed: every pass decides Nothing.
    for _ in 0..3 {
        assert_eq!(world.reconcile(), Decision::Nothing);
    }
    // Operator down; two sources change; it comes back with no memory but the workload's record.
    world.set_config_map("app", &[("a", "3")]);
    world.set_config_map("shared", &[("mine", "z"), ("theirs", "y")]);
    let decisions: Vec<_> = (0..3).map(|_| world.reconcile()).collect();
    assert!(decisions[0].is_rollout());
    assert_eq!(decisions[1..], [Decision::Nothing, Decision::Nothing]);
    assert_eq!(world.rollouts, 1);
}

#[test]
fn unconsumed_key_change_rolls_nothing() {
    let mut world = World::new(&[(keys::AUTO, "true")]);
    let _ = world.reconcile();
    world.set_config_map(
        "shared",
        &[("mine", "x"), ("theirs", "changed"), ("added", "new")],
    );
    assert_eq!(world.reconcile(), Decision::Nothing);
    assert_eq!(world.rollouts, 0);
}

#[test]
fn secret_delete_and_recreate() {
    let mut world = World::new(&[(keys::AUTO, "true"), (keys::SECRETS, "db")]);
    world.sources.insert(
        SourceId::secret("db"),
        KeyDigests::from_entries([("password", b"one".as_slice())]),
    );
    let _ = world.reconcile();
    // Deleted: the named source is optional, so its absence is content too.
    world.sources.remove(&SourceId::secret("db"));
    assert!(world.reconcile().is_rollout());
    // Recreated with the original content: back to the original hash, one more rollout.
    world.sources.insert(
        SourceId::secret("db"),
        KeyDigests::from_entries([("password", b"one".as_slice())]),
    );
    assert!(world.reconcile().is_rollout());
    assert_eq!(world.rollouts, 2);
}

#[test]
fn secret_recreated_with_same_content_between_passes_rolls_nothing() {
    let mut world = World::new(&[(keys::AUTO, "true"), (keys::SECRETS, "db")]);
    world.sources.insert(
        SourceId::secret("db"),
        KeyDigests::from_entries([("password", b"one".as_slice())]),
    );
    let _ = world.reconcile();
    world.sources.remove(&SourceId::secret("db"));
    world.sources.insert(
        SourceId::secret("db"),
        KeyDigests::from_entries([("password", b"one".as_slice())]),
    );
    assert_eq!(world.reconcile(), Decision::Nothing);
    world.sources.insert(
        SourceId::secret("db"),
        KeyDigests::from_entries([("password", b"two".as_slice())]),
    );
    assert!(world.reconcile().is_rollout());
    assert_eq!(world.rollouts, 1);
}

#[test]
fn reload_and_none_record_without_restarting() {
    for strategy in ["reload", "none"] {
        let mut world = World::new(&[(keys::AUTO, "true"), (keys::STRATEGY, strategy)]);
        let _ = world.reconcile();
        world.set_config_map("app", &[("a", "9")]);
        assert!(matches!(world.reconcile(), Decision::Report { .. }));
        assert_eq!(world.reconcile(), Decision::Nothing, "reported once");
        assert_eq!(world.rollouts, 0);
    }
}

#[test]
fn missing_required_source_warns_and_does_not_roll() {
    let mut world = World::new(&[(keys::AUTO, "true")]);
    let _ = world.reconcile();
    world.sources.remove(&SourceId::config_map("app"));
    assert_eq!(
        world.reconcile(),
        Decision::Warn {
            missing: vec![SourceId::config_map("app")]
        }
    );
    assert_eq!(world.rollouts, 0);
    world.set_config_map("app", &[("a", "1")]);
    assert_eq!(
        world.reconcile(),
        Decision::Nothing,
        "back to the recorded content"
    );
}

#[test]
fn ignore_toggle_rebaselines_without_rolling() {
    let (h, old) = (mk_hash("new"), mk_hash("old"));
    let recorded = live(Some(old.as_str()), Some(old.as_str()));
    assert_eq!(
        decide_rebaseline(recorded, Ok(h.clone())),
        Decision::Record { hash: h.clone() }
    );
    assert_eq!(
        decide_rebaseline(live(None, Some(h.as_str())), Ok(h.clone())),
        Decision::Nothing
    );
    assert_eq!(
        decide_rebaseline(live(None, None), Ok(h.clone())),
        Decision::Adopt { hash: h.clone() }
    );
    // After the re-baseline, an ordinary pass (or a restart) finds the record current.
    assert_eq!(
        decide(
            Strategy::Restart,
            live(Some(old.as_str()), Some(h.as_str())),
            Ok(h.clone())
        ),
        Decision::Nothing
    );
}

/// Someone else's template change: (template fingerprint now, recorded fingerprint, record) → decision.
#[test]
fn template_fingerprint_table() {
    let (h, old) = (mk_hash("new"), mk_hash("old"));
    let (hs, olds) = (h.as_str(), old.as_str());
    fn with<'a>(observed: &'a str, now: Option<&'a str>, seen: Option<&'a str>) -> Live<'a> {
        Live {
            template_hash: Some(observed),
            observed_hash: Some(observed),
            template: now,
            observed_template: seen,
            record_label: Some(short_hash(observed)),
            last_rollout: None,
        }
    }
    let record = Decision::Record { hash: h.clone() };
    let roll = Decision::Roll { hash: h.clone() };
    for (live, strategy, wanted, why) in [
        (
            with(olds, Some("t1:b"), Some("t1:a")),
            Strategy::Restart,
            &record,
            "their rollout brings the new content: adopt, no second template change",
        ),
        (
            with(olds, Some("t1:b"), Some("t1:a")),
            Strategy::Reload,
            &record,
            "the same under reload",
        ),
        (
            with(hs, Some("t1:b"), Some("t1:a")),
            Strategy::Restart,
            &record,
            "their template change alone: record the fingerprint",
        ),
        (
            with(olds, Some("t1:a"), Some("t1:a")),
            Strategy::Restart,
            &roll,
            "same template, new content: configsync rolls",
        ),
        (
            with(hs, Some("t1:a"), Some("t1:a")),
            Strategy::Restart,
            &Decision::Nothing,
            "nothing changed",
        ),
        (
            with(hs, Some("t1:a"), None),
            Strategy::Restart,
            &record,
            "a record from before fingerprints gets one, without a rollout",
        ),
        (
            with(olds, Some("t1:a"), None),
            Strategy::Restart,
            &roll,
            "without a recorded fingerprint nobody else is known to have rolled",
        ),
        (
            with(olds, None, Some("t1:a")),
            Strategy::Restart,
            &roll,
            "no template fingerprint known: as before",
        ),
    ] {
        assert_eq!(&decide(strategy, live, Ok(h.clone())), wanted, "{why}");
    }
}

/// `kubectl rollout undo` restores the older annotations with the older template; the label stays.
#[test]
fn undo_table() {
    let (h1, h2, h3) = (mk_hash("1"), mk_hash("2"), mk_hash("3"));
    let (h1_label, h2_label) = (short_hash(h1.as_str()), short_hash(h2.as_str()));
    assert_eq!(h2_label.len(), 12);
    assert!(h2.as_str()[3..].starts_with(h2_label));
    let undone = Live {
        template_hash: None,
        observed_hash: Some(h1.as_str()),
        template: Some("t1:a"),
        observed_template: Some("t1:a"),
        record_label: Some(h2_label),
        last_rollout: None,
    };
    assert!(undone.undone());
    assert_eq!(
        decide(Strategy::Restart, undone, Ok(h2.clone())),
        Decision::Record { hash: h2.clone() },
        "an undo of configsync's rollout is adopted, not rolled forward"
    );
    let agreeing = Live {
        record_label: Some(h1_label),
        ..undone
    };
    assert!(!agreeing.undone());
    assert_eq!(
        decide(Strategy::Restart, agreeing, Ok(h3.clone())),
        Decision::Roll { hash: h3 },
        "label and record agree: a change while down rolls once"
    );
    let pre_adoption = Live {
        observed_hash: None,
        ..undone
    };
    assert!(
        pre_adoption.undone(),
        "undo to a revision from before adoption"
    );
}
