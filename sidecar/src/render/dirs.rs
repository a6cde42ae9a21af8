//! The projection by directory, and the [`Renderer`] that re-projects only the directories whose objects changed.
//!
//! ```text
//! sources (Arc<SourceData>, in slot order) ──group by directory──▶ <name>: [objects]
//!     same objects as last time (by pointer)? ──yes──▶ the remembered Arc<Files>
//!                                             ──no───▶ project them (keys checked, one writer per path)
//! ```
//! With the default layout each source's files live in `<dir>/<name>/`, so a directory is the first element of the
//! source's name and two objects of one name (a ConfigMap and a Secret, or two namespaces) share it. With a flat
//! layout every file is in the target itself: one directory with an empty name.
//! A path can only be written twice within one directory, so checking each re-projected directory on its own finds
//! every duplicate.
//!
//! The sources keep an unchanged object's `Arc` from one snapshot to the next (the watch state holds it), so the
//! comparison is a pointer comparison per object, and an unchanged directory costs no allocation at all. Within a
//! directory that changed, each object's part (its files) is remembered too: only the changed objects are projected
//! again (key checks, modes, items), and the directory's map is rebuilt from the parts, whose paths and values are
//! shared. With a flat layout that rebuild is the one cost that still grows with the number of objects.
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{FileEntry, Layout, RelPath, RenderError, Rendered, projected_files, render_env};
use crate::render::DirLayout;
use crate::source::SourceData;

/// The files of one directory, by their path inside it.
pub type Files = BTreeMap<RelPath, FileEntry>;

/// One directory of the projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// The first path element of its files in the target (`<dir>/<name>`); empty for the target itself.
    pub name: Arc<str>,
    /// Its files by their path inside it; the same `Arc` as the last render's when its objects did not change.
    pub files: Arc<Files>,
}

/// Every file of `dirs` under its path in the target, in one map (the values stay shared).
pub fn flatten(dirs: &[Dir]) -> Files {
    let mut all = Files::new();
    for dir in dirs {
        for (path, entry) in dir.files.iter() {
            let path = if dir.name.is_empty() {
                path.clone()
            } else {
                path.under(&dir.name)
            };
            all.insert(path, entry.clone());
        }
    }
    all
}

/// The files one object projects, by their path inside its directory, in key order.
type Part = Arc<Vec<(RelPath, FileEntry)>>;

/// The files of `dirs` as one tree, for the writers of a single directory: the flat layout's one directory as it
/// is (the same `Arc`), others merged.
pub fn one_tree(dirs: &[Dir]) -> Arc<Files> {
    match dirs {
        [dir] if dir.name.is_empty() => Arc::clone(&dir.files),
        dirs => Arc::new(flatten(dirs)),
    }
}

/// What the renderer remembers of one directory.
#[derive(Debug)]
struct Remembered {
    /// The objects projected into it, in the order they came.
    objects: Vec<Arc<SourceData>>,
    /// What each of them projects (same order).
    parts: Vec<Part>,
    files: Arc<Files>,
}

/// Renders sources through a [`Layout`], remembering each directory (see the module docs).
#[derive(Debug)]
pub struct Renderer {
    layout: Layout,
    memory: BTreeMap<Arc<str>, Remembered>,
}

impl Renderer {
    /// A renderer without memory.
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            memory: BTreeMap::new(),
        }
    }

    /// Project `sources`; only directories whose objects differ (by pointer) from the last render are projected
    /// again. A failed render leaves the memory as it was.
    ///
    /// # Errors
    /// [`RenderError`] for a key that cannot be projected safely; nothing partial is returned.
    pub fn render(&mut self, sources: &[Arc<SourceData>]) -> Result<Rendered, RenderError> {
        let grouped = self.group(sources);
        let mut dirs = Vec::new();
        let mut changed = Vec::new();
        // The memory and the groups are both in name order: one pass over both, no lookups.
        let mut memory = self.memory.iter().peekable();
        let mut removed = Vec::new();
        for group in grouped.chunk_by(|a, b| a.0 == b.0) {
            let name = group[0].0;
            while let Some((old, _)) = memory.next_if(|(old, _)| &***old < name) {
                removed.push(Arc::clone(old));
            }
            let remembered = memory.next_if(|(old, _)| &***old == name);
            match remembered {
                Some((name, kept)) if same_objects(&kept.objects, group) => dirs.push(Dir {
                    name: Arc::clone(name),
                    files: Arc::clone(&kept.files),
                }),
                _ => {
                    let objects: Vec<Arc<SourceData>> =
                        group.iter().map(|(_, s)| Arc::clone(s)).collect();
                    let old = remembered.map(|(_, kept)| kept);
                    let parts = project_parts(&objects, old, &self.layout)?;
                    let files = Arc::new(merge(&objects, &parts, &self.layout)?);
                    let name = remembered.map_or_else(|| Arc::from(name), |(n, _)| Arc::clone(n));
                    dirs.push(Dir {
                        name: Arc::clone(&name),
                        files: Arc::clone(&files),
                    });
                    let kept = Remembered {
                        objects,
                        parts,
                        files,
                    };
                    changed.push((name, kept));
                }
            }
        }
        removed.extend(memory.map(|(old, _)| Arc::clone(old)));
        let (env, warnings) = render_env(sources, &self.layout)?;
        for name in removed {
            self.memory.remove(&name);
        }
        self.memory.extend(changed);
        if dirs.is_empty() && self.layout.dirs == DirLayout::Flat {
            dirs.push(Dir {
                name: Arc::from(""),
                files: Arc::default(),
            });
        }
        Ok(Rendered {
            dirs,
            env,
            warnings,
        })
    }

    /// `(directory, object)` for every source, by directory name; within one, in the order the sources came.
    fn group<'a>(&self, sources: &'a [Arc<SourceData>]) -> Vec<(&'a str, &'a Arc<SourceData>)> {
        let mut grouped: Vec<(&str, &Arc<SourceData>)> = sources
            .iter()
            .map(|source| (dir_of(source, self.layout.dirs), source))
            .collect();
        grouped.sort_by(|a, b| a.0.cmp(b.0));
        grouped
    }
}

/// The directory `source`'s files go to.
fn dir_of(source: &SourceData, layout: DirLayout) -> &str {
    match layout {
        DirLayout::Flat => "",
        DirLayout::PerSource => {
            let end = source.name.bytes().position(|b| b == b'/');
            end.and_then(|end| source.name.get(..end))
                .unwrap_or(&source.name)
        }
    }
}

/// Whether `group` holds exactly `remembered`'s objects, in order, by pointer.
fn same_objects(remembered: &[Arc<SourceData>], group: &[(&str, &Arc<SourceData>)]) -> bool {
    remembered.len() == group.len()
        && remembered
            .iter()
            .zip(group)
            .all(|(old, (_, new))| Arc::ptr_eq(old, new))
}

/// What each of `objects` projects; an object remembered in `old` (at the same position, else anywhere) is not
/// projected again.
fn project_parts(
    objects: &[Arc<SourceData>],
    old: Option<&Remembered>,
    layout: &Layout,
) -> Result<Vec<Part>, RenderError> {
    let remembered = |index: usize, object: &Arc<SourceData>| {
        let old = old?;
        let at = |i: usize| old.objects.get(i).filter(|o| Arc::ptr_eq(o, object));
        let index = at(index)
            .map(|_| index)
            .or_else(|| old.objects.iter().position(|o| Arc::ptr_eq(o, object)))?;
        old.parts.get(index).cloned()
    };
    objects
        .iter()
        .enumerate()
        .map(|(index, object)| match remembered(index, object) {
            Some(part) => Ok(part),
            None => project_object(object, layout).map(Arc::new),
        })
        .collect()
}

/// The files `source` projects, by their path inside its directory.
fn project_object(
    source: &SourceData,
    layout: &Layout,
) -> Result<Vec<(RelPath, FileEntry)>, RenderError> {
    let files = projected_files(source, layout)?;
    Ok(files
        .into_iter()
        .map(|(key, path, mode)| {
            let inside = match layout.dirs {
                DirLayout::Flat => None,
                DirLayout::PerSource => path.split_first().map(|(_, rest)| rest),
            };
            let bytes = source.data.get(key).cloned().unwrap_or_default();
            (inside.unwrap_or(path), FileEntry { bytes, mode })
        })
        .collect())
}

/// One directory's files from its objects' parts; a path written twice is an error naming both writers.
fn merge(
    objects: &[Arc<SourceData>],
    parts: &[Part],
    layout: &Layout,
) -> Result<Files, RenderError> {
    let mut files = Files::new();
    for (source, part) in objects.iter().zip(parts) {
        for (path, entry) in part.iter() {
            if files.insert(path.clone(), entry.clone()).is_some() {
                return Err(duplicate(objects, layout, path, source));
            }
        }
    }
    Ok(files)
}

/// The error for `inside` (a path inside the directory), written by `second` after an earlier writer in
/// `objects`: the first and the second key that project it, found again (this is the failure path).
fn duplicate(
    objects: &[Arc<SourceData>],
    layout: &Layout,
    inside: &RelPath,
    second: &SourceData,
) -> RenderError {
    let mut writers = objects.iter().flat_map(|source| {
        let files = projected_files(source, layout).unwrap_or_default();
        files.into_iter().filter_map(move |(key, path, _)| {
            let same = match layout.dirs {
                DirLayout::Flat => path == *inside,
                DirLayout::PerSource => path.split_first().is_some_and(|(_, rest)| rest == *inside),
            };
            same.then(|| {
                (
                    format!("{} key {key:?}", source.describe()),
                    path.to_string(),
                )
            })
        })
    });
    let (first, path) = writers.next().unwrap_or_default();
    let second_writer = writers
        .next()
        .map(|(writer, _)| writer)
        .unwrap_or_else(|| format!("{} key", second.describe()));
    RenderError::DuplicatePath {
        path,
        first,
        second: second_writer,
    }
}

#[cfg(test)]
mod tests;
