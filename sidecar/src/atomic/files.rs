//! Per-file publishing (`--publish files`): the layout k8s-sidecar writes, regular files directly in the target.
//!
//! ```text
//! <dir>/board.json          a regular file, replaced by rename(2) when it changes
//! <dir>/Team A/ops.json     folders are real directories
//! ```
//! # What "atomic" means here
//! Each file is written to a hidden temporary file beside it (`.<name>.configsync-tmp`), `chmod`-ed, then renamed
//! over the visible name: a reader opening a file sees either the whole old content or the whole new content, never
//! a torn or missing one (k8s-sidecar writes in place, so a reader can see a truncated file). Files switch one
//! at a time, though: a reader of two files in the middle of a publish can see one old and one new, and nothing
//! like `..data` marks a version. Use the default `--publish swap` when files must change together.
//!
//! Unchanged files are not touched (the writer remembers what it published and compares in one pass, both in path
//! order; after a restart it compares the bytes and mode on disk). Files the writer published and that left the payload are removed, then their directories if
//! empty; files it never published are never removed.
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{Fsync, WriteError};
use crate::render::{FileEntry, Files, RelPath};

/// How the target directory is published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Publish {
    /// Kubelet-style: every file through `..data`, all switched with one rename ([`super::AtomicWriter`]).
    #[default]
    Swap,
    /// k8s-sidecar's layout: regular files, each replaced by its own rename ([`FileWriter`]).
    Files,
}

impl std::str::FromStr for Publish {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "swap" => Ok(Self::Swap),
            "files" => Ok(Self::Files),
            other => Err(format!(
                "unknown publish mode {other:?}: give swap or files"
            )),
        }
    }
}

/// What one publish changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilesChanged {
    /// Files written (new or changed).
    pub written: usize,
    /// Files removed.
    pub removed: usize,
}

/// Publishes files one by one into a directory (see the module docs). Clones share the memory.
#[derive(Debug, Clone)]
pub struct FileWriter {
    dir: PathBuf,
    fsync: Fsync,
    published: Arc<Mutex<Option<Arc<Files>>>>,
}

impl FileWriter {
    /// A writer for `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>, fsync: Fsync) -> Self {
        Self {
            dir: dir.into(),
            fsync,
            published: Arc::default(),
        }
    }

    /// Make the directory hold exactly `files` (plus anything it never published); `None` when nothing changed.
    ///
    /// # Errors
    /// [`WriteError::ReplaceFile`] naming the path that failed; files already replaced stay replaced (each is whole).
    pub fn publish(
        &self,
        files: &BTreeMap<RelPath, FileEntry>,
    ) -> Result<Option<FilesChanged>, WriteError> {
        self.publish_shared(&Arc::new(files.clone()))
    }

    /// [`FileWriter::publish`] of a rendered tree, remembered as it is: one pass over it and the memory, both in
    /// path order (the same `Arc` as last time costs a pointer comparison).
    ///
    /// # Errors
    /// As [`FileWriter::publish`].
    pub fn publish_shared(&self, files: &Arc<Files>) -> Result<Option<FilesChanged>, WriteError> {
        let mut published = self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if published.as_ref().is_some_and(|p| Arc::ptr_eq(p, files)) {
            return Ok(None);
        }
        let mut changed = FilesChanged::default();
        let mut old = published.iter().flat_map(|p| p.iter()).peekable();
        for (path, entry) in files.iter() {
            while let Some((gone, _)) = old.next_if(|(old, _)| *old < path) {
                self.remove(gone)?;
                changed.removed += 1;
            }
            let same = match (&*published, old.next_if(|(old, _)| *old == path)) {
                (Some(_), known) => known.is_some_and(|(_, known)| known == entry),
                (None, _) => on_disk_equals(&self.dir.join(path.as_str()), entry),
            };
            if !same {
                self.replace(path, entry)?;
                changed.written += 1;
            }
        }
        for (gone, _) in old {
            self.remove(gone)?;
            changed.removed += 1;
        }
        *published = Some(Arc::clone(files));
        Ok((changed != FilesChanged::default()).then_some(changed))
    }

    fn replace(&self, path: &RelPath, entry: &FileEntry) -> Result<(), WriteError> {
        let target = self.dir.join(path.as_str());
        let failed = |source: io::Error| WriteError::ReplaceFile {
            path: target.clone(),
            source,
        };
        let parent = target.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent).map_err(failed)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let temporary = parent.join(format!(".{name}.configsync-tmp"));
        let written = (|| {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(entry.bytes.as_bytes())?;
            file.set_permissions(fs::Permissions::from_mode(entry.mode))?;
            if self.fsync == Fsync::Always {
                file.sync_all()?;
            }
            fs::rename(&temporary, &target)?;
            match self.fsync {
                Fsync::Always => fs::File::open(parent)?.sync_all(),
                Fsync::Never => Ok(()),
            }
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map_err(failed)
    }

    fn remove(&self, path: &RelPath) -> Result<(), WriteError> {
        let target = self.dir.join(path.as_str());
        match fs::remove_file(&target) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(WriteError::ReplaceFile {
                    path: target,
                    source: error,
                });
            }
            _ => {}
        }
        // Folders left empty (an object moved by its folder annotation) go too; a non-empty one stays.
        let mut parent = target.parent();
        while let Some(dir) = parent.filter(|d| *d != self.dir && d.starts_with(&self.dir)) {
            if fs::remove_dir(dir).is_err() {
                break;
            }
            parent = dir.parent();
        }
        Ok(())
    }
}

/// Whether `path` is a regular file with `entry`'s mode and bytes.
fn on_disk_equals(path: &Path, entry: &FileEntry) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    meta.is_file()
        && meta.permissions().mode() & 0o7777 == entry.mode
        && meta.len() == entry.bytes.as_bytes().len() as u64
        && fs::read(path).is_ok_and(|bytes| bytes == entry.bytes.as_bytes())
}

#[cfg(test)]
mod tests;
