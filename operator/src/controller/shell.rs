//! The loop around the decision core: it feeds the core watch inputs, the executor's answers and timer
//! ticks, each stamped with the time, and hands every command it returns to the executor.
//!
//! ```text
//!  select (Lease loss first, then answers) { Lease lost | executor answer | watch input | core.next_deadline() }
//!      → core.handle(input, now) / core.tick(now) → commands → executor.run (returns at once)
//!  Lease lost → executor.close() (every apply not yet sent refused, every one out answered) → Error::HoldLease
//! ```
//! The loop never awaits the API: a slow request holds only its own task. It awaits the executor once, when
//! the leader's Lease is lost: the process exits only after each apply it had queued was refused (and logged).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kube::Client;
use tokio::sync::mpsc;

use super::executor::Executor;
use super::leader::Freshness;
use super::{Config, Error, Input, Metrics, WatchId};
use crate::core::{Core, Now};

fn now() -> Now {
    Now {
        instant: std::time::Instant::now(),
        wall: jiff::Timestamp::now(),
    }
}

/// Run the core and its executor until the watches stop.
///
/// # Errors
/// [`Error::BuildCore`] for invalid settings, [`Error::ReceiveInput`] when every watch task is gone,
/// [`Error::HoldLease`] once `freshness` says the Lease is lost (after the executor closed).
pub async fn run(
    client: Client,
    config: &Config,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
    watches: Vec<WatchId>,
    mut input_rx: mpsc::Receiver<Input>,
    freshness: Option<Freshness>,
) -> Result<(), Error> {
    let mut core =
        Core::new(config.settings(), metrics.clone(), watches, now()).map_err(Error::BuildCore)?;
    let (answers_tx, mut answers_rx) = mpsc::unbounded_channel();
    let lease_lost = lease_lost(freshness.clone());
    tokio::pin!(lease_lost);
    let executor = Executor::new(client, config, metrics, answers_tx, freshness);
    loop {
        let sleep = core.next_deadline().map(tokio::time::Instant::from_std);
        let commands = tokio::select! {
            biased;
            () = &mut lease_lost => {
                executor.close().await;
                return Err(Error::HoldLease);
            }
            Some(answer) = answers_rx.recv() => core.handle(answer, now()),
            input = input_rx.recv() => match input {
                Some(input) => core.handle(input, now()),
                None => return Err(Error::ReceiveInput),
            },
            () = sleep_until(sleep), if sleep.is_some() => core.tick(now()),
        };
        if core.is_ready() && !ready.load(Ordering::Acquire) {
            ready.store(true, Ordering::Release);
        }
        for command in commands {
            executor.run(command);
        }
    }
}

/// Resolves once the Lease is lost; never without one (no leader election).
async fn lease_lost(freshness: Option<Freshness>) {
    match freshness {
        Some(freshness) => freshness.lost().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
