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
///
/// Stored flat, sorted by key bytes: every key in one string, one `(end of key, digest)` entry per key.
/// That is two allocations per source whatever its key count, and the encoder walks it in order with
/// no lookups.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyDigests {
    names: String,
    entries: Vec<(usize, Digest)>,
}

impl KeyDigests {
    /// Digests of `(key, value)` pairs; a later pair for the same key wins.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut pairs: Vec<(&str, &[u8])> = entries.into_iter().collect();
        if !pairs.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            // Reversed, a stable sort puts the last pair of each key first, and dedup keeps the first.
            pairs.reverse();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            pairs.dedup_by(|later, kept| later.0 == kept.0);
        }
        let mut names = String::with_capacity(pairs.iter().map(|(key, _)| key.len()).sum());
        let entries = pairs
            .iter()
            .map(|(key, value)| {
                names.push_str(key);
                (names.len(), Digest::of(value))
            })
            .collect();
        Self { names, entries }
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
        let (mut low, mut high) = (0, self.entries.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.key(mid).cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return self.entries.get(mid).map(|(_, d)| d),
            }
        }
        None
    }

    /// Key `i` in sorted order (empty past the end).
    fn key(&self, i: usize) -> &str {
        let start = i
            .checked_sub(1)
            .and_then(|previous| self.entries.get(previous))
            .map_or(0, |(end, _)| *end);
        let end = self.entries.get(i).map_or(start, |(end, _)| *end);
        self.names.get(start..end).unwrap_or_default()
    }

    /// `(key, digest)` pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Digest)> {
        let mut start = 0;
        self.entries.iter().map(move |(end, digest)| {
            let key = self.names.get(start..*end).unwrap_or_default();
            start = *end;
            (key, digest)
        })
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(key, _)| key)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Collects `(key, digest)` pairs as a parser meets them, then sorts them into [`KeyDigests`].
///
/// Each pair carries a rank: on a duplicate key the higher rank wins, and within a rank the later pair
/// (so `data` then `binaryData` at a higher rank gives exactly [`KeyDigests::from_config_map`]).
#[derive(Debug, Default)]
pub struct DigestsBuilder {
    names: String,
    pending: Vec<(usize, usize, u8, Digest)>,
}

impl DigestsBuilder {
    /// Record `key` at `rank`.
    pub fn push(&mut self, key: &str, rank: u8, digest: Digest) {
        let start = self.names.len();
        self.names.push_str(key);
        self.pending.push((start, self.names.len(), rank, digest));
    }

    /// Every pair of `other`, ranked above every pair recorded so far.
    pub fn overlay(mut self, other: DigestsBuilder) -> Self {
        let base = self.pending.iter().map(|p| p.2).max().map_or(0, |r| r + 1);
        let offset = self.names.len();
        self.names.push_str(&other.names);
        let shifted = other.pending.into_iter().map(|(start, end, rank, digest)| {
            (
                start + offset,
                end + offset,
                rank.saturating_add(base),
                digest,
            )
        });
        self.pending.extend(shifted);
        self
    }

    /// The sorted digests, one per key.
    pub fn finish(self) -> KeyDigests {
        let key = |&(start, end, ..): &(usize, usize, u8, Digest)| {
            self.names.get(start..end).unwrap_or_default()
        };
        // Later pairs first, then a stable sort: the winner of each key comes first and dedup keeps it.
        let mut order: Vec<&(usize, usize, u8, Digest)> = self.pending.iter().rev().collect();
        order.sort_by(|a, b| key(a).cmp(key(b)).then(b.2.cmp(&a.2)));
        order.dedup_by(|later, kept| key(later) == key(kept));
        let mut names = String::with_capacity(order.iter().map(|p| p.1 - p.0).sum());
        let entries = order
            .iter()
            .map(|pair| {
                names.push_str(key(pair));
                (names.len(), pair.3)
            })
            .collect();
        KeyDigests { names, entries }
    }
}

impl std::fmt::Debug for KeyDigests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyDigests(")?;
        f.debug_map().entries(self.iter()).finish()?;
        f.write_str(")")
    }
}

/// Keys added, removed or changed between two versions of a source (`None` = the source is absent).
pub fn changed_keys(old: Option<&KeyDigests>, new: Option<&KeyDigests>) -> BTreeSet<String> {
    let empty = KeyDigests::default();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let all: BTreeSet<&str> = old.keys().chain(new.keys()).collect();
    all.into_iter()
        .filter(|k| old.get(k) != new.get(k))
        .map(str::to_owned)
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
    // `refs` are sorted by id and unique, so `counted` is too.
    let mut counted: Vec<(&SourceId, &ConsumedKeys, Option<&KeyDigests>)> =
        Vec::with_capacity(refs.len());
    let mut missing = Vec::new();
    for r in refs {
        match lookup.content(&r.id) {
            SourceContent::Ignored => {}
            SourceContent::Present(digests) => counted.push((&r.id, &r.keys, Some(digests))),
            SourceContent::Missing if r.optional => counted.push((&r.id, &r.keys, None)),
            SourceContent::Missing => missing.push(r.id.clone()),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(Error::HashWorkload { missing });
    }
    let mut hasher = BufferedHasher::default();
    encode(&mut hasher, counted);
    Ok(hasher.render())
}

/// The hash of the counted keys of one source (`None` = absent), for per-source status.
pub fn source_hash(id: &SourceId, keys: &ConsumedKeys, digests: Option<&KeyDigests>) -> ConfigHash {
    let mut hasher = BufferedHasher::default();
    encode(&mut hasher, [(id, keys, digests)]);
    hasher.render()
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

/// The hasher behind a block-sized buffer: the encoding is many fields of a few bytes, and one
/// `Sha256::update` per field costs more than copying it.
struct BufferedHasher {
    hasher: Sha256,
    buffer: [u8; 512],
    filled: usize,
}

impl Default for BufferedHasher {
    fn default() -> Self {
        Self {
            hasher: Sha256::new(),
            buffer: [0; 512],
            filled: 0,
        }
    }
}

impl BufferedHasher {
    fn flush(&mut self) {
        self.hasher
            .update(self.buffer.get(..self.filled).unwrap_or_default());
        self.filled = 0;
    }

    /// `v1:<hex>` of everything put.
    fn render(mut self) -> ConfigHash {
        self.flush();
        let digest = self.hasher.finalize();
        let mut out = String::with_capacity(HASH_VERSION.len() + 1 + 2 * digest.len());
        out.push_str(HASH_VERSION);
        out.push(':');
        push_hex(&mut out, &digest);
        ConfigHash(out)
    }
}

impl Sink for BufferedHasher {
    fn put(&mut self, bytes: &[u8]) {
        if self.filled + bytes.len() > self.buffer.len() {
            self.flush();
        }
        match self.buffer.get_mut(self.filled..self.filled + bytes.len()) {
            Some(free) => {
                free.copy_from_slice(bytes);
                self.filled += bytes.len();
            }
            None => self.hasher.update(bytes),
        }
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
        match keys {
            ConsumedKeys::All => {
                sink.put_len(digests.len());
                for (key, digest) in digests.iter() {
                    put_key(sink, key, Some(digest));
                }
            }
            ConsumedKeys::Keys(keys) => {
                // Both sides are sorted by bytes: one merge walk, no lookups.
                sink.put_len(keys.len());
                let mut present = digests.iter().peekable();
                for key in keys {
                    while present.next_if(|(k, _)| *k < key.as_str()).is_some() {}
                    let digest = present.next_if(|(k, _)| *k == key).map(|(_, d)| d);
                    put_key(sink, key, digest);
                }
            }
        }
    }
}

/// `lp(key) 0x00` when absent, `lp(key) 0x01 lp(digest)` when present.
fn put_key(sink: &mut impl Sink, key: &str, digest: Option<&Digest>) {
    sink.put_field(key.as_bytes());
    match digest {
        None => sink.put(&[ABSENT]),
        Some(digest) => {
            sink.put(&[PRESENT]);
            sink.put_field(&digest.0);
        }
    }
}

/// The fingerprint of a pod template without configsync's own `config-hash` stamp: `t1:<32 hex digits>` of
/// the SHA-256 of its JSON. Equal fingerprints mean nobody but configsync changed the template.
pub fn template_fingerprint(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    let mut template = template.clone();
    if let Some(meta) = template.metadata.as_mut()
        && let Some(annotations) = meta.annotations.as_mut()
    {
        annotations.remove(configsync_crds::annotations::CONFIG_HASH);
        // A template configsync first stamped had no annotations at all.
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
    if template.metadata.as_ref() == Some(&Default::default()) {
        template.metadata = None;
    }
    // Serialising a k8s-openapi struct cannot fail: every map key is a string.
    let bytes = serde_json::to_vec(&template).unwrap_or_default();
    format!("t1:{}", to_hex(&Digest::of(&bytes).0[..16]))
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    push_hex(&mut out, bytes);
    out
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
