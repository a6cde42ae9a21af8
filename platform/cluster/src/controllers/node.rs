//! The simulated kubelet's Node, for a real kube-apiserver (the embedded server serves no Nodes).
//!
//! A real kubelet registers its Node and then reports it `Ready`. kube-apiserver's `TaintNodesByCondition`
//! admission adds `node.kubernetes.io/not-ready:NoSchedule` to every new Node, and only the node-lifecycle
//! controller (not run with the simulation, since it would evict pods of a node without heartbeats) removes it,
//! so [`register`] clears the taints itself. DaemonSet pods do not tolerate that taint: without this, a
//! DaemonSet never schedules its pod.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::pods::{HOST_IP, NODE_NAME};
use super::write::KUBELET;

/// The Node object the simulated kubelet registers: [`NODE_NAME`], Linux, no taints.
pub fn node_object() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"taints": []},
    })
}

/// The status a healthy kubelet reports for its Node: `Ready`, with room for many pods, at [`HOST_IP`].
pub fn node_status(now: &str) -> Value {
    let resources =
        json!({"cpu": "32", "memory": "256Gi", "pods": "250", "ephemeral-storage": "100Gi"});
    let condition = |kind: &str, status: &str, reason: &str| {
        json!({
            "type": kind, "status": status, "reason": reason,
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        })
    };
    json!({
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": HOST_IP},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "conditions": [
                condition("Ready", "True", "KubeletReady"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID"),
            ],
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux", "osImage": "configsync simulated node",
                "kernelVersion": "", "containerRuntimeVersion": "simulated://1", "kubeletVersion": "simulated",
                "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": "",
            },
        }
    })
}

/// Registers (or re-registers) the Node: creates it when missing, reports it Ready and clears the taints that
/// admission added.
///
/// # Errors
/// The first API error other than the Node already existing.
pub async fn register(client: kube::Client) -> kube::Result<()> {
    let api: Api<Node> = Api::all(client);
    let node: Node = serde_json::from_value(node_object()).map_err(kube::Error::SerdeError)?;
    match api.create(&PostParams::default(), &node).await {
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        other => {
            other?;
        }
    }
    let params = PatchParams {
        field_manager: Some(KUBELET.to_owned()),
        ..PatchParams::default()
    };
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    api.patch_status(NODE_NAME, &params, &Patch::Merge(node_status(&now)))
        .await?;
    api.patch(
        NODE_NAME,
        &params,
        &Patch::Merge(json!({"spec": {"taints": null}})),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_is_ready_untainted_and_parses_as_a_node() {
        let node: Node = serde_json::from_value(node_object()).expect("a Node");
        assert_eq!(node.metadata.name.as_deref(), Some(NODE_NAME));
        assert!(
            node.spec
                .and_then(|s| s.taints)
                .unwrap_or_default()
                .is_empty()
        );
        let status = node_status("2026-01-01T00:00:00Z");
        let ready = status["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .expect("a Ready condition");
        assert_eq!(ready["status"], "True");
        assert_eq!(status["status"]["addresses"][0]["address"], HOST_IP);
    }
}
