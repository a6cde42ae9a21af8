use super::*;

#[test]
fn messages_are_worded_like_kube_controller_managers() {
    assert_eq!(
        scaling_message("web-5d9c", 0, 3),
        "Scaled up replica set web-5d9c from 0 to 3"
    );
    assert_eq!(
        scaling_message("web-5d9c", 3, 1),
        "Scaled down replica set web-5d9c from 3 to 1"
    );
    assert_eq!(
        pod_message("ReplicaSet", "web-5d9c", "web-5d9c-x2bqz", true),
        "Created pod: web-5d9c-x2bqz"
    );
    assert_eq!(
        pod_message("DaemonSet", "agent", "agent-abcde", false),
        "Deleted pod: agent-abcde"
    );
    assert_eq!(
        pod_message("StatefulSet", "db", "db-0", true),
        "create Pod db-0 in StatefulSet db successful"
    );
    assert_eq!(
        pod_message("StatefulSet", "db", "db-1", false),
        "delete Pod db-1 in StatefulSet db successful"
    );
}

#[test]
fn events_carry_the_component_and_the_reference_like_client_gos_recorder() {
    let regarding = ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("Deployment".into()),
        name: Some("web".into()),
        namespace: Some("team".into()),
        uid: Some("u-1".into()),
        ..ObjectReference::default()
    };
    let now = Timestamp::from_nanosecond(0x1234_5678_9abc).unwrap_or(Timestamp::UNIX_EPOCH);
    let event = build_event(
        component("Deployment"),
        &regarding,
        "ScalingReplicaSet",
        "Scaled up replica set web-1 from 0 to 1".into(),
        now,
    );
    let json = serde_json::to_value(&event).unwrap_or_default();
    assert_eq!(json["metadata"]["name"], "web.123456789abc");
    assert_eq!(json["metadata"]["namespace"], "team");
    assert_eq!(json["involvedObject"]["uid"], "u-1");
    assert_eq!(json["source"]["component"], "deployment-controller");
    assert_eq!(json["reportingComponent"], "deployment-controller");
    assert_eq!(json["reportingInstance"], "");
    assert_eq!(
        (json["type"].as_str(), json["count"].as_i64()),
        (Some("Normal"), Some(1))
    );
    assert_eq!(json["firstTimestamp"], json["lastTimestamp"]);
    assert_eq!(component("ReplicaSet"), "replicaset-controller");
    assert_eq!(component("StatefulSet"), "statefulset-controller");
    assert_eq!(component("DaemonSet"), "daemonset-controller");
}
