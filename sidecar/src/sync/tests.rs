use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::render::EnvRules;
use crate::source::Value;

fn mk_source(kind: SourceKind, name: &str, pairs: &[(&str, &str)]) -> Snapshot {
    let data = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect::<BTreeMap<_, _>>();
    vec![SourceData {
        kind,
        namespace: "ns".into(),
        name: name.into(),
        data,
    }]
}

struct Harness {
    tx: mpsc::Sender<SourceEvent>,
    batches: mpsc::Receiver<Batch>,
    dir: tempfile::TempDir,
    metrics: Metrics,
    task: tokio::task::JoinHandle<Result<(), SyncError>>,
}

impl Harness {
    fn start(sources: usize, env: bool, once: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout {
            env: env.then(EnvRules::default),
            ..Layout::default()
        };
        let config = SyncConfig {
            layout,
            dir: Some(dir.path().join("out")),
            env_file: Some(dir.path().join("app.env")),
            env_json: None,
            wait: Wait {
                // Generous, so a loaded CI machine cannot split one batch of back-to-back sends.
                min: Duration::from_millis(400),
                max: Duration::from_secs(4),
            },
        };
        let metrics = Metrics::default();
        let sync = SyncLoop::new(
            config,
            sources,
            Health::new(sources, Duration::from_secs(3600)),
            metrics.clone(),
        );
        let (tx, rx) = mpsc::channel(16);
        let (batch_tx, batches) = mpsc::channel(16);
        let task = tokio::spawn(sync.run(rx, batch_tx, once));
        Self {
            tx,
            batches,
            dir,
            metrics,
            task,
        }
    }

    async fn send(&self, slot: usize, snapshot: Snapshot) {
        self.tx
            .send(SourceEvent::Snapshot { slot, snapshot })
            .await
            .expect("loop running");
    }

    async fn next_batch(&mut self) -> Batch {
        tokio::time::timeout(Duration::from_secs(10), self.batches.recv())
            .await
            .expect("batch in time")
            .expect("open")
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("out").join(path)).ok()
    }
}

#[tokio::test]
async fn first_sync_waits_for_every_source_and_publishes_before_the_batch() {
    let mut h = Harness::start(2, false, false);
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a1")]))
        .await;
    h.send(1, mk_source(SourceKind::Secret, "b", &[("k", "b1")]))
        .await;
    let batch = h.next_batch().await;
    assert_eq!(
        (batch.initial, batch.files_changed, batch.env_changed),
        (true, true, true)
    );
    assert_eq!(
        (h.read("a/k").as_deref(), h.read("b/k").as_deref()),
        (Some("a1"), Some("b1"))
    );
    h.task.abort();
}

#[tokio::test]
async fn changes_in_one_quiet_period_make_one_batch_and_one_version() {
    let mut h = Harness::start(2, false, false);
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a1")]))
        .await;
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b1")]))
        .await;
    assert!(h.next_batch().await.initial);
    let version_before = AtomicWriter::new(h.dir.path().join("out"))
        .current_version()
        .expect("readable");
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a2")]))
        .await;
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b2")]))
        .await;
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a3")]))
        .await;
    let batch = h.next_batch().await;
    assert_eq!((batch.initial, batch.files_changed), (false, true));
    assert_eq!(
        (h.read("a/k").as_deref(), h.read("b/k").as_deref()),
        (Some("a3"), Some("b2"))
    );
    assert_ne!(
        AtomicWriter::new(h.dir.path().join("out"))
            .current_version()
            .expect("readable"),
        version_before
    );
    // Same content again, then a sentinel change: the next batch must be the sentinel's, so the resend made none.
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a3")]))
        .await;
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b2")]))
        .await;
    let unchanged_syncs = h.next_batch_after_sentinel().await;
    assert_eq!(unchanged_syncs.as_deref(), Some("sentinel"));
    h.task.abort();
}

impl Harness {
    /// Sends a change after a quiet period has surely passed for what came before (waits for the unchanged sync
    /// to be counted), then returns the content of the next batch's change.
    async fn next_batch_after_sentinel(&mut self) -> Option<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let syncs_before = self.metrics_syncs();
        while self.metrics_syncs() == syncs_before && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        self.send(
            0,
            mk_source(SourceKind::ConfigMap, "a", &[("k", "sentinel")]),
        )
        .await;
        let batch = self.next_batch().await;
        batch.files_changed.then(|| self.read("a/k")).flatten()
    }

    fn metrics_syncs(&self) -> u64 {
        self.metrics.syncs()
    }
}

#[tokio::test]
async fn env_changes_are_flagged_and_written() {
    let mut h = Harness::start(1, true, false);
    h.send(
        0,
        mk_source(SourceKind::ConfigMap, "app", &[("MODE", "blue")]),
    )
    .await;
    assert!(h.next_batch().await.env_changed);
    assert_eq!(
        std::fs::read_to_string(h.dir.path().join("app.env"))
            .ok()
            .as_deref(),
        Some("MODE='blue'\n")
    );
    h.send(
        0,
        mk_source(SourceKind::ConfigMap, "app", &[("MODE", "green")]),
    )
    .await;
    let batch = h.next_batch().await;
    assert_eq!((batch.files_changed, batch.env_changed), (true, true));
    assert_eq!(
        batch.env.get("MODE").map(|v| v.as_bytes().to_vec()),
        Some(b"green".to_vec())
    );
    assert_eq!(
        std::fs::read_to_string(h.dir.path().join("app.env"))
            .ok()
            .as_deref(),
        Some("MODE='green'\n")
    );
    h.task.abort();
}

#[tokio::test]
async fn bad_data_keeps_the_last_version_and_recovers() {
    let mut h = Harness::start(1, false, false);
    h.send(0, mk_source(SourceKind::ConfigMap, "app", &[("k", "good")]))
        .await;
    assert!(h.next_batch().await.initial);
    h.send(
        0,
        mk_source(SourceKind::ConfigMap, "app", &[("../escape", "bad")]),
    )
    .await;
    h.send(
        0,
        mk_source(SourceKind::ConfigMap, "app", &[("k", "fixed")]),
    )
    .await;
    let batch = h.next_batch().await;
    assert!(batch.files_changed);
    assert_eq!(h.read("k").as_deref(), None, "per-source layout");
    assert_eq!(h.read("app/k").as_deref(), Some("fixed"));
    h.task.abort();
}

#[tokio::test]
async fn once_mode_returns_after_the_first_sync_or_its_error() {
    let mut h = Harness::start(1, false, true);
    h.send(0, mk_source(SourceKind::ConfigMap, "app", &[("k", "v")]))
        .await;
    assert!(h.next_batch().await.initial);
    let ended = tokio::time::timeout(Duration::from_secs(10), &mut h.task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    let mut bad = Harness::start(1, false, true);
    bad.send(0, mk_source(SourceKind::Secret, "s", &[("/abs", "x")]))
        .await;
    let ended = tokio::time::timeout(Duration::from_secs(10), &mut bad.task).await;
    assert!(
        matches!(ended, Ok(Ok(Err(SyncError::Render(_))))),
        "{ended:?}"
    );
    assert_eq!(bad.read("s/abs"), None);
}
