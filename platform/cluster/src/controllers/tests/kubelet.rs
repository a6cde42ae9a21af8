use super::*;
use crate::controllers::testutil::mk_pod;

const TIMING: KubeletTiming = KubeletTiming {
    ready_delay: Duration::from_secs(2),
    crash_interval: Duration::from_secs(1),
};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn scheduled_pod() -> Pod {
    let mut pod = mk_pod("web-abc-x1", "uid-rs");
    if let Some(spec) = pod.spec.as_mut() {
        spec.node_name = Some(NODE_NAME.into());
    }
    pod
}

fn condition_status(status: &PodStatus, type_: &str) -> Option<String> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

/// Applies the kubelet's answer at `second`, as the API would store it.
fn step(pod: &mut Pod, second: i64, started: Option<Timestamp>) -> Option<Duration> {
    let (status, recheck) = desired_status(pod, "10.244.0.7", started, at(second), &TIMING)?;
    pod.status = Some(status);
    recheck
}

#[test]
fn pods_go_pending_then_running_then_ready_after_the_delay() {
    let mut pod = scheduled_pod();
    assert_eq!(step(&mut pod, 100, None), Some(Duration::ZERO));
    let status = pod.status.clone().unwrap_or_default();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(
        condition_status(&status, "PodScheduled").as_deref(),
        Some("True")
    );
    assert_eq!(status.pod_ip.as_deref(), Some("10.244.0.7"));
    assert_eq!(status.host_ip.as_deref(), Some(HOST_IP));

    assert_eq!(
        step(&mut pod, 100, Some(at(100))),
        Some(Duration::from_secs(2))
    );
    let status = pod.status.clone().unwrap_or_default();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(condition_status(&status, "Ready").as_deref(), Some("False"));

    assert_eq!(step(&mut pod, 102, Some(at(100))), None);
    let status = pod.status.clone().unwrap_or_default();
    for type_ in ["Ready", "ContainersReady", "Initialized", "PodScheduled"] {
        assert_eq!(
            condition_status(&status, type_).as_deref(),
            Some("True"),
            "{type_}"
        );
    }
    let container = status
        .container_statuses
        .unwrap_or_default()
        .into_iter()
        .next()
        .unwrap_or_default();
    assert!(container.ready);
    let started_at = container
        .state
        .and_then(|s| s.running)
        .and_then(|r| r.started_at);
    assert_eq!(started_at, Some(Time(at(100))));
    assert!(crate::controllers::pods::is_ready(&pod));
}

#[test]
fn the_qos_class_the_api_server_set_is_kept_from_the_first_status_on() {
    let mut pod = scheduled_pod();
    pod.status = Some(PodStatus {
        qos_class: Some("Burstable".into()),
        ..PodStatus::default()
    });
    for (second, started) in [(100, None), (100, Some(at(100))), (102, Some(at(100)))] {
        step(&mut pod, second, started);
        let qos = pod.status.as_ref().and_then(|s| s.qos_class.as_deref());
        assert_eq!(qos, Some("Burstable"), "at {second}");
    }
}

#[test]
fn recomputing_a_settled_status_changes_nothing() {
    let mut pod = scheduled_pod();
    step(&mut pod, 100, None);
    step(&mut pod, 103, None);
    let settled = pod.status.clone();
    // Round-trip through JSON, as the API server stores it (second precision), then recompute later.
    let stored: Pod =
        serde_json::from_value(serde_json::to_value(&pod).unwrap_or_default()).unwrap_or_default();
    let again =
        desired_status(&stored, "10.244.0.9", None, at(500), &TIMING).map(|(status, _)| status);
    assert_eq!(again, settled);
    assert_eq!(stored.status, settled);
}

#[test]
fn crash_annotation_keeps_the_pod_unready_with_growing_restarts() {
    let mut pod = scheduled_pod();
    pod.metadata.annotations = Some([(CRASH_ANNOTATION.to_string(), "true".to_string())].into());
    step(&mut pod, 100, None);
    let restarts = |pod: &Pod| {
        let status = pod.status.clone().unwrap_or_default();
        let container = status
            .container_statuses
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_default();
        let reason = container
            .state
            .and_then(|s| s.waiting)
            .and_then(|w| w.reason);
        (container.restart_count, reason, container.ready)
    };
    assert_eq!(
        step(&mut pod, 101, Some(at(100))),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        restarts(&pod),
        (2, Some("CrashLoopBackOff".to_string()), false)
    );
    step(&mut pod, 110, Some(at(100)));
    assert_eq!(
        restarts(&pod),
        (11, Some("CrashLoopBackOff".to_string()), false)
    );
    assert!(!crate::controllers::pods::is_ready(&pod));
    assert_eq!(pod.status.and_then(|s| s.phase).as_deref(), Some("Running"));
}

#[test]
fn pods_of_other_nodes_or_terminating_are_left_alone() {
    let mut other = scheduled_pod();
    if let Some(spec) = other.spec.as_mut() {
        spec.node_name = Some("elsewhere".into());
    }
    assert!(desired_status(&other, "ip", None, at(1), &TIMING).is_none());
    let mut leaving = scheduled_pod();
    leaving.metadata.deletion_timestamp = Some(Time(at(1)));
    assert!(desired_status(&leaving, "ip", None, at(1), &TIMING).is_none());
}

#[test]
fn pod_ips_cycle_through_the_node_range() {
    assert_eq!(pod_ip(0), "10.244.0.2");
    assert_eq!(pod_ip(252), "10.244.0.254");
    assert_eq!(pod_ip(253), "10.244.0.2");
}
