use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;

use super::*;
use crate::source::{SourceData, SourceError, SourceKind, Value};

/// A source whose first run reports `v1` and then stalls forever (a watch that went silent without an error);
/// later runs report `v<n>` and then heartbeat every 10 ms. With `fail_first`, the first run errors instead.
struct StallingSource {
    starts: Arc<AtomicUsize>,
    fail_first: bool,
}

fn snapshot(version: usize) -> crate::source::Snapshot {
    let data = BTreeMap::from([("v".to_string(), Value::from(version.to_string().as_str()))]);
    vec![std::sync::Arc::new(SourceData {
        kind: SourceKind::ConfigMap,
        namespace: "ns".into(),
        name: "cm".into(),
        data,
    })]
}

impl Source for StallingSource {
    fn describe(&self) -> String {
        "stalling".into()
    }

    fn start(
        &self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> BoxFuture<'static, Result<(), SourceError>> {
        let run = self.starts.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = self.fail_first && run == 1;
        Box::pin(async move {
            if fail {
                return Err(SourceError::Unavailable("connection refused".into()));
            }
            tx.send(SourceEvent::Snapshot {
                slot,
                snapshot: snapshot(run),
            })
            .await
            .map_err(|_| SourceError::Closed)?;
            if run == 1 {
                futures::future::pending::<()>().await;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                tx.send(SourceEvent::Heartbeat { slot })
                    .await
                    .map_err(|_| SourceError::Closed)?;
            }
        })
    }
}

async fn next_version(rx: &mut mpsc::Receiver<SourceEvent>) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(SourceEvent::Snapshot { snapshot, .. })) => {
                let value = snapshot.first()?.data.get("v")?.as_bytes().to_vec();
                return String::from_utf8(value).ok();
            }
            Ok(Some(SourceEvent::Heartbeat { .. })) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

const CONFIG: WatchdogConfig = WatchdogConfig {
    stale_after: Duration::from_millis(200),
    restart: Retry {
        attempts: 1,
        base: Duration::from_millis(10),
        max: Duration::from_millis(100),
    },
};

#[tokio::test(start_paused = true)]
async fn a_silent_source_is_restarted() {
    let starts = Arc::new(AtomicUsize::new(0));
    let source = Arc::new(StallingSource {
        starts: Arc::clone(&starts),
        fail_first: false,
    });
    let (tx, mut rx) = mpsc::channel(16);
    let metrics = Metrics::default();
    let health = Health::new(1, Duration::from_secs(1));
    let task = tokio::spawn(supervise_source(
        source,
        0,
        tx,
        CONFIG,
        health,
        metrics.clone(),
    ));
    assert_eq!(next_version(&mut rx).await.as_deref(), Some("1"));
    assert_eq!(
        next_version(&mut rx).await.as_deref(),
        Some("2"),
        "restarted after going silent"
    );
    assert_eq!(metrics.source_restarts(), 1);
    for _ in 0..50 {
        assert!(
            matches!(rx.recv().await, Some(SourceEvent::Heartbeat { .. })),
            "the healthy round keeps running"
        );
    }
    assert_eq!(
        starts.load(Ordering::SeqCst),
        2,
        "heartbeats keep a source alive"
    );
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_failing_source_is_restarted_and_shutdown_stops_it() {
    let starts = Arc::new(AtomicUsize::new(0));
    let source = Arc::new(StallingSource {
        starts: Arc::clone(&starts),
        fail_first: true,
    });
    let (tx, mut rx) = mpsc::channel(16);
    let metrics = Metrics::default();
    let task = tokio::spawn(supervise_source(
        source,
        0,
        tx,
        CONFIG,
        Health::new(1, Duration::from_secs(1)),
        metrics.clone(),
    ));
    assert_eq!(next_version(&mut rx).await.as_deref(), Some("2"));
    assert_eq!(metrics.source_restarts(), 1);
    drop(rx);
    let ended = tokio::time::timeout(Duration::from_secs(30), task).await;
    assert!(
        matches!(ended, Ok(Ok(()))),
        "the watchdog returns once the sync loop is gone"
    );
}
