//! Known-answer vectors in `testdata/`.
//!
//! `ok_*.json` hold a key, identity, seed, nonce, plaintext and the exact sealed bytes: sealing with that seed and
//! nonce must reproduce the bytes, and opening must return the plaintext. `fail_*.json` hold sealed bytes that
//! must be rejected with the named error. Single-bit flips and truncations are generated here from the ok vectors.
//!
//! The files are produced by [`generate`] from fixed inputs. To regenerate them after a deliberate format change:
//! `CONFIGSYNC_WRITE_VECTORS=1 cargo test -p configsync-envelope vectors::`; the `committed_vectors_*` test
//! otherwise fails on any drift between the code and the committed files. When generated, the ok vectors were
//! cross-checked against an independent implementation (Python `cryptography`: `HKDF(SHA256)` then `AESGCM`,
//! with the header and AAD built by hand from the crate docs' layout), which reproduced every `sealed` value.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cipher::{EnvelopeError, open, seal_with};
use crate::format::{Aad, FIXED_HEADER_LEN};
use crate::keyring::{Kek, KeyId, KeyRing};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    key_id: String,
    key: String,
    namespace: String,
    name: String,
    item_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext: Option<String>,
    sealed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect_error: Option<String>,
}

const KEY: [u8; 32] = [0x42; 32];
const SEED: [u8; 32] = [0x5e; 32];
const NONCE: [u8; 12] = [0x0c; 12];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .map(|c| (c as char).to_digit(16).expect("hex digit") as u8)
        .collect();
    digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect()
}

fn mk_ok(description: &str, aad: Aad<'_>, plaintext: &[u8]) -> Vector {
    let id = KeyId::new("key-1").expect("valid");
    let sealed =
        seal_with(&id, &Kek::from_bytes(&KEY), &SEED, &NONCE, &aad, plaintext).expect("seals");
    Vector {
        description: description.into(),
        key_id: id.to_string(),
        key: hex(&KEY),
        namespace: aad.namespace.into(),
        name: aad.name.into(),
        item_key: aad.key.into(),
        seed: Some(hex(&SEED)),
        nonce: Some(hex(&NONCE)),
        plaintext: Some(hex(plaintext)),
        sealed: hex(&sealed),
        expect_error: None,
    }
}

fn mk_fail(
    base: &Vector,
    description: &str,
    expect: &str,
    edit: impl FnOnce(&mut Vector, &mut Vec<u8>),
) -> Vector {
    let mut vector = Vector {
        description: description.into(),
        expect_error: Some(expect.into()),
        ..base.clone()
    };
    let mut sealed = unhex(&base.sealed);
    edit(&mut vector, &mut sealed);
    vector.sealed = hex(&sealed);
    (vector.seed, vector.nonce, vector.plaintext) = (None, None, None);
    vector
}

/// Every committed vector, by file stem.
fn generate() -> BTreeMap<String, Vector> {
    let aad = Aad::new("prod", "db-credentials", "password");
    let small = mk_ok("7-byte Secret value", aad, b"hunter2");
    let pattern: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let header_len = FIXED_HEADER_LEN + "key-1".len();
    let mut out = BTreeMap::from([
        ("ok_empty".into(), mk_ok("empty plaintext", aad, b"")),
        (
            "ok_one_byte".into(),
            mk_ok("one byte", Aad::new("a", "b", "c"), b"x"),
        ),
        (
            "ok_1kib".into(),
            mk_ok(
                "1 KiB pattern, ConfigMap-style key",
                Aad::new("kube-system", "cfg", "app.yaml"),
                &pattern,
            ),
        ),
    ]);
    let fails = [
        mk_fail(
            &small,
            "wrong namespace in the AAD",
            "DecryptionFailed",
            |v, _| v.namespace = "staging".into(),
        ),
        mk_fail(
            &small,
            "identity parts shifted (ns|name boundary)",
            "DecryptionFailed",
            |v, _| {
                (v.namespace, v.name) = ("prodd".into(), "b-credentials".into());
            },
        ),
        mk_fail(
            &small,
            "wrong item key in the AAD",
            "DecryptionFailed",
            |v, _| v.item_key = "username".into(),
        ),
        mk_fail(
            &small,
            "same key id, different key material",
            "DecryptionFailed",
            |v, _| v.key = hex(&[0x43; 32]),
        ),
        mk_fail(
            &small,
            "key id rewritten to one the ring lacks",
            "UnknownKeyId",
            |_, s| s[10] = b'9',
        ),
        mk_fail(
            &small,
            "unknown format version 2",
            "UnknownFormat",
            |_, s| s[4] = 2,
        ),
        mk_fail(&small, "format version 0", "UnknownFormat", |_, s| s[4] = 0),
        mk_fail(&small, "bad magic", "UnknownFormat", |_, s| s[0] = b'k'),
        mk_fail(
            &small,
            "header truncated inside the nonce",
            "UnknownFormat",
            |_, s| s.truncate(header_len - 1),
        ),
        mk_fail(
            &small,
            "tag truncated to 15 bytes, no ciphertext left",
            "UnknownFormat",
            |_, s| {
                s.truncate(header_len + 15);
            },
        ),
        mk_fail(
            &small,
            "last ciphertext byte dropped",
            "DecryptionFailed",
            |_, s| {
                s.remove(header_len + 6);
            },
        ),
        mk_fail(&small, "tag flipped", "DecryptionFailed", |_, s| {
            *s.last_mut().expect("tag") ^= 0x80
        }),
        mk_fail(
            &small,
            "trailing garbage appended",
            "DecryptionFailed",
            |_, s| s.push(0),
        ),
    ];
    out.insert("ok_small".into(), small);
    for (i, fail) in fails.into_iter().enumerate() {
        let stem = fail
            .description
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty());
        out.insert(
            format!(
                "fail_{i:02}_{}",
                stem.take(4).collect::<Vec<_>>().join("_").to_lowercase()
            ),
            fail,
        );
    }
    out
}

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn load_committed() -> BTreeMap<String, Vector> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(testdata()).expect("testdata/ exists") {
        let path = entry.expect("entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_owned();
        let vector =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("vector parses");
        out.insert(stem, vector);
    }
    out
}

fn ring_of(v: &Vector) -> KeyRing {
    let key: [u8; 32] = unhex(&v.key).try_into().expect("32-byte key");
    let id = KeyId::new(v.key_id.clone()).expect("valid id");
    KeyRing::from_keys(id.clone(), BTreeMap::from([(id, Kek::from_bytes(&key))])).expect("ring")
}

fn open_vector(v: &Vector, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    open(
        &ring_of(v),
        &Aad::new(&v.namespace, &v.name, &v.item_key),
        sealed,
    )
    .map(|p| p.to_vec())
}

fn error_name(e: &EnvelopeError) -> &'static str {
    match e {
        EnvelopeError::UnknownFormat => "UnknownFormat",
        EnvelopeError::UnknownKeyId(_) => "UnknownKeyId",
        EnvelopeError::DecryptionFailed => "DecryptionFailed",
        EnvelopeError::PlaintextTooLarge => "PlaintextTooLarge",
    }
}

#[test]
fn committed_vectors_match_the_generator() {
    let generated = generate();
    if std::env::var_os("CONFIGSYNC_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(testdata()).expect("mkdir");
        for (stem, vector) in &generated {
            let json = serde_json::to_string_pretty(vector).expect("json") + "\n";
            std::fs::write(testdata().join(format!("{stem}.json")), json).expect("write vector");
        }
    }
    assert_eq!(load_committed(), generated);
}

#[test]
fn ok_vectors_open_to_their_plaintext() {
    let committed = load_committed();
    let ok: Vec<_> = committed
        .iter()
        .filter(|(stem, _)| stem.starts_with("ok_"))
        .collect();
    assert!(
        ok.len() >= 4,
        "expected the ok_* vectors, found {}",
        ok.len()
    );
    for (stem, v) in ok {
        let plaintext = open_vector(v, &unhex(&v.sealed)).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(Some(hex(&plaintext)), v.plaintext, "{stem}");
    }
}

#[test]
fn fail_vectors_are_rejected_with_the_named_error() {
    let committed = load_committed();
    let fails: Vec<_> = committed
        .iter()
        .filter(|(stem, _)| stem.starts_with("fail_"))
        .collect();
    assert!(
        fails.len() >= 10,
        "expected the fail_* vectors, found {}",
        fails.len()
    );
    for (stem, v) in fails {
        let err = open_vector(v, &unhex(&v.sealed)).expect_err(stem);
        assert_eq!(Some(error_name(&err)), v.expect_error.as_deref(), "{stem}");
    }
}

#[test]
fn every_single_bit_flip_and_truncation_is_rejected() {
    for (stem, v) in load_committed()
        .into_iter()
        .filter(|(stem, _)| stem.starts_with("ok_"))
    {
        let sealed = unhex(&v.sealed);
        for bit in 0..sealed.len() * 8 {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                open_vector(&v, &flipped).is_err(),
                "{stem}: flip of bit {bit} accepted"
            );
        }
        for len in 0..sealed.len() {
            assert!(
                open_vector(&v, &sealed[..len]).is_err(),
                "{stem}: truncation to {len} accepted"
            );
        }
    }
}
