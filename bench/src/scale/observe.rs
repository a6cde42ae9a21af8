//! The harness's own Deployment watch: the pod-template hash of every Deployment, and when each changed.
//!
//! A background task follows the namespace with a `kube` watcher and sends `(name, hash, arrival)` for
//! every applied object; [`Observer`] folds them into the latest hash per name and answers "wait until
//! these Deployments show a hash other than the one they had" against a deadline.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::objects::template_hash;

/// Latest pod-template hash per Deployment name (`None`: not stamped).
pub type Hashes = BTreeMap<String, Option<String>>;

/// Failures waiting on the watch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not every target changed before the deadline.
    #[error("{changed} of {expected} Deployments were patched within {deadline:?}")]
    WaitPatched {
        /// How many did.
        changed: usize,
        /// How many should have.
        expected: usize,
        /// The deadline.
        deadline: Duration,
    },
    /// The watch task ended.
    #[error("the Deployment watch ended")]
    WatchEnded,
}

struct Seen {
    name: String,
    hash: Option<String>,
    at: Instant,
}

/// Follows Deployments in one namespace.
pub struct Observer {
    seen_rx: mpsc::UnboundedReceiver<Seen>,
    hashes: Hashes,
    task: JoinHandle<()>,
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Observer {
    /// Start watching `namespace`.
    pub fn start(client: &Client, namespace: &str) -> Self {
        let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            // Backed off as the operator's watches are: without it a failing watch yields its errors at once,
            // forever, and this task never reaches a point where `Observer::drop`'s abort can take it.
            let mut objects = watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .boxed();
            while let Some(item) = objects.next().await {
                let Ok(deployment) = item else { continue };
                let seen = Seen {
                    name: deployment.metadata.name.clone().unwrap_or_default(),
                    hash: template_hash(&deployment).map(str::to_owned),
                    at: Instant::now(),
                };
                if seen_tx.send(seen).is_err() {
                    return;
                }
            }
        });
        Self {
            seen_rx,
            hashes: Hashes::new(),
            task,
        }
    }

    /// The hashes seen so far (after folding in what has arrived).
    pub fn hashes(&mut self) -> &Hashes {
        while let Ok(seen) = self.seen_rx.try_recv() {
            self.hashes.insert(seen.name, seen.hash);
        }
        &self.hashes
    }

    /// Wait until `count` Deployments have been seen at all.
    pub async fn wait_seen(&mut self, count: usize, deadline: Duration) -> Result<(), Error> {
        self.wait(deadline, count, |hashes| hashes.len() >= count)
            .await
    }

    /// Wait until every name in `targets` shows a hash other than `before[name]`; the arrival of each change.
    pub async fn wait_changed(
        &mut self,
        before: &Hashes,
        targets: &BTreeSet<String>,
        deadline: Duration,
    ) -> Result<Vec<Instant>, Error> {
        let end = Instant::now() + deadline;
        let mut arrivals = BTreeMap::new();
        while arrivals.len() < targets.len() {
            let left = end.saturating_duration_since(Instant::now());
            let seen = match tokio::time::timeout(left, self.seen_rx.recv()).await {
                Ok(Some(seen)) => seen,
                Ok(None) => return Err(Error::WatchEnded),
                Err(_) => {
                    let (changed, expected) = (arrivals.len(), targets.len());
                    return Err(Error::WaitPatched {
                        changed,
                        expected,
                        deadline,
                    });
                }
            };
            let previous = before.get(&seen.name).cloned().flatten();
            if targets.contains(&seen.name) && seen.hash.is_some() && seen.hash != previous {
                arrivals.entry(seen.name.clone()).or_insert(seen.at);
            }
            self.hashes.insert(seen.name, seen.hash);
        }
        Ok(arrivals.into_values().collect())
    }

    async fn wait(
        &mut self,
        deadline: Duration,
        expected: usize,
        done: impl Fn(&Hashes) -> bool,
    ) -> Result<(), Error> {
        let end = Instant::now() + deadline;
        while !done(self.hashes()) {
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.seen_rx.recv()).await {
                Ok(Some(seen)) => {
                    self.hashes.insert(seen.name, seen.hash);
                }
                Ok(None) => return Err(Error::WatchEnded),
                Err(_) => {
                    let changed = self.hashes.len();
                    return Err(Error::WaitPatched {
                        changed,
                        expected,
                        deadline,
                    });
                }
            }
        }
        Ok(())
    }

    /// Names whose hash changed relative to `before` (for "zero patches after restart").
    pub fn changed_since(&mut self, before: &Hashes) -> usize {
        self.hashes()
            .iter()
            .filter(|(name, hash)| before.get(*name).is_some_and(|old| old != *hash))
            .count()
    }
}
