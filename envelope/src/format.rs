//! The sealed byte format: header layout, parsing and the authenticated-data encoding. Pure, no crypto.
//!
//! The byte-by-byte layout is documented once, in the crate docs ("Sealed format, version 1"). In short: a
//! `50 + L`-byte header (magic, version, key id, seed, nonce), the ciphertext, the 16-byte tag. The authenticated
//! data is the header followed by the identity, each part length-prefixed (`u32be`), so `("ab","c")` and
//! `("a","bc")` never collide and the AAD binds format version, key id, seed, nonce and identity.
use crate::keyring::KeyId;

/// First bytes of every sealed object.
pub const MAGIC: [u8; 4] = *b"csen";
/// The only format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Bytes of the per-object seed.
pub const SEED_LEN: usize = 32;
/// Bytes of the AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of the AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes of the fixed part of the header (everything but the key id).
pub const FIXED_HEADER_LEN: usize = MAGIC.len() + 1 + 1 + SEED_LEN + NONCE_LEN;

/// The identity a sealed object belongs to. Opening it under another identity fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    /// Kubernetes namespace of the source object.
    pub namespace: &'a str,
    /// Name of the source object.
    pub name: &'a str,
    /// Data key inside the object (a ConfigMap/Secret key), or a fixed label for whole-object items.
    pub key: &'a str,
}

impl<'a> Aad<'a> {
    /// Identity `namespace/name/key`.
    pub fn new(namespace: &'a str, name: &'a str, key: &'a str) -> Self {
        Self {
            namespace,
            name,
            key,
        }
    }
}

/// A parsed header: borrowed views into the sealed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    pub key_id: &'a str,
    pub seed: &'a [u8; SEED_LEN],
    pub nonce: &'a [u8; NONCE_LEN],
    /// The raw header bytes, the first part of the AAD.
    pub raw: &'a [u8],
}

/// A sealed object split into header, ciphertext and tag. Lengths are checked here, before any crypto.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parsed<'a> {
    pub header: Header<'a>,
    pub ciphertext: &'a [u8],
    pub tag: &'a [u8; TAG_LEN],
}

/// Why bytes are not a sealed object of a known format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnknownFormat;

/// Encode the header for `key_id`, `seed` and `nonce`.
pub(crate) fn encode_header(
    key_id: &KeyId,
    seed: &[u8; SEED_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Vec<u8> {
    let id = key_id.as_str().as_bytes();
    let mut out = Vec::with_capacity(FIXED_HEADER_LEN + id.len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    // KeyId guarantees 1..=255 bytes.
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id);
    out.extend_from_slice(seed);
    out.extend_from_slice(nonce);
    out
}

/// Split sealed bytes into header, ciphertext and tag, or say the format is unknown.
pub(crate) fn parse(sealed: &[u8]) -> Result<Parsed<'_>, UnknownFormat> {
    let header = parse_header(sealed)?;
    let rest = sealed.get(header.raw.len()..).ok_or(UnknownFormat)?;
    let split = rest.len().checked_sub(TAG_LEN).ok_or(UnknownFormat)?;
    let (ciphertext, tag) = rest.split_at(split);
    let tag = tag.try_into().map_err(|_| UnknownFormat)?;
    Ok(Parsed {
        header,
        ciphertext,
        tag,
    })
}

/// Parse only the header (enough for [`crate::key_id_of`]).
pub(crate) fn parse_header(sealed: &[u8]) -> Result<Header<'_>, UnknownFormat> {
    let (magic, rest) = sealed.split_first_chunk::<4>().ok_or(UnknownFormat)?;
    let (&[version, id_len], rest) = rest.split_first_chunk::<2>().ok_or(UnknownFormat)?;
    if *magic != MAGIC || version != VERSION || id_len == 0 {
        return Err(UnknownFormat);
    }
    let (id, rest) = rest
        .split_at_checked(usize::from(id_len))
        .ok_or(UnknownFormat)?;
    let key_id = std::str::from_utf8(id)
        .ok()
        .filter(|id| KeyId::is_valid(id))
        .ok_or(UnknownFormat)?;
    let (seed, rest) = rest.split_first_chunk::<SEED_LEN>().ok_or(UnknownFormat)?;
    let (nonce, _) = rest.split_first_chunk::<NONCE_LEN>().ok_or(UnknownFormat)?;
    let raw = sealed
        .get(..FIXED_HEADER_LEN + id.len())
        .ok_or(UnknownFormat)?;
    Ok(Header {
        key_id,
        seed,
        nonce,
        raw,
    })
}

/// The full authenticated data: header bytes, then the length-prefixed identity.
pub(crate) fn authenticated_data(header: &[u8], aad: &Aad<'_>) -> Vec<u8> {
    let parts = [aad.namespace, aad.name, aad.key];
    let mut out =
        Vec::with_capacity(header.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>());
    out.extend_from_slice(header);
    for part in parts {
        // A Kubernetes identity part is far below 4 GiB; saturate rather than panic on absurd input.
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_header() -> Vec<u8> {
        let id = KeyId::new("key-1").expect("valid id");
        encode_header(&id, &[7; SEED_LEN], &[9; NONCE_LEN])
    }

    #[test]
    fn header_round_trips() {
        let mut sealed = mk_header();
        sealed.extend_from_slice(&[1; 3 + TAG_LEN]);
        let parsed = parse(&sealed).expect("parses");
        assert_eq!(parsed.header.key_id, "key-1");
        assert_eq!(parsed.header.seed, &[7; SEED_LEN]);
        assert_eq!(parsed.header.nonce, &[9; NONCE_LEN]);
        assert_eq!(parsed.header.raw.len(), FIXED_HEADER_LEN + 5);
        assert_eq!(parsed.ciphertext, &[1, 1, 1]);
    }

    #[test]
    fn rejects_bad_magic_version_and_truncation() {
        let mut sealed = mk_header();
        sealed.extend_from_slice(&[0; TAG_LEN]);
        assert!(parse(&sealed).is_ok());
        for len in 0..sealed.len() {
            assert_eq!(
                parse(&sealed[..len]).err(),
                Some(UnknownFormat),
                "truncated to {len}"
            );
        }
        let mut bad = sealed.clone();
        bad[4] = 2;
        assert_eq!(parse(&bad).err(), Some(UnknownFormat));
        let mut bad = sealed.clone();
        bad[0] = b'x';
        assert_eq!(parse(&bad).err(), Some(UnknownFormat));
        let mut bad = sealed;
        bad[6] = b'/';
        assert_eq!(parse(&bad).err(), Some(UnknownFormat));
    }

    #[test]
    fn identity_encoding_is_unambiguous() {
        let a = authenticated_data(b"h", &Aad::new("ab", "c", "d"));
        let b = authenticated_data(b"h", &Aad::new("a", "bc", "d"));
        assert_ne!(a, b);
        assert_eq!(a, b"h\0\0\0\x02ab\0\0\0\x01c\0\0\0\x01d");
    }
}
