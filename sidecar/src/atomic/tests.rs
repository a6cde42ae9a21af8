use super::*;
use crate::source::Value;

fn mk_files(entries: &[(&str, &str, u32)]) -> BTreeMap<RelPath, FileEntry> {
    entries
        .iter()
        .map(|(path, text, mode)| {
            let path = RelPath::new(path).expect("valid test path");
            (
                path,
                FileEntry {
                    bytes: Value::from(*text),
                    mode: *mode,
                },
            )
        })
        .collect()
}

fn read(dir: &Path, path: &str) -> Option<String> {
    fs::read_to_string(dir.join(path)).ok()
}

/// Names in `dir` that start with `..`, sorted.
fn hidden_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".."))
        .collect();
    names.sort();
    names
}

#[test]
fn publishes_through_data_link_with_explicit_modes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path().join("out"));
    let files = mk_files(&[("app/a.conf", "A1", 0o644), ("db/password", "pw", 0o400)]);
    let Ok(Publish::Published { version }) = writer.publish(&files) else {
        panic!("first publish must write")
    };
    let dir = writer.dir();
    assert!(
        version.starts_with("..") && version.len() > "..YYYY_MM_DD_HH_MM_SS.".len(),
        "{version}"
    );
    assert_eq!(
        fs::read_link(dir.join(DATA_LINK)).ok(),
        Some(PathBuf::from(&version))
    );
    assert_eq!(
        fs::read_link(dir.join("app")).ok(),
        Some(PathBuf::from("..data/app"))
    );
    assert_eq!(read(dir, "app/a.conf").as_deref(), Some("A1"));
    let mode = fs::metadata(dir.join("db/password"))
        .map(|m| m.permissions().mode() & 0o777)
        .ok();
    assert_eq!(mode, Some(0o400));
    let dir_mode = fs::metadata(dir.join(&version))
        .map(|m| m.permissions().mode() & 0o777)
        .ok();
    assert_eq!(dir_mode, Some(0o755));
    assert_eq!(writer.read_published().expect("readable"), files);
}

#[test]
fn identical_content_is_not_rewritten_but_a_mode_change_is() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    let files = mk_files(&[("a", "same", 0o644)]);
    let first = writer.publish(&files).expect("publish");
    assert_eq!(
        writer.publish(&files).expect("publish again"),
        Publish::Unchanged
    );
    assert_eq!(
        writer.current_version().expect("version"),
        match first {
            Publish::Published { version } => Some(version),
            Publish::Unchanged => None,
        }
    );
    let chmod = mk_files(&[("a", "same", 0o600)]);
    assert!(matches!(
        writer.publish(&chmod),
        Ok(Publish::Published { .. })
    ));
}

#[test]
fn update_removes_stale_links_and_versions_older_than_the_replaced_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    writer
        .publish(&mk_files(&[("old", "1", 0o644), ("keep", "1", 0o644)]))
        .expect("v1");
    let v1 = writer.current_version().expect("v1 version");
    fs::write(tmp.path().join("user-file"), "not ours").expect("user file");
    let Ok(Publish::Published { version: v2 }) =
        writer.publish(&mk_files(&[("keep", "2", 0o644), ("new", "2", 0o644)]))
    else {
        panic!("v2 must publish")
    };
    assert_eq!(read(tmp.path(), "keep").as_deref(), Some("2"));
    assert_eq!(read(tmp.path(), "new").as_deref(), Some("2"));
    assert!(
        fs::symlink_metadata(tmp.path().join("old")).is_err(),
        "stale link removed"
    );
    assert_eq!(
        read(tmp.path(), "user-file").as_deref(),
        Some("not ours"),
        "foreign files are left alone"
    );
    let v1 = v1.expect("v1 version");
    assert!(
        tmp.path().join(&v1).exists(),
        "the replaced version stays until the next publish"
    );
    let Ok(Publish::Published { version: v3 }) = writer.publish(&mk_files(&[("keep", "3", 0o644)]))
    else {
        panic!("v3 must publish")
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while tmp.path().join(&v1).exists() {
        assert!(
            Instant::now() < deadline,
            "older versions removed (in the background)"
        );
        std::thread::yield_now();
    }
    let mut expected = vec![v2, v3, DATA_LINK.to_string()];
    expected.sort();
    assert_eq!(hidden_entries(tmp.path()), expected);
}

#[test]
fn foreign_entry_at_a_visible_name_fails_and_keeps_the_old_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    writer
        .publish(&mk_files(&[("a", "v1", 0o644)]))
        .expect("v1");
    let before = hidden_entries(tmp.path());
    fs::write(tmp.path().join("b"), "someone else's").expect("foreign file");
    let error = writer.publish(&mk_files(&[
        ("a", "v2", 0o644),
        ("b", "v2", 0o644),
        ("c", "v2", 0o644),
    ]));
    assert!(
        matches!(error, Err(WriteError::ForeignEntry { .. })),
        "{error:?}"
    );
    assert_eq!(read(tmp.path(), "a").as_deref(), Some("v1"));
    assert_eq!(read(tmp.path(), "b").as_deref(), Some("someone else's"));
    assert_eq!(
        hidden_entries(tmp.path()),
        before,
        "the failed attempt left nothing behind"
    );
}

/// Root bypasses permission bits, so the "permission denied" case is a directory where the writer needs to place
/// its `..data_tmp` symlink: unlink(2) fails with EISDIR for everyone, root included.
#[test]
fn blocked_swap_fails_and_keeps_the_old_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    writer
        .publish(&mk_files(&[("a", "v1", 0o644)]))
        .expect("v1");
    fs::create_dir_all(tmp.path().join(DATA_TMP_LINK).join("occupied")).expect("blocking dir");
    let error = writer.publish(&mk_files(&[("a", "v2", 0o644), ("new", "v2", 0o644)]));
    assert!(matches!(error, Err(WriteError::Switch { .. })), "{error:?}");
    assert_eq!(read(tmp.path(), "a").as_deref(), Some("v1"));
    assert!(
        fs::symlink_metadata(tmp.path().join("new")).is_err(),
        "links of the failed attempt removed"
    );
    assert_eq!(
        writer.read_published().expect("readable"),
        mk_files(&[("a", "v1", 0o644)])
    );
    assert_eq!(
        hidden_entries(tmp.path()).len(),
        3,
        "{:?}",
        hidden_entries(tmp.path())
    );
}

/// A 64 KiB tmpfs (a Secret volume is tmpfs too) fills up mid-write. Needs CAP_SYS_ADMIN to mount.
#[test]
fn disk_full_fails_and_keeps_the_old_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(tmp.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "SKIP disk_full_fails_and_keeps_the_old_version: cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"
        );
        return;
    }
    let writer = AtomicWriter::new(tmp.path());
    let outcome = (|| {
        writer.publish(&mk_files(&[("a", "small v1", 0o644)]))?;
        let big = "x".repeat(200 * 1024);
        writer.publish(&mk_files(&[("a", "v2", 0o644), ("big", &big, 0o644)]))
    })();
    let published = writer.read_published();
    let hidden = hidden_entries(tmp.path());
    let _ = std::process::Command::new("umount")
        .arg(tmp.path())
        .status();
    assert!(
        matches!(outcome, Err(WriteError::WriteVersion { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        published.expect("readable"),
        mk_files(&[("a", "small v1", 0o644)])
    );
    assert_eq!(hidden.len(), 2, "only ..data and v1 remain: {hidden:?}");
}

#[test]
fn single_file_is_replaced_atomically_with_its_mode() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("nested/app.env");
    write_file_atomic(&path, b"A='1'\n", 0o600).expect("first write");
    write_file_atomic(&path, b"A='2'\n", 0o640).expect("second write");
    assert_eq!(
        read(tmp.path(), "nested/app.env").as_deref(),
        Some("A='2'\n")
    );
    assert_eq!(
        fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .ok(),
        Some(0o640)
    );
    let leftovers = fs::read_dir(tmp.path().join("nested"))
        .map(|d| d.count())
        .ok();
    assert_eq!(leftovers, Some(1), "no temporary files left behind");
}

/// The start-up check names the directory and the cause; it leaves no probe file behind when it succeeds.
#[test]
fn check_writable_names_the_directory_and_cleans_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path().join("out"));
    writer.check_writable().expect("writable");
    assert_eq!(
        fs::read_dir(tmp.path().join("out")).map(|d| d.count()).ok(),
        Some(0)
    );
    fs::write(tmp.path().join("file"), "x").expect("file");
    let blocked = AtomicWriter::new(tmp.path().join("file/out"));
    let error = blocked.check_writable().expect_err("a file is in the way");
    assert!(
        matches!(error, WriteError::PrepareTarget { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("file/out"), "{error}");
}

#[test]
fn swap_shows_the_new_version_and_finish_keeps_only_the_replaced_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path().join("out"));
    let dir = writer.dir().to_path_buf();
    let Ok(Publish::Published { version: v1 }) = writer.publish(&mk_files(&[("a", "1", 0o644)]))
    else {
        panic!("first publish must write")
    };
    let v2_files = mk_files(&[("b", "2", 0o644)]);
    let swapped = writer
        .swap(&v2_files)
        .expect("swap")
        .expect("a changed payload swaps");
    assert_eq!(read(&dir, "b").as_deref(), Some("2"), "visible at once");
    assert_eq!(
        writer.current_version().expect("..data").as_deref(),
        Some(swapped.version.as_str())
    );
    assert!(
        hidden_entries(&dir).contains(&v1),
        "old version kept until finish"
    );
    let v2 = swapped.version.clone();
    swapped.finish();
    let mut expected = vec![v1, v2, DATA_LINK.to_owned()];
    expected.sort();
    assert_eq!(
        hidden_entries(&dir),
        expected,
        "the replaced version stays one publish"
    );
    assert!(
        fs::symlink_metadata(dir.join("a")).is_err(),
        "stale link removed"
    );
    assert!(writer.swap(&v2_files).expect("swap").is_none(), "unchanged");
}

#[test]
fn a_same_size_change_anywhere_in_a_large_file_is_published_and_equal_bytes_are_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = AtomicWriter::new(tmp.path());
    // Several 64 KiB comparison chunks, and a tail shorter than one.
    let big = "x".repeat(200 * 1024 + 7);
    let with_byte = |at: usize| {
        let mut text = big.clone();
        text.replace_range(at..=at, "y");
        text
    };
    let small = ("small", "s", 0o644);
    assert!(matches!(
        writer.publish(&mk_files(&[("big", &big, 0o600), small])),
        Ok(Publish::Published { .. })
    ));
    assert_eq!(
        writer
            .publish(&mk_files(&[("big", &big, 0o600), small]))
            .ok(),
        Some(Publish::Unchanged)
    );
    for at in [big.len() - 1, 64 * 1024, 0] {
        let changed = with_byte(at);
        let files = mk_files(&[("big", &changed, 0o600), small]);
        assert!(
            matches!(writer.publish(&files), Ok(Publish::Published { .. })),
            "byte {at} changed"
        );
        assert_eq!(writer.read_published().expect("readable"), files);
    }
}
