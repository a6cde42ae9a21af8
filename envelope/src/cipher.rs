//! Seal and open: per-object keys derived with HKDF-SHA256, then AES-256-GCM.
//!
//! ```text
//! seed  = 32 random bytes (stored in the header)
//! DEK   = HKDF-SHA256(salt = seed, ikm = KEK[key id], info = "configsync envelope v1 data key"), 32 bytes
//! nonce = 12 random bytes (stored in the header)
//! body  = AES-256-GCM(DEK, nonce, aad = header ‖ identity, plaintext) = ciphertext ‖ tag
//! ```
//!
//! Every object gets its own DEK, so the GCM nonce-reuse bound applies per object, not per KEK: a KEK can seal
//! without limit (the seed space is 2^256), unlike Kubernetes' `aesgcm` provider and its 200,000-write rotation.
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use rand::Rng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::format::{self, Aad, NONCE_LEN, SEED_LEN, TAG_LEN};
use crate::keyring::{KEY_LEN, Kek, KeyRing};

/// HKDF `info` label that separates data keys from any other use of a KEK.
const DEK_INFO: &[u8] = b"configsync envelope v1 data key";

/// Opening failed. Messages are actionable but say nothing that helps an attacker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a configsync envelope: wrong magic, unsupported format version, or a truncated header.
    #[error(
        "unknown encrypted format: not a configsync envelope, an unsupported version, or truncated"
    )]
    UnknownFormat,
    /// The header names a key id the key ring does not hold.
    #[error("unknown key id {0:?}: add this key to the key ring to read the data")]
    UnknownKeyId(String),
    /// Authentication failed: wrong key, wrong identity (namespace/name/key) or modified bytes.
    #[error(
        "cannot decrypt: the data was modified, moved from another object, or sealed under another key"
    )]
    DecryptionFailed,
    /// The plaintext exceeds the AES-GCM limit of 64 GiB.
    #[error("cannot encrypt: plaintext exceeds the AES-GCM size limit")]
    PlaintextTooLarge,
}

impl From<format::UnknownFormat> for EnvelopeError {
    fn from(_: format::UnknownFormat) -> Self {
        Self::UnknownFormat
    }
}

/// Seal `plaintext` for identity `aad` under the key ring's primary key.
///
/// # Errors
/// [`EnvelopeError::PlaintextTooLarge`] only.
pub fn seal(keyring: &KeyRing, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let mut seed = [0u8; SEED_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    let mut rng = rand::rng();
    rng.fill_bytes(&mut seed);
    rng.fill_bytes(&mut nonce);
    let (key_id, kek) = keyring.primary();
    seal_with(key_id, kek, &seed, &nonce, aad, plaintext)
}

/// Deterministic core of [`seal`]; exposed to the crate for known-answer vectors.
pub(crate) fn seal_with(
    key_id: &crate::keyring::KeyId,
    kek: &Kek,
    seed: &[u8; SEED_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &Aad<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut out = format::encode_header(key_id, seed, nonce);
    let header_len = out.len();
    let auth = format::authenticated_data(&out, aad);
    out.reserve_exact(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let body = out.get_mut(header_len..).unwrap_or_default();
    let tag = data_cipher(kek, seed)
        .encrypt_inout_detached(&Nonce::from(*nonce), &auth, InOutBuf::from(body))
        .map_err(|_| EnvelopeError::PlaintextTooLarge)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Open `sealed` for identity `aad` with whichever key of the ring its header names.
///
/// # Errors
/// [`EnvelopeError::UnknownFormat`] (checked first, before any crypto), [`EnvelopeError::UnknownKeyId`], or
/// [`EnvelopeError::DecryptionFailed`] for every authentication failure.
pub fn open(
    keyring: &KeyRing,
    aad: &Aad<'_>,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let parsed = format::parse(sealed)?;
    let header = parsed.header;
    let kek = keyring
        .kek(header.key_id)
        .ok_or_else(|| EnvelopeError::UnknownKeyId(header.key_id.to_owned()))?;
    let auth = format::authenticated_data(header.raw, aad);
    let mut plaintext = Zeroizing::new(vec![0u8; parsed.ciphertext.len()]);
    let buf = InOutBuf::new(parsed.ciphertext, plaintext.as_mut_slice())
        .map_err(|_| EnvelopeError::DecryptionFailed)?;
    data_cipher(kek, header.seed)
        .decrypt_inout_detached(
            &Nonce::from(*header.nonce),
            &auth,
            buf,
            &Tag::from(*parsed.tag),
        )
        .map_err(|_| EnvelopeError::DecryptionFailed)?;
    Ok(plaintext)
}

/// The key id a sealed object names, without decrypting (for status and stale detection).
///
/// # Errors
/// [`EnvelopeError::UnknownFormat`] when the header is not a known format.
pub fn key_id_of(sealed: &[u8]) -> Result<&str, EnvelopeError> {
    Ok(format::parse(sealed)?.header.key_id)
}

fn data_cipher(kek: &Kek, seed: &[u8; SEED_LEN]) -> Aes256Gcm {
    let mut dek = Zeroizing::new([0u8; KEY_LEN]);
    // HKDF-Expand only fails for outputs above 255 * 32 bytes; 32 bytes always succeeds.
    let _ = Hkdf::<Sha256>::new(Some(seed), kek.expose()).expand(DEK_INFO, dek.as_mut_slice());
    Aes256Gcm::new(&(*dek).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad<'static> = Aad {
        namespace: "ns",
        name: "db",
        key: "password",
    };

    #[test]
    fn round_trips_and_binds_identity() {
        let ring = KeyRing::generate(None);
        let sealed = seal(&ring, &AAD, b"hunter2").expect("seals");
        assert_eq!(key_id_of(&sealed), Ok("key-1"));
        assert_eq!(
            open(&ring, &AAD, &sealed).expect("opens").as_slice(),
            b"hunter2"
        );
        let moved = Aad { key: "user", ..AAD };
        assert_eq!(
            open(&ring, &moved, &sealed),
            Err(EnvelopeError::DecryptionFailed)
        );
    }

    #[test]
    fn every_seal_uses_a_fresh_seed_and_nonce() {
        let ring = KeyRing::generate(None);
        let a = seal(&ring, &AAD, b"same").expect("seals");
        let b = seal(&ring, &AAD, b"same").expect("seals");
        let header = format::FIXED_HEADER_LEN + "key-1".len();
        assert_ne!(a[6 + 5..header], b[6 + 5..header]);
        assert_ne!(a[header..], b[header..]);
    }

    #[test]
    fn unknown_key_id_is_reported_by_name() {
        let sealed = seal(&KeyRing::generate(None), &AAD, b"x").expect("seals");
        let other = KeyRing::generate(Some(crate::keyring::KeyId::new("other").expect("valid")));
        assert_eq!(
            open(&other, &AAD, &sealed),
            Err(EnvelopeError::UnknownKeyId("key-1".into()))
        );
    }
}
