//! Keeps one source running: restarts it when it ends with an error or goes silent (k8s-sidecar #85).
//!
//! A healthy source sends a snapshot or a heartbeat at least every heartbeat interval. The watchdog forwards every
//! event to the sync loop and marks the source as seen; if nothing arrives for `stale_after`, the source is
//! considered stuck: its task is aborted and `start` is called again, after a backoff that grows with consecutive
//! failures and resets once a round delivered something.
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::health::Health;
use crate::metrics::Metrics;
use crate::reload::Retry;
use crate::source::{Source, SourceEvent};

/// Why a round of a source ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundEnd {
    /// Nothing arrived for `stale_after`.
    Silent,
    /// The source's future ended (with this error text).
    Ended(String),
    /// The sync loop is gone: stop for good.
    Shutdown,
}

/// Watchdog settings.
#[derive(Debug, Clone, Copy)]
pub struct WatchdogConfig {
    /// Silence longer than this restarts the source.
    pub stale_after: Duration,
    /// Backoff between restarts.
    pub restart: Retry,
}

/// Run `source` as slot `slot` forever (until the sync loop closes `out_tx`).
pub async fn supervise_source(
    source: Arc<dyn Source>,
    slot: usize,
    out_tx: mpsc::Sender<SourceEvent>,
    config: WatchdogConfig,
    health: Health,
    metrics: Metrics,
) {
    let mut failures = 0u32;
    loop {
        let (end, delivered) =
            run_round(source.as_ref(), slot, &out_tx, config.stale_after, &health).await;
        if end == RoundEnd::Shutdown {
            return;
        }
        failures = if delivered {
            0
        } else {
            failures.saturating_add(1)
        };
        let delay = config.restart.delay(failures);
        tracing::warn!(source = source.describe(), reason = ?end, ?delay, "restarting source");
        metrics.source_restart();
        tokio::time::sleep(delay).await;
    }
}

/// One run of the source; returns why it ended and whether it delivered anything.
async fn run_round(
    source: &dyn Source,
    slot: usize,
    out_tx: &mpsc::Sender<SourceEvent>,
    stale_after: Duration,
    health: &Health,
) -> (RoundEnd, bool) {
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(source.start(slot, tx));
    let mut delivered = false;
    let mut deadline = Instant::now() + stale_after;
    let end = loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(event) => {
                    (deadline, delivered) = (Instant::now() + stale_after, true);
                    health.seen(slot);
                    if out_tx.send(event).await.is_err() {
                        break RoundEnd::Shutdown;
                    }
                }
                None => break RoundEnd::Ended(String::new()),
            },
            () = tokio::time::sleep_until(deadline) => break RoundEnd::Silent,
        }
    };
    task.abort();
    let end = match (end, task.await) {
        (RoundEnd::Ended(_), Ok(Err(error))) => RoundEnd::Ended(error.to_string()),
        (RoundEnd::Ended(_), Ok(Ok(()))) => RoundEnd::Ended("source stopped".into()),
        (end, _) => end,
    };
    (end, delivered)
}

#[cfg(test)]
mod tests;
