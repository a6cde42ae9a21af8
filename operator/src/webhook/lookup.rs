//! What the webhook reads from the cluster: namespace labels and the sources' key digests.
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::ListParams;

use crate::hash::KeyDigests;
use crate::inject::SourceData;
use crate::refs::SourceId;
use configsync_crds::SourceKind;

/// Read access the webhook needs; a trait so tests can answer without a cluster.
pub trait Lookup: Send + Sync + 'static {
    /// The labels of namespace `name` (empty when it cannot be read).
    fn namespace_labels(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, kube::Error>> + Send;

    /// Digests of `ids` and of every ConfigMap and Secret matching `selector`, in `namespace`.
    fn sources(
        &self,
        namespace: &str,
        ids: &BTreeSet<SourceId>,
        selector: Option<&str>,
    ) -> impl Future<Output = Result<SourceData, kube::Error>> + Send;
}

impl Lookup for kube::Client {
    async fn namespace_labels(&self, name: &str) -> Result<BTreeMap<String, String>, kube::Error> {
        let namespace = Api::<Namespace>::all(self.clone()).get(name).await?;
        Ok(namespace.metadata.labels.unwrap_or_default())
    }

    async fn sources(
        &self,
        namespace: &str,
        ids: &BTreeSet<SourceId>,
        selector: Option<&str>,
    ) -> Result<SourceData, kube::Error> {
        let config_maps = Api::<ConfigMap>::namespaced(self.clone(), namespace);
        let secrets = Api::<Secret>::namespaced(self.clone(), namespace);
        let mut data = SourceData::default();
        for id in ids {
            let digests = match id.kind {
                SourceKind::ConfigMap => config_maps
                    .get_opt(&id.name)
                    .await?
                    .map(|cm| KeyDigests::from_config_map(&cm)),
                SourceKind::Secret => secrets
                    .get_opt(&id.name)
                    .await?
                    .map(|s| KeyDigests::from_secret(&s)),
            };
            if let Some(digests) = digests {
                data.digests.insert(id.clone(), digests);
            }
        }
        let Some(selector) = selector else {
            return Ok(data);
        };
        let params = ListParams::default().labels(selector);
        for cm in config_maps.list(&params).await? {
            let id = SourceId::config_map(cm.metadata.name.clone().unwrap_or_default());
            data.digests
                .insert(id.clone(), KeyDigests::from_config_map(&cm));
            data.selected.insert(id);
        }
        for secret in secrets.list(&params).await? {
            let id = SourceId::secret(secret.metadata.name.clone().unwrap_or_default());
            data.digests
                .insert(id.clone(), KeyDigests::from_secret(&secret));
            data.selected.insert(id);
        }
        Ok(data)
    }
}
