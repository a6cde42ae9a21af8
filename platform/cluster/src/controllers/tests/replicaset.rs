use super::*;
use crate::controllers::testutil::{mk_pod, mk_rs, ready_pod};
use jiff::SignedDuration;
use kube::ResourceExt;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn pod_created(name: &str, second: i64, ready: bool) -> Pod {
    let mut pod = if ready {
        ready_pod(name, "uid-rs", at(second))
    } else {
        mk_pod(name, "uid-rs")
    };
    pod.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        at(second),
    ));
    if let Some(spec) = pod.spec.as_mut() {
        spec.node_name = Some("configsync-node".into());
    }
    pod
}

#[test]
fn missing_pods_are_created() {
    let rs = mk_rs("web-abc", 3, 0, 0, 1);
    let plan = plan(&rs, &[pod_created("a", 1, true)], at(10));
    assert_eq!(plan.create, 2);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.status.replicas, 1);
    assert_eq!(plan.status.ready_replicas, Some(1));
    assert_eq!(plan.status.available_replicas, Some(1));
    assert_eq!(plan.status.fully_labeled_replicas, Some(1));
}

#[test]
fn extra_pods_are_deleted_not_ready_first_then_newest() {
    let rs = mk_rs("web-abc", 1, 0, 0, 1);
    let owned = [
        pod_created("old-ready", 1, true),
        pod_created("unready", 2, false),
        pod_created("new-ready", 3, true),
    ];
    let plan = plan(&rs, &owned, at(10));
    assert_eq!(plan.create, 0);
    assert_eq!(
        plan.delete,
        vec!["unready".to_string(), "new-ready".to_string()]
    );
}

#[test]
fn terminating_pods_do_not_count_and_are_replaced() {
    let rs = mk_rs("web-abc", 2, 0, 0, 1);
    let mut leaving = pod_created("leaving", 1, true);
    leaving.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(5)));
    let plan = plan(&rs, &[leaving, pod_created("staying", 1, true)], at(10));
    assert_eq!(plan.create, 1);
    assert_eq!(plan.status.replicas, 1);
}

#[test]
fn min_ready_seconds_delays_availability_and_asks_for_a_recheck() {
    let mut rs = mk_rs("web-abc", 1, 0, 0, 1);
    if let Some(spec) = rs.spec.as_mut() {
        spec.min_ready_seconds = Some(30);
    }
    let pod = ready_pod("a", "uid-rs", at(100));
    let plan = plan(&rs, std::slice::from_ref(&pod), at(110));
    assert_eq!(plan.status.ready_replicas, Some(1));
    assert_eq!(plan.status.available_replicas, Some(0));
    assert_eq!(
        plan.recheck_after,
        Duration::try_from(SignedDuration::from_secs(20)).ok()
    );
    let later = plan_at(&rs, &pod, 131);
    assert_eq!(later, (Some(1), None));
}

fn plan_at(rs: &ReplicaSet, pod: &Pod, second: i64) -> (Option<i32>, Option<Duration>) {
    let plan = plan(rs, std::slice::from_ref(pod), at(second));
    (plan.status.available_replicas, plan.recheck_after)
}

#[test]
fn new_pods_follow_the_template_and_point_at_the_replicaset() {
    let rs = mk_rs("web-abc", 1, 0, 0, 1);
    let pod = new_pod(&rs).unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    assert!(
        name.starts_with("web-abc-") && name.len() == "web-abc-".len() + 5,
        "{name}"
    );
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-abc-"));
    assert!(pods::is_controlled_by(&pod.metadata, "uid-web-abc"));
    assert_eq!(pod.labels().get("app").map(String::as_str), Some("web"));
    assert_eq!(pod.metadata.namespace.as_deref(), Some("ns"));
}
