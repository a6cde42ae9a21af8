//! AES-256-GCM envelope encryption, a rotating key ring, an encrypted on-disk store, and a KMS v2 plugin.
//!
//! ```text
//!  KeyRing (file / env / Secret)        plaintext + Aad{namespace, name, key}
//!   primary "key-2" ─────────────► seal ──────────────────────────────────────► sealed bytes (format below)
//!   "key-1", "key-2" ◄──── open ◄─ key id read from the sealed header ◄──────── sealed bytes
//!
//!  store::Store   <root>/<ns>/<name>/<key>.sealed, atomic writes, status, re-encryption (sidecar cache, CLI)
//!  kms            kube-apiserver KMS v2 gRPC plugin over a unix socket
//! ```
//!
//! # Theory of operation
//! A long-lived key-encryption key (KEK) never encrypts data directly. Every [`seal`] draws a random 32-byte seed
//! and derives a one-object data key `HKDF-SHA256(salt = seed, ikm = KEK, info = "configsync envelope v1 data
//! key")` (the "extended nonce" scheme of Kubernetes' KMS v2), then encrypts with AES-256-GCM under a random
//! 96-bit nonce. Nonce reuse would need a seed collision, so one KEK may seal without a write limit.
//!
//! The authenticated data binds the ciphertext to the format version, the key id and its identity
//! ([`Aad`]: namespace, name, key): moving a sealed value to another object fails to open.
//!
//! # Sealed format, version 1
//! ```text
//! offset      size   field
//! 0           4      magic "csen" (0x63 0x73 0x65 0x6e)
//! 4           1      format version, 0x01
//! 5           1      key id length L, 1..=255
//! 6           L      key id, ASCII [A-Za-z0-9._-]
//! 6+L         32     random per-object seed (HKDF salt)
//! 38+L        12     random AES-GCM nonce
//! 50+L        N      AES-256-GCM ciphertext of the N-byte plaintext
//! 50+L+N      16     AES-GCM tag
//!
//! AAD = bytes 0..50+L ‖ u32be(len ns) ‖ ns ‖ u32be(len name) ‖ name ‖ u32be(len key) ‖ key
//! ```
//! Overhead is 66 + L bytes. [`open`] checks magic, version and lengths before any crypto.
//!
//! # Using it (for example from the sidecar's cache)
//! ```
//! use configsync_envelope::{Aad, ItemId, KeyRing, Store, key_id_of, open, seal};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! // Production: KeyRing::load_file(path), KeyRing::from_env(VAR) or KeyRing::from_secret_data(&data).
//! let ring = KeyRing::generate(None);
//!
//! // Values: seal and open bytes bound to their identity.
//! let aad = Aad::new("default", "db", "password");
//! let sealed = seal(&ring, &aad, b"hunter2")?;
//! assert_eq!(key_id_of(&sealed)?, "key-1");
//! assert_eq!(open(&ring, &aad, &sealed)?.as_slice(), b"hunter2");
//!
//! // Files: a store keeps one sealed file per item, written atomically.
//! let store = Store::new(dir.path().join("cache"));
//! let id = ItemId::new("default", "app-config", "config.yaml")?;
//! store.put(&ring, &id, b"port: 8080")?;
//! let cached = store.get(&ring, &id)?.expect("present");
//! assert_eq!(cached.as_slice(), b"port: 8080");
//! assert_eq!(store.list()?, vec![id]);
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//! [`EnvelopeError`] is deliberately coarse: `UnknownFormat` (not ours, unsupported version, truncated header),
//! `UnknownKeyId` (add the key to the ring), and one opaque `DecryptionFailed` for every authentication failure.
//!
//! # Benchmark
//! `bench primitives` (crate `configsync-bench`, see `BENCHMARKS.md`) measures seal and open throughput at
//! 1 KiB, 64 KiB and 1 MiB next to `openssl speed -evp aes-256-gcm` in the same run. `aes-gcm` picks AES-NI
//! and CLMUL (PCLMULQDQ) at run time through the `aes` and `polyval` crates' CPU feature detection.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Crash-safe file replacement, shared with the sidecar and the operator: [`configsync_core::atomic`].
pub use configsync_core::atomic;
mod cipher;
pub mod format;
pub mod keyring;
pub mod kms;
pub mod store;
#[cfg(test)]
mod vectors;

pub use cipher::{EnvelopeError, key_id_of, open, seal};
pub use format::Aad;
pub use keyring::{Kek, KeyId, KeyRing, KeyRingError};
pub use store::{ItemId, KeyState, Store, StoreError};
