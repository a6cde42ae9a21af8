use super::*;
use crate::controllers::testutil::{mk_deployment, mk_rs};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn cond<'a>(status: &'a DeploymentStatus, type_: &str) -> (&'a str, &'a str, &'a str) {
    let c = get_condition(status, type_).map(|c| {
        (
            c.status.as_str(),
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or(""),
        )
    });
    c.unwrap_or(("", "", ""))
}

/// The decision `kubectl rollout status` makes for a Deployment (polymorphichelpers/rollout_status.go).
fn kubectl_rollout_done(deployment: &Deployment, status: &DeploymentStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    deployment.metadata.generation <= status.observed_generation
        && n(status.updated_replicas) >= desired_replicas(deployment)
        && n(status.replicas) <= n(status.updated_replicas)
        && n(status.available_replicas) >= n(status.updated_replicas)
}

#[test]
fn settled_deployment_is_complete_and_available() {
    let deployment = mk_deployment(3, "nginx");
    let rs = mk_rs("web-abc", 3, 3, 3, 1);
    let status = compute_status(
        &deployment,
        Some(&rs),
        std::slice::from_ref(&rs),
        RolloutEvent::None,
        at(100),
    );
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.ready_replicas,
            status.available_replicas,
            status.unavailable_replicas
        ),
        (Some(3), Some(3), Some(3), Some(3), None),
        "zero counts are omitted, as Go's omitempty does"
    );
    assert_eq!(
        cond(&status, "Available"),
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability."
        )
    );
    assert_eq!(
        cond(&status, "Progressing"),
        (
            "True",
            "NewReplicaSetAvailable",
            "ReplicaSet \"web-abc\" has successfully progressed."
        )
    );
    assert!(kubectl_rollout_done(&deployment, &status));
}

#[test]
fn creating_the_new_replicaset_is_reported() {
    let deployment = mk_deployment(3, "nginx");
    let rs = mk_rs("web-abc", 3, 0, 0, 1);
    let rs = ReplicaSet { status: None, ..rs };
    let status = compute_status(
        &deployment,
        Some(&rs),
        std::slice::from_ref(&rs),
        RolloutEvent::CreatedNewReplicaSet,
        at(5),
    );
    assert_eq!(
        cond(&status, "Progressing"),
        (
            "True",
            "NewReplicaSetCreated",
            "Created new replica set \"web-abc\""
        )
    );
    // 3 wanted, 0 available, 25% of 3 rounds down to 0 unavailable allowed.
    assert_eq!(cond(&status, "Available").0, "False");
    assert_eq!(status.unavailable_replicas, Some(3));
    assert!(!kubectl_rollout_done(&deployment, &status));
}

#[test]
fn mid_rollout_progress_is_reported_and_rollout_status_waits() {
    let mut deployment = mk_deployment(3, "nginx:2");
    deployment.status = Some(DeploymentStatus {
        replicas: Some(3),
        updated_replicas: Some(0),
        conditions: Some(vec![condition(
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            "x".into(),
            at(1),
        )]),
        ..DeploymentStatus::default()
    });
    let new_rs = mk_rs("web-new", 1, 1, 1, 2);
    let old_rs = mk_rs("web-old", 3, 3, 3, 1);
    let all = [old_rs, new_rs.clone()];
    let status = compute_status(&deployment, Some(&new_rs), &all, RolloutEvent::None, at(10));
    assert_eq!(
        (status.replicas, status.updated_replicas),
        (Some(4), Some(1))
    );
    assert_eq!(
        cond(&status, "Progressing"),
        (
            "True",
            "ReplicaSetUpdated",
            "ReplicaSet \"web-new\" is progressing."
        )
    );
    let transition =
        get_condition(&status, "Progressing").and_then(|c| c.last_transition_time.clone());
    assert_eq!(
        transition,
        Some(Time(at(1))),
        "a True condition keeps its transition time"
    );
    assert!(!kubectl_rollout_done(&deployment, &status));
}

#[test]
fn stalled_rollout_times_out_after_the_progress_deadline() {
    let mut deployment = mk_deployment(3, "nginx:2");
    if let Some(spec) = deployment.spec.as_mut() {
        spec.progress_deadline_seconds = Some(10);
    }
    let new_rs = mk_rs("web-new", 1, 0, 0, 2);
    let old_rs = mk_rs("web-old", 3, 3, 3, 1);
    let all = [old_rs, new_rs.clone()];
    let first = compute_status(&deployment, Some(&new_rs), &all, RolloutEvent::None, at(1));
    deployment.status = Some(DeploymentStatus {
        conditions: Some(vec![condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "x".into(),
            at(1),
        )]),
        ..first
    });
    let before = compute_status(&deployment, Some(&new_rs), &all, RolloutEvent::None, at(5));
    assert_eq!(cond(&before, "Progressing").1, "ReplicaSetUpdated");
    let after = compute_status(&deployment, Some(&new_rs), &all, RolloutEvent::None, at(20));
    assert_eq!(
        cond(&after, "Progressing"),
        (
            "False",
            "ProgressDeadlineExceeded",
            "ReplicaSet \"web-new\" has timed out progressing."
        )
    );
}

#[test]
fn set_condition_keeps_identical_conditions_untouched() {
    let mut status = DeploymentStatus::default();
    set_condition(
        &mut status,
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "m".into(),
            at(1),
        ),
    );
    set_condition(
        &mut status,
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "m".into(),
            at(9),
        ),
    );
    let available = get_condition(&status, "Available").and_then(|c| c.last_update_time.clone());
    assert_eq!(available, Some(Time(at(1))));
    set_condition(
        &mut status,
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "m".into(),
            at(9),
        ),
    );
    assert_eq!(status.conditions.as_ref().map(Vec::len), Some(1));
    assert_eq!(cond(&status, "Available").0, "False");
}

#[test]
fn strategy_defaults_to_rolling_25_percent() {
    let deployment = mk_deployment(4, "nginx");
    assert_eq!(rolling::max_surge(&strategy(&deployment), 4), 1);
    assert_eq!(rolling::max_unavailable(&strategy(&deployment), 4), 1);
}

#[test]
fn paused_deployments_report_paused_then_resumed() {
    let mut deployment = mk_deployment(3, "nginx:2");
    if let Some(spec) = deployment.spec.as_mut() {
        spec.paused = Some(true);
    }
    let new_rs = mk_rs("web-new", 1, 1, 1, 2);
    let old_rs = mk_rs("web-old", 3, 3, 3, 1);
    let all = [old_rs, new_rs.clone()];
    let paused = compute_status(&deployment, Some(&new_rs), &all, RolloutEvent::None, at(10));
    assert_eq!(
        cond(&paused, "Progressing"),
        ("Unknown", "DeploymentPaused", "Deployment is paused")
    );
    deployment.status = Some(paused);
    if let Some(spec) = deployment.spec.as_mut() {
        spec.paused = Some(false);
    }
    let resumed = compute_status(&deployment, Some(&new_rs), &all, RolloutEvent::None, at(20));
    assert_eq!(
        cond(&resumed, "Progressing"),
        ("Unknown", "DeploymentResumed", "Deployment is resumed")
    );
}
