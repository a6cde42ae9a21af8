//! Wiring: sources under watchdogs → sync loop → notifier (sidecar mode) or supervisor (exec mode), plus health.
//!
//! ```text
//! [Source]… ─watchdog─▶ SyncLoop ─Batch─▶ run_notifier (signal | HTTP | command)      configsync sidecar
//!                                    └───▶ supervise::run_exec (reload / restart app)  configsync sidecar exec
//! ```
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::atomic::{AtomicWriter, WriteError};
use crate::health::{self, Health, MetricsPath};
use crate::metrics::Metrics;
use crate::reload::{Reloader, Retry};
use crate::signal::Signal;
use crate::source::Source;
use crate::supervise::{self, ExecPolicy, SuperviseError};
use crate::sync::{Batch, SyncConfig, SyncError, SyncLoop};
use crate::timing::splay_delay;
use crate::watchdog::{WatchdogConfig, supervise_source};

/// Everything both modes share.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Projection settings.
    pub sync: SyncConfig,
    /// Serve `/readyz`, `/healthz` (= `/livez`) and the metrics here.
    pub health_addr: Option<SocketAddr>,
    /// The path of the metrics on `health_addr` (only there).
    pub metrics_path: MetricsPath,
    /// Source restart policy.
    pub watchdog: WatchdogConfig,
    /// Render once and return (init container).
    pub once: bool,
}

/// When and how the sidecar tells the app.
#[derive(Debug, Clone, Default)]
pub struct NotifyPolicy {
    /// Also notify after the initial sync.
    pub notify_on_start: bool,
    /// Random delay up to this before each notice.
    pub splay: Duration,
    /// Retries of a failed notice.
    pub retry: Retry,
}

/// Why the sidecar stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No source was configured.
    #[error(
        "no source configured: give --watch-dir (or --configmap/--secret with a cluster connection)"
    )]
    NoSources,
    /// The health server could not bind.
    #[error("bind health server on {addr}: {source}")]
    BindHealth {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The target directory cannot be written at start (permission denied, read-only filesystem, ...).
    #[error("the target directory is not writable: {0}")]
    TargetDir(WriteError),
    /// The sync loop failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// Exec mode failed.
    #[error(transparent)]
    Supervise(#[from] SuperviseError),
}

/// Whether a batch warrants a notice: changes always do; the initial sync only with `--notify-on-start`.
pub fn should_notify(batch: &Batch, notify_on_start: bool) -> bool {
    if batch.initial {
        notify_on_start
    } else {
        batch.files_changed || batch.env_changed
    }
}

/// Merge `next` into `pending` (batches that queued up while a notice was being sent).
fn merge(pending: &mut Batch, next: Batch) {
    pending.initial &= next.initial;
    pending.files_changed |= next.files_changed;
    pending.env_changed |= next.env_changed;
    pending.env = next.env;
}

/// Send one notice per batch (batches queued meanwhile are merged into one).
pub async fn run_notifier(
    mut batches: mpsc::Receiver<Batch>,
    reloader: Option<Reloader>,
    policy: NotifyPolicy,
    metrics: Metrics,
) {
    while let Some(mut batch) = batches.recv().await {
        while let Ok(next) = batches.try_recv() {
            merge(&mut batch, next);
        }
        let Some(reloader) = reloader
            .as_ref()
            .filter(|_| should_notify(&batch, policy.notify_on_start))
        else {
            continue;
        };
        tokio::time::sleep(splay_delay(policy.splay)).await;
        match reloader.notify(&policy.retry, &metrics).await {
            Ok(()) => tracing::info!(method = reloader.method(), "app notified"),
            Err(error) => {
                tracing::error!(%error, method = reloader.method(), "could not notify the app; giving up on this batch")
            }
        }
    }
}

/// The running pipeline up to the batches.
struct Pipeline {
    batches: mpsc::Receiver<Batch>,
    sync: JoinHandle<Result<(), SyncError>>,
    metrics: Metrics,
}

async fn start_pipeline(
    sources: Vec<Arc<dyn Source>>,
    config: &RunConfig,
) -> Result<Pipeline, RunError> {
    if sources.is_empty() {
        return Err(RunError::NoSources);
    }
    if let Some(dir) = &config.sync.dir {
        AtomicWriter::new(dir)
            .check_writable()
            .map_err(RunError::TargetDir)?;
    }
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let health = Health::new(sources.len(), config.watchdog.stale_after);
    if let Some(addr) = config.health_addr {
        let path = config.metrics_path.clone();
        let bound = health::spawn_server(addr, health.clone(), path.clone(), Arc::new(registry))
            .await
            .map_err(|source| RunError::BindHealth { addr, source })?;
        tracing::info!(%bound, metrics_path = %path, "serving /healthz, /readyz, /livez and the metrics");
    }
    let slots = sources.len();
    let required = sources
        .iter()
        .map(|source| source.must_exist().then(|| source.describe()))
        .collect();
    let (source_tx, source_rx) = mpsc::channel(64);
    for (slot, source) in sources.into_iter().enumerate() {
        source.attach_metrics(&metrics);
        let (tx, health, metrics) = (source_tx.clone(), health.clone(), metrics.clone());
        tokio::spawn(supervise_source(
            source,
            slot,
            tx,
            config.watchdog,
            health,
            metrics,
        ));
    }
    let (batch_tx, batches) = mpsc::channel(16);
    let sync_loop =
        SyncLoop::new(config.sync.clone(), slots, health, metrics.clone()).with_required(required);
    let sync = tokio::spawn(sync_loop.run(source_rx, batch_tx, config.once));
    Ok(Pipeline {
        batches,
        sync,
        metrics,
    })
}

/// `configsync sidecar`: keep the projection current and notify the app; returns after one sync with `once`.
///
/// # Errors
/// [`RunError`] for bad configuration, a failed `--once` sync, or when every source is gone.
pub async fn run_sidecar(
    sources: Vec<Arc<dyn Source>>,
    config: RunConfig,
    reloader: Option<Reloader>,
    policy: NotifyPolicy,
) -> Result<(), RunError> {
    let Pipeline {
        batches,
        sync,
        metrics,
    } = start_pipeline(sources, &config).await?;
    let notifier = tokio::spawn(run_notifier(batches, reloader, policy, metrics));
    let outcome = sync
        .await
        .unwrap_or_else(|e| Err(SyncError::Task(e.to_string())));
    let _ = notifier.await;
    Ok(outcome?)
}

/// `configsync sidecar exec -- app...`: render, start the app, reload or restart it on changes, forward `signals`.
/// Returns the exit code to exit with (the child's, or 128+signal).
///
/// # Errors
/// [`RunError`] for bad configuration or when the app cannot be started.
pub async fn run_exec_mode(
    sources: Vec<Arc<dyn Source>>,
    config: RunConfig,
    argv: &[String],
    policy: ExecPolicy,
    signals: mpsc::Receiver<Signal>,
) -> Result<i32, RunError> {
    if argv.is_empty() {
        return Err(SuperviseError::NoCommand.into());
    }
    let config = RunConfig {
        once: false,
        ..config
    };
    let Pipeline {
        batches,
        sync,
        metrics,
    } = start_pipeline(sources, &config).await?;
    let code = supervise::run_exec(argv, policy, batches, signals, metrics).await;
    sync.abort();
    Ok(code?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::EnvVars;

    fn batch(initial: bool, files_changed: bool, env_changed: bool) -> Batch {
        Batch {
            initial,
            files_changed,
            env_changed,
            env: EnvVars::new(),
        }
    }

    #[test]
    fn initial_sync_notifies_only_when_asked() {
        assert!(
            !should_notify(&batch(true, true, true), false),
            "k8s-sidecar #216: no reload at start"
        );
        assert!(should_notify(&batch(true, false, false), true));
        assert!(should_notify(&batch(false, true, false), false));
        assert!(should_notify(&batch(false, false, true), false));
        assert!(!should_notify(&batch(false, false, false), false));
    }

    #[test]
    fn queued_batches_merge_into_one_notice() {
        let mut pending = batch(true, false, false);
        merge(&mut pending, batch(false, true, false));
        merge(&mut pending, batch(false, false, true));
        assert_eq!(pending, batch(false, true, true));
    }
}
