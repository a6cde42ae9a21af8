//! The root CA publisher: every active namespace holds the ConfigMap `kube-root-ca.crt`, as kube-controller-
//! manager's `root-ca-certificate-publisher-controller` keeps it (it is what projected service-account token
//! volumes mount). A deleted copy is put back.
//!
//! Approximation: the embedded server serves plain HTTP and has no cluster CA, so `ca.crt` holds a placeholder
//! text, not a certificate.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::write::CONTROLLER_MANAGER;

/// The ConfigMap's name, the same in every namespace.
pub const NAME: &str = "kube-root-ca.crt";

/// What `ca.crt` holds here.
pub const PLACEHOLDER: &str = "# configsync embedded cluster: plain HTTP, no cluster CA\n";

/// The ConfigMap to publish into `namespace`.
pub fn root_ca_config_map(namespace: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": namespace},
        "data": {"ca.crt": PLACEHOLDER},
    })
}

/// Whether `namespace` should hold the ConfigMap: it exists and is not being deleted.
pub fn wants_root_ca(namespace: &Namespace) -> bool {
    namespace.metadata.deletion_timestamp.is_none()
}

async fn reconcile(namespace: Arc<Namespace>, client: Arc<Client>) -> Result<Action, kube::Error> {
    if !wants_root_ca(&namespace) {
        return Ok(Action::await_change());
    }
    let name = namespace.name_any();
    let api: Api<ConfigMap> = Api::namespaced((*client).clone(), &name);
    let config_map: ConfigMap =
        serde_json::from_value(root_ca_config_map(&name)).map_err(kube::Error::SerdeError)?;
    let params = PostParams {
        field_manager: Some(CONTROLLER_MANAGER.to_owned()),
        ..PostParams::default()
    };
    match api.create(&params, &config_map).await {
        // Already there, or the namespace went away meanwhile: nothing to do.
        Err(kube::Error::Api(status)) if matches!(status.code, 403 | 404 | 409) => {}
        other => {
            other?;
        }
    }
    Ok(Action::await_change())
}

fn error_policy(_namespace: Arc<Namespace>, error: &kube::Error, _client: Arc<Client>) -> Action {
    tracing::debug!(%error, "root CA publish failed; retrying");
    Action::requeue(super::RETRY_AFTER)
}

/// Runs the publisher until the task is aborted.
pub async fn run(client: Client) {
    let config_maps = watcher::Config::default().fields(&format!("metadata.name={NAME}"));
    Controller::new(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(Api::<ConfigMap>::all(client.clone()), config_maps, |cm| {
        cm.namespace().map(|ns| ObjectRef::new(&ns))
    })
    .run(reconcile, error_policy, Arc::new(client))
    .for_each(|_| futures::future::ready(()))
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_into_live_namespaces_only() {
        let live: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("ns");
        let dying: Namespace = serde_json::from_value(
            json!({"metadata": {"name": "b", "deletionTimestamp": "2026-01-01T00:00:00Z"}}),
        )
        .expect("ns");
        assert!(wants_root_ca(&live));
        assert!(!wants_root_ca(&dying));
        let cm = root_ca_config_map("a");
        assert_eq!(cm["metadata"]["namespace"], "a");
        assert_eq!(cm["metadata"]["name"], NAME);
        assert_eq!(cm["data"]["ca.crt"], PLACEHOLDER);
    }
}
