use std::sync::Arc;

use super::*;
use crate::render::render;
use crate::render::tests::mk_source;
use crate::source::{SourceKind, snapshot};

fn names(rendered: &Rendered) -> Vec<&str> {
    rendered.dirs.iter().map(|dir| &*dir.name).collect()
}

#[test]
fn a_second_render_hands_back_the_unchanged_directories_as_the_same_arcs() {
    let mut renderer = Renderer::new(Layout::default());
    let mut sources = snapshot([
        mk_source(SourceKind::ConfigMap, "a", &[("k", b"1")]),
        mk_source(SourceKind::ConfigMap, "b", &[("k", b"1")]),
        mk_source(SourceKind::Secret, "c", &[("k", b"1")]),
    ]);
    let first = renderer.render(&sources).expect("renders");
    assert_eq!(names(&first), ["a", "b", "c"]);
    sources[1] = Arc::new(mk_source(SourceKind::ConfigMap, "b", &[("k", b"2")]));
    let second = renderer.render(&sources).expect("renders");
    let same: Vec<bool> = first
        .dirs
        .iter()
        .zip(&second.dirs)
        .map(|(old, new)| Arc::ptr_eq(&old.files, &new.files))
        .collect();
    assert_eq!(same, [true, false, true], "only b is projected again");
    let b = second.dirs[1].files.get(&RelPath::new("k").expect("valid"));
    assert_eq!(b.map(|f| f.bytes.as_bytes()), Some(&b"2"[..]));
    assert_eq!(
        second.files(),
        render(&sources, &Layout::default())
            .expect("renders")
            .files(),
        "the same files as a render without memory"
    );
}

#[test]
fn objects_of_one_name_share_a_directory_and_a_clash_inside_it_is_refused() {
    let mut renderer = Renderer::new(Layout::default());
    let sources = snapshot([
        mk_source(SourceKind::ConfigMap, "app", &[("config", b"c")]),
        mk_source(SourceKind::ConfigMap, "other", &[("x", b"x")]),
        mk_source(SourceKind::Secret, "app", &[("password", b"p")]),
    ]);
    let rendered = renderer.render(&sources).expect("renders");
    assert_eq!(names(&rendered), ["app", "other"]);
    let app: Vec<&str> = rendered.dirs[0].files.keys().map(RelPath::as_str).collect();
    assert_eq!(app, ["config", "password"]);

    let clash = snapshot([
        mk_source(SourceKind::ConfigMap, "app", &[("config", b"c")]),
        mk_source(SourceKind::Secret, "app", &[("config", b"p")]),
    ]);
    assert_eq!(
        renderer.render(&clash).err(),
        Some(RenderError::DuplicatePath {
            path: "app/config".into(),
            first: r#"configmap/default/app key "config""#.into(),
            second: r#"secret/default/app key "config""#.into(),
        })
    );
    let again = renderer.render(&sources).expect("renders");
    assert!(
        Arc::ptr_eq(&again.dirs[1].files, &rendered.dirs[1].files),
        "a failed render keeps the memory"
    );
}

#[test]
fn a_flat_layout_is_one_unnamed_directory_even_when_empty() {
    let layout = Layout {
        dirs: DirLayout::Flat,
        ..Layout::default()
    };
    let mut renderer = Renderer::new(layout);
    let empty = renderer.render(&[]).expect("renders");
    assert_eq!(names(&empty), [""]);
    assert!(empty.dirs[0].files.is_empty());
    let sources = snapshot([
        mk_source(SourceKind::ConfigMap, "a", &[("one", b"1")]),
        mk_source(SourceKind::ConfigMap, "b", &[("two", b"2")]),
    ]);
    let rendered = renderer.render(&sources).expect("renders");
    let paths: Vec<&str> = rendered.dirs[0].files.keys().map(RelPath::as_str).collect();
    assert_eq!(paths, ["one", "two"]);
}

#[test]
fn flatten_puts_each_file_under_its_directory() {
    let sources = snapshot([
        mk_source(SourceKind::ConfigMap, "a", &[("one", b"1")]),
        mk_source(SourceKind::ConfigMap, "b", &[("two", b"2")]),
    ]);
    let rendered = render(&sources, &Layout::default()).expect("renders");
    let paths: Vec<String> = rendered.files().keys().map(ToString::to_string).collect();
    assert_eq!(paths, ["a/one", "b/two"]);
}

#[test]
fn a_flat_render_after_one_change_matches_a_fresh_one_and_still_finds_a_clash() {
    let layout = Layout {
        dirs: DirLayout::Flat,
        ..Layout::default()
    };
    let mut renderer = Renderer::new(layout.clone());
    let mut sources = snapshot([
        mk_source(SourceKind::ConfigMap, "a", &[("one", b"1")]),
        mk_source(SourceKind::ConfigMap, "b", &[("two", b"2")]),
        mk_source(SourceKind::Secret, "c", &[("three", b"3")]),
    ]);
    renderer.render(&sources).expect("renders");
    sources[1] = Arc::new(mk_source(
        SourceKind::ConfigMap,
        "b",
        &[("two", b"2!"), ("four", b"4")],
    ));
    let changed = renderer.render(&sources).expect("renders");
    assert_eq!(
        changed.files(),
        render(&sources, &layout).expect("renders").files()
    );
    let two = changed.dirs[0]
        .files
        .get(&RelPath::new("two").expect("valid"));
    assert_eq!(
        two.map(|f| (f.bytes.as_bytes(), f.mode)),
        Some((&b"2!"[..], 0o644))
    );

    sources[2] = Arc::new(mk_source(SourceKind::Secret, "c", &[("one", b"x")]));
    assert_eq!(
        renderer.render(&sources).err(),
        Some(RenderError::DuplicatePath {
            path: "one".into(),
            first: r#"configmap/default/a key "one""#.into(),
            second: r#"secret/default/c key "one""#.into(),
        }),
        "the unchanged a and the changed c write the same file"
    );
}
