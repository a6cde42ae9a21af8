use std::os::unix::fs::MetadataExt as _;

use super::*;
use crate::source::Value;

fn payload(pairs: &[(&str, &str)]) -> BTreeMap<RelPath, FileEntry> {
    pairs
        .iter()
        .map(|(path, text)| {
            let entry = FileEntry {
                bytes: Value::from(*text),
                mode: 0o644,
            };
            (RelPath::new(path).expect("valid path"), entry)
        })
        .collect()
}

fn inode(path: &Path) -> u64 {
    fs::symlink_metadata(path).expect("exists").ino()
}

#[test]
fn files_are_regular_replaced_by_rename_only_when_changed_and_removed_when_gone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("dashboards");
    let writer = FileWriter::new(&dir, Fsync::Never);
    let first = payload(&[("a.json", "1"), ("Team A/b.json", "2")]);
    assert_eq!(
        writer.publish(&first).expect("publish"),
        Some(FilesChanged {
            written: 2,
            removed: 0
        })
    );
    let meta = fs::symlink_metadata(dir.join("Team A/b.json")).expect("b");
    assert!(meta.is_file(), "a regular file, not a link");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o644);
    assert!(
        fs::symlink_metadata(dir.join("Team A"))
            .expect("folder")
            .is_dir()
    );
    fs::write(dir.join("foreign.txt"), "not ours").expect("foreign file");
    let (a_inode, b_inode) = (
        inode(&dir.join("a.json")),
        inode(&dir.join("Team A/b.json")),
    );

    assert_eq!(writer.publish(&first).expect("same again"), None);
    let second = payload(&[("a.json", "1"), ("Team A/b.json", "3")]);
    assert_eq!(
        writer.publish(&second).expect("publish"),
        Some(FilesChanged {
            written: 1,
            removed: 0
        })
    );
    assert_eq!(
        inode(&dir.join("a.json")),
        a_inode,
        "an unchanged file is not touched"
    );
    assert_ne!(
        inode(&dir.join("Team A/b.json")),
        b_inode,
        "a changed file is a new inode (renamed in)"
    );
    assert_eq!(
        fs::read_to_string(dir.join("Team A/b.json")).expect("read"),
        "3"
    );

    let third = payload(&[("a.json", "1")]);
    assert_eq!(
        writer.publish(&third).expect("publish"),
        Some(FilesChanged {
            written: 0,
            removed: 1
        })
    );
    assert!(
        !dir.join("Team A").exists(),
        "the emptied folder is removed"
    );
    assert_eq!(
        fs::read_to_string(dir.join("foreign.txt")).expect("kept"),
        "not ours"
    );
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("configsync-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A restarted sidecar compares with the disk: nothing to write, nothing told.
    let restarted = FileWriter::new(&dir, Fsync::Always);
    assert_eq!(restarted.publish(&third).expect("publish"), None);
    fs::write(dir.join("a.json"), "torn").expect("damage");
    assert_eq!(
        restarted.publish(&third).expect("publish"),
        None,
        "remembered now: the writer does not re-read the disk"
    );
    let fresh = FileWriter::new(&dir, Fsync::Never);
    assert_eq!(
        fresh.publish(&third).expect("publish"),
        Some(FilesChanged {
            written: 1,
            removed: 0
        }),
        "without memory, a damaged file is replaced"
    );
    assert_eq!("swap".parse(), Ok(Publish::Swap));
    assert_eq!("files".parse(), Ok(Publish::Files));
    assert!("links".parse::<Publish>().is_err());
}

#[test]
fn a_failed_replace_names_the_file_and_keeps_the_old_content() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = FileWriter::new(tmp.path(), Fsync::Never);
    fs::create_dir(tmp.path().join("busy")).expect("a directory where a file should go");
    fs::write(tmp.path().join("busy/x"), "keep").expect("content");
    let error = writer
        .publish(&payload(&[("busy", "file")]))
        .expect_err("a directory is in the way");
    assert!(error.to_string().contains("busy"), "{error}");
    assert_eq!(
        fs::read_to_string(tmp.path().join("busy/x")).expect("kept"),
        "keep"
    );
}

#[test]
fn a_shared_tree_published_again_is_not_compared_and_one_pass_writes_and_removes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = FileWriter::new(tmp.path(), Fsync::Never);
    let first = std::sync::Arc::new(payload(&[("a", "1"), ("b", "2"), ("c", "3")]));
    assert!(writer.publish_shared(&first).expect("publish").is_some());
    // Changed behind the writer's back: a publish of the same Arc does not look.
    fs::write(tmp.path().join("a"), "edited").expect("write");
    assert_eq!(writer.publish_shared(&first).expect("publish"), None);
    assert_eq!(
        fs::read_to_string(tmp.path().join("a")).ok().as_deref(),
        Some("edited")
    );
    let second = std::sync::Arc::new(payload(&[("a", "1"), ("b", "2!"), ("d", "4")]));
    assert_eq!(
        writer.publish_shared(&second).expect("publish"),
        Some(FilesChanged {
            written: 2,
            removed: 1
        })
    );
    let listing: Vec<(String, String)> = ["a", "b", "c", "d"]
        .iter()
        .filter_map(|name| {
            Some((
                name.to_string(),
                fs::read_to_string(tmp.path().join(name)).ok()?,
            ))
        })
        .collect();
    assert_eq!(
        listing,
        [
            ("a".to_string(), "edited".to_string()),
            ("b".to_string(), "2!".to_string()),
            ("d".to_string(), "4".to_string())
        ],
        "a is unchanged in the payload (not rewritten), b replaced, c removed, d added"
    );
}
