use std::os::unix::fs::symlink;

use notify::event::{CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode};
use tokio::time::Instant;

use super::*;
use crate::atomic::AtomicWriter;
use crate::render::{FileEntry, RelPath};

const HOUR: Duration = Duration::from_secs(3600);

fn mk_files(entries: &[(&str, &str)]) -> BTreeMap<RelPath, FileEntry> {
    entries
        .iter()
        .map(|(p, t)| {
            (
                RelPath::new(p).expect("valid"),
                FileEntry {
                    bytes: Value::from(*t),
                    mode: 0o644,
                },
            )
        })
        .collect()
}

fn text(data: &SourceData, key: &str) -> Option<String> {
    data.data
        .get(key)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Wait (up to 10 s) for a snapshot whose key `key` reads `want`.
async fn wait_for(rx: &mut mpsc::Receiver<SourceEvent>, key: &str, want: &str) -> SourceData {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv()).await;
        match event {
            Ok(Some(SourceEvent::Snapshot { snapshot, .. })) => {
                if let Some(data) = snapshot
                    .into_iter()
                    .find(|d| text(d, key).as_deref() == Some(want))
                {
                    return (*data).clone();
                }
            }
            Ok(Some(SourceEvent::Heartbeat { .. })) => {}
            Ok(None) => panic!("source stopped before {key}={want}"),
            Err(_) => panic!("no snapshot with {key}={want} within 10s"),
        }
    }
}

fn start(
    source: &MountedDir,
) -> (
    mpsc::Receiver<SourceEvent>,
    tokio::task::JoinHandle<Result<(), SourceError>>,
) {
    let (tx, rx) = mpsc::channel(16);
    (rx, tokio::spawn(source.start(0, tx)))
}

#[test]
fn every_change_kind_counts_but_reads_do_not() {
    let relevant = [
        EventKind::Create(CreateKind::Any),
        EventKind::Create(CreateKind::File),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
        EventKind::Modify(ModifyKind::Data(DataChange::Content)),
        EventKind::Modify(ModifyKind::Any),
        EventKind::Access(AccessKind::Close(AccessMode::Write)),
        EventKind::Remove(RemoveKind::File),
        EventKind::Any,
        EventKind::Other,
    ];
    for kind in relevant {
        assert!(is_relevant(&kind), "{kind:?}");
    }
    for kind in [
        EventKind::Access(AccessKind::Open(AccessMode::Read)),
        EventKind::Access(AccessKind::Read),
        EventKind::Access(AccessKind::Close(AccessMode::Read)),
    ] {
        assert!(!is_relevant(&kind), "{kind:?}");
    }
}

#[test]
fn reads_one_version_and_skips_writer_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    AtomicWriter::new(tmp.path())
        .publish(&mk_files(&[("a", "1"), ("b", "2"), ("sub/c", "3")]))
        .expect("publish");
    let data = read_mounted(tmp.path()).expect("read");
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec!["a", "b"],
        "..data, ..<version> and sub-directories skipped"
    );
}

#[tokio::test]
async fn kubelet_swap_by_rename_is_seen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    writer
        .publish(&mk_files(&[("game.properties", "lives=3")]))
        .expect("v1");
    let source = MountedDir::new(tmp.path(), SourceKind::ConfigMap, HOUR).with_name("game");
    let (mut rx, task) = start(&source);
    let first = wait_for(&mut rx, "game.properties", "lives=3").await;
    assert_eq!(
        (first.name.as_str(), first.kind),
        ("game", SourceKind::ConfigMap)
    );
    writer
        .publish(&mk_files(&[("game.properties", "lives=5")]))
        .expect("v2");
    wait_for(&mut rx, "game.properties", "lives=5").await;
    task.abort();
}

#[tokio::test]
async fn data_link_created_fresh_is_seen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let source = MountedDir::new(tmp.path(), SourceKind::Secret, HOUR);
    let (mut rx, task) = start(&source);
    let empty = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert!(
        matches!(empty, Ok(Some(SourceEvent::Snapshot { ref snapshot, .. })) if snapshot[0].data.is_empty())
    );
    let version = tmp.path().join("..2026_01_01_00_00_00.abc");
    fs::create_dir(&version).expect("version dir");
    fs::write(version.join("token"), "t1").expect("file");
    symlink("..data/token", tmp.path().join("token")).expect("visible link");
    symlink("..2026_01_01_00_00_00.abc", tmp.path().join(DATA_LINK)).expect("..data created");
    wait_for(&mut rx, "token", "t1").await;
    task.abort();
}

#[tokio::test]
async fn plain_directory_write_in_place_is_seen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("app.conf"), "x=1").expect("write");
    let source = MountedDir::new(tmp.path(), SourceKind::ConfigMap, HOUR);
    let (mut rx, task) = start(&source);
    wait_for(&mut rx, "app.conf", "x=1").await;
    fs::write(tmp.path().join("app.conf"), "x=2").expect("overwrite");
    wait_for(&mut rx, "app.conf", "x=2").await;
    task.abort();
}

#[tokio::test]
async fn periodic_recheck_catches_changes_without_events() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("k"), "old").expect("write");
    let source =
        MountedDir::new(tmp.path(), SourceKind::ConfigMap, Duration::from_millis(50)).poll_only();
    let (mut rx, task) = start(&source);
    wait_for(&mut rx, "k", "old").await;
    fs::write(tmp.path().join("k"), "new").expect("overwrite");
    wait_for(&mut rx, "k", "new").await;
    task.abort();
}

#[tokio::test]
async fn missing_directory_is_an_error_for_the_watchdog() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let source = MountedDir::new(tmp.path().join("absent"), SourceKind::ConfigMap, HOUR);
    let (_rx, task) = start(&source);
    let outcome = tokio::time::timeout(Duration::from_secs(10), task).await;
    assert!(
        matches!(outcome, Ok(Ok(Err(SourceError::Watch { .. })))),
        "{outcome:?}"
    );
}
