//! The key ring document: a small JSON file, environment variable or Secret entry.
//!
//! ```json
//! {
//!   "version": 1,
//!   "primary": "key-2",
//!   "keys": [
//!     { "id": "key-1", "secret": "<standard base64 of 32 random bytes>" },
//!     { "id": "key-2", "secret": "<standard base64 of 32 random bytes>" }
//!   ]
//! }
//! ```
//!
//! `primary` encrypts every new write; all listed keys decrypt. Files are written atomically with mode `0600`.
//! Parse errors report only a line and column, never the offending text, which could be key material.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{KEY_LEN, Kek, KeyId, KeyRing};
use crate::atomic;

/// The entry of a Kubernetes Secret's `data` that holds the key ring document.
pub const SECRET_DATA_KEY: &str = "keyring.json";
/// The document version this crate reads and writes.
pub const DOCUMENT_VERSION: u32 = 1;

/// Loading, validating or saving a key ring failed. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// A key id is empty, too long or uses characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key id {0:?}: use 1 to 255 characters of [A-Za-z0-9._-]")]
    InvalidKeyId(String),
    /// Two keys share an id.
    #[error("key id {0:?} is already in the key ring")]
    DuplicateKeyId(String),
    /// The primary id names no key.
    #[error("primary key {0:?} is not in the key ring")]
    PrimaryMissing(String),
    /// The primary key cannot be retired.
    #[error("key {0:?} is the primary key; promote another key before retiring it")]
    RetirePrimary(String),
    /// No key has this id.
    #[error("the key ring has no key {0:?}")]
    UnknownKey(String),
    /// A key's secret is not 32 bytes of standard base64.
    #[error("key {id:?} is not 32 bytes encoded as standard base64")]
    InvalidKey {
        /// The key's id.
        id: String,
    },
    /// The document's `version` is not one this build understands.
    #[error("key ring document version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// The document is not JSON of the expected shape.
    #[error(
        "key ring document is not valid (line {line}, column {column}); expected {{\"version\":1,\"primary\":..,\"keys\":[{{\"id\":..,\"secret\":..}}]}}"
    )]
    Parse {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The key file could not be read.
    #[error("cannot read key file {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key file could not be written.
    #[error("cannot write key file {path}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable is unset or not UTF-8.
    #[error("environment variable {0} is not set or not valid UTF-8")]
    ReadEnv(String),
    /// The Secret has no `keyring.json` entry.
    #[error("the Secret's data has no {SECRET_DATA_KEY:?} entry")]
    SecretEntryMissing,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    primary: String,
    keys: Vec<Entry>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    secret: String,
}

impl KeyRing {
    /// Parse a key ring document.
    ///
    /// # Errors
    /// [`KeyRingError::Parse`], [`KeyRingError::UnsupportedVersion`], [`KeyRingError::InvalidKeyId`],
    /// [`KeyRingError::InvalidKey`], [`KeyRingError::DuplicateKeyId`] or [`KeyRingError::PrimaryMissing`].
    pub fn from_json(json: &[u8]) -> Result<Self, KeyRingError> {
        let doc: Document = serde_json::from_slice(json).map_err(|e| KeyRingError::Parse {
            line: e.line(),
            column: e.column(),
        })?;
        if doc.version != DOCUMENT_VERSION {
            return Err(KeyRingError::UnsupportedVersion(doc.version));
        }
        let mut keys = BTreeMap::new();
        for entry in &doc.keys {
            let id = KeyId::new(entry.id.clone())?;
            let kek = decode_kek(&entry.secret).ok_or_else(|| KeyRingError::InvalidKey {
                id: entry.id.clone(),
            })?;
            if keys.insert(id, kek).is_some() {
                return Err(KeyRingError::DuplicateKeyId(entry.id.clone()));
            }
        }
        Self::from_keys(KeyId::new(doc.primary.clone())?, keys)
    }

    /// Serialize to a pretty-printed document. The result holds key material and is zeroized on drop.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let keys = self.iter().map(|(id, kek)| Entry {
            id: id.to_string(),
            secret: STANDARD.encode(kek.expose()),
        });
        let doc = Document {
            version: DOCUMENT_VERSION,
            primary: self.primary_id().to_string(),
            keys: keys.collect(),
        };
        // Serializing strings and integers into a Vec cannot fail.
        let mut json = Zeroizing::new(serde_json::to_vec_pretty(&doc).unwrap_or_default());
        json.push(b'\n');
        json
    }

    /// Load from a key file.
    ///
    /// # Errors
    /// [`KeyRingError::ReadFile`] or any [`KeyRing::from_json`] error.
    pub fn load_file(path: &Path) -> Result<Self, KeyRingError> {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777), "key file is readable by group or others; use mode 0600");
        }
        let bytes =
            Zeroizing::new(
                std::fs::read(path).map_err(|source| KeyRingError::ReadFile {
                    path: path.to_owned(),
                    source,
                })?,
            );
        Self::from_json(&bytes)
    }

    /// Load from the document held in environment variable `var`.
    ///
    /// # Errors
    /// [`KeyRingError::ReadEnv`] or any [`KeyRing::from_json`] error.
    pub fn from_env(var: &str) -> Result<Self, KeyRingError> {
        let value =
            Zeroizing::new(std::env::var(var).map_err(|_| KeyRingError::ReadEnv(var.to_owned()))?);
        Self::from_json(value.as_bytes())
    }

    /// Load from a Kubernetes Secret's decoded `data` map: the document is the [`SECRET_DATA_KEY`] entry.
    ///
    /// # Errors
    /// [`KeyRingError::SecretEntryMissing`] or any [`KeyRing::from_json`] error.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, KeyRingError> {
        Self::from_json(
            data.get(SECRET_DATA_KEY)
                .ok_or(KeyRingError::SecretEntryMissing)?,
        )
    }

    /// Write the key file atomically (temp file, fsync, rename, fsync dir) with mode `0600`.
    ///
    /// # Errors
    /// [`KeyRingError::WriteFile`].
    pub fn save_file(&self, path: &Path) -> Result<(), KeyRingError> {
        atomic::write_file(path, &self.to_json(), 0o600).map_err(|source| KeyRingError::WriteFile {
            path: path.to_owned(),
            source,
        })
    }
}

fn decode_kek(secret: &str) -> Option<Kek> {
    let bytes = Zeroizing::new(STANDARD.decode(secret).ok()?);
    let array: &[u8; KEY_LEN] = bytes.as_slice().try_into().ok()?;
    Some(Kek::from_bytes(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn doc(primary: &str, keys: &[(&str, &str)]) -> String {
        let keys: Vec<String> = keys
            .iter()
            .map(|(id, s)| format!(r#"{{"id":"{id}","secret":"{s}"}}"#))
            .collect();
        format!(
            r#"{{"version":1,"primary":"{primary}","keys":[{}]}}"#,
            keys.join(",")
        )
    }

    #[test]
    fn parses_and_round_trips() {
        let ring = KeyRing::from_json(doc("a", &[("a", KEY_A)]).as_bytes()).expect("parses");
        assert_eq!(ring.primary_id().as_str(), "a");
        assert_eq!(ring.kek("a").map(|k| k.expose()[31]), Some(31));
        let again = KeyRing::from_json(&ring.to_json()).expect("round trips");
        assert_eq!(
            again.kek("a").map(Kek::expose),
            ring.kek("a").map(Kek::expose)
        );
    }

    #[test]
    fn rejects_bad_documents_without_echoing_secrets() {
        let cases = [
            (doc("b", &[("a", KEY_A)]), "not in the key ring"),
            (
                doc("a", &[("a", KEY_A), ("a", KEY_A)]),
                "already in the key ring",
            ),
            (doc("a", &[("a", "c2hvcnQ=")]), "not 32 bytes"),
            (doc("a/b", &[("a/b", KEY_A)]), "invalid key id"),
            (
                doc("a", &[("a", KEY_A)]).replace("\"version\":1", "\"version\":2"),
                "version 2",
            ),
            (format!("{{\"secret\":\"{KEY_A}\""), "line 1"),
            (
                doc("a", &[("a", KEY_A)]).replace("\"secret\"", "\"secrit\""),
                "not valid",
            ),
        ];
        for (json, expected) in cases {
            let err = KeyRing::from_json(json.as_bytes())
                .expect_err("must be rejected")
                .to_string();
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
            assert!(
                !err.contains(KEY_A) && !err.contains("c2hvcnQ"),
                "{err:?} leaks a key"
            );
        }
    }

    #[test]
    fn loads_from_secret_data_and_env() {
        let data = BTreeMap::from([(
            SECRET_DATA_KEY.to_owned(),
            doc("a", &[("a", KEY_A)]).into_bytes(),
        )]);
        assert_eq!(
            KeyRing::from_secret_data(&data)
                .expect("loads")
                .primary_id()
                .as_str(),
            "a"
        );
        assert!(matches!(
            KeyRing::from_secret_data(&BTreeMap::new()),
            Err(KeyRingError::SecretEntryMissing)
        ));
        let missing = "CONFIGSYNC_TEST_KEYRING_THAT_IS_NEVER_SET";
        assert!(matches!(
            KeyRing::from_env(missing),
            Err(KeyRingError::ReadEnv(_))
        ));
    }

    #[test]
    fn saves_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        let ring = KeyRing::generate(None);
        ring.save_file(&path).expect("saves");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = KeyRing::load_file(&path).expect("loads");
        assert_eq!(
            loaded.kek("key-1").map(Kek::expose),
            ring.kek("key-1").map(Kek::expose)
        );
    }
}
