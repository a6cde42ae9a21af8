//! k8s-sidecar's `.url` keys: a key `NAME.url` whose value is a URL becomes the file `NAME`, holding what the URL
//! answers.
//!
//! # Theory of operation
//! [`UrlKeys`] wraps a source: every snapshot it reports passes through [`Downloads::resolve`] before the sync
//! loop sees it, so the rest of the sidecar only ever sees the downloaded content under the name without `.url`.
//! * An object is downloaded again only when it changed (any key; k8s-sidecar re-processes an object on each of
//!   its events), so a selector over 200 objects re-downloads nothing when another object changes.
//! * The request is the reload request's client ([`HttpReload::fetch`]): its basic auth, CA file or skipped
//!   verification, its timeout, its retries and backoff (a 4xx is not retried); at most [`DOWNLOAD_LIMIT`] bytes,
//!   a 2xx answer (or 5xx too, with k8s-sidecar's `ENABLE_5XX`).
//! * A failed download is logged as an error naming the object and key, and loses nothing: the file keeps the
//!   content of the last download that worked, or is not written at all (k8s-sidecar writes an empty file).
//!   The URL of a Secret's key is never logged (it may carry a token).
//! * Each download (after its retries) counts in `configsync_sidecar_url_downloads_total{result}`
//!   ([`DownloadResult`]: `ok`, `bad_status`, `error`), once [`Source::attach_metrics`] gave the sidecar's metrics.
use std::sync::{Arc, Mutex, OnceLock};

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::metrics::{DownloadResult, Metrics};
use crate::reload::http::{HttpOptions, HttpReload};
use crate::reload::{ReloadError, Retry};
use crate::source::{
    Snapshot, Source, SourceData, SourceError, SourceEvent, SourceKind, Value, find_same_object,
};

/// The largest body a `.url` key may download (a ConfigMap itself holds at most 1 MiB).
pub const DOWNLOAD_LIMIT: usize = 16 << 20;

/// The suffix that marks a key to download.
pub const SUFFIX: &str = ".url";

/// The file name a key downloads into, when it is a `.url` key: the key without the suffix.
pub fn target(key: &str) -> Option<&str> {
    key.strip_suffix(SUFFIX)
        .filter(|name| !name.is_empty() && !name.ends_with('/'))
}

/// How `.url` keys are downloaded, and what each object last resolved to.
pub struct Downloads {
    options: HttpOptions,
    retry: Retry,
    accept_5xx: bool,
    /// `kind/namespace/name` → (the object as the source reported it, the object with its keys downloaded).
    seen: Mutex<Vec<Seen>>,
    /// Where downloads are counted (unset: not counted).
    metrics: OnceLock<Metrics>,
}

/// An object as the source reported it, and the same with its keys downloaded (unchanged objects keep both `Arc`s).
type Seen = (Arc<SourceData>, Arc<SourceData>);

impl Downloads {
    /// Download with `options` (its method and body are ignored: a download is a plain `GET`), retrying per `retry`;
    /// `accept_5xx` takes a 5xx answer's body as the content (k8s-sidecar's `ENABLE_5XX`).
    pub fn new(options: HttpOptions, retry: Retry, accept_5xx: bool) -> Self {
        let options = HttpOptions {
            method: "GET".into(),
            json_body: None,
            ..options
        };
        Self {
            options,
            retry,
            accept_5xx,
            seen: Mutex::default(),
            metrics: OnceLock::new(),
        }
    }

    /// Count every download from now on in `metrics` (a second call keeps the first).
    pub fn attach_metrics(&self, metrics: Metrics) {
        let _ = self.metrics.set(metrics);
    }

    fn count(&self, result: &Result<Vec<u8>, ReloadError>) {
        let Some(metrics) = self.metrics.get() else {
            return;
        };
        metrics.url_download(match result {
            Ok(_) => DownloadResult::Ok,
            Err(ReloadError::HttpStatus { .. }) => DownloadResult::BadStatus,
            Err(_) => DownloadResult::Error,
        });
    }

    /// The snapshot with every `.url` key replaced by its download (see the module docs). An object seen before
    /// unchanged (found at its last position, else by identity) keeps its downloads without a request, and an
    /// object without `.url` keys is handed on as it came, so both stay the same `Arc` for the sync loop.
    pub async fn resolve(&self, snapshot: Snapshot) -> Snapshot {
        let last_seen = self.lock().clone();
        let mut seen = Vec::with_capacity(snapshot.len());
        for (index, object) in snapshot.into_iter().enumerate() {
            let last = find_same_object(&last_seen, index, &object, |(raw, _)| raw);
            let done = match last {
                Some((raw, done)) if *raw == object => Arc::clone(done),
                last => {
                    let last = last.map(|(_, done)| Arc::clone(done));
                    self.resolve_object(&object, last).await
                }
            };
            seen.push((object, done));
        }
        let resolved = seen.iter().map(|(_, done)| Arc::clone(done)).collect();
        *self.lock() = seen;
        resolved
    }

    /// `object` with its `.url` keys downloaded, or `object` itself when it has none.
    async fn resolve_object(
        &self,
        object: &Arc<SourceData>,
        last: Option<Arc<SourceData>>,
    ) -> Arc<SourceData> {
        if object.data.keys().all(|key| target(key).is_none()) {
            return Arc::clone(object);
        }
        Arc::new(self.download(object, last).await)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `object` with its `.url` keys downloaded; a failed one keeps its content from `last`, else is left out.
    async fn download(&self, object: &SourceData, last: Option<Arc<SourceData>>) -> SourceData {
        let mut done = object.clone();
        for (key, url) in &object.data {
            let Some(name) = target(key) else { continue };
            done.data.remove(key);
            let fetched = self.fetch(url).await;
            self.count(&fetched);
            match fetched {
                Ok(content) => {
                    done.data.insert(name.to_string(), Value::from(content));
                }
                Err(error) => {
                    let reason = match object.kind {
                        SourceKind::Secret => {
                            "the download failed (a Secret's URL is not logged)".into()
                        }
                        SourceKind::ConfigMap => error.to_string(),
                    };
                    let kept = last.as_ref().and_then(|last| last.data.get(name));
                    tracing::error!(
                        object = object.describe(),
                        key,
                        reason,
                        kept_previous = kept.is_some(),
                        "could not download a .url key: its file is not written"
                    );
                    if let Some(previous) = kept {
                        done.data.insert(name.to_string(), previous.clone());
                    }
                }
            }
        }
        done
    }

    /// One download, retried per the policy.
    async fn fetch(&self, url: &Value) -> Result<Vec<u8>, ReloadError> {
        let url = String::from_utf8_lossy(url.as_bytes()).trim().to_string();
        let request = HttpReload::with_options(&url, self.options.clone())?;
        let mut attempt = 0;
        loop {
            match request.fetch(DOWNLOAD_LIMIT, self.accept_5xx).await {
                Ok(body) => return Ok(body.to_vec()),
                // A 4xx will not change by asking again (k8s-sidecar retries only 5xx and failed connections).
                Err(error @ ReloadError::HttpStatus { got, .. }) if got.is_client_error() => {
                    return Err(error);
                }
                Err(error) if attempt + 1 >= self.retry.attempts.max(1) => return Err(error),
                Err(_) => {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// A source whose `.url` keys are downloaded before the sync loop sees them.
pub struct UrlKeys {
    inner: Arc<dyn Source>,
    downloads: Arc<Downloads>,
}

impl UrlKeys {
    /// `inner`, its snapshots resolved by `downloads`.
    pub fn new(inner: Arc<dyn Source>, downloads: Arc<Downloads>) -> Self {
        Self { inner, downloads }
    }
}

impl Source for UrlKeys {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn must_exist(&self) -> bool {
        self.inner.must_exist()
    }

    fn attach_metrics(&self, metrics: &Metrics) {
        self.downloads.attach_metrics(metrics.clone());
        self.inner.attach_metrics(metrics);
    }

    fn start(
        &self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> BoxFuture<'static, Result<(), SourceError>> {
        let (inner_tx, mut inner_rx) = mpsc::channel(16);
        let inner = self.inner.start(slot, inner_tx);
        let downloads = Arc::clone(&self.downloads);
        let forward = async move {
            while let Some(event) = inner_rx.recv().await {
                let event = match event {
                    SourceEvent::Snapshot { slot, snapshot } => SourceEvent::Snapshot {
                        slot,
                        snapshot: downloads.resolve(snapshot).await,
                    },
                    heartbeat => heartbeat,
                };
                tx.send(event).await.map_err(|_| SourceError::Closed)?;
            }
            Ok(())
        };
        // The inner source ends only on error, dropping its sender: the forwarder then drains what it sent.
        Box::pin(async move {
            let (ended, forwarded) = tokio::join!(inner, forward);
            forwarded.and(ended)
        })
    }
}

#[cfg(test)]
mod tests;
