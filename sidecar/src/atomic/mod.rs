//! Atomic multi-file publishing, following the kubelet's AtomicWriter (`pkg/volume/util/atomic_writer.go`).
//!
//! ```text
//! <dir>/..2026_11_27_01_30_00.Ab3xYz/   one complete version (files chmod-ed explicitly)
//! <dir>/..data -> ..2026_11_27_01_30_00.Ab3xYz   switched with one rename(2)
//! <dir>/redis.properties -> ..data/redis.properties     user-visible names: symlinks through ..data
//! ```
//! # Layouts ([`SwapWriter`])
//! [`AtomicWriter`] publishes one directory as one version. The default layout (a sub-directory per source) gives
//! each source directory an [`AtomicWriter`] of its own ([`sources`]: `<dir>/<source>/..data`), so one changed
//! source costs one small version, whatever else is projected; atomicity then holds within each source, not across
//! sources. The flat layout (`--flat`: every key in `<dir>`, folders from the folder annotation) has no source
//! directories to swap on their own: `<dir>` is one version, as the kubelet does for a projected volume, and a
//! change costs one `link(2)` per unchanged file. `--publish files` ([`files`]) renames each file on its own.
//!
//! # Theory of operation
//! 1. Decide whether anything changed. The writer remembers the payload it published last (the values are shared,
//!    reference-counted buffers, so an unchanged source compares by pointer): equal → stop. Without that memory (the
//!    first publish of a process, or `..data` moved by someone else) it byte-compares the version on disk
//!    ([`published`]: names, modes and sizes first, then the bytes until the first difference), so unchanged content
//!    is never rewritten and a torn file left by a crash is always replaced.
//! 2. Fill a fresh hidden timestamped directory: a file whose path, mode and bytes equal the remembered version's
//!    enters as a **hard link** to the old inode; only changed or new files are written (and `chmod`-ed explicitly,
//!    regardless of umask). Published inodes are never opened for writing, so a link shares bytes that can no longer
//!    change. The cost of a publish is one file write per changed key plus one `link(2)` (and one `mkdir` per source
//!    sub-directory) per unchanged file, instead of rewriting the whole projection.
//! 3. Create missing user-visible symlinks `name -> ..data/name` (they resolve through `..data`, so they point at the
//!    old version until the swap). An existing entry that is not such a link belongs to someone else: error.
//! 4. `symlink(new, ..data_tmp)` then `rename(..data_tmp, ..data)`: the one atomic switch. [`AtomicWriter::swap`]
//!    returns here, so the caller can tell the app at once.
//! 5. [`Swapped::finish`]: remove user-visible links no longer in the payload and every version older than the one
//!    just replaced (its unchanged inodes live on through the new version's links). The replaced version stays until
//!    the next publish: a reader that resolved `..data` just before the swap still finds every file it was reading,
//!    so no read through a user-visible name fails for a file that exists in both versions. The retired versions
//!    are listed here and, with [`Fsync::Never`], removed on a background thread, so the next publish does not wait
//!    for hundreds of unlinks (a version created later is never in that list; one left half-removed by an exit is
//!    found by the next listing).
//!
//! # Durability ([`Fsync`])
//! The kubelet's AtomicWriter writes with `os.WriteFile` and never calls `fsync`: a projected volume lives on tmpfs or
//! in the pod's directory and is rebuilt from the API after a node restart. The sidecar's targets:
//! * **tmpfs** (`emptyDir` with `medium: Memory`, what injection creates): `fsync` is a no-op there; nothing survives
//!   a crash anyway. [`Fsync::Never`].
//! * **disk-backed `emptyDir`**: it dies with its pod, and a restarted sidecar byte-compares the version on disk with
//!   the API's data before its first publish and before reporting ready (step 1 without memory), so a version torn
//!   by a power cut is replaced before the app is started (the startupProbe on `/readyz`). Durability buys nothing
//!   here: [`Fsync::Never`], the default.
//! * **a target that must survive a crash on its own** (hostPath, a persistent volume read before the sidecar runs):
//!   `--fsync always` ([`Fsync::Always`]): new files and directories are `fsync`ed before the swap, the rename after
//!   it, and the old version is removed only once the rename is durable, so after a crash `..data` points at a
//!   complete version whichever rename survived.
//! * **the encrypted cache** ([`crate::cache`]) is read precisely after a restart: it is always written with
//!   [`write_file_atomic`], which `fsync`s the file and its directory.
//!
//! * **per source**: every source directory follows the policy on its own (its files, its version directory and
//!   its `..data` rename), and `<dir>` itself is `fsync`ed when a source directory is created or removed.
//!
//! # Guarantees
//! A reader that resolves a directory's `..data` once sees one complete version of that directory: never a
//! half-written file, never a mix of two versions, even when many of its files change in one publish. In the default
//! layout that directory is one source's ([`sources`] says what holds across sources: nothing, they switch one after
//! the other). Any failure before step 4 (disk full, permission denied, a foreign entry in the way) removes what this
//! attempt created and leaves the directory's published version untouched.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::render::{FileEntry, RelPath};

/// The symlink that points at the current version.
pub const DATA_LINK: &str = "..data";
/// The temporary symlink renamed over [`DATA_LINK`].
pub const DATA_TMP_LINK: &str = "..data_tmp";

/// Whether a publish `fsync`s what it writes; see the module docs for the policy per target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fsync {
    /// Never (tmpfs, `emptyDir`): what the kubelet does for projected volumes.
    #[default]
    Never,
    /// New files, directories and the `..data` rename are made durable.
    Always,
}

impl std::str::FromStr for Fsync {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "never" => Ok(Self::Never),
            "always" => Ok(Self::Always),
            other => Err(format!(
                "unknown fsync policy {other:?}: give never or always"
            )),
        }
    }
}

/// The version this writer published last and its payload (values shared with the snapshots).
#[derive(Debug)]
struct Remembered {
    version: String,
    files: BTreeMap<RelPath, FileEntry>,
}

/// How the files of a new version came to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filled {
    /// Files written (changed or new).
    pub written: usize,
    /// Files hard-linked from the previous version (unchanged).
    pub linked: usize,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    /// The payload equals the published version; nothing was written.
    Unchanged,
    /// A new version is visible.
    Published {
        /// The name of the new timestamped directory.
        version: String,
    },
}

/// Why a publish failed. The previously published version is intact in every case.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target directory could not be created or read.
    #[error("prepare target directory {path}: {source}")]
    PrepareTarget {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The published version could not be read for comparison.
    #[error("read published version {path}: {source}")]
    ReadPublished {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating or filling the new version failed (disk full, permission denied, ...).
    #[error("write new version {path}: {source}")]
    WriteVersion {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An entry that is not our `..data` link occupies a user-visible name.
    #[error("{path} exists and is not a link through ..data; refusing to replace it")]
    ForeignEntry {
        /// The occupied path.
        path: PathBuf,
    },
    /// Replacing or removing one file (`--publish files`) failed; files already replaced stay whole.
    #[error("replace file {path}: {source}")]
    ReplaceFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file of the per-source layout is not inside a source directory (a one-element path).
    #[error("{path} is not inside a source directory")]
    SplitSources {
        /// The file's path.
        path: PathBuf,
    },
    /// Creating a user-visible link or swapping `..data` failed.
    #[error("switch to the new version at {path}: {source}")]
    Switch {
        /// The link.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Publishes complete versions of a file set into one directory. Clones share the memory of the last publish, so
/// keep one writer (or its clones) per directory for the life of the process.
#[derive(Debug, Clone)]
pub struct AtomicWriter {
    dir: PathBuf,
    fsync: Fsync,
    last: Arc<Mutex<Option<Remembered>>>,
}

impl AtomicWriter {
    /// A writer for `dir` (created on first publish) that never `fsync`s.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fsync: Fsync::Never,
            last: Arc::default(),
        }
    }

    /// The same writer with the `fsync` policy `fsync`.
    #[must_use]
    pub fn with_fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// The target directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Check, at start, that the target directory can be created and written to: create it, then create and
    /// remove a probe file in it. A sidecar that cannot write its target has nothing to serve, so the caller
    /// exits at once instead of retrying forever.
    ///
    /// # Errors
    /// [`WriteError::PrepareTarget`] naming the directory and the OS error (e.g. permission denied).
    pub fn check_writable(&self) -> Result<(), WriteError> {
        let failed = |source| WriteError::PrepareTarget {
            path: self.dir.clone(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(failed)?;
        tempfile::Builder::new()
            .prefix("..probe.")
            .tempfile_in(&self.dir)
            .map_err(failed)?;
        Ok(())
    }

    /// Publish `files` as one version and clean up; see the module docs.
    ///
    /// # Errors
    /// [`WriteError`]; the previous version stays published and this attempt's leftovers are removed.
    pub fn publish(&self, files: &BTreeMap<RelPath, FileEntry>) -> Result<Publish, WriteError> {
        Ok(match self.swap(files)? {
            None => Publish::Unchanged,
            Some(swapped) => {
                let version = swapped.version.clone();
                swapped.finish();
                Publish::Published { version }
            }
        })
    }

    /// Steps 1–4 of the module docs: returns right after the `..data` rename (`None`: the payload was already
    /// published). The new version is visible and complete on disk; the caller must call [`Swapped::finish`]
    /// before the next publish.
    ///
    /// # Errors
    /// [`WriteError`]; the previous version stays published and this attempt's leftovers are removed.
    pub fn swap(
        &self,
        files: &BTreeMap<RelPath, FileEntry>,
    ) -> Result<Option<Swapped>, WriteError> {
        fs::create_dir_all(&self.dir).map_err(|source| WriteError::PrepareTarget {
            path: self.dir.clone(),
            source,
        })?;
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let old_version = self.current_version()?;
        let remembered = last
            .as_ref()
            .filter(|r| old_version.as_deref() == Some(r.version.as_str()));
        match (&old_version, remembered) {
            (Some(_), Some(remembered)) if remembered.files == *files => return Ok(None),
            (Some(old), None) if self.is_published(old, files) => {
                *last = Some(Remembered {
                    version: old.clone(),
                    files: files.clone(),
                });
                return Ok(None);
            }
            _ => {}
        }
        let reuse = remembered.map(|r| (self.dir.join(&r.version), &r.files));
        let (new_dir, filled) = self.write_version(files, reuse)?;
        let visible: BTreeSet<&str> = files.keys().map(RelPath::first_element).collect();
        let created = self.create_visible_links(&visible)?;
        let version = file_name(new_dir.path());
        if let Err(error) = self.swap_data_link(&version) {
            remove_links(&created);
            return Err(error);
        }
        let swapped_at = Instant::now();
        let _kept = new_dir.keep();
        let previous = last.replace(Remembered {
            version: version.clone(),
            files: files.clone(),
        });
        Ok(Some(Swapped {
            retire: vec![Retire {
                writer: self.clone(),
                visible: visible.into_iter().map(str::to_owned).collect(),
                old_version,
                version: version.clone(),
            }],
            removed: Vec::new(),
            parent_changed: None,
            replaced: previous.into_iter().map(|r| Arc::new(r.files)).collect(),
            version,
            filled,
            swapped_at,
        }))
    }

    /// The name of the directory `..data` points to, if any version is published.
    ///
    /// # Errors
    /// [`WriteError::ReadPublished`] when `..data` exists but cannot be read as a link.
    pub fn current_version(&self) -> Result<Option<String>, WriteError> {
        let link = self.dir.join(DATA_LINK);
        match fs::read_link(&link) {
            Ok(target) => Ok(Some(target.to_string_lossy().into_owned())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(WriteError::ReadPublished { path: link, source }),
        }
    }

    /// Every file of the published version (empty when nothing is published).
    ///
    /// # Errors
    /// [`WriteError::ReadPublished`] when a file cannot be read or has a name that is not a valid [`RelPath`].
    pub fn read_published(&self) -> Result<BTreeMap<RelPath, FileEntry>, WriteError> {
        let Some(version) = self.current_version()? else {
            return Ok(BTreeMap::new());
        };
        published::read(&self.dir.join(version))
    }

    /// Whether `files` equal the published version `version` byte for byte (an unreadable version counts as
    /// different).
    fn is_published(&self, version: &str, files: &BTreeMap<RelPath, FileEntry>) -> bool {
        match published::equals(&self.dir.join(version), files) {
            Ok(equal) => equal,
            Err(error) => {
                tracing::warn!(%error, "published version unreadable; writing a new one");
                false
            }
        }
    }

    /// Fill a new version directory: unchanged files (same path, mode and bytes as in `reuse`, the previous version's
    /// directory and payload) are hard-linked, the others written.
    fn write_version(
        &self,
        files: &BTreeMap<RelPath, FileEntry>,
        reuse: Option<(PathBuf, &BTreeMap<RelPath, FileEntry>)>,
    ) -> Result<(tempfile::TempDir, Filled), WriteError> {
        let prefix = format!(
            "..{}.",
            jiff::Timestamp::now().strftime("%Y_%m_%d_%H_%M_%S")
        );
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WriteError::WriteVersion { path, source }
        };
        let new_dir = tempfile::Builder::new()
            .prefix(&prefix)
            .rand_bytes(6)
            .tempdir_in(&self.dir)
            .map_err(failed(&self.dir))?;
        let root = new_dir.path();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).map_err(failed(root))?;
        let mut dirs = BTreeSet::from([root.to_path_buf()]);
        let mut filled = Filled::default();
        for (path, entry) in files {
            let target = root.join(path.as_str());
            if let Some(parent) = target.parent().filter(|p| !dirs.contains(*p)) {
                fs::create_dir_all(parent).map_err(failed(parent))?;
                fs::set_permissions(parent, fs::Permissions::from_mode(0o755))
                    .map_err(failed(parent))?;
                dirs.insert(parent.to_path_buf());
            }
            let old = reuse
                .as_ref()
                .filter(|(_, previous)| previous.get(path) == Some(entry))
                .map(|(old_root, _)| old_root.join(path.as_str()));
            // A link that fails (the old file was removed by hand, a link limit) falls back to a write.
            if old.is_some_and(|old| fs::hard_link(old, &target).is_ok()) {
                filled.linked += 1;
                continue;
            }
            write_file(&target, entry, self.fsync).map_err(failed(&target))?;
            filled.written += 1;
        }
        if self.fsync == Fsync::Always {
            for dir in dirs.iter().rev() {
                sync_dir(dir).map_err(failed(dir))?;
            }
        }
        Ok((new_dir, filled))
    }

    /// Create `name -> ..data/name` for each visible name that has no link yet; returns the links created.
    fn create_visible_links(&self, visible: &BTreeSet<&str>) -> Result<Vec<PathBuf>, WriteError> {
        let mut created = Vec::new();
        for name in visible {
            let path = self.dir.join(name);
            let wanted = Path::new(DATA_LINK).join(name);
            let outcome = match fs::symlink_metadata(&path) {
                Ok(_) if fs::read_link(&path).is_ok_and(|target| target == wanted) => Ok(()),
                Ok(_) => Err(WriteError::ForeignEntry { path: path.clone() }),
                Err(error) if error.kind() == io::ErrorKind::NotFound => symlink(&wanted, &path)
                    .map(|()| created.push(path.clone()))
                    .map_err(|source| WriteError::Switch {
                        path: path.clone(),
                        source,
                    }),
                Err(source) => Err(WriteError::Switch {
                    path: path.clone(),
                    source,
                }),
            };
            if let Err(error) = outcome {
                remove_links(&created);
                return Err(error);
            }
        }
        Ok(created)
    }

    fn swap_data_link(&self, version: &str) -> Result<(), WriteError> {
        let tmp = self.dir.join(DATA_TMP_LINK);
        let switch = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WriteError::Switch { path, source }
        };
        match fs::remove_file(&tmp) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(switch(&tmp)(error));
            }
            _ => {}
        }
        symlink(version, &tmp).map_err(switch(&tmp))?;
        let data = self.dir.join(DATA_LINK);
        fs::rename(&tmp, &data).map_err(switch(&data))
    }

    /// Remove stale visible links and every version older than `previous` (the one just replaced, kept until the
    /// next publish so that a reader that resolved `..data` just before the swap can finish its read). Failures here
    /// are logged: the new version is already live.
    fn cleanup(&self, visible: &BTreeSet<String>, current: &str, previous: Option<&str>) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut retired = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_version_name(&name) {
                if name != current && Some(name.as_str()) != previous {
                    retired.push(entry.path());
                }
                continue;
            }
            let ours =
                fs::read_link(entry.path()).is_ok_and(|t| t == Path::new(DATA_LINK).join(&name));
            let stale = !name.starts_with("..") && ours && !visible.contains(name.as_str());
            if let Err(error) = stale.then(|| fs::remove_file(entry.path())).transpose() {
                tracing::warn!(%error, name, "could not remove stale link");
            }
        }
        match self.fsync {
            Fsync::Always => {
                remove_versions(&retired);
                if let Err(error) = sync_dir(&self.dir) {
                    tracing::warn!(%error, "could not fsync target directory");
                }
            }
            // Off the publish path: the names were listed above, so a version created later is never touched, and
            // one left half-removed by an exit is found by the next listing.
            Fsync::Never if !retired.is_empty() => {
                std::thread::spawn(move || remove_versions(&retired));
            }
            Fsync::Never => {}
        }
    }
}

fn remove_versions(retired: &[PathBuf]) {
    for path in retired {
        if let Err(error) = fs::remove_dir_all(path) {
            tracing::warn!(%error, path = %path.display(), "could not remove a retired version");
        }
    }
}

/// Whether `name` is a version directory's name: `..` then the timestamp (`..2026_11_27_01_30_00.Ab3xYz`).
fn is_version_name(name: &str) -> bool {
    name.strip_prefix("..")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()) && !rest.contains('/'))
}

/// One directory's swap still to be finished: its stale links and retired versions.
#[derive(Debug)]
struct Retire {
    writer: AtomicWriter,
    visible: BTreeSet<String>,
    old_version: Option<String>,
    version: String,
}

/// What [`AtomicWriter::swap`] (one directory) or [`SourceWriter::swap`] (one directory per changed source) made
/// visible, whose old versions are still on disk.
#[derive(Debug)]
#[must_use = "call finish() to make the swap durable and remove retired versions"]
pub struct Swapped {
    retire: Vec<Retire>,
    /// Directories of removed sources, already renamed to hidden names: deleted by [`Swapped::finish`].
    removed: Vec<PathBuf>,
    /// The target directory when sources were added or removed in it (`fsync`ed by `finish` with
    /// [`Fsync::Always`]).
    parent_changed: Option<(PathBuf, Fsync)>,
    /// Payloads the writer no longer remembers, dropped (their bytes wiped) by `finish`, off the way to the notice.
    replaced: Vec<Arc<crate::render::Files>>,
    /// The name of the new timestamped directory (per source: `source/..version`, comma-separated).
    pub version: String,
    /// How many files were written and how many linked from the previous version.
    pub filled: Filled,
    /// When the last `..data` rename returned (files visible).
    pub swapped_at: Instant,
}

impl Swapped {
    /// Step 5 of the module docs: with [`Fsync::Always`], `fsync` each swapped directory so the rename is durable;
    /// then remove stale links and the versions before the one just replaced, and the directories of removed
    /// sources. Failures are logged: the new version is already live.
    pub fn finish(self) {
        for retire in self.retire {
            if retire.writer.fsync == Fsync::Always
                && let Err(error) = sync_dir(&retire.writer.dir)
            {
                tracing::warn!(%error, "could not fsync target directory after the swap");
            }
            retire.writer.cleanup(
                &retire.visible,
                &retire.version,
                retire.old_version.as_deref(),
            );
        }
        match self.parent_changed {
            Some((parent, Fsync::Always)) => {
                remove_versions(&self.removed);
                if let Err(error) = sync_dir(&parent) {
                    tracing::warn!(%error, "could not fsync target directory");
                }
            }
            _ if !self.removed.is_empty() => {
                let removed = self.removed;
                std::thread::spawn(move || remove_versions(&removed));
            }
            _ => {}
        }
    }
}

/// Replace the single file `path` atomically: write a temporary file beside it, `chmod`, `fsync`, `rename` over
/// `path`, then `fsync` the directory. Readers see the old or the new content, never a partial file.
///
/// # Errors
/// The I/O error; `path` is unchanged when it happens before the rename.
pub fn write_file_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    configsync_core::atomic::write_file(path, bytes, mode)
}

fn write_file(path: &Path, entry: &FileEntry, fsync: Fsync) -> io::Result<()> {
    let mut file = fs::File::create_new(path)?;
    file.write_all(entry.bytes.as_bytes())?;
    file.set_permissions(fs::Permissions::from_mode(entry.mode))?;
    match fsync {
        Fsync::Always => file.sync_all(),
        Fsync::Never => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

fn remove_links(links: &[PathBuf]) {
    for link in links {
        if let Err(error) = fs::remove_file(link) {
            tracing::warn!(%error, link = %link.display(), "could not remove link created by a failed publish");
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub mod files;
#[cfg(test)]
mod link_tests;
mod published;
pub mod sources;
pub use sources::{SourceWriter, SwapWriter};
#[cfg(test)]
mod tests;
