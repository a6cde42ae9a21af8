//! Atomicity under a concurrent reader: while a writer publishes many versions of several sources in one swap
//! each, a reader checks every read. A read through one resolution of `..data` must see all files of exactly one
//! version, each complete; a read through the user-visible names must never see a partial file.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use configsync_sidecar::atomic::{AtomicWriter, DATA_LINK};
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
