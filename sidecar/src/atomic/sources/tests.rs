use std::os::unix::fs::symlink;

use super::*;
use crate::source::Value;

fn files(entries: &[(&str, &str)]) -> BTreeMap<RelPath, FileEntry> {
    entries
        .iter()
        .map(|(path, text)| {
            let entry = FileEntry {
                bytes: Value::from(*text),
                mode: 0o644,
            };
            (RelPath::new(path).expect("valid test path"), entry)
        })
        .collect()
}

fn read(dir: &Path, path: &str) -> Option<String> {
    fs::read_to_string(dir.join(path)).ok()
}

fn link(dir: &Path, path: &str) -> Option<PathBuf> {
    fs::read_link(dir.join(path)).ok()
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn durable(dir: &Path) -> SourceWriter {
    // `Always` removes retired directories before `finish` returns, so tests can look at once.
    SourceWriter::new(dir, Fsync::Always)
}

fn changed_names<'a>(plan: &Plan<'a>) -> Vec<&'a str> {
    plan.changed.iter().map(|dir| &*dir.name).collect()
}

fn remember(published: &mut Published, plan: &Plan<'_>) {
    for name in &plan.removed {
        published.remove(name);
    }
    for dir in &plan.changed {
        published.insert(Arc::clone(&dir.name), Arc::clone(&dir.files));
    }
}

#[test]
fn plan_splits_by_source_and_keeps_only_what_changed_or_left() {
    let payload = split_dirs(&files(&[
        ("a/k", "1"),
        ("a/sub/x", "2"),
        ("a-b/k", "5"),
        ("b/k", "3"),
    ]))
    .expect("split");
    let first = plan(&payload, None).expect("plan");
    assert_eq!(
        changed_names(&first),
        ["a", "a-b", "b"],
        "no memory: every source"
    );
    assert_eq!(
        first.changed[0]
            .files
            .keys()
            .map(RelPath::as_str)
            .collect::<Vec<_>>(),
        ["k", "sub/x"],
        "paths relative to the source directory"
    );
    let mut published = Published::new();
    remember(&mut published, &first);
    let next = split_dirs(&files(&[
        ("a/k", "1"),
        ("a/sub/x", "2"),
        ("a-b/k", "5"),
        ("c/k", "4"),
    ]))
    .expect("split");
    let second = plan(&next, Some(&published)).expect("plan");
    assert_eq!(changed_names(&second), ["c"], "equal files compare equal");
    assert_eq!(second.removed, [Arc::from("b")]);
    let present: Vec<&str> = second.present.iter().map(|dir| &*dir.name).collect();
    assert_eq!(present, ["a", "a-b", "c"]);
    remember(&mut published, &second);
    let same = plan(&next, Some(&published)).expect("plan");
    assert!(same.changed.is_empty() && same.removed.is_empty());
    let one_key_less =
        split_dirs(&files(&[("a/k", "1"), ("a-b/k", "5"), ("c/k", "4")])).expect("split");
    let fewer = plan(&one_key_less, Some(&published)).expect("plan");
    assert_eq!(changed_names(&fewer), ["a"], "a lost a key");
    assert!(matches!(
        split_dirs(&files(&[("loose", "x")])),
        Err(WriteError::SplitSources { .. })
    ));
    let unnamed = [Dir {
        name: Arc::from(""),
        files: Arc::new(files(&[("loose", "x")])),
    }];
    assert!(matches!(
        plan(&unnamed, None),
        Err(WriteError::SplitSources { .. })
    ));
}

#[test]
fn a_directory_given_as_the_published_arc_is_not_compared_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = durable(&tmp.path().join("out"));
    let dirs = split_dirs(&files(&[("a/k", "A1"), ("b/k", "B1")])).expect("split");
    assert!(writer.swap_dirs(&dirs).expect("publish").is_some());
    let published = writer
        .state
        .lock()
        .expect("lock")
        .published
        .clone()
        .expect("remembered");
    assert!(
        dirs.iter().all(|dir| published
            .get(&*dir.name)
            .is_some_and(|p| Arc::ptr_eq(p, &dir.files))),
        "the writer keeps the rendered Arcs, not copies"
    );
    let mut next = dirs.clone();
    next[1].files = Arc::new(files(&[("k", "B2")]));
    let planned = plan(&next, Some(&published)).expect("plan");
    assert_eq!(changed_names(&planned), ["b"]);
    let swapped = writer
        .swap_dirs(&next)
        .expect("publish")
        .expect("b swapped");
    assert!(swapped.version.starts_with("b/"), "{}", swapped.version);
    swapped.finish();
    assert_eq!(read(&tmp.path().join("out"), "b/k").as_deref(), Some("B2"));
    assert_eq!(read(&tmp.path().join("out"), "a/k").as_deref(), Some("A1"));
}

#[test]
fn each_source_gets_its_own_data_link_and_the_visible_paths_stay() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let writer = durable(&out);
    assert!(
        writer
            .publish(&files(&[("a/k", "A1"), ("a/sub/x", "X1"), ("b/k", "B1")]))
            .expect("publish")
    );
    assert_eq!(read(&out, "a/k").as_deref(), Some("A1"));
    assert_eq!(read(&out, "a/sub/x").as_deref(), Some("X1"));
    assert_eq!(read(&out, "b/k").as_deref(), Some("B1"));
    assert_eq!(names(&out), ["a", "b"], "no whole-tree ..data");
    assert!(fs::symlink_metadata(out.join("a")).expect("a").is_dir());
    assert_eq!(link(&out, "a/k"), Some(PathBuf::from("..data/k")));
    assert_eq!(link(&out, "a/sub"), Some(PathBuf::from("..data/sub")));
    assert!(link(&out, "a/..data").is_some() && link(&out, "b/..data").is_some());
}

#[test]
fn one_changed_source_swaps_only_its_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = durable(tmp.path());
    writer
        .publish(&files(&[("a/k", "A1"), ("b/k", "B1"), ("b/j", "J1")]))
        .expect("publish");
    let (a_before, b_before) = (link(tmp.path(), "a/..data"), link(tmp.path(), "b/..data"));
    let swapped = writer
        .swap(&files(&[("a/k", "A1"), ("b/k", "B2"), ("b/j", "J1")]))
        .expect("publish")
        .expect("changed");
    assert_eq!(
        (swapped.filled.written, swapped.filled.linked),
        (1, 1),
        "b/k written, b/j linked"
    );
    assert!(swapped.version.starts_with("b/.."), "{}", swapped.version);
    swapped.finish();
    assert_eq!(link(tmp.path(), "a/..data"), a_before, "a untouched");
    assert_ne!(link(tmp.path(), "b/..data"), b_before);
    assert_eq!(read(tmp.path(), "b/k").as_deref(), Some("B2"));
    let again = files(&[("a/k", "A1"), ("b/k", "B2"), ("b/j", "J1")]);
    assert!(
        writer.swap(&again).expect("publish").is_none(),
        "unchanged: nothing"
    );
}

#[test]
fn a_removed_source_disappears_at_once_and_its_directory_is_deleted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let writer = durable(tmp.path());
    writer
        .publish(&files(&[("a/k", "A1"), ("b/k", "B1")]))
        .expect("publish");
    let swapped = writer
        .swap(&files(&[("a/k", "A1")]))
        .expect("publish")
        .expect("changed");
    assert!(!tmp.path().join("b").exists(), "gone before finish");
    swapped.finish();
    assert_eq!(names(tmp.path()), ["a"], "no ..retired left");
}

#[test]
fn a_restart_compares_on_disk_replaces_a_torn_version_and_removes_what_left() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let payload = files(&[("a/k", "A1"), ("b/k", "B1")]);
    durable(tmp.path()).publish(&payload).expect("publish");
    let a_version = link(tmp.path(), "a/..data");
    assert!(
        !durable(tmp.path()).publish(&payload).expect("publish"),
        "same bytes: nothing"
    );
    assert_eq!(link(tmp.path(), "a/..data"), a_version);

    let version = link(tmp.path(), "b/..data").expect("b version");
    fs::write(tmp.path().join("b").join(version).join("k"), "B").expect("tear b/k");
    fs::create_dir(tmp.path().join("..retired.leftover")).expect("a leftover");
    let restarted = durable(tmp.path());
    assert!(
        restarted
            .publish(&files(&[("b/k", "B1")]))
            .expect("publish")
    );
    assert_eq!(
        read(tmp.path(), "b/k").as_deref(),
        Some("B1"),
        "torn file replaced"
    );
    assert_eq!(
        names(tmp.path()),
        ["b"],
        "a (gone from the payload) and the leftover removed"
    );
}

#[test]
fn the_whole_tree_layout_of_earlier_releases_is_migrated_source_by_source() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let legacy = AtomicWriter::new(tmp.path()).with_fsync(Fsync::Always);
    legacy
        .publish(&files(&[("a/k", "A1"), ("b/k", "B1"), ("gone/k", "G")]))
        .expect("legacy");
    assert_eq!(link(tmp.path(), "a"), Some(PathBuf::from("..data/a")));

    let writer = durable(tmp.path());
    assert!(
        writer
            .publish(&files(&[("a/k", "A1"), ("b/k", "B2")]))
            .expect("migrate")
    );
    assert_eq!(
        names(tmp.path()),
        ["a", "b"],
        "..data, its versions and the stale link removed"
    );
    assert!(
        fs::symlink_metadata(tmp.path().join("a"))
            .expect("a")
            .is_dir()
    );
    assert_eq!(read(tmp.path(), "a/k").as_deref(), Some("A1"));
    assert_eq!(read(tmp.path(), "b/k").as_deref(), Some("B2"));
    assert_eq!(
        writer.read_published().expect("read"),
        files(&[("a/k", "A1"), ("b/k", "B2")])
    );
}

#[test]
fn an_entry_that_is_not_ours_is_refused_and_the_others_are_published() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("b"), "mine").expect("foreign file");
    symlink("/etc", tmp.path().join("c")).expect("foreign link");
    let writer = durable(tmp.path());
    let refused = writer.publish(&files(&[("a/k", "A1"), ("b/k", "B1")]));
    assert!(
        matches!(refused, Err(WriteError::ForeignEntry { .. })),
        "{refused:?}"
    );
    assert_eq!(
        read(tmp.path(), "b").as_deref(),
        Some("mine"),
        "never replaced"
    );
    assert_eq!(read(tmp.path(), "a/k").as_deref(), Some("A1"), "a is whole");
    let refused = writer.publish(&files(&[("c/k", "C1")]));
    assert!(
        matches!(refused, Err(WriteError::ForeignEntry { .. })),
        "{refused:?}"
    );
    assert!(link(tmp.path(), "c").is_some_and(|t| t == Path::new("/etc")));
}
