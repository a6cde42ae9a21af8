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
    vec![std::sync::Arc::new(SourceData {
        kind,
        namespace: "ns".into(),
        name: name.into(),
        data,
    })]
}

struct Harness {
    tx: mpsc::Sender<SourceEvent>,
    batches: mpsc::Receiver<Batch>,
    dir: tempfile::TempDir,
    metrics: Metrics,
    health: Health,
    task: tokio::task::JoinHandle<Result<(), SyncError>>,
}

impl Harness {
    fn start(sources: usize, env: bool, once: bool) -> Self {
        Self::start_in(
            tempfile::tempdir().expect("tempdir"),
            sources,
            env,
            once,
            None,
        )
    }

    fn start_in(
        dir: tempfile::TempDir,
        sources: usize,
        env: bool,
        once: bool,
        cache: Option<CacheConfig>,
    ) -> Self {
        // Generous, so a loaded CI machine cannot split one batch of back-to-back sends.
        let wait = Wait {
            min: Duration::from_millis(400),
            max: Duration::from_secs(4),
        };
        Self::launch(dir, sources, env, once, cache, wait)
    }

    fn launch(
        dir: tempfile::TempDir,
        sources: usize,
        env: bool,
        once: bool,
        cache: Option<CacheConfig>,
        wait: Wait,
    ) -> Self {
        Self::launch_required(dir, sources, env, once, cache, wait, Vec::new())
    }

    fn launch_required(
        dir: tempfile::TempDir,
        sources: usize,
        env: bool,
        once: bool,
        cache: Option<CacheConfig>,
        wait: Wait,
        required: Vec<Option<String>>,
    ) -> Self {
        let layout = Layout {
            env: env.then(EnvRules::default),
            ..Layout::default()
        };
        let config = SyncConfig {
            layout,
            dir: Some(dir.path().join("out")),
            env_file: Some(dir.path().join("app.env")),
            env_json: None,
            wait,
            cache,
            ..SyncConfig::default()
        };
        let metrics = Metrics::default();
        let health = Health::new(sources, Duration::from_secs(3600));
        let sync =
            SyncLoop::new(config, sources, health.clone(), metrics.clone()).with_required(required);
        let (tx, rx) = mpsc::channel(16);
        let (batch_tx, batches) = mpsc::channel(16);
        let task = tokio::spawn(sync.run(rx, batch_tx, once));
        Self {
            tx,
            batches,
            dir,
            metrics,
            health,
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

/// Readiness (`/readyz`, the startupProbe) follows the first complete publish: not when some sources reported, not
/// when all reported but the publish failed, only once the files are visible.
#[tokio::test]
async fn ready_only_after_the_first_complete_publish() {
    let mut h = Harness::start(2, false, false);
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a1")]))
        .await;
    assert!(!h.health.status().synced, "one of two sources reported");
    h.send(
        1,
        mk_source(SourceKind::ConfigMap, "b", &[("../escape", "x")]),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.metrics.errors(ErrorCategory::Render) == 0 {
        assert!(Instant::now() < deadline, "the bad key is reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !h.health.status().synced,
        "every source reported, the publish failed"
    );
    assert_eq!(h.read("a/k"), None, "nothing half-valid published");
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b1")]))
        .await;
    assert!(h.next_batch().await.initial);
    assert!(h.health.status().synced);
    assert_eq!(h.read("a/k").as_deref(), Some("a1"));
    h.task.abort();
}

/// A named source that does not exist holds the first publish (files, batch, readiness) and is named in the
/// readiness reason until it appears; an optional one (not required) that is missing does not block.
#[tokio::test]
async fn a_missing_named_source_holds_the_first_sync_until_it_exists() {
    let wait = Wait {
        min: Duration::from_millis(400),
        max: Duration::from_secs(4),
    };
    let required = vec![Some("configmap/ns/web".to_owned()), None];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = Harness::launch_required(dir, 2, false, true, None, wait, required);
    h.send(0, Vec::new()).await;
    h.send(1, Vec::new()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.health.missing_sources().is_empty() {
        assert!(Instant::now() < deadline, "the missing source is reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.health.missing_sources(), ["configmap/ns/web"]);
    assert!(!h.health.status().synced, "not ready on an empty directory");
    assert!(
        h.batches.try_recv().is_err(),
        "no batch: the app is not told"
    );
    assert!(
        !h.task.is_finished(),
        "--once keeps waiting, like a ConfigMap volume"
    );
    assert!(
        !h.dir.path().join("out").join("web").exists(),
        "nothing published"
    );
    h.send(0, mk_source(SourceKind::ConfigMap, "web", &[("k", "v1")]))
        .await;
    assert!(h.next_batch().await.initial);
    assert!(h.health.status().synced);
    assert_eq!(h.read("web/k").as_deref(), Some("v1"));
    assert!(h.health.missing_sources().is_empty());
    let finished = tokio::time::timeout(Duration::from_secs(10), &mut h.task).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "--once ends after the first sync: {finished:?}"
    );
}

#[test]
fn missing_sources_are_required_slots_that_reported_nothing() {
    let found = mk_source(SourceKind::ConfigMap, "a", &[("k", "v")]);
    let snapshots = vec![Some(Vec::new()), None, Some(found), Some(Vec::new())];
    let required = vec![
        Some("configmap/ns/gone".to_owned()),
        Some("configmap/ns/not-yet-listed".to_owned()),
        Some("configmap/ns/a".to_owned()),
        None,
    ];
    assert_eq!(
        missing_sources(&snapshots, &required),
        ["configmap/ns/gone"]
    );
    assert!(
        missing_sources(&snapshots, &[]).is_empty(),
        "nothing required"
    );
}

#[tokio::test]
async fn changes_in_one_quiet_period_make_one_batch_and_one_version() {
    let mut h = Harness::start(2, false, false);
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a1")]))
        .await;
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b1")]))
        .await;
    assert!(h.next_batch().await.initial);
    let out = h.dir.path().join("out");
    let versions = || {
        ["a", "b"].map(|source| {
            crate::atomic::AtomicWriter::new(out.join(source))
                .current_version()
                .expect("readable")
        })
    };
    let versions_before = versions();
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
    let versions_after = versions();
    assert!(
        versions_after[0] != versions_before[0] && versions_after[1] != versions_before[1],
        "both sources swapped in the one publish"
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

#[tokio::test]
async fn zero_wait_publishes_on_arrival_with_the_snapshots_already_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zero = Wait {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };
    let mut h = Harness::launch(dir, 2, false, false, None, zero);
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a1")]))
        .await;
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b1")]))
        .await;
    assert!(h.next_batch().await.initial);
    // Both changes are queued before the loop runs again (this test's runtime has one thread): one publish.
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a2")]))
        .await;
    h.send(1, mk_source(SourceKind::ConfigMap, "b", &[("k", "b2")]))
        .await;
    let batch = h.next_batch().await;
    assert_eq!((batch.initial, batch.files_changed), (false, true));
    assert_eq!(
        (h.read("a/k").as_deref(), h.read("b/k").as_deref()),
        (Some("a2"), Some("b2"))
    );
    assert_eq!(
        h.metrics.syncs(),
        2,
        "the initial sync and one for both changes"
    );
    // Each later change is published on its own, with no quiet period to merge it into.
    h.send(0, mk_source(SourceKind::ConfigMap, "a", &[("k", "a3")]))
        .await;
    assert!(h.next_batch().await.files_changed);
    assert_eq!(h.read("a/k").as_deref(), Some("a3"));
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

// === cache fallback ===

fn mk_cache_config(dir: &std::path::Path, ring: &configsync_envelope::KeyRing) -> CacheConfig {
    let ring = configsync_envelope::KeyRing::from_json(&ring.to_json()).expect("ring copy");
    CacheConfig {
        cache: crate::cache::SourceCache::new(&dir.join("cache"), ring),
        timeout: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn live_sync_fills_the_cache_which_is_served_when_sources_stay_silent_then_replaced_by_live_data()
 {
    let ring = configsync_envelope::KeyRing::generate(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let cache_root = dir.path().to_owned();
    let mut live = Harness::start_in(
        dir,
        1,
        false,
        false,
        Some(mk_cache_config(&cache_root, &ring)),
    );
    live.send(
        0,
        mk_source(SourceKind::Secret, "db", &[("password", "hunter2")]),
    )
    .await;
    assert!(live.next_batch().await.initial);
    live.task.abort();
    let out = cache_root.join("out");
    std::fs::remove_dir_all(&out).expect("clear the projection");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut restarted = Harness::start_in(
        dir,
        1,
        false,
        false,
        Some(mk_cache_config(&cache_root, &ring)),
    );
    let batch = restarted.next_batch().await;
    assert!(
        batch.initial && batch.files_changed,
        "the cache is published as the first sync"
    );
    assert_eq!(restarted.read("db/password").as_deref(), Some("hunter2"));
    assert_eq!(restarted.metrics.cache_loads("loaded"), 1);

    restarted
        .send(
            0,
            mk_source(SourceKind::Secret, "db", &[("password", "s3cret")]),
        )
        .await;
    let batch = restarted.next_batch().await;
    assert!(
        !batch.initial && batch.files_changed,
        "live data replaces the cache at once"
    );
    assert_eq!(restarted.read("db/password").as_deref(), Some("s3cret"));
    restarted.task.abort();
}

#[tokio::test]
async fn a_cache_with_no_usable_item_publishes_nothing_and_waits_for_live_data() {
    let ring = configsync_envelope::KeyRing::generate(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let item = dir.path().join("cache/secrets/ns/db/password.sealed");
    std::fs::create_dir_all(item.parent().expect("parent")).expect("mkdir");
    std::fs::write(&item, b"not sealed").expect("write corrupt item");
    let config = mk_cache_config(dir.path(), &ring);
    let mut h = Harness::start_in(dir, 1, false, false, Some(config));
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.metrics.cache_loads("corrupt") == 0 {
        assert!(Instant::now() < deadline, "the corrupt item is reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.send(
        0,
        mk_source(SourceKind::Secret, "db", &[("password", "live")]),
    )
    .await;
    let batch = h.next_batch().await;
    assert!(
        batch.initial,
        "nothing was published from the cache before the live data"
    );
    assert_eq!(h.read("db/password").as_deref(), Some("live"));
    h.task.abort();
}
