//! A store: a directory of sealed items, one file per `(namespace, name, key)`.
//!
//! ```text
//! <root>/<namespace>/<name>/<key>.sealed      one sealed object (crate format), mode 0600, dirs 0700
//! <root>/<namespace>/<name>/.<file>.<hex>.tmp an interrupted atomic write: ignored by listings, removed by
//!                                             `remove_temp_files` (and so by `configsync keys reencrypt`)
//! ```
//!
//! The path *is* the identity: the item's authenticated data is rebuilt from the three path components, so a file
//! copied to another path no longer opens. Components are Kubernetes names and keys: 1 to 253 characters of
//! `[A-Za-z0-9._-]`, not `.` or `..`. A user of several kinds (ConfigMaps and Secrets) keeps one root per kind.
//!
//! Every write is atomic ([`crate::atomic`]), so re-encryption can be killed at any point and rerun: items
//! already under the primary key are skipped. Run it while no other writer (the sidecar) rewrites the same root,
//! or a concurrent update can be replaced by the re-encrypted older value.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::atomic;
use crate::cipher::{self, EnvelopeError};
use crate::format::Aad;
use crate::keyring::KeyRing;

/// File name suffix of a sealed item.
pub const SEALED_SUFFIX: &str = ".sealed";

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A namespace, name or key cannot be a path component.
    #[error(
        "invalid item id component {0:?}: use 1 to 253 characters of [A-Za-z0-9._-], not . or .."
    )]
    InvalidComponent(String),
    /// Reading an item or listing the store failed.
    #[error("cannot read {path}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing or removing an item failed.
    #[error("cannot write {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The item exists but cannot be opened or sealed.
    #[error("item {item}: {source}")]
    Envelope {
        /// The item, `namespace/name/key`.
        item: String,
        /// Why.
        #[source]
        source: EnvelopeError,
    },
}

/// The identity of one stored item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId {
    namespace: String,
    name: String,
    key: String,
}

impl ItemId {
    /// Validate and build an id.
    ///
    /// # Errors
    /// [`StoreError::InvalidComponent`] when a part cannot be a path component.
    pub fn new(namespace: &str, name: &str, key: &str) -> Result<Self, StoreError> {
        for part in [namespace, name, key] {
            if !is_valid_component(part) {
                return Err(StoreError::InvalidComponent(part.to_owned()));
            }
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The authenticated data binding a sealed item to this id.
    pub fn aad(&self) -> Aad<'_> {
        Aad::new(&self.namespace, &self.name, &self.key)
    }
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.namespace, self.name, self.key)
    }
}

fn is_valid_component(part: &str) -> bool {
    (1..=253).contains(&part.len())
        && part != "."
        && part != ".."
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Which key protects an item, relative to a key ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Sealed under the ring's primary key.
    Current(String),
    /// Sealed under an older key the ring still holds: `reencrypt` will move it.
    Stale(String),
    /// Sealed under a key the ring does not hold: unreadable until that key is added.
    UnknownKey(String),
    /// Not a sealed object of a known format.
    UnknownFormat,
}

/// Classify sealed bytes against `keyring` from the header alone (no decryption).
pub fn key_state(keyring: &KeyRing, sealed: &[u8]) -> KeyState {
    match cipher::key_id_of(sealed) {
        Ok(id) if id == keyring.primary_id().as_str() => KeyState::Current(id.to_owned()),
        Ok(id) if keyring.contains(id) => KeyState::Stale(id.to_owned()),
        Ok(id) => KeyState::UnknownKey(id.to_owned()),
        Err(_) => KeyState::UnknownFormat,
    }
}

/// What [`Store::reencrypt_item`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reencrypted {
    /// Already under the primary key; untouched.
    AlreadyCurrent,
    /// Rewritten under the primary key; the old key id.
    Moved {
        /// Key id the item was sealed under before.
        from: String,
    },
}

/// A directory of sealed items. See the module docs for the layout.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding item `id`.
    pub fn path_of(&self, id: &ItemId) -> PathBuf {
        self.root
            .join(&id.namespace)
            .join(&id.name)
            .join(format!("{}{SEALED_SUFFIX}", id.key))
    }

    /// Seal `plaintext` under the primary key and write it atomically.
    ///
    /// # Errors
    /// [`StoreError::Envelope`] or [`StoreError::Write`]; the previous item, if any, is intact.
    pub fn put(&self, keyring: &KeyRing, id: &ItemId, plaintext: &[u8]) -> Result<(), StoreError> {
        let sealed =
            cipher::seal(keyring, &id.aad(), plaintext).map_err(|e| envelope_error(id, e))?;
        self.write_sealed(id, &sealed)
    }

    /// Read and open item `id`; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError::Read`], or [`StoreError::Envelope`] for a corrupt, tampered, moved or unknown-key item.
    pub fn get(
        &self,
        keyring: &KeyRing,
        id: &ItemId,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let Some(sealed) = self.read_sealed(id)? else {
            return Ok(None);
        };
        cipher::open(keyring, &id.aad(), &sealed)
            .map(Some)
            .map_err(|e| envelope_error(id, e))
    }

    /// The raw sealed bytes of `id`; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn read_sealed(&self, id: &ItemId) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(id);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Read { path, source }),
        }
    }

    /// Atomically replace item `id` with already-sealed bytes.
    ///
    /// # Errors
    /// [`StoreError::Write`].
    pub fn write_sealed(&self, id: &ItemId, sealed: &[u8]) -> Result<(), StoreError> {
        let path = self.path_of(id);
        let dir = path.parent().unwrap_or(&self.root);
        create_private_dirs(dir).map_err(|source| StoreError::Write {
            path: dir.to_owned(),
            source,
        })?;
        atomic::write_file(&path, sealed, 0o600)
            .map_err(|source| StoreError::Write { path, source })
    }

    /// Remove item `id`; removing a missing item succeeds.
    ///
    /// # Errors
    /// [`StoreError::Write`].
    pub fn remove(&self, id: &ItemId) -> Result<(), StoreError> {
        let path = self.path_of(id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(StoreError::Write { path, source: e })
            }
            _ => Ok(()),
        }
    }

    /// Every item, sorted. Temp files and files not matching the layout are skipped. A missing root is empty.
    ///
    /// # Errors
    /// [`StoreError::Read`] when a directory cannot be listed.
    pub fn list(&self) -> Result<Vec<ItemId>, StoreError> {
        let mut items = Vec::new();
        for (namespace, ns_dir) in subdirs(&self.root)? {
            for (name, name_dir) in subdirs(&ns_dir)? {
                for file in entries(&name_dir)? {
                    let key = file.strip_suffix(SEALED_SUFFIX).unwrap_or_default();
                    if let Ok(id) = ItemId::new(&namespace, &name, key) {
                        items.push(id);
                    }
                }
            }
        }
        items.sort();
        Ok(items)
    }

    /// Each item with the key that protects it.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn status(&self, keyring: &KeyRing) -> Result<Vec<(ItemId, KeyState)>, StoreError> {
        let mut out = Vec::new();
        for id in self.list()? {
            if let Some(sealed) = self.read_sealed(&id)? {
                out.push((id, key_state(keyring, &sealed)));
            }
        }
        Ok(out)
    }

    /// Move item `id` to the primary key: open with its old key, seal with the primary, replace atomically.
    ///
    /// # Errors
    /// [`StoreError::Read`]/[`StoreError::Write`], or [`StoreError::Envelope`] when the item cannot be opened
    /// (unknown key, tampered); the item is then left untouched.
    pub fn reencrypt_item(
        &self,
        keyring: &KeyRing,
        id: &ItemId,
    ) -> Result<Reencrypted, StoreError> {
        let Some(sealed) = self.read_sealed(id)? else {
            return Ok(Reencrypted::AlreadyCurrent);
        };
        let from = cipher::key_id_of(&sealed).map_err(|e| envelope_error(id, e))?;
        if from == keyring.primary_id().as_str() {
            return Ok(Reencrypted::AlreadyCurrent);
        }
        let plaintext =
            cipher::open(keyring, &id.aad(), &sealed).map_err(|e| envelope_error(id, e))?;
        let resealed =
            cipher::seal(keyring, &id.aad(), &plaintext).map_err(|e| envelope_error(id, e))?;
        self.write_sealed(id, &resealed)?;
        Ok(Reencrypted::Moved {
            from: from.to_owned(),
        })
    }

    /// Delete temp files left by interrupted writes; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Read`] or [`StoreError::Write`].
    pub fn remove_temp_files(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for (_, ns_dir) in subdirs(&self.root)? {
            for (_, name_dir) in subdirs(&ns_dir)? {
                for file in entries(&name_dir)?
                    .into_iter()
                    .filter(|f| atomic::is_temp_file(f))
                {
                    let path = name_dir.join(file);
                    fs::remove_file(&path).map_err(|source| StoreError::Write { path, source })?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn envelope_error(id: &ItemId, source: EnvelopeError) -> StoreError {
    StoreError::Envelope {
        item: id.to_string(),
        source,
    }
}

fn create_private_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Names of the entries of `dir` (UTF-8 only); a missing dir has none.
fn entries(dir: &Path) -> Result<Vec<String>, StoreError> {
    let read_err = |source| StoreError::Read {
        path: dir.to_owned(),
        source,
    };
    let iter = match fs::read_dir(dir) {
        Ok(iter) => iter,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(e)),
    };
    let mut names = Vec::new();
    for entry in iter {
        if let Ok(name) = entry.map_err(read_err)?.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

/// Valid-component subdirectories of `dir` with their paths.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let names = entries(dir)?.into_iter().filter(|n| is_valid_component(n));
    Ok(names
        .map(|n| (dir.join(&n), n))
        .filter(|(p, _)| p.is_dir())
        .map(|(p, n)| (n, p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_id(key: &str) -> ItemId {
        ItemId::new("ns", "app", key).expect("valid id")
    }

    #[test]
    fn rejects_path_unsafe_components() {
        for bad in ["", ".", "..", "a/b", "a\0b", "ä"] {
            assert!(ItemId::new("ns", bad, "k").is_err(), "{bad:?} accepted");
        }
        assert!(ItemId::new("ns", "app", "..data").is_ok());
    }

    #[test]
    fn put_get_list_and_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path().join("cache"));
        let ring = KeyRing::generate(None);
        assert_eq!(store.list().expect("empty"), vec![]);
        store.put(&ring, &mk_id("b"), b"two").expect("put");
        store.put(&ring, &mk_id("a"), b"one").expect("put");
        assert_eq!(store.list().expect("list"), vec![mk_id("a"), mk_id("b")]);
        assert_eq!(
            store
                .get(&ring, &mk_id("a"))
                .expect("get")
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"one"[..])
        );
        let on_disk = fs::read(dir.path().join("cache/ns/app/a.sealed")).expect("file exists");
        assert!(!on_disk.windows(3).any(|w| w == b"one"));
        store.remove(&mk_id("a")).expect("remove");
        assert_eq!(
            store.get(&ring, &mk_id("a")).expect("get").map(|v| v.len()),
            None
        );
    }

    #[test]
    fn a_file_moved_to_another_identity_does_not_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        let ring = KeyRing::generate(None);
        store.put(&ring, &mk_id("a"), b"secret").expect("put");
        fs::rename(store.path_of(&mk_id("a")), store.path_of(&mk_id("b"))).expect("move");
        let err = store
            .get(&ring, &mk_id("b"))
            .expect_err("moved item must not open");
        assert!(matches!(
            err,
            StoreError::Envelope {
                source: EnvelopeError::DecryptionFailed,
                ..
            }
        ));
    }
}
