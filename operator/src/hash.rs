//! Content hashes: per-key digests of a source, and the workload hash over the keys a workload consumes.
//!
//! # Theory of operation
//! ```text
//!  ConfigMap/Secret ──KeyDigests::from_*──► {key → sha256(value)}   (values dropped here)
//!                                                   │
//!  [SourceRef] (consumed keys) ──workload_hash──────┴──► "v1:<sha256 hex of the canonical encoding>"
//! ```
//! Only digests are kept, so memory grows with the number of keys, not with their size, and Secret values
//! never outlive the call that hashed them. The workload hash is computed from digests alone.
//!
//! # Canonical encoding, version `v1` (pinned by golden tests: changing it rolls every workload)
//! `lp(x)` is `x`'s length as a big-endian `u64` followed by `x`; counts are big-endian `u64`.
//! ```text
//!  lp("configsync.dev/config-hash") lp("v1") count(sources)
//!  per source, sorted by (kind, name):   lp(kind) lp(name) state
//!     state 0x00                          the source is absent (a missing optional source)
//!     state 0x01 count(keys)              present; then per consumed key, sorted by bytes:
//!        lp(key) 0x00                     the key is in neither data nor binaryData
//!        lp(key) 0x01 lp(sha256(value))   the key's value digest
//! ```
//! Every field is length-prefixed and every list counted, so two different contents never encode alike
//! (Reloader's `k=v;` joining collides). `data` and `binaryData` are one key space (the API server forbids
//! a key in both); a value's digest covers its bytes only, so moving a key between them changes nothing the
//! pod sees and nothing here. Sources marked ignored are left out entirely (see `plan::decide_rebaseline`).
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use sha2::{Digest as _, Sha256};

use crate::refs::{ConsumedKeys, SourceId, SourceRef, merge_refs};

/// The version tag of the canonical encoding, the prefix of every [`ConfigHash`].
pub const HASH_VERSION: &str = "v1";

const DOMAIN_TAG: &[u8] = b"configsync.dev/config-hash";
const ABSENT: u8 = 0x00;
const PRESENT: u8 = 0x01;

/// Failures while hashing a workload's sources.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Required (non-optional) sources do not exist; no hash, no rollout.
    #[error("required sources are missing: {}", list(.missing))]
    HashWorkload {
        /// The missing sources, sorted.
        missing: Vec<SourceId>,
    },
}

fn list(ids: &[SourceId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sha256 of one value. `Debug` shows only a prefix, so digests of short Secret values stay out of logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({}…)", to_hex(&self.0[..4]))
    }
}

/// Per-key value digests of one ConfigMap or Secret: all the operator keeps of its content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyDigests(BTreeMap<String, Digest>);

impl KeyDigests {
    /// Digests of `(key, value)` pairs; a later pair for the same key wins.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        Self(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Digest::of(v)))
                .collect(),
        )
    }

    /// `data` and `binaryData` of a ConfigMap.
    pub fn from_config_map(cm: &ConfigMap) -> Self {
        let data = cm
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_bytes()));
        let binary = cm
            .binary_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.0.as_slice()));
        Self::from_entries(data.chain(binary))
    }

    /// `data` of a Secret, overlaid with `stringData` the way the API server merges them.
    pub fn from_secret(secret: &Secret) -> Self {
        let data = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.0.as_slice()));
        let string_data = secret
            .string_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_bytes()));
        Self::from_entries(data.chain(string_data))
    }

    /// The digest of one key's value.
    pub fn get(&self, key: &str) -> Option<&Digest> {
        self.0.get(key)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Keys added, removed or changed between two versions of a source (`None` = the source is absent).
pub fn changed_keys(old: Option<&KeyDigests>, new: Option<&KeyDigests>) -> BTreeSet<String> {
    let empty = KeyDigests::default();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let all: BTreeSet<&String> = old.0.keys().chain(new.0.keys()).collect();
    all.into_iter()
        .filter(|k| old.0.get(*k) != new.0.get(*k))
        .cloned()
        .collect()
}

/// A rendered content hash, `v1:<64 hex digits>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigHash(String);

impl ConfigHash {
    /// The full `v1:<hex>` form written to annotations and status.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for `kubectl get` columns and Event messages.
    pub fn short(&self) -> &str {
        let hex = self
            .0
            .split_once(':')
            .map_or(self.0.as_str(), |(_, hex)| hex);
        hex.get(..12).unwrap_or(hex)
    }
}

impl std::fmt::Display for ConfigHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ConfigHash {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// What the operator knows about one source.
#[derive(Clone, Copy, Debug)]
pub enum SourceContent<'a> {
    /// The source exists; these are its key digests.
    Present(&'a KeyDigests),
    /// The source does not exist.
    Missing,
    /// The source carries `configsync.dev/ignore: "true"`: it counts for nothing.
    Ignored,
}

/// Where [`workload_hash`] finds the digests of a source.
pub trait DigestLookup {
    /// The content of `id` in the workload's namespace.
    fn content(&self, id: &SourceId) -> SourceContent<'_>;
}

impl DigestLookup for BTreeMap<SourceId, KeyDigests> {
    fn content(&self, id: &SourceId) -> SourceContent<'_> {
        self.get(id)
            .map_or(SourceContent::Missing, SourceContent::Present)
    }
}

/// The hash of the keys `refs` consume, from digests alone. Refs to the same source are merged first.
///
/// # Errors
/// [`Error::HashWorkload`] when a required source is missing: the caller warns and does not roll.
pub fn workload_hash(refs: &[SourceRef], lookup: &impl DigestLookup) -> Result<ConfigHash, Error> {
    let merged;
    let refs = if refs.windows(2).all(|pair| pair[0].id < pair[1].id) {
        refs
    } else {
        merged = merge_refs(refs.iter().cloned());
        merged.as_slice()
    };
    let mut counted: BTreeMap<&SourceId, (&ConsumedKeys, Option<&KeyDigests>)> = BTreeMap::new();
    let mut missing = Vec::new();
    for r in refs {
        match lookup.content(&r.id) {
            SourceContent::Ignored => {}
            SourceContent::Present(digests) => {
                counted.insert(&r.id, (&r.keys, Some(digests)));
            }
            SourceContent::Missing if r.optional => {
                counted.insert(&r.id, (&r.keys, None));
            }
            SourceContent::Missing => missing.push(r.id.clone()),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(Error::HashWorkload { missing });
    }
    let mut hasher = Sha256::new();
    encode(
        &mut hasher,
        counted
            .into_iter()
            .map(|(id, (keys, digests))| (id, keys, digests)),
    );
    Ok(render(hasher))
}

/// The hash of the counted keys of one source (`None` = absent), for per-source status.
pub fn source_hash(id: &SourceId, keys: &ConsumedKeys, digests: Option<&KeyDigests>) -> ConfigHash {
    let mut hasher = Sha256::new();
    encode(&mut hasher, [(id, keys, digests)]);
    render(hasher)
}

fn render(hasher: Sha256) -> ConfigHash {
    ConfigHash(format!("{HASH_VERSION}:{}", to_hex(&hasher.finalize())))
}

/// Where the canonical encoding goes: a hasher, or a buffer in tests.
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    fn put_len(&mut self, len: usize) {
        self.put(&(len as u64).to_be_bytes());
    }

    fn put_field(&mut self, bytes: &[u8]) {
        self.put_len(bytes.len());
        self.put(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Write the `v1` encoding. `sources` must be sorted by id and free of duplicates.
fn encode<'a, I>(sink: &mut impl Sink, sources: I)
where
    I: IntoIterator<Item = (&'a SourceId, &'a ConsumedKeys, Option<&'a KeyDigests>)>,
    I::IntoIter: ExactSizeIterator,
{
    let sources = sources.into_iter();
    sink.put_field(DOMAIN_TAG);
    sink.put_field(HASH_VERSION.as_bytes());
    sink.put_len(sources.len());
    for (id, keys, digests) in sources {
        sink.put_field(id.kind.as_str().as_bytes());
        sink.put_field(id.name.as_bytes());
        let Some(digests) = digests else {
            sink.put(&[ABSENT]);
            continue;
        };
        sink.put(&[PRESENT]);
        let counted: Vec<&str> = match keys {
            ConsumedKeys::All => digests.keys().collect(),
            ConsumedKeys::Keys(keys) => keys.iter().map(String::as_str).collect(),
        };
        sink.put_len(counted.len());
        for key in counted {
            sink.put_field(key.as_bytes());
            match digests.get(key) {
                None => sink.put(&[ABSENT]),
                Some(digest) => {
                    sink.put(&[PRESENT]);
                    sink.put_field(&digest.0);
                }
            }
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                HEX[usize::from(b >> 4)] as char,
                HEX[usize::from(b & 0xf)] as char,
            ]
        })
        .collect()
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
