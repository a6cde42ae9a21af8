//! Envelope targets: opening arbitrary ciphertext, sealing arbitrary plaintext, parsing key ring documents.
use std::collections::BTreeMap;
use std::sync::OnceLock;

use configsync_envelope::{Aad, EnvelopeError, Kek, KeyId, KeyRing, key_id_of, open, seal};

use crate::leaks;

/// The identity every target seals and opens under.
pub const AAD: Aad<'static> = Aad {
    namespace: "default",
    name: "db",
    key: "password",
};

/// A fixed ring: `key-1` (primary) and `key-2`, with constant key bytes so findings replay.
pub fn fixed_ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let keys = [("key-1", 1u8), ("key-2", 2u8)]
            .into_iter()
            .filter_map(|(id, byte)| Some((KeyId::new(id).ok()?, Kek::from_bytes(&[byte; 32]))))
            .collect::<BTreeMap<_, _>>();
        match KeyId::new("key-1").and_then(|primary| KeyRing::from_keys(primary, keys)) {
            Ok(ring) => ring,
            Err(_) => KeyRing::generate(None),
        }
    })
}

/// Open arbitrary bytes as a sealed object: never panics; an unparsable header is `UnknownFormat` for both
/// [`key_id_of`] and [`open`], checked before any crypto.
pub fn envelope_open(data: &[u8]) {
    let ring = fixed_ring();
    let header = key_id_of(data);
    let opened = open(ring, &AAD, data);
    if header.is_err() {
        assert_eq!(
            opened.err(),
            Some(EnvelopeError::UnknownFormat),
            "header rejected but open went on"
        );
    } else if let Ok(id) = header
        && !ring.contains(id)
    {
        assert_eq!(
            opened.err(),
            Some(EnvelopeError::UnknownKeyId(id.to_owned()))
        );
    }
}

/// Seal arbitrary plaintext, open it back, then flip one bit (position chosen by the input) and expect a
/// refusal; opening under another identity must fail too.
pub fn envelope_round_trip(data: &[u8]) {
    let ring = fixed_ring();
    let Ok(sealed) = seal(ring, &AAD, data) else {
        panic!("sealing {} bytes failed", data.len());
    };
    let opened = open(ring, &AAD, &sealed);
    assert_eq!(
        opened.as_deref().map(Vec::as_slice),
        Ok(data),
        "round trip changed the plaintext"
    );
    let other = Aad { key: "user", ..AAD };
    assert_eq!(
        open(ring, &other, &sealed).err(),
        Some(EnvelopeError::DecryptionFailed)
    );
    let seed = data.iter().fold(data.len(), |acc, &b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let mut tampered = sealed.clone();
    let position = seed % tampered.len().max(1);
    if let Some(byte) = tampered.get_mut(position) {
        *byte ^= 1 << (seed % 8);
    }
    assert!(
        open(ring, &AAD, &tampered).is_err(),
        "a flipped bit at {position} still opened"
    );
}

/// Parse an arbitrary key ring document. A parsed ring survives `to_json` → `from_json`; a rejected one gets
/// an error message that contains none of the document's `secret` values, in any encoding.
pub fn keyring_document(data: &[u8]) {
    match KeyRing::from_json(data) {
        Ok(ring) => {
            let again = KeyRing::from_json(&ring.to_json());
            let Ok(again) = again else {
                panic!("a parsed key ring does not parse back from to_json");
            };
            assert_eq!(again.primary_id(), ring.primary_id());
            assert!(again.key_ids().eq(ring.key_ids()));
        }
        Err(error) => {
            let message = error.to_string();
            let secrets = document_secrets(data);
            let secrets: Vec<&[u8]> = secrets.iter().map(String::as_bytes).collect();
            let hits =
                leaks::find_leaks(&secrets, &[leaks::Blob::new("error", message.as_bytes())]);
            assert!(hits.is_empty(), "key ring error echoes a secret: {hits:?}");
        }
    }
}

/// Shortest `secret` checked: shorter strings can match the fixed wording of an error by chance.
const MIN_CHECKED_SECRET: usize = 16;

/// Every `keys[].secret` string of at least [`MIN_CHECKED_SECRET`] bytes in a JSON document, except those
/// that also appear in an `id` or `primary` (which errors name on purpose).
fn document_secrets(data: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return Vec::new();
    };
    let entries = doc.get("keys").and_then(serde_json::Value::as_array);
    let field = |entry: &serde_json::Value, name: &str| {
        entry
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let mut named: Vec<String> = entries
        .into_iter()
        .flatten()
        .filter_map(|e| field(e, "id"))
        .collect();
    named.extend(field(&doc, "primary"));
    entries
        .into_iter()
        .flatten()
        .filter_map(|entry| field(entry, "secret"))
        .filter(|s| s.len() >= MIN_CHECKED_SECRET && !named.iter().any(|n| n.contains(s.as_str())))
        .collect()
}
