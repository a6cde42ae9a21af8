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
    #[error("reading /configsync.dev/requests")]
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

/// How many objects of `K` exist in `namespace` (a metadata-only list).
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
    Ok(list.items.len())
}

/// The cluster's request counts by client and verb.
pub async fn request_counts(client: &Client) -> Result<Counts, Error> {
    let request = http::Request::get("/configsync.dev/requests")
        .body(Vec::new())
        .map_err(|e| Error::ReadRequestCounts(kube::Error::HttpError(e)))?;
    let text = client
        .request_text(request)
        .await
        .map_err(Error::ReadRequestCounts)?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        by_client: Counts,
    }
    let answer: Answer = serde_json::from_str(&text).map_err(Error::ParseRequestCounts)?;
    Ok(answer.by_client)
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
}
