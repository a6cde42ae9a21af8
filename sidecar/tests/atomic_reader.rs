//! Atomicity under a concurrent reader: while a writer publishes many versions of several sources in one swap
//! each, a reader checks every read. A read through one resolution of `..data` must see all files of exactly one
//! version, each complete; a read through the user-visible names must never see a partial file. The default layout
//! (a version per source) keeps the same guarantees within each source.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use configsync_sidecar::atomic::{
    AtomicWriter, DATA_LINK, Fsync, SourceWriter, Swapped, WriteError,
};
use configsync_sidecar::render::{FileEntry, RelPath};
use configsync_sidecar::source::Value;

const FILES: [&str; 4] = [
    "app/config.yaml",
    "app/extra/nested.ini",
    "db/password",
    "flat.txt",
];
const VERSIONS: usize = 100;
const FILE_LEN: usize = 32 * 1024;

/// File `name` of version `n`: the header `v<n> <name>|`, padded with the digit `n % 10` to a fixed length.
fn content(n: usize, name: &str) -> String {
    let mut text = format!("v{n} {name}|");
    let pad = char::from(b'0' + u8::try_from(n % 10).unwrap_or(0));
    text.extend(std::iter::repeat_n(pad, FILE_LEN - text.len()));
    text
}

/// The version a complete file belongs to; `None` if it is partial or corrupt.
fn version_of(text: &str, name: &str) -> Option<usize> {
    let n: usize = text.strip_prefix('v')?.split(' ').next()?.parse().ok()?;
    (text == content(n, name)).then_some(n)
}

fn payload(n: usize) -> BTreeMap<RelPath, FileEntry> {
    FILES
        .iter()
        .map(|name| {
            (
                RelPath::new(name).expect("valid"),
                FileEntry {
                    bytes: Value::from(content(n, name).as_str()),
                    mode: 0o644,
                },
            )
        })
        .collect()
}

/// One consistent read: resolve `..data` once, read everything under that version. `None` when the version was
/// removed mid-read (the reader then simply retries, as a kubelet-volume consumer would).
fn read_snapshot(dir: &Path) -> Option<Vec<(String, String)>> {
    let version = std::fs::read_link(dir.join(DATA_LINK)).ok()?;
    let base = dir.join(version);
    FILES
        .iter()
        .map(|name| {
            Some((
                name.to_string(),
                std::fs::read_to_string(base.join(name)).ok()?,
            ))
        })
        .collect()
}

#[test]
fn concurrent_reader_never_sees_a_partial_file_or_mixed_versions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    writer.publish(&payload(0)).expect("initial version");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (dir, done) = (tmp.path().to_path_buf(), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut consistent_reads, mut last_seen) = (0usize, 0usize);
            while !done.load(Ordering::Acquire) {
                if let Some(files) = read_snapshot(&dir) {
                    let versions: Vec<Option<usize>> = files
                        .iter()
                        .map(|(name, text)| version_of(text, name))
                        .collect();
                    let first = versions[0]
                        .unwrap_or_else(|| panic!("partial file in snapshot {versions:?}"));
                    assert!(
                        versions.iter().all(|v| *v == Some(first)),
                        "mixed versions in one snapshot: {versions:?}"
                    );
                    assert!(
                        first >= last_seen,
                        "went back from v{last_seen} to v{first}"
                    );
                    (consistent_reads, last_seen) = (consistent_reads + 1, first);
                }
                for name in FILES {
                    if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                        assert!(
                            version_of(&text, name).is_some(),
                            "partial file through visible name {name}"
                        );
                    }
                }
            }
            (consistent_reads, last_seen)
        })
    };
    for n in 1..=VERSIONS {
        let outcome = writer.publish(&payload(n)).expect("publish");
        assert!(
            matches!(
                outcome,
                configsync_sidecar::atomic::Publish::Published { .. }
            ),
            "v{n}: {outcome:?}"
        );
    }
    done.store(true, Ordering::Release);
    let (consistent_reads, last_seen) = reader.join().expect("reader found no inconsistency");
    assert!(
        consistent_reads > 0,
        "the reader completed at least one full read"
    );
    assert!(
        last_seen <= VERSIONS,
        "read a version never written: v{last_seen}"
    );
    let final_files: Vec<Option<usize>> = FILES
        .iter()
        .map(|name| version_of(&std::fs::read_to_string(tmp.path().join(name)).ok()?, name))
        .collect();
    assert_eq!(final_files, vec![Some(VERSIONS); FILES.len()]);
}

const SOURCES: usize = 20;
const ONE_CHANGE_PUBLISHES: usize = 100;

/// Source `s` at version `n`: two files (`a.conf`, `b.conf`) that both carry `n`, 1 KiB each.
fn source_file(s: usize, n: usize, name: &str) -> String {
    let mut text = format!("s{s} v{n} {name}|");
    text.push_str(&".".repeat(1024 - text.len()));
    text
}

/// The version of a complete file of source `s`; `None` if it is partial or corrupt.
fn source_version(text: &str, s: usize, name: &str) -> Option<usize> {
    let n: usize = text.split(' ').nth(1)?.strip_prefix('v')?.parse().ok()?;
    (text == source_file(s, n, name)).then_some(n)
}

/// Every source at its version in `versions`.
fn many_sources(versions: &[usize]) -> BTreeMap<RelPath, FileEntry> {
    let mut files = BTreeMap::new();
    for (s, n) in versions.iter().enumerate() {
        for name in ["a.conf", "b.conf"] {
            let entry = FileEntry {
                bytes: Value::from(source_file(s, *n, name).as_str()),
                mode: 0o644,
            };
            files.insert(RelPath::new(&format!("s{s}/{name}")).expect("valid"), entry);
        }
    }
    files
}

/// The hard-linked path: each publish changes one source of many; the others enter the new version as links to
/// their old inodes. A reader hammering every source must see, through one resolution of `..data`, both files of a
/// source at the same version, never going back; and through the user-visible names, every file present and
/// complete at every moment.
#[test]
fn one_change_among_many_sources_is_linked_and_readers_never_see_a_torn_missing_or_mixed_source() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    let whole_tree = |dir: &Path, s: usize| {
        let version = std::fs::read_link(dir.join(DATA_LINK)).expect("..data present");
        dir.join(version).join(format!("s{s}"))
    };
    one_change_at_a_time(
        tmp.path(),
        |files| writer.swap(files),
        whole_tree,
        2 * SOURCES - 2,
    );
    assert_eq!(
        writer.read_published().expect("readable"),
        many_sources(&last_versions())
    );
}

/// The default layout: a version per source (`s<i>/..data`). One change swaps one small directory; the reader's
/// guarantees within a source are the same.
#[test]
fn a_version_per_source_swaps_only_the_changed_source_and_readers_never_see_a_torn_missing_or_mixed_source()
 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = SourceWriter::new(tmp.path(), Fsync::Never);
    let per_source = |dir: &Path, s: usize| {
        let source = dir.join(format!("s{s}"));
        let version = std::fs::read_link(source.join(DATA_LINK)).expect("s/..data present");
        source.join(version)
    };
    one_change_at_a_time(tmp.path(), |files| writer.swap(files), per_source, 0);
    assert_eq!(
        writer.read_published().expect("readable"),
        many_sources(&last_versions())
    );
}

/// The versions after [`one_change_at_a_time`].
fn last_versions() -> Vec<usize> {
    let mut versions = vec![0usize; SOURCES];
    for k in 1..=ONE_CHANGE_PUBLISHES {
        versions[k % SOURCES] = k;
    }
    versions
}

/// Publish [`ONE_CHANGE_PUBLISHES`] times with `swap`, one source changed each time (expecting 2 files written and
/// `linked` linked), while a reader checks every source through the visible names and through one resolution of
/// its version directory (`version_dir`).
fn one_change_at_a_time(
    dir: &Path,
    swap: impl Fn(&BTreeMap<RelPath, FileEntry>) -> Result<Option<Swapped>, WriteError>,
    version_dir: fn(&Path, usize) -> PathBuf,
    linked: usize,
) {
    let mut versions = vec![0usize; SOURCES];
    swap(&many_sources(&versions))
        .expect("initial version")
        .expect("a first version")
        .finish();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (dir, done) = (dir.to_path_buf(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut seen = vec![0usize; SOURCES];
            let mut consistent_reads = 0usize;
            while !done.load(Ordering::Acquire) {
                for (s, last) in seen.iter_mut().enumerate() {
                    for name in ["a.conf", "b.conf"] {
                        let visible = dir.join(format!("s{s}/{name}"));
                        let text = std::fs::read_to_string(&visible)
                            .unwrap_or_else(|e| panic!("{} missing: {e}", visible.display()));
                        assert!(
                            source_version(&text, s, name).is_some(),
                            "partial {name} of s{s}"
                        );
                    }
                    let base = version_dir(&dir, s);
                    let pair: Option<Vec<usize>> = ["a.conf", "b.conf"]
                        .iter()
                        .map(|name| {
                            let text = std::fs::read_to_string(base.join(name)).ok()?;
                            Some(source_version(&text, s, name).expect("complete file"))
                        })
                        .collect();
                    // None: this version was retired two publishes later, mid-read; read again.
                    if let Some(pair) = pair {
                        assert_eq!(pair[0], pair[1], "s{s} mixes versions: {pair:?}");
                        assert!(
                            pair[0] >= *last,
                            "s{s} went back from v{last} to v{}",
                            pair[0]
                        );
                        (*last, consistent_reads) = (pair[0], consistent_reads + 1);
                    }
                }
            }
            (seen, consistent_reads)
        })
    };
    for k in 1..=ONE_CHANGE_PUBLISHES {
        versions[k % SOURCES] = k;
        let swapped = swap(&many_sources(&versions))
            .expect("publish")
            .expect("a changed payload");
        assert_eq!(
            (swapped.filled.written, swapped.filled.linked),
            (2, linked),
            "publish {k} writes only the changed source"
        );
        swapped.finish();
    }
    done.store(true, Ordering::Release);
    let (seen, consistent_reads) = reader.join().expect("reader found no inconsistency");
    assert!(consistent_reads > 0, "the reader completed reads");
    assert!(seen.iter().zip(&versions).all(|(seen, last)| seen <= last));
}

/// Taking over the whole-tree layout of an earlier release: each `s<i>` symlink is exchanged with its new directory,
/// so a reader of the visible names never finds a file missing or partial during the migration.
#[test]
fn migrating_the_whole_tree_layout_never_shows_a_missing_or_partial_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let versions = vec![0usize; SOURCES];
    AtomicWriter::new(tmp.path())
        .publish(&many_sources(&versions))
        .expect("whole-tree version");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (dir, done) = (tmp.path().to_path_buf(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut rounds = 0usize;
            while !done.load(Ordering::Acquire) || rounds == 0 {
                for s in 0..SOURCES {
                    let visible = dir.join(format!("s{s}/a.conf"));
                    let text = std::fs::read_to_string(&visible)
                        .unwrap_or_else(|e| panic!("{} missing: {e}", visible.display()));
                    assert!(source_version(&text, s, "a.conf").is_some(), "partial s{s}");
                }
                rounds += 1;
            }
            rounds
        })
    };
    let writer = SourceWriter::new(tmp.path(), Fsync::Never);
    writer.publish(&many_sources(&versions)).expect("migrated");
    done.store(true, Ordering::Release);
    assert!(reader.join().expect("no missing or partial file") > 0);
    assert!(
        !tmp.path().join(DATA_LINK).exists(),
        "the whole-tree ..data is gone"
    );
    assert_eq!(
        writer.read_published().expect("readable"),
        many_sources(&versions)
    );
}
