//! The sync loop: collects source snapshots, renders, publishes, and emits one [`Batch`] per published change.
//!
//! ```text
//! watchdog(source 0) ─┐                       ┌─ render ─ SwapWriter (a swap per changed source) ─┐
//! watchdog(source 1) ─┼─ SourceEvent ─ debounce ┤                                                 ├─ Batch ─▶ notifier / supervisor
//! watchdog(source n) ─┘   (--wait min,max)      └─ env file + JSON (atomic single files) ─────────┘
//! ```
//! # Theory of operation
//! The first sync happens as soon as every source has reported once (no quiet period: the app is waiting). Later
//! snapshots only arm the [`Debounce`]; when the quiet period ends, everything is rendered and published at once (the
//! [`Renderer`] projects again only the objects that changed, and the writers skip what they already published),
//! so changes to several sources land in one publish (a swap per changed source directory, or one swap with
//! `--flat`; see [`crate::atomic::sources`]) and produce one batch. A zero quiet period (`--wait 0s`) publishes
//! on arrival, with whatever snapshots are already queued, without a timer. A batch is emitted only after the files are
//! visible. Render or write failures are logged and counted and the loop keeps the last published version,
//! retrying after each quiet period; in `--once` mode the first failure is returned instead.
//!
//! A named, non-optional source ([`crate::source::Source::must_exist`]) that reports no object holds the first sync:
//! nothing is published, one log line and `/readyz` name what is missing, and the first sync happens when it is
//! created (a ConfigMap volume keeps its pod waiting the same way). The cache is not served then: the API answered.
//! After the first sync a deleted source is published as gone, as before.
//!
//! With a [`CacheConfig`] (not in `--once` mode), every live sync that changed something (and the first) is sealed
//! into the [`crate::cache`]. If the sources have not all reported within `timeout` of the start (API unreachable),
//! the cache is loaded, unusable items are reported and dropped, and the rest is published like live data
//! (`serving_cache` gauge = 1). As soon as every source reports, the live data replaces it at once.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::atomic::files::{FileWriter, Publish};
use crate::atomic::{Fsync, SwapWriter, Swapped, WriteError, write_file_atomic};
use crate::cache::{CacheDecision, SourceCache, decide};
use crate::health::Health;
use crate::metrics::{ErrorCategory, Metrics};
use crate::render::env::{render_dotenv, render_json};
use crate::render::{Dir, EnvVars, Layout, RenderError, Renderer, one_tree};
use crate::source::{Snapshot, SourceData, SourceEvent, SourceKind};
use crate::timing::{Debounce, Wait};

/// Where and how to project.
#[derive(Debug, Clone, Default)]
pub struct SyncConfig {
    /// Files layout and env rules.
    pub layout: Layout,
    /// Target directory for files (none: env only).
    pub dir: Option<PathBuf>,
    /// Whether publishing into `dir` `fsync`s (see [`crate::atomic`] for the policy per target).
    pub fsync: Fsync,
    /// A `..data` swap per source directory (one for all with a flat layout; the default), or each file renamed in
    /// on its own (k8s-sidecar's layout).
    pub publish: Publish,
    /// Dotenv file to write.
    pub env_file: Option<PathBuf>,
    /// JSON env file to write.
    pub env_json: Option<PathBuf>,
    /// Quiet period after changes.
    pub wait: Wait,
    /// The encrypted last-known-good cache, if enabled.
    pub cache: Option<CacheConfig>,
}

/// The last-known-good cache and when to fall back to it.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The sealed stores.
    pub cache: SourceCache,
    /// Serve the cache when the sources have not all reported this long after the start.
    pub timeout: Duration,
}

/// One published change, handed to the notifier or the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// This is the first sync.
    pub initial: bool,
    /// A new file version was published.
    pub files_changed: bool,
    /// The environment differs from the previous batch.
    pub env_changed: bool,
    /// The full environment after this batch.
    pub env: EnvVars,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The data cannot be projected.
    #[error("render: {0}")]
    Render(#[from] RenderError),
    /// The files could not be published.
    #[error("publish files: {0}")]
    Publish(#[from] WriteError),
    /// The env file could not be written.
    #[error("write env file {path}: {source}")]
    WriteEnv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task panicked or was cancelled.
    #[error("background write task failed: {0}")]
    Task(String),
    /// Every source is gone.
    #[error("all sources stopped")]
    SourcesClosed,
    /// The batch consumer is gone.
    #[error("the notifier or supervisor stopped")]
    ConsumerClosed,
}

impl SyncError {
    fn category(&self) -> ErrorCategory {
        match self {
            Self::Render(_) => ErrorCategory::Render,
            Self::SourcesClosed => ErrorCategory::Source,
            Self::Publish(_) | Self::WriteEnv { .. } | Self::Task(_) | Self::ConsumerClosed => {
                ErrorCategory::Write
            }
        }
    }
}

/// State of the sync loop.
#[derive(Debug)]
pub struct SyncLoop {
    config: SyncConfig,
    /// The writer of `config.dir`, kept for the loop's life: it remembers the published payload, so unchanged
    /// sources are not touched and unchanged files are linked, not rewritten.
    writer: Option<SwapWriter>,
    /// The writer of `config.dir` with `--publish files` (then `writer` is `None`).
    file_writer: Option<FileWriter>,
    /// Renders the snapshots, re-projecting only the directories whose objects changed.
    renderer: Renderer,
    snapshots: Vec<Option<Snapshot>>,
    debounce: Debounce,
    last_env: Option<EnvVars>,
    files_pending: bool,
    phase: Phase,
    health: Health,
    metrics: Metrics,
    /// When the oldest change not yet published arrived (for `event_to_swap_seconds`).
    pending_since: Option<std::time::Instant>,
    /// Without a target directory (watch and notify only, configmap-reload's job): the last rendered files, to
    /// tell a change from a re-read of the same content.
    unwritten: Option<Vec<Dir>>,
    /// Per slot, the description of a named source that must exist before the first sync.
    required: Vec<Option<String>>,
    /// The missing sources last reported (logged once per change).
    missing: Vec<String>,
}

impl SyncLoop {
    /// A loop over `sources` sources.
    pub fn new(config: SyncConfig, sources: usize, health: Health, metrics: Metrics) -> Self {
        let debounce = Debounce::new(config.wait);
        let snapshots = vec![None; sources];
        let (writer, file_writer) = match (&config.dir, config.publish) {
            (None, _) => (None, None),
            (Some(dir), Publish::Swap) => (
                Some(SwapWriter::new(dir, config.layout.dirs, config.fsync)),
                None,
            ),
            (Some(dir), Publish::Files) => (None, Some(FileWriter::new(dir, config.fsync))),
        };
        Self {
            writer,
            file_writer,
            renderer: Renderer::new(config.layout.clone()),
            config,
            snapshots,
            debounce,
            last_env: None,
            files_pending: false,
            phase: Phase::Starting {
                cache_deadline: None,
            },
            health,
            metrics,
            pending_since: None,
            unwritten: None,
            required: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// Hold the first sync until every slot given a description here reports at least one object.
    #[must_use]
    pub fn with_required(mut self, required: Vec<Option<String>>) -> Self {
        self.required = required;
        self
    }

    /// Every source reported, and every required one found something; logs and reports a change of what is missing.
    fn ready_to_sync(&mut self) -> bool {
        if !self.snapshots.iter().all(Option::is_some) {
            return false;
        }
        let missing = missing_sources(&self.snapshots, &self.required);
        if missing != self.missing {
            if missing.is_empty() {
                tracing::info!("every named source exists now; publishing");
            } else {
                tracing::warn!(
                    missing = %missing.join(", "),
                    "waiting for named sources that do not exist: nothing is published and /readyz stays 503 \
                     until they are created (or marked optional)"
                );
            }
            self.health.missing(missing.clone());
            self.missing = missing;
        }
        self.missing.is_empty()
    }

    /// Run until the sources or the consumer go away; with `once`, return after the first successful sync.
    ///
    /// # Errors
    /// [`SyncError::SourcesClosed`]/[`SyncError::ConsumerClosed`]; in `once` mode also the first sync's error.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<SourceEvent>,
        batch_tx: mpsc::Sender<Batch>,
        once: bool,
    ) -> Result<(), SyncError> {
        let cache_deadline = match &self.config.cache {
            Some(cache) if !once => Some(Instant::now() + cache.timeout),
            _ => None,
        };
        self.phase = Phase::Starting { cache_deadline };
        loop {
            let cache_deadline = match self.phase {
                Phase::Starting { cache_deadline } => cache_deadline,
                Phase::ServingCache(_) | Phase::Live { .. } => None,
            };
            let cache_due = async move {
                match cache_deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            let deadline = self.debounce.deadline();
            let due = async move {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = rx.recv() => match event {
                    None => return Err(SyncError::SourcesClosed),
                    Some(SourceEvent::Heartbeat { .. }) => {}
                    Some(SourceEvent::Snapshot { slot, snapshot }) => {
                        self.accept(slot, snapshot);
                        if matches!(self.phase, Phase::Live { .. }) {
                            let now = Instant::now();
                            self.debounce.change(now);
                            // A zero quiet period (`--wait 0s`) publishes at once: through the timer it would wait
                            // for tokio's next millisecond tick. Snapshots already queued join this publish.
                            if self.debounce.fire(now) {
                                self.accept_queued(&mut rx);
                                self.publish_due(&batch_tx).await?;
                            }
                        } else if self.ready_to_sync() {
                            let outcome = self.sync_and_emit(&batch_tx).await;
                            match outcome {
                                Ok(()) if once => return Ok(()),
                                Err(error) if once || matches!(error, SyncError::ConsumerClosed) => return Err(error),
                                _ => {}
                            }
                        }
                    }
                },
                () = cache_due => {
                    self.phase = Phase::Starting { cache_deadline: None };
                    let answered = self.snapshots.iter().all(Option::is_some);
                    if !answered
                        && let Err(SyncError::ConsumerClosed) = self.serve_cache(&batch_tx).await
                    {
                        return Err(SyncError::ConsumerClosed);
                    }
                }
                () = due => {
                    if self.debounce.fire(Instant::now()) {
                        self.publish_due(&batch_tx).await?;
                    }
                }
            }
        }
    }

    /// Keep the newest snapshot of `slot`; a change after the first sync starts the event → swap clock.
    fn accept(&mut self, slot: usize, snapshot: Snapshot) {
        if !matches!(self.phase, Phase::Starting { .. }) {
            self.pending_since
                .get_or_insert_with(std::time::Instant::now);
        }
        if let Some(current) = self.snapshots.get_mut(slot) {
            *current = Some(snapshot);
        }
    }

    /// Accept every snapshot already waiting in `rx` (without waiting), so they land in one publish.
    fn accept_queued(&mut self, rx: &mut mpsc::Receiver<SourceEvent>) {
        while let Ok(event) = rx.try_recv() {
            if let SourceEvent::Snapshot { slot, snapshot } = event {
                self.accept(slot, snapshot);
            }
        }
    }

    /// Publish after a quiet period; only a gone consumer is returned. Other failures are retried after another
    /// quiet period (a full disk may have been cleaned up by then).
    async fn publish_due(&mut self, batch_tx: &mpsc::Sender<Batch>) -> Result<(), SyncError> {
        match self.sync_and_emit(batch_tx).await {
            Err(SyncError::ConsumerClosed) => Err(SyncError::ConsumerClosed),
            Err(_) => {
                self.debounce.change(Instant::now());
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// Load the cache, report unusable items, and publish the usable ones (nothing when there are none).
    async fn serve_cache(&mut self, batch_tx: &mpsc::Sender<Batch>) -> Result<(), SyncError> {
        let Some(cache) = self.config.cache.as_ref().map(|c| c.cache.clone()) else {
            return Ok(());
        };
        let loaded = tokio::task::spawn_blocking(move || {
            let items = cache.load()?;
            let age = cache.age(&items);
            Ok::<_, crate::cache::CacheError>((items, age))
        })
        .await
        .map_err(|e| SyncError::Task(e.to_string()))?;
        let (items, age) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!(%error, "API unreachable and the cache cannot be read; waiting for the API");
                return Ok(());
            }
        };
        for item in &items {
            let outcome = item.value.as_ref().err().copied();
            let label = outcome.map_or("loaded", |o| o.as_str());
            self.metrics.cache_load(label);
            if outcome.is_some() {
                tracing::error!(item = %item.id, kind = %item.kind, outcome = label, "ignoring unusable cache item");
            }
        }
        let CacheDecision::Serve(sources) = decide(items) else {
            tracing::warn!("API unreachable and no usable cached data; waiting for the API");
            return Ok(());
        };
        let age_seconds = age.map_or(0, |age| age.as_secs());
        tracing::warn!(
            age_seconds,
            sources = sources.len(),
            "API unreachable: serving cached data until the API answers"
        );
        self.metrics.serving_cache(true);
        let outcome = self.sync_and_emit_from(batch_tx, Some(sources)).await;
        if outcome.is_err() {
            if let Phase::ServingCache(_) = self.phase {
                // Published, then failed to hand the batch on or finish the swap: no longer counted as serving.
                self.phase = Phase::Live { cache_saved: false };
            }
            self.metrics.serving_cache(false);
        }
        outcome
    }

    /// Seal the live sources into the cache; whether it was saved (failures are logged and counted, never fatal).
    async fn save_cache(&self, sources: &[Arc<SourceData>]) -> bool {
        let Some(cache) = self.config.cache.as_ref().map(|c| c.cache.clone()) else {
            return false;
        };
        let sources = sources.to_vec();
        let saved = tokio::task::spawn_blocking(move || cache.save(&sources)).await;
        match saved {
            Ok(Ok(())) => {
                self.metrics.cache_save(true);
                true
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "could not save the cache");
                self.metrics.cache_save(false);
                false
            }
            Err(error) => {
                tracing::error!(%error, "cache save task failed");
                self.metrics.cache_save(false);
                false
            }
        }
    }

    /// Sync, hand the batch on right after the `..data` swap (the app is told at once), then make the swap durable
    /// and remove the old version before anything else is published.
    async fn sync_and_emit(&mut self, batch_tx: &mpsc::Sender<Batch>) -> Result<(), SyncError> {
        let cached = match &self.phase {
            Phase::ServingCache(cached) => Some(cached.clone()),
            Phase::Starting { .. } | Phase::Live { .. } => None,
        };
        self.sync_and_emit_from(batch_tx, cached).await
    }

    /// [`Self::sync_and_emit`], with `cached` published instead of the snapshots while not every source reported.
    async fn sync_and_emit_from(
        &mut self,
        batch_tx: &mpsc::Sender<Batch>,
        cached: Option<Snapshot>,
    ) -> Result<(), SyncError> {
        let (batch, swapped) = match self.sync(cached).await {
            Ok(synced) => synced,
            Err(error) => {
                tracing::error!(%error, "sync failed; keeping the last published version");
                self.metrics.error(error.category());
                return Err(error);
            }
        };
        let sent = match batch {
            Some(batch) => batch_tx
                .send(batch)
                .await
                .map_err(|_| SyncError::ConsumerClosed),
            None => Ok(()),
        };
        if let Some(swapped) = swapped {
            tokio::task::spawn_blocking(move || swapped.finish())
                .await
                .map_err(|e| SyncError::Task(e.to_string()))?;
        }
        sent
    }

    /// Render and publish the current snapshots (`cached` instead while not every source reported); `Some(batch)`
    /// when this is the first sync or something changed, and the swap still to be finished when a new version was
    /// published.
    async fn sync(
        &mut self,
        cached: Option<Snapshot>,
    ) -> Result<(Option<Batch>, Option<Swapped>), SyncError> {
        let live = self.snapshots.iter().all(Option::is_some);
        let (sources, cached): (Vec<Arc<SourceData>>, _) = match cached {
            Some(cached) if !live => (cached.clone(), Some(cached)),
            _ => (
                self.snapshots.iter().flatten().flatten().cloned().collect(),
                None,
            ),
        };
        let mut rendered = self.renderer.render(&sources)?;
        for warning in &rendered.warnings {
            tracing::warn!(warning, "environment key renamed");
        }
        let mut swapped = None;
        if let Some(writer) = &self.writer {
            let (writer, dirs) = (writer.clone(), std::mem::take(&mut rendered.dirs));
            let file_count: usize = dirs.iter().map(|dir| dir.files.len()).sum();
            swapped = tokio::task::spawn_blocking(move || writer.swap_dirs(&dirs))
                .await
                .map_err(|e| SyncError::Task(e.to_string()))??;
            let since = self.pending_since.take();
            if let Some(swapped) = &swapped {
                if let Some(since) = since {
                    let elapsed = swapped.swapped_at.saturating_duration_since(since);
                    self.metrics.event_to_swap(elapsed);
                }
                tracing::info!(
                    version = swapped.version,
                    files = file_count,
                    written = swapped.filled.written,
                    linked = swapped.filled.linked,
                    "published new version"
                );
                self.files_pending = true;
            }
        } else if let Some(writer) = &self.file_writer {
            let (writer, files) = (writer.clone(), one_tree(&rendered.dirs));
            let file_count = files.len();
            let changed = tokio::task::spawn_blocking(move || writer.publish_shared(&files))
                .await
                .map_err(|e| SyncError::Task(e.to_string()))??;
            let since = self.pending_since.take();
            if let Some(changed) = changed {
                if let Some(since) = since {
                    self.metrics.event_to_swap(since.elapsed());
                }
                tracing::info!(
                    files = file_count,
                    written = changed.written,
                    removed = changed.removed,
                    "published changed files"
                );
                self.files_pending = true;
            }
        } else if self.config.layout.env.is_none()
            && self.unwritten.as_ref() != Some(&rendered.dirs)
        {
            // Nothing is written: a change of the watched content is still a change to tell the app about.
            self.files_pending = self.unwritten.is_some();
            self.unwritten = Some(std::mem::take(&mut rendered.dirs));
        }
        let env_changed = self.last_env.as_ref() != Some(&rendered.env);
        if env_changed {
            let mode = env_file_mode(&sources, &self.config.layout);
            if let Err(error) = self.write_env_files(&rendered.env, mode).await {
                if let Some(swapped) = swapped {
                    tokio::task::spawn_blocking(move || swapped.finish())
                        .await
                        .map_err(|e| SyncError::Task(e.to_string()))?;
                }
                return Err(error);
            }
        }
        let initial = matches!(self.phase, Phase::Starting { .. });
        let files_changed = std::mem::take(&mut self.files_pending);
        self.last_env = Some(rendered.env.clone());
        self.health.synced();
        self.metrics.sync(files_changed || env_changed);
        let changed = files_changed || env_changed;
        self.phase = match (cached, &self.phase) {
            (Some(cached), _) => Phase::ServingCache(cached),
            (None, Phase::ServingCache(_)) if live => {
                tracing::info!("the API answered: serving live data instead of the cache");
                self.metrics.serving_cache(false);
                Phase::Live { cache_saved: false }
            }
            (None, Phase::Live { cache_saved }) => Phase::Live {
                cache_saved: *cache_saved,
            },
            (None, _) => Phase::Live { cache_saved: false },
        };
        if live
            && let Phase::Live { cache_saved } = self.phase
            && (changed || !cache_saved)
            && self.save_cache(&sources).await
        {
            self.phase = Phase::Live { cache_saved: true };
        }
        let batch = (initial || changed).then_some(Batch {
            initial,
            files_changed,
            env_changed,
            env: rendered.env,
        });
        Ok((batch, swapped))
    }

    async fn write_env_files(&self, env: &EnvVars, mode: u32) -> Result<(), SyncError> {
        let outputs = [
            (&self.config.env_file, render_dotenv(env)),
            (&self.config.env_json, render_json(env)),
        ];
        for (path, bytes) in outputs {
            let Some(path) = path.clone() else { continue };
            let target = path.clone();
            tokio::task::spawn_blocking(move || write_file_atomic(&target, bytes.as_bytes(), mode))
                .await
                .map_err(|e| SyncError::Task(e.to_string()))?
                .map_err(|source| SyncError::WriteEnv { path, source })?;
        }
        Ok(())
    }
}

/// Where the loop stands: nothing published yet, the cache published while the API does not answer, or live data.
#[derive(Debug)]
enum Phase {
    /// Nothing published yet; the cache is served if the sources have not all reported by `cache_deadline`.
    Starting {
        /// When to fall back to the cache (none: no cache, `--once`, or the fallback was already tried).
        cache_deadline: Option<Instant>,
    },
    /// The cache's snapshot is published; live data replaces it as soon as every source reports.
    ServingCache(Snapshot),
    /// Live data is published.
    Live {
        /// The live data was sealed into the cache at least once.
        cache_saved: bool,
    },
}

/// The descriptions of required slots whose snapshot came back empty (not reported yet is not missing).
fn missing_sources(snapshots: &[Option<Snapshot>], required: &[Option<String>]) -> Vec<String> {
    snapshots
        .iter()
        .zip(required)
        .filter_map(|(snapshot, required)| match (snapshot, required) {
            (Some(objects), Some(name)) if objects.is_empty() => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Env files carry Secret values when any source is a Secret: then they get the Secret mode.
fn env_file_mode(sources: &[Arc<SourceData>], layout: &Layout) -> u32 {
    let has_secret = sources.iter().any(|s| s.kind == SourceKind::Secret);
    if has_secret {
        layout.secret_mode
    } else {
        layout.configmap_mode
    }
}

#[cfg(test)]
mod tests;
