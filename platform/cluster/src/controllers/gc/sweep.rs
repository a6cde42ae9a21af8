//! The I/O shell of the garbage collector: list, [`plan`], write; repeated on owner watch events and a timer.

use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet,
};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde_json::json;

use super::{GcAction, Kind, Node, plan};
use crate::controllers::write::{self, CONTROLLER_MANAGER};

/// How often the collector sweeps without being woken by an event.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// Upper bound of consecutive sweeps after one wakeup.
const MAX_ROUNDS: usize = 16;
/// Failed sweeps after which the collector waits for the next wakeup.
const MAX_FAILURES: usize = 3;

/// Failures of one sweep.
#[derive(Debug, thiserror::Error)]
enum Error {
    /// Listing objects of a kind failed.
    #[error("listing {kind:?}: {source}")]
    List { kind: Kind, source: kube::Error },
    /// Deleting or patching an object failed.
    #[error("collecting {kind:?} {namespace}/{name}: {source}")]
    Write {
        kind: Kind,
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

fn resource(kind: Kind) -> ApiResource {
    match kind {
        Kind::Deployment => ApiResource::erase::<Deployment>(&()),
        Kind::ReplicaSet => ApiResource::erase::<ReplicaSet>(&()),
        Kind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        Kind::DaemonSet => ApiResource::erase::<DaemonSet>(&()),
        Kind::Pod => ApiResource::erase::<Pod>(&()),
        Kind::ControllerRevision => ApiResource::erase::<ControllerRevision>(&()),
    }
}

async fn list(client: &Client, kinds: &[Kind]) -> Result<Vec<Node>, Error> {
    let mut nodes = Vec::new();
    for kind in kinds {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource(*kind));
        let listed = api
            .list(&ListParams::default())
            .await
            .map_err(|source| Error::List {
                kind: *kind,
                source,
            })?;
        nodes.extend(listed.items.into_iter().map(|object| Node {
            kind: *kind,
            meta: object.metadata,
        }));
    }
    Ok(nodes)
}

async fn apply(client: &Client, action: &GcAction) -> Result<(), Error> {
    let (kind, namespace, name) = match action {
        GcAction::Delete {
            kind,
            namespace,
            name,
        }
        | GcAction::SetOwners {
            kind,
            namespace,
            name,
            ..
        }
        | GcAction::RemoveFinalizer {
            kind,
            namespace,
            name,
            ..
        } => (*kind, namespace, name),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource(kind));
    let result = match action {
        GcAction::Delete { .. } => write::delete_object(&api, name, None).await,
        GcAction::SetOwners { owners, .. } => {
            let patch = json!({"metadata": {"ownerReferences": owners}});
            write::patch_object(&api, name, &patch, CONTROLLER_MANAGER).await
        }
        GcAction::RemoveFinalizer {
            finalizers,
            resource_version,
            ..
        } => {
            let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}});
            write::patch_object(&api, name, &patch, CONTROLLER_MANAGER).await
        }
    };
    result.map_err(|source| Error::Write {
        kind,
        namespace: namespace.clone(),
        name: name.clone(),
        source,
    })
}

async fn sweep(client: &Client) -> Result<usize, Error> {
    let dependents = list(
        client,
        &[Kind::ReplicaSet, Kind::Pod, Kind::ControllerRevision],
    )
    .await?;
    let owners = list(
        client,
        &[
            Kind::Deployment,
            Kind::ReplicaSet,
            Kind::StatefulSet,
            Kind::DaemonSet,
        ],
    )
    .await?;
    let actions = plan(&dependents, &owners);
    for action in &actions {
        apply(client, action).await?;
    }
    Ok(actions.len())
}

fn owner_events<K>(client: &Client) -> impl futures::Stream<Item = ()> + Send + use<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    watcher(Api::<K>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .map(|_| ())
}

/// Runs the garbage collector until the task is aborted.
pub async fn run(client: Client) {
    let ticks = stream::unfold((), |()| async {
        tokio::time::sleep(SWEEP_INTERVAL).await;
        Some(((), ()))
    });
    let events = stream::select_all([
        owner_events::<Deployment>(&client).boxed(),
        owner_events::<ReplicaSet>(&client).boxed(),
        owner_events::<StatefulSet>(&client).boxed(),
        owner_events::<DaemonSet>(&client).boxed(),
        ticks.boxed(),
    ]);
    // Coalesce bursts of events into one sweep.
    let mut wakeups = events.ready_chunks(256);
    while wakeups.next().await.is_some() {
        sweep_until_settled(&client).await;
    }
}

/// Sweeps until a sweep has nothing to do (a sweep that wrote something may have unblocked more work, such as
/// Pods after their ReplicaSet), within a bounded number of rounds; failures are retried at the next wakeup.
async fn sweep_until_settled(client: &Client) {
    let mut failures = 0;
    for _ in 0..MAX_ROUNDS {
        match sweep(client).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "garbage collection sweep failed; retrying");
                failures += 1;
                if failures == MAX_FAILURES {
                    return;
                }
                tokio::time::sleep(crate::controllers::RETRY_AFTER).await;
            }
        }
    }
}
