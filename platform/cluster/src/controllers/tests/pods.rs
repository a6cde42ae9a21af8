use super::*;
use crate::controllers::testutil::{mk_pod, ready_pod};

#[test]
fn readiness_and_availability_follow_the_ready_condition() {
    let now = Timestamp::from_second(1_000).unwrap_or(Timestamp::UNIX_EPOCH);
    let pending = mk_pod("p", "uid-rs");
    assert!(!is_ready(&pending));
    assert!(!is_available(&pending, 0, now));

    let ready = ready_pod("r", "uid-rs", now - SignedDuration::from_secs(5));
    assert!(is_ready(&ready));
    assert!(is_available(&ready, 0, now));
    assert!(is_available(&ready, 5, now));
    assert!(!is_available(&ready, 10, now));
    assert_eq!(
        available_at(&ready, 10, now),
        Some(now + SignedDuration::from_secs(5))
    );
    assert_eq!(available_at(&ready, 5, now), None);
}

#[test]
fn terminating_and_finished_pods_are_not_active() {
    let mut pod = mk_pod("p", "uid");
    assert!(is_active(&pod));
    pod.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        Timestamp::UNIX_EPOCH,
    ));
    assert!(!is_active(&pod));
    let mut failed = mk_pod("f", "uid");
    failed.status = Some(k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Failed".into()),
        ..Default::default()
    });
    assert!(!is_active(&failed));
}

#[test]
fn pods_from_templates_carry_labels_and_the_controller_reference() {
    let template: PodTemplateSpec = serde_json::from_value(serde_json::json!({
        "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap_or_default();
    let pod = pod_from_template(
        &template,
        "web-abc-x1",
        "ns",
        controller_ref("ReplicaSet", "web-abc", "u1"),
        &[("pod-template-hash", "abc")],
    );
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(
        labels.get("pod-template-hash").map(String::as_str),
        Some("abc")
    );
    assert_eq!(
        pod.metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .get("a")
            .map(String::as_str),
        Some("b")
    );
    assert!(is_controlled_by(&pod.metadata, "u1"));
    assert!(!is_controlled_by(&pod.metadata, "u2"));
    assert_eq!(pod.spec.map(|spec| spec.containers.len()), Some(1));
}
