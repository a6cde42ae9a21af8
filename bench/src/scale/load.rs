//! Talking to the cluster: a client that identifies as `configsync-bench`, bounded-concurrency creation,
//! counting what exists, and the cluster's request counts.
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use configsync_cluster::requests::Counts;

/// The `User-Agent` of every harness request, so the cluster counts the operator's requests apart.
pub const USER_AGENT: &str = "configsync-bench";

/// Failures talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig could not be read.
    #[error("reading kubeconfig {path}")]
    ReadKubeconfig {
        /// Where.
        path: String,
        /// Why.
        source: kube::config::KubeconfigError,
    },
    /// The client could not be built.
    #[error("building the client")]
    BuildClient(#[source] kube::Error),
    /// A create failed.
    #[error("creating {name}")]
    CreateObject {
        /// Which object.
        name: String,
        /// Why.
        source: kube::Error,
    },
    /// A list failed.
    #[error("listing objects")]
    ListObjects(#[source] kube::Error),
    /// The request counts could not be read.
    #[error("reading the request counts (/configsync.dev/requests or /metrics)")]
    ReadRequestCounts(#[source] kube::Error),
    /// The request counts were not the expected JSON.
    #[error("parsing /configsync.dev/requests")]
    ParseRequestCounts(#[source] serde_json::Error),
}

/// A client for the kubeconfig at `path`.
pub async fn client(path: &Path) -> Result<Client, Error> {
    let read_error = |source| Error::ReadKubeconfig {
        path: path.display().to_string(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(read_error)?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(read_error)?;
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    ));
    Client::try_from(config).map_err(Error::BuildClient)
}

/// Create `namespace` (an existing one is fine).
pub async fn ensure_namespace(client: &Client, namespace: &str) -> Result<(), Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    let object = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(namespace.to_owned()),
            ..Default::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(source) => Err(Error::CreateObject {
            name: namespace.to_owned(),
            source,
        }),
    }
}

/// Create every object with at most `concurrency` requests in flight; returns the elapsed time.
pub async fn create_all<K>(
    client: &Client,
    namespace: &str,
    objects: impl Iterator<Item = K>,
    concurrency: usize,
) -> Result<Duration, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let start = Instant::now();
    let mut results = stream::iter(objects)
        .map(|object| {
            let api = api.clone();
            async move {
                let name = object.meta().name.clone().unwrap_or_default();
                api.create(&PostParams::default(), &object)
                    .await
                    .map(drop)
                    .map_err(|source| Error::CreateObject { name, source })
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(start.elapsed())
}

/// Objects a real control plane publishes into every namespace by itself (kube-controller-manager's root CA
/// ConfigMap); not the harness's, so not counted.
pub const PUBLISHED_BY_CONTROL_PLANE: &[&str] = &["kube-root-ca.crt"];

/// How many objects of `K` exist in `namespace` (a metadata-only list), leaving out
/// [`PUBLISHED_BY_CONTROL_PLANE`].
pub async fn count<K>(client: &Client, namespace: &str) -> Result<usize, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(Error::ListObjects)?;
    let published = |name: &Option<String>| {
        name.as_deref()
            .is_some_and(|name| PUBLISHED_BY_CONTROL_PLANE.contains(&name))
    };
    Ok(list
        .items
        .iter()
        .filter(|item| !published(&item.metadata.name))
        .count())
}

/// Where the operator's API requests are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Counting {
    /// The embedded cluster's `GET /configsync.dev/requests`: every request, by client (`User-Agent`) and verb.
    ByClient,
    /// A real kube-apiserver's `/metrics` (`apiserver_request_total`), which has no client label: only the
    /// PATCHes (merge or server-side apply) of Deployments are counted, which no one but the operator sends
    /// during a run (the harness patches ConfigMaps; kube-controller-manager writes Deployment status through
    /// the `status` subresource). Events and other writes are not seen.
    DeploymentPatches,
}

impl Counting {
    /// `ByClient` when the cluster answers `/configsync.dev/requests`, else `DeploymentPatches`.
    pub async fn detect(client: &Client) -> Self {
        match request_counts(client, Self::ByClient).await {
            Ok(_) => Self::ByClient,
            Err(_) => Self::DeploymentPatches,
        }
    }

    /// How long to wait between two reads while waiting for the operator to go quiet: a real API server's
    /// `/metrics` is megabytes of text, so it is read less often.
    pub fn poll(self) -> Duration {
        match self {
            Self::ByClient => Duration::from_millis(100),
            Self::DeploymentPatches => Duration::from_millis(250),
        }
    }

    /// What the counts cover, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ByClient => {
                "every request of the operator, by verb (embedded cluster, by User-Agent)"
            }
            Self::DeploymentPatches => {
                "Deployment PATCH/APPLY only (kube-apiserver apiserver_request_total; Events not counted)"
            }
        }
    }
}

/// The client name under which [`Counting::DeploymentPatches`] reports its count.
pub const DEPLOYMENT_PATCHERS: &str = "deployment-patchers";

/// The cluster's request counts by client and verb.
pub async fn request_counts(client: &Client, counting: Counting) -> Result<Counts, Error> {
    let path = match counting {
        Counting::ByClient => "/configsync.dev/requests",
        Counting::DeploymentPatches => "/metrics",
    };
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| Error::ReadRequestCounts(kube::Error::HttpError(e)))?;
    let text = client
        .request_text(request)
        .await
        .map_err(Error::ReadRequestCounts)?;
    match counting {
        Counting::ByClient => by_client(&text),
        Counting::DeploymentPatches => {
            let mut counts = Counts::new();
            counts
                .entry(DEPLOYMENT_PATCHERS.to_owned())
                .or_default()
                .insert("patch".to_owned(), deployment_patches(&text));
            Ok(counts)
        }
    }
}

fn by_client(text: &str) -> Result<Counts, Error> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        by_client: Counts,
    }
    let answer: Answer = serde_json::from_str(text).map_err(Error::ParseRequestCounts)?;
    Ok(answer.by_client)
}

/// The sum of `apiserver_request_total` over the series of HTTP PATCHes of `apps` Deployments (not a
/// subresource): verb `PATCH`, and `APPLY` (server-side apply, which the operator uses).
pub fn deployment_patches(metrics: &str) -> u64 {
    const WANTED: [&str; 3] = [
        "group=\"apps\"",
        "resource=\"deployments\"",
        "subresource=\"\"",
    ];
    const VERBS: [&str; 2] = ["verb=\"PATCH\"", "verb=\"APPLY\""];
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("apiserver_request_total{"))
        .filter_map(|rest| rest.rsplit_once("} "))
        .filter(|(labels, _)| {
            let labels: Vec<&str> = labels.split(',').collect();
            WANTED.iter().all(|wanted| labels.contains(wanted))
                && VERBS.iter().any(|verb| labels.contains(verb))
        })
        .filter_map(|(_, value)| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

/// Requests made by everyone but the harness between two snapshots, per verb.
pub fn others_delta(before: &Counts, after: &Counts) -> std::collections::BTreeMap<String, u64> {
    let mut delta = std::collections::BTreeMap::new();
    for (client, verbs) in after.iter().filter(|(client, _)| *client != USER_AGENT) {
        for (verb, n) in verbs {
            let earlier = before
                .get(client)
                .and_then(|verbs| verbs.get(verb))
                .copied()
                .unwrap_or(0);
            *delta.entry(verb.clone()).or_insert(0) += n.saturating_sub(earlier);
        }
    }
    delta.retain(|_, n| *n > 0);
    delta
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn delta_leaves_out_the_harness() {
        let counts = |pairs: &[(&str, &str, u64)]| -> Counts {
            let mut counts = Counts::new();
            for (client, verb, n) in pairs {
                counts
                    .entry((*client).to_owned())
                    .or_default()
                    .insert((*verb).to_owned(), *n);
            }
            counts
        };
        let before = counts(&[("unknown", "patch", 2), (USER_AGENT, "update", 5)]);
        let after = counts(&[
            ("unknown", "patch", 5),
            ("unknown", "list", 3),
            (USER_AGENT, "update", 9),
        ]);
        let expected = BTreeMap::from([("list".to_owned(), 3), ("patch".to_owned(), 3)]);
        assert_eq!(others_delta(&before, &after), expected);
    }

    #[test]
    fn deployment_patches_sum_only_patches_of_deployments_themselves() {
        let metrics = "# HELP apiserver_request_total Counter of apiserver requests\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"apps\",resource=\"deployments\",scope=\"resource\",subresource=\"\",verb=\"PATCH\",version=\"v1\"} 7\n\
            apiserver_request_total{code=\"409\",component=\"apiserver\",dry_run=\"\",group=\"apps\",resource=\"deployments\",scope=\"resource\",subresource=\"\",verb=\"PATCH\",version=\"v1\"} 2\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"apps\",resource=\"deployments\",scope=\"resource\",subresource=\"status\",verb=\"PATCH\",version=\"v1\"} 100\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"apps\",resource=\"deployments\",scope=\"resource\",subresource=\"\",verb=\"PUT\",version=\"v1\"} 50\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"apps\",resource=\"deployments\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1\"} 4\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"configmaps\",scope=\"resource\",subresource=\"\",verb=\"PATCH\",version=\"v1\"} 30\n";
        assert_eq!(deployment_patches(metrics), 13);
        assert_eq!(deployment_patches(""), 0);
    }
}
