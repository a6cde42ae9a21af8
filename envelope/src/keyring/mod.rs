//! The key ring: named 32-byte key-encryption keys (KEKs), one of them primary.
//!
//! ```text
//!   KeyRing { primary: "key-2", keys: { "key-1": KEK, "key-2": KEK } }
//!        seal ──► always the primary          open ──► the key id named in the sealed header
//! ```
//!
//! Rotation adds a new key and makes it primary; older keys stay for reading until every object has been
//! re-encrypted ([`crate::store::Store::reencrypt_item`]) and an operator removes them from the file.
//!
//! Key material lives only in [`secrecy::SecretBox`] (zeroized on drop). `Debug` prints key ids, never keys.
//! A key ring is loaded from a JSON document ([`document`]) held in a file, an environment variable or a
//! Kubernetes Secret's `data` map.
pub mod document;
pub mod watch;

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use secrecy::{ExposeSecret, SecretBox};

pub use document::KeyRingError;

/// Bytes of every key-encryption key.
pub const KEY_LEN: usize = 32;

/// A validated key id: 1 to 255 bytes of `[A-Za-z0-9._-]`. Stored in clear in every sealed header.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validate `id`.
    ///
    /// # Errors
    /// [`KeyRingError::InvalidKeyId`] when empty, longer than 255 bytes or outside `[A-Za-z0-9._-]`.
    pub fn new(id: impl Into<String>) -> Result<Self, KeyRingError> {
        let id = id.into();
        if Self::is_valid(&id) {
            Ok(Self(id))
        } else {
            Err(KeyRingError::InvalidKeyId(id))
        }
    }

    /// Whether `id` is a valid key id.
    pub fn is_valid(id: &str) -> bool {
        (1..=255).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// One key-encryption key. Zeroized on drop; `Debug` is redacted by `secrecy`.
#[derive(Debug)]
pub struct Kek(SecretBox<[u8; KEY_LEN]>);

impl Kek {
    /// A fresh key from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS).
    pub fn generate() -> Self {
        Self(SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            rand::rng().fill_bytes(key)
        }))
    }

    /// Take ownership of raw key bytes (the caller's copy should be zeroized by the caller).
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        Self(SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            key.copy_from_slice(bytes)
        }))
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }
}

/// Named keys, one primary. Construct with [`KeyRing::generate`] or the loaders in [`document`].
pub struct KeyRing {
    primary: KeyId,
    keys: BTreeMap<KeyId, Kek>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("primary", &self.primary)
            .field("key_ids", &self.keys.keys())
            .finish()
    }
}

impl KeyRing {
    /// A ring with one fresh key, `id` or `key-1`, as primary.
    pub fn generate(id: Option<KeyId>) -> Self {
        let id = id.unwrap_or_else(|| KeyId(String::from("key-1")));
        Self {
            keys: BTreeMap::from([(id.clone(), Kek::generate())]),
            primary: id,
        }
    }

    /// Build a ring from keys and the primary id.
    ///
    /// # Errors
    /// [`KeyRingError::PrimaryMissing`] when `primary` is not among `keys`.
    pub fn from_keys(primary: KeyId, keys: BTreeMap<KeyId, Kek>) -> Result<Self, KeyRingError> {
        if keys.contains_key(&primary) {
            Ok(Self { primary, keys })
        } else {
            Err(KeyRingError::PrimaryMissing(primary.0))
        }
    }

    /// Add a fresh key and make it the primary. The id defaults to `key-N`, N one above the highest used.
    ///
    /// # Errors
    /// [`KeyRingError::DuplicateKeyId`] when `id` is already in the ring.
    pub fn rotate(&mut self, id: Option<KeyId>) -> Result<&KeyId, KeyRingError> {
        let id = id.unwrap_or_else(|| self.next_id());
        if self.keys.contains_key(&id) {
            return Err(KeyRingError::DuplicateKeyId(id.0));
        }
        self.keys.insert(id.clone(), Kek::generate());
        self.primary = id;
        Ok(&self.primary)
    }

    /// Add a fresh key without making it primary (the first step of a multi-host rotation: every reader gets
    /// the key before any writer uses it). The id defaults like [`KeyRing::rotate`].
    ///
    /// # Errors
    /// [`KeyRingError::DuplicateKeyId`] when `id` is already in the ring.
    pub fn stage(&mut self, id: Option<KeyId>) -> Result<&KeyId, KeyRingError> {
        let id = id.unwrap_or_else(|| self.next_id());
        if self.keys.contains_key(&id) {
            return Err(KeyRingError::DuplicateKeyId(id.0));
        }
        self.keys.insert(id.clone(), Kek::generate());
        Ok(self
            .keys
            .get_key_value(&id)
            .map_or(&self.primary, |(k, _)| k))
    }

    /// Make the existing key `id` the primary.
    ///
    /// # Errors
    /// [`KeyRingError::PrimaryMissing`] when the ring has no key `id`.
    pub fn promote(&mut self, id: &str) -> Result<(), KeyRingError> {
        match self.keys.keys().find(|k| k.as_str() == id) {
            Some(key) => {
                self.primary = key.clone();
                Ok(())
            }
            None => Err(KeyRingError::PrimaryMissing(id.to_owned())),
        }
    }

    /// Remove the non-primary key `id`; data sealed under it becomes unreadable.
    ///
    /// # Errors
    /// [`KeyRingError::RetirePrimary`] for the primary, [`KeyRingError::UnknownKey`] for a missing id.
    pub fn retire(&mut self, id: &str) -> Result<(), KeyRingError> {
        if self.primary.as_str() == id {
            return Err(KeyRingError::RetirePrimary(id.to_owned()));
        }
        let before = self.keys.len();
        self.keys.retain(|k, _| k.as_str() != id);
        if self.keys.len() == before {
            Err(KeyRingError::UnknownKey(id.to_owned()))
        } else {
            Ok(())
        }
    }

    /// The id of the key used for every new seal.
    pub fn primary_id(&self) -> &KeyId {
        &self.primary
    }

    /// All key ids, sorted.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Whether the ring holds key `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.keys.keys().any(|k| k.as_str() == id)
    }

    pub(crate) fn primary(&self) -> (&KeyId, &Kek) {
        // `from_keys`, `generate` and `rotate` are the only writers and all keep the primary in the map.
        match self.keys.get_key_value(&self.primary) {
            Some(pair) => pair,
            None => unreachable_primary(),
        }
    }

    pub(crate) fn kek(&self, id: &str) -> Option<&Kek> {
        self.keys
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, kek)| kek)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&KeyId, &Kek)> {
        self.keys.iter()
    }

    fn next_id(&self) -> KeyId {
        let highest = self
            .keys
            .keys()
            .filter_map(|k| k.0.strip_prefix("key-")?.parse::<u64>().ok())
            .max();
        KeyId(format!("key-{}", highest.unwrap_or(0).saturating_add(1)))
    }
}

#[cold]
fn unreachable_primary() -> ! {
    unreachable!("KeyRing invariant: the primary key is always in the ring")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_validated() {
        assert!(KeyId::new("key-1").is_ok());
        assert!(KeyId::new("2026.11_a-b").is_ok());
        for bad in ["", "a/b", "a b", "ключ", &"x".repeat(256)] {
            assert!(KeyId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rotate_adds_a_new_primary_and_keeps_old_keys() {
        let mut ring = KeyRing::generate(None);
        assert_eq!(ring.primary_id().as_str(), "key-1");
        assert_eq!(ring.rotate(None).expect("rotates").as_str(), "key-2");
        assert!(ring.contains("key-1") && ring.contains("key-2"));
        assert_ne!(
            ring.kek("key-1").map(Kek::expose),
            ring.kek("key-2").map(Kek::expose)
        );
        let dup = KeyId::new("key-1").expect("valid");
        assert!(matches!(
            ring.rotate(Some(dup)),
            Err(KeyRingError::DuplicateKeyId(_))
        ));
        assert_eq!(ring.primary_id().as_str(), "key-2");
    }

    #[test]
    fn stage_promote_and_retire() {
        let mut ring = KeyRing::generate(None);
        assert_eq!(ring.stage(None).expect("stages").as_str(), "key-2");
        assert_eq!(
            ring.primary_id().as_str(),
            "key-1",
            "staging keeps the primary"
        );
        assert!(matches!(
            ring.promote("key-9"),
            Err(KeyRingError::PrimaryMissing(_))
        ));
        ring.promote("key-2").expect("promotes");
        assert_eq!(ring.primary_id().as_str(), "key-2");
        assert!(matches!(
            ring.retire("key-2"),
            Err(KeyRingError::RetirePrimary(_))
        ));
        assert!(matches!(
            ring.retire("key-9"),
            Err(KeyRingError::UnknownKey(_))
        ));
        ring.retire("key-1").expect("retires");
        assert_eq!(
            ring.key_ids().map(KeyId::as_str).collect::<Vec<_>>(),
            vec!["key-2"]
        );
    }

    #[test]
    fn debug_never_prints_key_material() {
        let ring = KeyRing::generate(None);
        let key_hex: String = ring
            .primary()
            .1
            .expose()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let debug = format!("{ring:?} {:?}", ring.primary().1);
        assert!(debug.contains("key-1"));
        assert!(
            !debug.contains(&key_hex)
                && !debug.contains(&format!("{:?}", ring.primary().1.expose()))
        );
    }
}
