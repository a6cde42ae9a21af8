//! Deletion propagation end to end: the apiserver sets the finalizer, the garbage collector does the work.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};

use super::*;

/// A rolled-out Deployment `web` with two pods in a fresh namespace `ns`.
async fn mk_rolled_out(client: &Client, ns: &str) -> Api<Deployment> {
    let deployments = create_deployment(client, ns, &mk_deployment("web", 2, "nginx:1")).await;
    wait_rolled_out(&deployments, "web").await;
    deployments
}

#[tokio::test]
async fn foreground_deletion_removes_dependents_before_the_owner() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = mk_rolled_out(&client, "fg").await;
    let deleted = deployments.delete("web", &DeleteParams::foreground()).await;
    let pending = deleted.ok().and_then(|d| d.left());
    let finalizers = pending.map(|d| d.finalizers().to_vec());
    assert_eq!(finalizers, Some(vec!["foregroundDeletion".to_string()]));
    eventually("owner and dependents collected", || async {
        let rs = list(&Api::<ReplicaSet>::namespaced(client.clone(), "fg")).await;
        let pods = list(&Api::<Pod>::namespaced(client.clone(), "fg")).await;
        let owner_gone = deployments.get_opt("web").await.ok()?.is_none();
        (owner_gone && rs.is_empty() && pods.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_owner_reference() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = mk_rolled_out(&client, "orphan").await;
    let deleted = deployments.delete("web", &DeleteParams::orphan()).await;
    assert!(deleted.is_ok(), "{deleted:?}");
    eventually("owner removed", || async {
        deployments
            .get_opt("web")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let replicasets = list(&Api::<ReplicaSet>::namespaced(client.clone(), "orphan")).await;
    assert_eq!(replicasets.len(), 1);
    assert!(replicasets[0].owner_references().is_empty());
    let pods = list(&Api::<Pod>::namespaced(client.clone(), "orphan")).await;
    assert_eq!(pods.len(), 2, "pods stay with their (orphaned) ReplicaSet");
}
