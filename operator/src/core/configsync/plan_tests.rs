use std::collections::{BTreeMap, BTreeSet};

use configsync_crds::annotations::OBSERVED_HASH;
use serde_json::json;

use super::*;
use crate::core::observation::observe;
use crate::fixtures::{mk_deployment, mk_hash, mk_pod_spec, mk_view};
use crate::lean::DeploymentView;

fn roll() -> Decision {
    let hash = workload_hash(&[], &BTreeMap::new()).unwrap();
    Decision::Roll { hash }
}

#[test]
fn suspend_holds_every_rollout() {
    let mut gate = Gate {
        suspended: true,
        ..Gate::default()
    };
    assert_eq!(
        gate.step(&roll(), false),
        Step::Hold(TargetState::Suspended)
    );
    assert_eq!(gate.in_flight, 0);
}

#[test]
fn max_concurrent_counts_rollouts_still_in_progress() {
    let mut gate = Gate {
        max_concurrent: Some(1),
        ..Gate::default()
    };
    assert_eq!(
        gate.step(&Decision::Nothing, true),
        Step::Hold(TargetState::RollingOut)
    );
    assert_eq!(gate.step(&roll(), false), Step::Hold(TargetState::Pending));
    let mut free = Gate {
        max_concurrent: Some(1),
        ..Gate::default()
    };
    assert_eq!(free.step(&roll(), false), Step::Apply);
    assert_eq!(free.step(&roll(), false), Step::Hold(TargetState::Pending));
}

#[test]
fn conditions_name_the_first_problem_and_keep_transition_times() {
    let mut status = ConfigSyncStatus::default();
    let t0 = Time(jiff::Timestamp::from_second(1000).unwrap());
    let t1 = Time(jiff::Timestamp::from_second(2000).unwrap());
    let findings = Findings {
        missing_sources: vec!["ConfigMap/gone".to_owned()],
        ..Findings::default()
    };
    set_conditions(&mut status, &findings, Some(1), &t0);
    let ready = |s: &ConfigSyncStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .cloned()
            .unwrap()
    };
    assert_eq!(ready(&status).status, "False");
    assert_eq!(ready(&status).reason, "SourceMissing");
    set_conditions(&mut status, &findings, Some(1), &t1);
    assert_eq!(ready(&status).last_transition_time, t0);
    set_conditions(&mut status, &Findings::default(), Some(1), &t1);
    assert_eq!(ready(&status).status, "True");
    assert_eq!(ready(&status).last_transition_time, t1);
}

fn mk_cs(status: Option<ConfigSyncStatus>) -> ConfigSync {
    let mut cs: ConfigSync = serde_json::from_value(json!({
        "apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
        "metadata": {"name": "cs", "namespace": "prod", "generation": 1},
        "spec": {"sources": [{"kind": "ConfigMap", "name": "app"}],
                 "targets": [{"kind": "Deployment", "name": "web"}]}}))
    .unwrap();
    cs.status = status;
    cs
}

#[test]
fn a_target_new_to_the_configsync_is_recorded_then_rolled_on_change() {
    let mut cache = SourceCache::default();
    let app = serde_json::from_value(json!({
        "metadata": {"name": "app", "namespace": "prod"}, "data": {"k": "v"}}))
    .unwrap();
    cache.apply_config_map(&app);
    let annotated_before = mk_hash("what the annotations recorded");
    let mut web = mk_deployment(
        "prod",
        "web",
        &[(OBSERVED_HASH, annotated_before.as_str())],
        mk_pod_spec(&[], &[]),
    );
    web.status = serde_json::from_value(
        json!({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}),
    )
    .unwrap();
    let observation = observe(&mk_view::<DeploymentView>(&web), false);
    let drives = Drives {
        mine: BTreeSet::from([observation.workload.clone()]),
        ..Drives::default()
    };
    let now = Time(jiff::Timestamp::from_second(1000).unwrap());

    let claimed = plan(
        &mk_cs(None),
        &drives,
        &cache,
        |_| Some((&observation, observation.live())),
        &now,
    )
    .unwrap();
    assert!(
        matches!(claimed.applies[0].decision, Decision::Record { .. }),
        "claiming restarts nothing: {:?}",
        claimed.applies[0].decision
    );
    assert_eq!(claimed.status.targets[0].state, TargetState::Available);
    assert_eq!(claimed.status.last_rollout_time, None);

    // The status now holds the target: the same difference is a change to roll.
    let known = mk_cs(Some(claimed.status.clone()));
    let rolled = plan(
        &known,
        &drives,
        &cache,
        |_| Some((&observation, observation.live())),
        &now,
    )
    .unwrap();
    assert!(rolled.applies[0].decision.is_rollout());
    assert_eq!(rolled.status.targets[0].state, TargetState::RollingOut);
    assert_eq!(rolled.status.last_rollout_time, Some(now.clone()));
    assert_eq!(
        rolled.status.targets[0].applied_hash,
        rolled.status.source_hash
    );
}

#[test]
fn a_pause_holds_the_targets_after_a_rollout_started() {
    let mut gate = Gate {
        pause_configured: true,
        ..Gate::default()
    };
    assert_eq!(gate.step(&roll(), false), Step::Apply);
    assert_eq!(gate.step(&roll(), false), Step::Hold(TargetState::Pending));
    assert_eq!(
        gate.step(&Decision::Nothing, false),
        Step::Hold(TargetState::Available)
    );
}
