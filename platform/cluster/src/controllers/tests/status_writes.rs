//! Status writes of the workload controllers race other writers the way kube-controller-manager's do: a
//! write computed from a stale read gets 409 Conflict instead of dropping what was written since.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::*;

fn foreign_condition(deployment: &Deployment) -> Option<String> {
    let conditions = deployment.status.as_ref()?.conditions.as_ref()?;
    let condition = conditions.iter().find(|c| c.type_ == "ConfigSyncApplied")?;
    Some(condition.status.clone())
}

#[tokio::test]
async fn a_status_write_from_a_stale_read_conflicts_and_keeps_a_condition_written_since() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "w1", &mk_deployment("web", 1, "nginx:1")).await;
    let read = wait_rolled_out(&deployments, "web").await;
    assert!(
        read.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some(),
        "the controller wrote its own conditions, which a stale write would send back"
    );

    let condition = json!({"status": {"conditions": [{"type": "ConfigSyncApplied", "status": "False",
        "reason": "ApplyFailed", "message": "refused", "lastTransitionTime": "2026-12-07T08:00:00Z"}]}});
    let params = PatchParams::default();
    let written = deployments
        .patch_status("web", &params, &Patch::Strategic(&condition))
        .await;
    assert!(written.is_ok(), "{written:?}");

    // The write a controller computed from `read`, before the condition: what any workload controller sends.
    let mut stale = read.status.clone().unwrap_or_default();
    stale.observed_generation = stale.observed_generation.map(|g| g + 1);
    let refused = pod_owner::write_status(&deployments, &read, read.status.as_ref(), &stale).await;
    assert!(
        matches!(&refused, Err(pod_owner::Error::PatchStatus { source, .. }) if write::is_conflict(source)),
        "{refused:?}"
    );
    let now = deployments.get("web").await.expect("get");
    assert_eq!(foreign_condition(&now).as_deref(), Some("False"));

    // The deployment controller's own next status write (for a scale) starts from the fresh object.
    let scale = json!({"spec": {"replicas": 2}});
    let scaled = deployments
        .patch("web", &params, &Patch::Merge(&scale))
        .await;
    assert!(scaled.is_ok(), "{scaled:?}");
    let rolled = eventually("the controller writes status for 2 replicas", || async {
        let deployment = deployments.get("web").await.ok()?;
        let status = deployment.status.clone()?;
        (status.available_replicas == Some(2) && rolled_out(&deployment)).then_some(deployment)
    })
    .await;
    assert_eq!(foreign_condition(&rolled).as_deref(), Some("False"));
}
