use super::*;
use serde_json::json;

#[test]
fn fnv32a_matches_reference_vectors() {
    // Vectors from the FNV reference implementation.
    assert_eq!(fnv32a(b""), 0x811c_9dc5);
    assert_eq!(fnv32a(b"a"), 0xe40c_292c);
    assert_eq!(fnv32a(b"foobar"), 0xbf9c_f968);
}

#[test]
fn safe_encode_maps_digits_like_kubernetes() {
    // '0' is byte 48, 48 % 27 = 21 -> '4'; '9' is 57, 57 % 27 = 3 -> 'f'.
    assert_eq!(safe_encode("0"), "4");
    assert_eq!(safe_encode("9"), "f");
    assert_eq!(safe_encode("0123456789"), "456789bcdf");
}

#[test]
fn template_hash_ignores_key_order_and_changes_with_content() {
    let a = json!({"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let b = json!({"spec": {"containers": [{"image": "nginx", "name": "c"}]}, "metadata": {"labels": {"tier": "fe", "app": "web"}}});
    let c = json!({"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}});
    assert_eq!(template_hash(&a, None), template_hash(&b, None));
    assert_ne!(template_hash(&a, None), template_hash(&c, None));
    assert_ne!(template_hash(&a, None), template_hash(&a, Some(1)));
}

#[test]
fn template_hash_is_pinned() {
    // Golden value: a change to the hash format must be deliberate, since it renames every ReplicaSet.
    let template = json!({"metadata": {"labels": {"app": "web"}}});
    let hash = template_hash(&template, None);
    assert_eq!(hash, "65f44fcd74");
    assert!(hash.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
}

#[test]
fn random_suffix_uses_the_safe_alphabet() {
    let suffix = random_suffix(5);
    assert_eq!(suffix.len(), 5);
    assert!(suffix.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
    assert_ne!(random_suffix(12), random_suffix(12));
}
