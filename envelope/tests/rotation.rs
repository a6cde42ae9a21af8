//! Round trips at every size, and rotation of a store: old data stays readable, re-encryption moves it, and an
//! interrupted re-encryption resumes without losing anything.
use std::collections::BTreeMap;

use configsync_envelope::store::Reencrypted;
use configsync_envelope::{
    Aad, EnvelopeError, ItemId, KeyRing, KeyState, Store, key_id_of, open, seal,
};

fn mk_plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

fn mk_id(i: usize) -> ItemId {
    ItemId::new("ns", &format!("app-{}", i % 3), &format!("key-{i}.yaml")).expect("valid id")
}

#[test]
fn round_trips_from_empty_to_one_mebibyte() {
    let ring = KeyRing::generate(None);
    let aad = Aad::new("ns", "name", "key");
    for len in [0, 1, 1024, 64 * 1024, 1024 * 1024] {
        let plaintext = mk_plaintext(len);
        let sealed = seal(&ring, &aad, &plaintext).expect("seals");
        assert_eq!(sealed.len(), len + 66 + "key-1".len(), "overhead at {len}");
        assert_eq!(
            open(&ring, &aad, &sealed).expect("opens").as_slice(),
            plaintext.as_slice(),
            "len {len}"
        );
        let mut tampered = sealed.clone();
        let mid = tampered.len() / 2;
        tampered[mid] ^= 1;
        assert_eq!(
            open(&ring, &aad, &tampered),
            Err(EnvelopeError::DecryptionFailed),
            "len {len}"
        );
    }
}

#[test]
fn old_data_stays_readable_after_rotation() {
    let mut ring = KeyRing::generate(None);
    let aad = Aad::new("ns", "name", "key");
    let old = seal(&ring, &aad, b"before rotation").expect("seals");
    ring.rotate(None).expect("rotates");
    let new = seal(&ring, &aad, b"after rotation").expect("seals");
    assert_eq!(key_id_of(&old), Ok("key-1"));
    assert_eq!(key_id_of(&new), Ok("key-2"));
    assert_eq!(
        open(&ring, &aad, &old).expect("old opens").as_slice(),
        b"before rotation"
    );
    assert_eq!(
        open(&ring, &aad, &new).expect("new opens").as_slice(),
        b"after rotation"
    );
}

fn mk_store_under_key_1(
    items: usize,
) -> (tempfile::TempDir, Store, KeyRing, BTreeMap<ItemId, Vec<u8>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path().join("store"));
    let ring = KeyRing::generate(None);
    let mut expected = BTreeMap::new();
    for i in 0..items {
        let plaintext = mk_plaintext(100 + i);
        store.put(&ring, &mk_id(i), &plaintext).expect("put");
        expected.insert(mk_id(i), plaintext);
    }
    (dir, store, ring, expected)
}

fn assert_all_readable(store: &Store, ring: &KeyRing, expected: &BTreeMap<ItemId, Vec<u8>>) {
    assert_eq!(
        store.list().expect("list"),
        expected.keys().cloned().collect::<Vec<_>>()
    );
    for (id, plaintext) in expected {
        let got = store.get(ring, id).expect("opens").expect("exists");
        assert_eq!(got.as_slice(), plaintext.as_slice(), "{id}");
    }
}

#[test]
fn reencrypt_moves_every_item_to_the_primary_key() {
    let (_dir, store, mut ring, expected) = mk_store_under_key_1(6);
    ring.rotate(None).expect("rotates");
    let states: Vec<KeyState> = store
        .status(&ring)
        .expect("status")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, vec![KeyState::Stale("key-1".into()); 6]);

    for id in store.list().expect("list") {
        assert_eq!(
            store.reencrypt_item(&ring, &id).expect("moves"),
            Reencrypted::Moved {
                from: "key-1".into()
            }
        );
    }
    let states: Vec<KeyState> = store
        .status(&ring)
        .expect("status")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, vec![KeyState::Current("key-2".into()); 6]);
    assert_all_readable(&store, &ring, &expected);
}

#[test]
fn reencrypt_resumes_after_an_interruption_half_way() {
    let (_dir, store, mut ring, expected) = mk_store_under_key_1(8);
    ring.rotate(None).expect("rotates");
    let ids = store.list().expect("list");
    // A first run "killed" after four items, leaving the temp file of the fifth write behind.
    for id in &ids[..4] {
        store.reencrypt_item(&ring, id).expect("moves");
    }
    let fifth = store.path_of(&ids[4]);
    let orphan = fifth.with_file_name(format!(
        ".{}.00000000deadbeef.tmp",
        fifth.file_name().and_then(|n| n.to_str()).expect("name")
    ));
    std::fs::write(&orphan, b"partial write").expect("orphan temp file");
    assert_eq!(
        store.list().expect("list"),
        ids,
        "the temp file is not an item"
    );

    // The rerun: clean up, then skip what is done and move the rest.
    assert_eq!(store.remove_temp_files().expect("cleanup"), 1);
    assert!(!orphan.exists());
    let outcomes: Vec<Reencrypted> = ids
        .iter()
        .map(|id| store.reencrypt_item(&ring, id).expect("reencrypts"))
        .collect();
    let moved = outcomes
        .iter()
        .filter(|o| matches!(o, Reencrypted::Moved { .. }))
        .count();
    assert_eq!(outcomes[..4], vec![Reencrypted::AlreadyCurrent; 4]);
    assert_eq!(moved, 4);
    assert_all_readable(&store, &ring, &expected);
}

#[test]
fn reencrypt_leaves_unreadable_items_untouched() {
    let (_dir, store, _, _) = mk_store_under_key_1(1);
    let foreign = KeyRing::generate(Some(
        configsync_envelope::KeyId::new("other").expect("valid"),
    ));
    let before = store.read_sealed(&mk_id(0)).expect("read").expect("exists");
    let err = store
        .reencrypt_item(&foreign, &mk_id(0))
        .expect_err("unknown key must fail");
    assert!(
        err.to_string().contains("unknown key id \"key-1\""),
        "{err}"
    );
    assert_eq!(store.read_sealed(&mk_id(0)).expect("read"), Some(before));
    assert_eq!(
        store.status(&foreign).expect("status")[0].1,
        KeyState::UnknownKey("key-1".into())
    );
}
