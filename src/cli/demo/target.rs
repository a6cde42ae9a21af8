//! Where the demo runs: the embedded API server it starts (the default), or an existing cluster given by a
//! kubeconfig (`--kubeconfig`).
//!
//! Either way the demo works in one namespace ([`Target::namespace`]) through a client whose default namespace
//! it is. On an existing cluster that namespace is one of the demo's own (`--namespace`, or a fresh
//! `configsync-demo-<hex>`): created if missing and then deleted on exit, as is the demo's webhook
//! registration; the ConfigSync CRD stays (other users of the cluster may rely on it). The embedded server
//! needs no clean-up: it goes away with the demo.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use configsync_cluster::{ClusterError, Config, EmbeddedCluster};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use tokio::time::Instant;

/// The namespace on the embedded server when `--namespace` is not given.
const EMBEDDED_NAMESPACE: &str = "default";
/// How often the namespace's default ServiceAccount is looked for.
const POLL: Duration = Duration::from_millis(100);

/// Why the demo's cluster could not be reached, prepared or cleaned up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("starting the embedded API server failed: {0}")]
    Embedded(#[from] ClusterError),
    #[error("reading the kubeconfig {path} failed: {source}")]
    ReadKubeconfig {
        path: String,
        source: KubeconfigError,
    },
    #[error("building a client for {path} failed: {source}")]
    Client { path: String, source: kube::Error },
    #[error("creating namespace {namespace} failed: {source}")]
    CreateNamespace {
        namespace: String,
        source: kube::Error,
    },
    #[error(
        "timed out waiting for the default ServiceAccount of namespace {0} (kube-controller-manager makes it)"
    )]
    ServiceAccount(String),
}

/// The cluster the demo talks to, and the namespace it works in.
pub struct Target {
    /// A client whose default namespace is [`Target::namespace`].
    pub client: kube::Client,
    /// The kubeconfig the children (and the user's kubectl) use.
    pub kubeconfig: PathBuf,
    /// The namespace everything is applied in.
    pub namespace: String,
    /// An existing cluster (`--kubeconfig`), rather than the embedded server.
    pub existing: bool,
    /// Whether the demo created the namespace (so deletes it on exit).
    created_namespace: bool,
    /// The embedded server, when the demo runs one; dropping it stops it.
    _embedded: Option<EmbeddedCluster>,
}

impl Target {
    /// Start the embedded API server on 127.0.0.1:`port` and write its kubeconfig to `kubeconfig`.
    pub async fn embedded(
        port: u16,
        pod_ready_delay: Duration,
        kubeconfig: &Path,
        namespace: Option<String>,
    ) -> Result<(Self, SocketAddr), TargetError> {
        let config = Config {
            pod_ready_delay,
            ..Config::default()
        };
        let mut cluster = EmbeddedCluster::start(config).await;
        let addr = cluster.serve_http(port).await?;
        cluster.write_kubeconfig(kubeconfig)?;
        let kubeconfig = std::path::absolute(kubeconfig).unwrap_or_else(|_| kubeconfig.to_owned());
        let namespace = namespace.unwrap_or_else(|| EMBEDDED_NAMESPACE.to_owned());
        let (client, _) = client(&kubeconfig, &namespace).await?;
        let target = Self {
            client,
            kubeconfig,
            namespace,
            existing: false,
            created_namespace: false,
            _embedded: Some(cluster),
        };
        Ok((target, addr))
    }

    /// The existing cluster of `kubeconfig` (its current context); returns it and its API server URL.
    pub async fn existing(
        kubeconfig: &Path,
        namespace: Option<String>,
    ) -> Result<(Self, String), TargetError> {
        let kubeconfig = std::path::absolute(kubeconfig).unwrap_or_else(|_| kubeconfig.to_owned());
        let namespace = namespace.unwrap_or_else(fresh_namespace);
        let (client, url) = client(&kubeconfig, &namespace).await?;
        let target = Self {
            client,
            kubeconfig,
            namespace,
            existing: true,
            created_namespace: false,
            _embedded: None,
        };
        Ok((target, url))
    }

    /// Make sure the namespace exists (creating it if missing) and, on an existing cluster, that pods can be
    /// created in it (its default ServiceAccount exists).
    pub async fn prepare(&mut self, deadline: Instant) -> Result<(), TargetError> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        if namespaces
            .get_opt(&self.namespace)
            .await
            .ok()
            .flatten()
            .is_none()
        {
            let object = Namespace {
                metadata: ObjectMeta {
                    name: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            };
            namespaces
                .create(&PostParams::default(), &object)
                .await
                .map_err(|source| TargetError::CreateNamespace {
                    namespace: self.namespace.clone(),
                    source,
                })?;
            self.created_namespace = true;
            println!("    created namespace {} (deleted on exit)", self.namespace);
        }
        if self.existing {
            self.wait_for_service_account(deadline).await?;
        }
        Ok(())
    }

    async fn wait_for_service_account(&self, deadline: Instant) -> Result<(), TargetError> {
        let accounts: Api<ServiceAccount> = Api::default_namespaced(self.client.clone());
        while accounts.get_opt("default").await.ok().flatten().is_none() {
            if Instant::now() >= deadline {
                return Err(TargetError::ServiceAccount(self.namespace.clone()));
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }

    /// On an existing cluster: delete the webhook registration `webhook` and the namespace if the demo created
    /// it (not waiting for its objects to go). Failures are printed, not returned: clean-up goes on.
    pub async fn clean_up(self, webhook: Option<&str>) {
        if !self.existing {
            return;
        }
        let params = DeleteParams::default();
        if let Some(name) = webhook {
            let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
            match api.delete(name, &params).await {
                Ok(_) => println!("    deleted mutatingwebhookconfiguration {name}"),
                Err(error) => {
                    println!("    deleting mutatingwebhookconfiguration {name} failed: {error}")
                }
            }
        }
        if self.created_namespace {
            let api: Api<Namespace> = Api::all(self.client.clone());
            match api.delete(&self.namespace, &params).await {
                Ok(_) => println!("    deleted namespace {}", self.namespace),
                Err(error) => println!("    deleting namespace {} failed: {error}", self.namespace),
            }
        }
        println!("    (the ConfigSync CRD stays installed)");
    }
}

/// A client for `kubeconfig` (its current context) with `namespace` as its default; and the server's URL.
async fn client(kubeconfig: &Path, namespace: &str) -> Result<(kube::Client, String), TargetError> {
    let path = kubeconfig.display().to_string();
    let read = |source| TargetError::ReadKubeconfig {
        path: path.clone(),
        source,
    };
    let loaded = Kubeconfig::read_from(kubeconfig).map_err(read)?;
    let mut config = kube::Config::from_custom_kubeconfig(loaded, &KubeConfigOptions::default())
        .await
        .map_err(read)?;
    config.default_namespace = namespace.to_owned();
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|source| TargetError::Client {
        path: path.clone(),
        source,
    })?;
    Ok((client, url))
}

/// `configsync-demo-<8 hex digits>`, different on every run.
fn fresh_namespace() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let suffix = nanos ^ std::process::id().rotate_left(16);
    format!("configsync-demo-{suffix:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_namespaces_are_valid_names() {
        let name = fresh_namespace();
        assert!(name.starts_with("configsync-demo-"), "{name}");
        assert_eq!(name.len(), "configsync-demo-".len() + 8);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
