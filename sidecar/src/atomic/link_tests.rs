//! Publish cost proportional to the change: unchanged files are hard links to the previous version's inodes.
use std::os::unix::fs::MetadataExt;

use super::*;
use crate::source::Value;

fn payload(changed: &str, sources: usize) -> BTreeMap<RelPath, FileEntry> {
    (0..sources)
        .map(|i| {
            let text = if i == 0 {
                changed.to_owned()
            } else {
                format!("source {i}")
            };
            let entry = FileEntry {
                bytes: Value::from(text.as_str()),
                mode: if i == 1 { 0o400 } else { 0o644 },
            };
            (RelPath::new(&format!("s{i}/v.conf")).expect("valid"), entry)
        })
        .collect()
}

fn inode(dir: &Path, path: &str) -> u64 {
    fs::metadata(dir.join(path)).expect("published file").ino()
}

fn published(writer: &AtomicWriter, files: &BTreeMap<RelPath, FileEntry>) -> Swapped {
    writer.swap(files).expect("publish").expect("a new version")
}

#[test]
fn unchanged_files_are_linked_and_changed_ones_written_to_new_inodes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    let first = published(&writer, &payload("v1", 5));
    assert_eq!(
        first.filled,
        Filled {
            written: 5,
            linked: 0
        }
    );
    let old_dir = tmp.path().join(&first.version);
    first.finish();
    let before: Vec<u64> = (0..5)
        .map(|i| inode(tmp.path(), &format!("s{i}/v.conf")))
        .collect();
    let held_open = fs::File::open(old_dir.join("s0/v.conf")).expect("old file");

    let second = published(&writer, &payload("v2", 5));
    assert_eq!(
        second.filled,
        Filled {
            written: 1,
            linked: 4
        }
    );
    second.finish();
    assert!(old_dir.exists(), "the replaced version stays one publish");
    assert_eq!(
        read_all(held_open),
        "v1",
        "the old inode was never modified"
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("s0/v.conf"))
            .ok()
            .as_deref(),
        Some("v2")
    );
    assert_ne!(
        inode(tmp.path(), "s0/v.conf"),
        before[0],
        "changed: a new inode"
    );
    for (i, old) in before.iter().enumerate().skip(1) {
        let path = format!("s{i}/v.conf");
        assert_eq!(
            inode(tmp.path(), &path),
            *old,
            "{path} unchanged: the same inode"
        );
    }
    let mode = fs::metadata(tmp.path().join("s1/v.conf")).map(|m| m.mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o400), "a linked file keeps its mode");
    assert_eq!(writer.read_published().expect("readable"), payload("v2", 5));
    published(&writer, &payload("v3", 5)).finish();
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while old_dir.exists() {
        assert!(
            Instant::now() < deadline,
            "then it is removed (in the background)"
        );
        std::thread::yield_now();
    }
    let text = fs::read_to_string(tmp.path().join("s4/v.conf")).ok();
    assert_eq!(
        text.as_deref(),
        Some("source 4"),
        "its linked inodes live on"
    );
}

#[test]
fn a_mode_change_alone_is_a_new_inode() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    published(&writer, &payload("v1", 2)).finish();
    let before = inode(tmp.path(), "s0/v.conf");
    let mut files = payload("v1", 2);
    let first = RelPath::new("s0/v.conf").expect("valid");
    if let Some(entry) = files.get_mut(&first) {
        entry.mode = 0o600;
    }
    let swapped = published(&writer, &files);
    assert_eq!(swapped.filled.written, 1);
    swapped.finish();
    assert_ne!(inode(tmp.path(), "s0/v.conf"), before);
    let mode = fs::metadata(tmp.path().join("s0/v.conf")).map(|m| m.mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
}

#[test]
fn a_new_process_compares_the_bytes_on_disk_then_links_from_there() {
    let tmp = tempfile::tempdir().expect("tempdir");
    published(&AtomicWriter::new(tmp.path()), &payload("v1", 3)).finish();
    let restarted = AtomicWriter::new(tmp.path());
    assert!(
        restarted
            .swap(&payload("v1", 3))
            .expect("compare")
            .is_none(),
        "equal bytes on disk: nothing written"
    );
    let next = published(&restarted, &payload("v2", 3));
    assert_eq!(
        next.filled,
        Filled {
            written: 1,
            linked: 2
        },
        "the verified version is remembered"
    );
    next.finish();
}

#[test]
fn a_torn_file_on_disk_is_replaced_at_the_first_publish() {
    let tmp = tempfile::tempdir().expect("tempdir");
    published(&AtomicWriter::new(tmp.path()), &payload("v1-complete", 3)).finish();
    let version = fs::read_link(tmp.path().join(DATA_LINK)).expect("published");
    // A power cut without fsync can leave a zero-filled file of the right size.
    fs::write(tmp.path().join(&version).join("s0/v.conf"), [0u8; 11]).expect("tear");
    let restarted = AtomicWriter::new(tmp.path());
    let swapped = published(&restarted, &payload("v1-complete", 3));
    assert_eq!(
        swapped.filled,
        Filled {
            written: 3,
            linked: 0
        },
        "nothing unverified is linked"
    );
    swapped.finish();
    let text = fs::read_to_string(tmp.path().join("s0/v.conf")).ok();
    assert_eq!(text.as_deref(), Some("v1-complete"));
}

#[test]
fn a_link_source_removed_by_hand_falls_back_to_a_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    published(&writer, &payload("v1", 2)).finish();
    let version = fs::read_link(tmp.path().join(DATA_LINK)).expect("published");
    fs::remove_file(tmp.path().join(&version).join("s1/v.conf")).expect("remove");
    let swapped = published(&writer, &payload("v2", 2));
    assert_eq!(
        swapped.filled,
        Filled {
            written: 2,
            linked: 0
        }
    );
    swapped.finish();
    let text = fs::read_to_string(tmp.path().join("s1/v.conf")).ok();
    assert_eq!(text.as_deref(), Some("source 1"));
}

#[test]
fn fsync_policy_parses_and_rejects_unknown_words() {
    assert_eq!("never".parse::<Fsync>(), Ok(Fsync::Never));
    assert_eq!("always".parse::<Fsync>(), Ok(Fsync::Always));
    let error = "sometimes".parse::<Fsync>().expect_err("unknown");
    assert!(error.contains("never or always"), "{error}");
    let tmp = tempfile::tempdir().expect("tempdir");
    let durable = AtomicWriter::new(tmp.path()).with_fsync(Fsync::Always);
    published(&durable, &payload("v1", 2)).finish();
    let swapped = published(&durable, &payload("v2", 2));
    assert_eq!(swapped.filled.linked, 1);
    swapped.finish();
    assert_eq!(
        durable.read_published().expect("readable"),
        payload("v2", 2)
    );
}

fn read_all(mut file: fs::File) -> String {
    let mut text = String::new();
    io::Read::read_to_string(&mut file, &mut text).expect("read");
    text
}
