//! A key ring backed by a file that is re-read when the file changes, so rotation needs no restart.
//!
//! Every [`KeyRingFile::current`] call compares the file's (inode, size, mtime) with the last load; on a change it
//! reloads. A file that fails to load keeps the last good ring in service and the error is reported by
//! [`KeyRingFile::last_error`] (the KMS plugin turns it into a failing `healthz`). One `stat` per call is cheap
//! next to a gRPC round trip and needs no watcher thread.
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::{KeyRing, KeyRingError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

#[derive(Debug)]
struct State {
    ring: Arc<KeyRing>,
    stamp: Option<Stamp>,
    last_error: Option<String>,
}

/// A key file and the last key ring successfully loaded from it.
#[derive(Debug)]
pub struct KeyRingFile {
    path: PathBuf,
    state: Mutex<State>,
}

impl KeyRingFile {
    /// Load `path` now.
    ///
    /// # Errors
    /// Any [`KeyRing::load_file`] error: the first load must succeed.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, KeyRingError> {
        let path = path.into();
        let stamp = stamp_of(&path);
        let ring = Arc::new(KeyRing::load_file(&path)?);
        Ok(Self {
            path,
            state: Mutex::new(State {
                ring,
                stamp,
                last_error: None,
            }),
        })
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current key ring, reloaded first if the file changed since the last load.
    pub fn current(&self) -> Arc<KeyRing> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = stamp_of(&self.path);
        if stamp != state.stamp {
            match KeyRing::load_file(&self.path) {
                Ok(ring) => {
                    tracing::info!(path = %self.path.display(), primary = %ring.primary_id(), "reloaded key ring");
                    state.ring = Arc::new(ring);
                    state.stamp = stamp;
                    state.last_error = None;
                }
                Err(error) => {
                    tracing::warn!(path = %self.path.display(), %error, "key ring reload failed; keeping the last good key ring");
                    state.last_error = Some(error.to_string());
                }
            }
        }
        Arc::clone(&state.ring)
    }

    /// Why the last reload failed, if it did (cleared by the next successful load).
    pub fn last_error(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_error
            .clone()
    }
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        inode: meta.ino(),
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_up_rotation_and_survives_a_broken_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        let mut ring = KeyRing::generate(None);
        ring.save_file(&path).expect("save");
        let file = KeyRingFile::open(&path).expect("open");
        assert_eq!(file.current().primary_id().as_str(), "key-1");

        ring.rotate(None).expect("rotate");
        ring.save_file(&path).expect("save rotated");
        assert_eq!(file.current().primary_id().as_str(), "key-2");
        assert_eq!(file.last_error(), None);

        std::fs::write(&path, b"{ not json").expect("break file");
        assert_eq!(
            file.current().primary_id().as_str(),
            "key-2",
            "last good ring stays in service"
        );
        assert!(file.last_error().is_some_and(|e| e.contains("not valid")));

        ring.save_file(&path).expect("repair");
        assert_eq!(file.current().primary_id().as_str(), "key-2");
        assert_eq!(file.last_error(), None);
    }
}
