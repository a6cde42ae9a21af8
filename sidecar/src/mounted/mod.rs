//! Mounted-volume source: a directory holding a mounted ConfigMap or Secret volume, or any plain directory.
//!
//! # Theory of operation
//! Any file-system event in the directory (except pure reads) marks it dirty; the source then re-reads the whole
//! directory and reports a snapshot only if the content differs from the last one. It never interprets the event,
//! so the kubelet's `..data` swap is caught however the platform reports it: a create, a rename or a write
//! (configmap-reload #190, which only accepted a create of `..data`), and a plain directory (hostPath,
//! configmap-reload #79) works the same way. A periodic re-check re-reads anyway, catching events that were missed
//! (overflowed inotify queue, network file systems), and doubles as the heartbeat for the watchdog.
//!
//! Reading: when `..data` exists, it is resolved once and every visible key is read from that one version, so a
//! snapshot never mixes two kubelet updates; if the version disappears mid-read, the read starts over. Entries whose
//! name starts with `..` are the writer's own and are skipped, as are sub-directories.
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{Notify, mpsc};

use crate::atomic::DATA_LINK;
use crate::source::{Source, SourceData, SourceError, SourceEvent, SourceKind, Value};

/// How many times a read restarts when the kubelet swaps versions underneath it.
const READ_ATTEMPTS: usize = 5;

/// A watched directory.
#[derive(Debug, Clone)]
pub struct MountedDir {
    dir: PathBuf,
    kind: SourceKind,
    name: String,
    recheck: Duration,
    events: bool,
}

impl MountedDir {
    /// Watch `dir` as a source of `kind`, named after the directory, re-checked every `recheck`.
    pub fn new(dir: impl Into<PathBuf>, kind: SourceKind, recheck: Duration) -> Self {
        let dir = dir.into();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".into());
        Self {
            dir,
            kind,
            name,
            recheck,
            events: true,
        }
    }

    /// Use `name` as the source name (the per-source sub-directory) instead of the directory's name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Rely on the periodic re-check only (for file systems without change events, such as some network mounts).
    pub fn poll_only(mut self) -> Self {
        self.events = false;
        self
    }

    fn snapshot(&self) -> Result<SourceData, SourceError> {
        let data = read_mounted(&self.dir).map_err(|source| SourceError::Read {
            what: self.describe(),
            source,
        })?;
        Ok(SourceData {
            kind: self.kind,
            namespace: String::new(),
            name: self.name.clone(),
            data,
        })
    }

    fn watch(
        &self,
        dirty: Arc<Notify>,
        failure: Arc<Mutex<Option<String>>>,
    ) -> Result<impl Watcher, SourceError> {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                match event {
                    Ok(event) if !is_relevant(&event.kind) => return,
                    Ok(_) => {}
                    Err(error) => {
                        if let Ok(mut slot) = failure.lock() {
                            *slot = Some(error.to_string());
                        }
                    }
                }
                dirty.notify_one();
            })
            .map_err(|source| SourceError::Watch {
                what: self.describe(),
                source,
            })?;
        watcher
            .watch(&self.dir, RecursiveMode::NonRecursive)
            .map_err(|source| SourceError::Watch {
                what: self.describe(),
                source,
            })?;
        Ok(watcher)
    }

    async fn run(self, slot: usize, tx: mpsc::Sender<SourceEvent>) -> Result<(), SourceError> {
        let (dirty, failure) = (Arc::new(Notify::new()), Arc::new(Mutex::new(None)));
        let _watcher = if self.events {
            Some(self.watch(Arc::clone(&dirty), Arc::clone(&failure))?)
        } else {
            None
        };
        let mut ticker = tokio::time::interval(self.recheck);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<std::sync::Arc<SourceData>> = None;
        loop {
            let periodic = tokio::select! {
                () = dirty.notified() => false,
                _ = ticker.tick() => true,
            };
            if let Some(error) = failure.lock().ok().and_then(|mut f| f.take()) {
                return Err(SourceError::Unavailable(format!(
                    "{}: watcher failed: {error}",
                    self.describe()
                )));
            }
            let this = self.clone();
            let current = tokio::task::spawn_blocking(move || this.snapshot())
                .await
                .map_err(|e| {
                    SourceError::Unavailable(format!("{}: read task failed: {e}", self.describe()))
                })??;
            let event = if last.as_deref() != Some(&current) {
                let current = std::sync::Arc::new(current);
                last = Some(std::sync::Arc::clone(&current));
                SourceEvent::Snapshot {
                    slot,
                    snapshot: vec![current],
                }
            } else if periodic {
                SourceEvent::Heartbeat { slot }
            } else {
                continue;
            };
            tx.send(event).await.map_err(|_| SourceError::Closed)?;
        }
    }
}

impl Source for MountedDir {
    fn describe(&self) -> String {
        format!("dir:{}", self.dir.display())
    }

    fn start(
        &self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> BoxFuture<'static, Result<(), SourceError>> {
        Box::pin(self.clone().run(slot, tx))
    }
}

/// Whether an event can mean new content: everything except opening, reading and closing without writing.
pub fn is_relevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Other => true,
    }
}

/// The visible keys of a mounted directory, read from one version (see the module docs).
///
/// # Errors
/// The I/O error when the directory or a file cannot be read.
pub fn read_mounted(dir: &Path) -> io::Result<BTreeMap<String, Value>> {
    let mut last_error = None;
    for _ in 0..READ_ATTEMPTS {
        let base = match fs::read_link(dir.join(DATA_LINK)) {
            Ok(version) => dir.join(version),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return read_visible(dir, false);
            }
            Err(error) => return Err(error),
        };
        match read_visible(&base, true) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => last_error = Some(error),
            other => return other,
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::other("the mounted version kept changing while being read")))
}

/// Read the regular files directly in `dir`. In a published `version` a vanished entry means the version is being
/// removed (an error, so the caller starts over); in a plain directory it is a dangling link or a deleted file.
fn read_visible(dir: &Path, version: bool) -> io::Result<BTreeMap<String, Value>> {
    let mut data = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") {
            continue;
        }
        let path = entry.path();
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                data.insert(name, Value::from(fs::read(&path)?));
            }
            Ok(_) => tracing::debug!(path = %path.display(), "skipping non-file entry"),
            Err(error) if error.kind() == io::ErrorKind::NotFound && !version => {
                tracing::debug!(path = %path.display(), "entry vanished or dangling link; skipping");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
