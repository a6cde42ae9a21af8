//! A version per source: the default layout (one sub-directory per source), where one changed source costs one
//! small version, whatever else the sidecar projects.
//!
//! ```text
//! <dir>/redis-config/..2026_12_07_11_00_00.Ab3xYz/redis.properties   this source's version
//! <dir>/redis-config/..data -> ..2026_12_07_11_00_00.Ab3xYz          swapped with one rename(2)
//! <dir>/redis-config/redis.properties -> ..data/redis.properties     what the app reads (the same path as before)
//! <dir>/web-config/..data -> ..2026_12_07_10_59_58.Qw7pLm             another source, its own version
//! ```
//! # Theory of operation
//! Each source directory is a kubelet ConfigMap volume of its own, published by its own [`AtomicWriter`] (the
//! module docs above: compare, fill, link, swap, finish). [`SourceWriter`] splits the rendered payload by its first
//! path element ([`plan`], pure; only changed sources are copied out) and remembers what each directory holds, so a publish touches only the
//! directories whose payload changed (an unchanged one costs no system call), removes the directories of sources
//! that left (renamed to a hidden `..retired.*` directory at once, deleted off the publish path), and hands back
//! one [`Swapped`] for all.
//!
//! The first publish of a process has no memory: every source directory byte-compares its version on disk (a
//! torn one is replaced), and the target is listed once to take over what a previous run left: source directories
//! no longer in the payload and `..retired.*` leftovers are removed, and the whole-tree layout of earlier releases
//! (`<dir>/..data` and `<dir>/<source> -> ..data/<source>`) is migrated: each source's new directory is built
//! aside and exchanged with its old symlink by one `renameat2(RENAME_EXCHANGE)`, so the user-visible path never
//! goes missing; then the old `..data` and its versions are removed.
//!
//! # Guarantees
//! Per source (per first path element, to be exact): a reader that resolves `<dir>/<source>/..data` once sees
//! one complete version of that source, never a torn file nor a mix of two versions; reads through the
//! user-visible names never fail for a file present in both versions. **Across sources there is no atomicity any
//! more**: when several sources change in one publish, they switch one after the other (in name order, within
//! microseconds), and a reader of two sources may see one new and one old. A failure leaves every source at its
//! previous or its new version, each whole; the next publish retries the ones that failed.
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::{AtomicWriter, DATA_LINK, DATA_TMP_LINK, Fsync, Swapped, WriteError, is_version_name};
use crate::render::{Dir, DirLayout, FileEntry, Files, RelPath, one_tree};

/// The payload each source directory last made visible, by its name (paths relative to it).
pub type Published = BTreeMap<Arc<str>, Arc<Files>>;

/// Prefix of the hidden directories that hold what is being removed (or built aside, when migrating).
const RETIRED_PREFIX: &str = "..retired.";

/// Publishes the target with one `..data` swap for everything ([`DirLayout::Flat`]: all keys in one directory,
/// so there are no source directories to swap on their own) or one per source ([`DirLayout::PerSource`]).
#[derive(Debug, Clone)]
pub enum SwapWriter {
    /// The whole tree in one version.
    Whole(AtomicWriter),
    /// A version per source directory.
    PerSource(SourceWriter),
}

impl SwapWriter {
    /// The writer for `dir` with the layout `dirs`.
    pub fn new(dir: impl Into<PathBuf>, dirs: DirLayout, fsync: Fsync) -> Self {
        match dirs {
            DirLayout::Flat => Self::Whole(AtomicWriter::new(dir).with_fsync(fsync)),
            DirLayout::PerSource => Self::PerSource(SourceWriter::new(dir, fsync)),
        }
    }

    /// Make a rendered projection visible; `None` when it already is. See [`AtomicWriter::swap`] and
    /// [`SourceWriter::swap_dirs`] (where a source directory whose files are the `Arc` it last published costs a
    /// pointer comparison).
    ///
    /// # Errors
    /// [`WriteError`], with the guarantees of the writer's module docs.
    pub fn swap_dirs(&self, dirs: &[Dir]) -> Result<Option<Swapped>, WriteError> {
        match self {
            Self::Whole(writer) => writer.swap(&one_tree(dirs)),
            Self::PerSource(writer) => writer.swap_dirs(dirs),
        }
    }
}

/// What one publish must do, decided from the payload and the memory of the last one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Every source directory of the payload, in name order.
    pub present: Vec<&'a Dir>,
    /// The source directories whose files differ from the remembered ones (every one without memory).
    pub changed: Vec<&'a Dir>,
    /// Remembered source directories absent from the payload.
    pub removed: Vec<Arc<str>>,
}

impl Plan<'_> {
    fn is_present(&self, name: &str) -> bool {
        self.present
            .binary_search_by(|dir| (*dir.name).cmp(name))
            .is_ok()
    }
}

/// Compare `dirs` with `published` (the payload last made visible), in one pass over both in name order: a
/// directory given as the `Arc` it was published with costs a pointer comparison, another one a comparison of its
/// files (their values by pointer).
///
/// # Errors
/// [`WriteError::SplitSources`] for a directory without a name (files directly in the target).
pub fn plan<'a>(dirs: &'a [Dir], published: Option<&Published>) -> Result<Plan<'a>, WriteError> {
    let mut present: Vec<&Dir> = dirs.iter().collect();
    if !present.is_sorted_by(|a, b| a.name < b.name) {
        present.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if let Some(unnamed) = present.iter().find(|dir| dir.name.is_empty()) {
        let path = unnamed.files.keys().next().map(RelPath::as_str);
        return Err(WriteError::SplitSources {
            path: PathBuf::from(path.unwrap_or_default()),
        });
    }
    let mut plan = Plan::default();
    let mut old = published.into_iter().flatten().peekable();
    for dir in &present {
        while let Some((name, _)) = old.next_if(|(name, _)| **name < dir.name) {
            plan.removed.push(Arc::clone(name));
        }
        let same = old
            .next_if(|(name, _)| **name == dir.name)
            .is_some_and(|(_, old)| Arc::ptr_eq(old, &dir.files) || **old == *dir.files);
        if !same {
            plan.changed.push(dir);
        }
    }
    plan.removed.extend(old.map(|(name, _)| Arc::clone(name)));
    plan.present = present;
    Ok(plan)
}

/// Split `files` (paths with their source directory first) into source directories.
///
/// # Errors
/// [`WriteError::SplitSources`] for a file that is not inside a source directory (a one-element path).
pub fn split_dirs(files: &BTreeMap<RelPath, FileEntry>) -> Result<Vec<Dir>, WriteError> {
    let mut dirs: BTreeMap<&str, Files> = BTreeMap::new();
    for (path, entry) in files {
        let (source, inside) = path.split_first().ok_or_else(|| WriteError::SplitSources {
            path: PathBuf::from(path.as_str()),
        })?;
        dirs.entry(source)
            .or_default()
            .insert(inside, entry.clone());
    }
    Ok(dirs
        .into_iter()
        .map(|(name, files)| Dir {
            name: Arc::from(name),
            files: Arc::new(files),
        })
        .collect())
}

/// A writer per source directory and the payload each last made visible.
#[derive(Debug, Default)]
struct State {
    writers: BTreeMap<String, AtomicWriter>,
    /// `None` until the first publish of this process (then the target is listed and compared on disk).
    published: Option<Published>,
}

/// Publishes each source directory as its own version (see the module docs). Clones share the memory.
#[derive(Debug, Clone)]
pub struct SourceWriter {
    dir: PathBuf,
    fsync: Fsync,
    state: Arc<Mutex<State>>,
}

impl SourceWriter {
    /// A writer for `dir` (created on first publish).
    pub fn new(dir: impl Into<PathBuf>, fsync: Fsync) -> Self {
        Self {
            dir: dir.into(),
            fsync,
            state: Arc::default(),
        }
    }

    /// Publish and finish at once (tests and one-shot callers).
    ///
    /// # Errors
    /// As [`SourceWriter::swap`].
    pub fn publish(&self, files: &BTreeMap<RelPath, FileEntry>) -> Result<bool, WriteError> {
        Ok(self.swap(files)?.map(Swapped::finish).is_some())
    }

    /// Swap every changed source directory, hide removed ones; returns right after the last swap (`None`: nothing
    /// changed). The caller must call [`Swapped::finish`] before the next publish.
    ///
    /// # Errors
    /// [`WriteError`] of the first source directory that failed; the ones swapped before it stay new, the others
    /// keep their previous version, and the next publish retries.
    pub fn swap(
        &self,
        files: &BTreeMap<RelPath, FileEntry>,
    ) -> Result<Option<Swapped>, WriteError> {
        self.swap_dirs(&split_dirs(files)?)
    }

    /// [`SourceWriter::swap`] of the payload by source directory (see [`plan`]).
    ///
    /// # Errors
    /// As [`SourceWriter::swap`].
    pub fn swap_dirs(&self, dirs: &[Dir]) -> Result<Option<Swapped>, WriteError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let first = state.published.is_none();
        let mut plan = plan(dirs, state.published.as_ref())?;
        if plan.changed.is_empty() && plan.removed.is_empty() && !first {
            return Ok(None);
        }
        fs::create_dir_all(&self.dir).map_err(|source| WriteError::PrepareTarget {
            path: self.dir.clone(),
            source,
        })?;
        let leftovers = if first {
            self.take_over(&plan)?
        } else {
            Leftovers::default()
        };
        plan.removed.extend(leftovers.sources);
        let mut swapped = Swapped {
            retire: Vec::new(),
            removed: leftovers.hidden,
            parent_changed: None,
            replaced: Vec::new(),
            version: String::new(),
            filled: super::Filled::default(),
            swapped_at: Instant::now(),
        };
        let mut versions = Vec::new();
        for dir in &plan.changed {
            let (source, payload) = (&*dir.name, &*dir.files);
            let result = self.swap_source(&mut state.writers, source, payload, &mut swapped);
            let published = state.published.get_or_insert_with(Published::new);
            match result {
                Ok(Some(version)) => versions.push(format!("{source}/{version}")),
                Ok(None) => {}
                Err(error) => {
                    published.remove(source);
                    if first {
                        // List the target again next time: what this attempt found is not removed yet.
                        state.published = None;
                    }
                    return Err(error);
                }
            }
            if let Some(old) = published.insert(Arc::clone(&dir.name), Arc::clone(&dir.files)) {
                swapped.replaced.push(old);
            }
        }
        for source in &plan.removed {
            let hidden = self.hide(source)?;
            swapped.removed.push(hidden);
            swapped.swapped_at = Instant::now();
            self.mark_parent_changed(&mut swapped);
            state.writers.remove(&**source);
            if let Some(old) = state.published.as_mut().and_then(|p| p.remove(source)) {
                swapped.replaced.push(old);
            }
        }
        if leftovers.legacy_data {
            self.remove_legacy_data_link();
            self.mark_parent_changed(&mut swapped);
        }
        state.published.get_or_insert_with(Published::new);
        if versions.is_empty() && plan.removed.is_empty() && !leftovers.legacy_data {
            // Nothing visible changed (a restart over the same data); leftovers still go.
            swapped.finish();
            return Ok(None);
        }
        swapped.version = versions.join(",");
        Ok(Some(swapped))
    }

    /// Swap one source directory (migrating a whole-tree symlink first); merges its swap into `swapped`.
    fn swap_source(
        &self,
        writers: &mut BTreeMap<String, AtomicWriter>,
        source: &str,
        payload: &BTreeMap<RelPath, FileEntry>,
        swapped: &mut Swapped,
    ) -> Result<Option<String>, WriteError> {
        let path = self.dir.join(source);
        let writer = match writers.get(source) {
            Some(writer) => writer.clone(),
            None => match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => AtomicWriter::new(&path).with_fsync(self.fsync),
                Ok(_) if is_legacy_link(&path, source) => {
                    let writer = self.migrate(source, payload, swapped)?;
                    writers.insert(source.to_owned(), writer.clone());
                    return Ok(swapped.retire.last().map(|r| r.version.clone()));
                }
                Ok(_) => return Err(WriteError::ForeignEntry { path }),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    self.mark_parent_changed(swapped);
                    AtomicWriter::new(&path).with_fsync(self.fsync)
                }
                Err(source) => return Err(WriteError::PrepareTarget { path, source }),
            },
        };
        writers.insert(source.to_owned(), writer.clone());
        let Some(one) = writer.swap(payload)? else {
            return Ok(None);
        };
        let version = one.version.clone();
        absorb(swapped, one);
        Ok(Some(version))
    }

    /// Replace the whole-tree symlink `<dir>/<source> -> ..data/<source>` of an earlier release by a source
    /// directory built aside, with one exchange, so the user-visible path never goes missing.
    fn migrate(
        &self,
        source: &str,
        payload: &BTreeMap<RelPath, FileEntry>,
        swapped: &mut Swapped,
    ) -> Result<AtomicWriter, WriteError> {
        let aside = self.retired_dir()?;
        let built = aside.join(source);
        let writer = AtomicWriter::new(&built).with_fsync(self.fsync);
        let mut one = writer
            .swap(payload)?
            .ok_or_else(|| WriteError::WriteVersion {
                path: built.clone(),
                source: io::Error::other("a fresh directory compared equal"),
            })?;
        if self.fsync == Fsync::Always {
            super::sync_dir(&built).map_err(|source| WriteError::Switch {
                path: built.clone(),
                source,
            })?;
        }
        let path = self.dir.join(source);
        exchange(&built, &path).map_err(|source| WriteError::Switch {
            path: path.clone(),
            source,
        })?;
        let writer = AtomicWriter {
            dir: path,
            fsync: self.fsync,
            last: writer.last,
        };
        for retire in &mut one.retire {
            retire.writer = writer.clone();
        }
        absorb(swapped, one);
        swapped.removed.push(aside);
        self.mark_parent_changed(swapped);
        tracing::info!(
            source,
            "moved from the whole-tree ..data layout to a version per source"
        );
        Ok(writer)
    }

    /// Rename `<dir>/<source>` into a fresh hidden `..retired.*` directory (one atomic disappearance); returns
    /// that directory, to delete.
    fn hide(&self, source: &str) -> Result<PathBuf, WriteError> {
        let aside = self.retired_dir()?;
        let path = self.dir.join(source);
        match fs::rename(&path, aside.join(source)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                let _ = fs::remove_dir(&aside);
                Err(WriteError::Switch {
                    path,
                    source: error,
                })
            }
            _ => Ok(aside),
        }
    }

    fn retired_dir(&self) -> Result<PathBuf, WriteError> {
        tempfile::Builder::new()
            .prefix(RETIRED_PREFIX)
            .tempdir_in(&self.dir)
            .map(tempfile::TempDir::keep)
            .map_err(|source| WriteError::WriteVersion {
                path: self.dir.clone(),
                source,
            })
    }

    fn mark_parent_changed(&self, swapped: &mut Swapped) {
        swapped.parent_changed = Some((self.dir.clone(), self.fsync));
    }

    /// List the target once (first publish): source directories a previous run published that left the payload,
    /// `..retired.*` leftovers, and the whole-tree layout (stale links, `..data`, its versions).
    fn take_over(&self, plan: &Plan<'_>) -> Result<Leftovers, WriteError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| WriteError::PrepareTarget {
            path: self.dir.clone(),
            source,
        })?;
        let mut leftovers = Leftovers::default();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            match Found::classify(&path, &name, plan) {
                Found::LegacyData => leftovers.legacy_data = true,
                Found::Hidden => leftovers.hidden.push(path),
                Found::LegacyLink => {
                    if let Err(error) = fs::remove_file(&path) {
                        tracing::warn!(%error, name, "could not remove a stale link");
                    }
                }
                Found::OldSource => leftovers.sources.push(Arc::from(name)),
                Found::Other => {}
            }
        }
        Ok(leftovers)
    }

    fn remove_legacy_data_link(&self) {
        for name in [DATA_LINK, DATA_TMP_LINK] {
            match fs::remove_file(self.dir.join(name)) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    tracing::warn!(%error, name, "could not remove the whole-tree link");
                }
                _ => {}
            }
        }
    }

    /// Every file of every published source directory (paths with their source directory first).
    ///
    /// # Errors
    /// [`WriteError::ReadPublished`] when the target or a file cannot be read.
    pub fn read_published(&self) -> Result<BTreeMap<RelPath, FileEntry>, WriteError> {
        let mut out = BTreeMap::new();
        let entries = match fs::read_dir(&self.dir) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(out),
            entries => entries.map_err(|source| WriteError::ReadPublished {
                path: self.dir.clone(),
                source,
            })?,
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("..") || !entry.path().is_dir() || entry.path().is_symlink() {
                continue;
            }
            for (path, file) in AtomicWriter::new(entry.path()).read_published()? {
                let joined = RelPath::new(&format!("{name}/{path}")).map_err(|e| {
                    WriteError::ReadPublished {
                        path: entry.path(),
                        source: io::Error::new(io::ErrorKind::InvalidData, e),
                    }
                })?;
                out.insert(joined, file);
            }
        }
        Ok(out)
    }
}

/// What a previous run left in the target (found by [`SourceWriter::take_over`]).
#[derive(Debug, Default)]
struct Leftovers {
    /// Source directories (with their own `..data`) no longer in the payload.
    sources: Vec<Arc<str>>,
    /// Hidden directories to delete: `..retired.*`, versions of the whole-tree layout.
    hidden: Vec<PathBuf>,
    /// The whole-tree `<dir>/..data` exists (removed once every source has its own directory).
    legacy_data: bool,
}

/// What one entry of the target is, for [`SourceWriter::take_over`].
enum Found {
    /// The whole-tree `..data` link.
    LegacyData,
    /// A `..retired.*` directory or a version of the whole-tree layout: to delete.
    Hidden,
    /// A whole-tree link `name -> ..data/name` whose source left the payload.
    LegacyLink,
    /// A source directory (it has its own `..data`) that left the payload.
    OldSource,
    /// In the payload (handled by the publish), hidden, or not ours.
    Other,
}

impl Found {
    fn classify(path: &Path, name: &str, plan: &Plan<'_>) -> Self {
        if name == DATA_LINK {
            Self::LegacyData
        } else if name.starts_with(RETIRED_PREFIX) || is_version_name(name) {
            Self::Hidden
        } else if name.starts_with("..") || plan.is_present(name) {
            Self::Other
        } else if is_legacy_link(path, name) {
            Self::LegacyLink
        } else if path
            .join(DATA_LINK)
            .symlink_metadata()
            .is_ok_and(|m| m.is_symlink())
        {
            Self::OldSource
        } else {
            Self::Other
        }
    }
}

/// Whether `path` is the whole-tree layout's link `name -> ..data/name`.
fn is_legacy_link(path: &Path, name: &str) -> bool {
    fs::read_link(path).is_ok_and(|target| target == Path::new(DATA_LINK).join(name))
}

/// Merge one directory's swap into the publish's (visible when the last rename returned: dropping the memory of
/// a replaced value afterwards, which wipes its bytes, is not part of the swap).
fn absorb(into: &mut Swapped, one: Swapped) {
    into.swapped_at = into.swapped_at.max(one.swapped_at);
    into.filled.written += one.filled.written;
    into.filled.linked += one.filled.linked;
    into.retire.extend(one.retire);
    into.replaced.extend(one.replaced);
    into.removed.extend(one.removed);
}

/// Atomically exchange `built` (a directory) and `path` (the old symlink); where the kernel or the C library
/// cannot, remove the link and rename (the path is missing for that instant).
fn exchange(built: &Path, path: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(
            AT_FDCWD,
            built,
            AT_FDCWD,
            path,
            RenameFlags::RENAME_EXCHANGE,
        ) {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::warn!(%error, "renameat2(RENAME_EXCHANGE) refused; replacing the link")
            }
        }
    }
    fs::remove_file(path)?;
    fs::rename(built, path)
}

#[cfg(test)]
mod tests;
