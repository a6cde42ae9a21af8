//! Stable names for pod templates: the `pod-template-hash` of Deployments and the `controller-revision-hash` of
//! StatefulSets and DaemonSets.
//!
//! Kubernetes hashes the `spew` dump of the template with FNV-32a, which cannot be reproduced outside Go. We hash the
//! canonical JSON of the template instead (object keys sorted, no whitespace), with the same FNV-32a and the same
//! rendering: the decimal value of the hash, each digit mapped through the "safe" alphabet
//! `bcdfghjklmnpqrstvwxz2456789` (`rand.SafeEncodeString`), so hashes look like the real ones (`5d4f8c8d6b`).

use serde::Serialize;
use serde_json::Value;

/// The alphabet Kubernetes uses for generated names and hashes: no vowels, no confusable digits.
pub const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV32_OFFSET: u32 = 2_166_136_261;
const FNV32_PRIME: u32 = 16_777_619;

/// FNV-1a, 32 bits, over `bytes`.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV32_OFFSET, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(FNV32_PRIME)
    })
}

/// `rand.SafeEncodeString`: every byte of `text` mapped to `SAFE_ALPHABET[byte % 27]`.
pub fn safe_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| char::from(SAFE_ALPHABET[usize::from(byte) % SAFE_ALPHABET.len()]))
        .collect()
}

/// Rebuilds `value` with every object's keys in sorted order, whatever the map type of `serde_json` is.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, item)| (key.clone(), canonical(item)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The hash of a pod template as `ComputeHash` renders it, with the optional collision count appended to the
/// hashed bytes the way Kubernetes does when two templates collide.
pub fn template_hash<T: Serialize>(template: &T, collision_count: Option<i32>) -> String {
    let json = serde_json::to_value(template).unwrap_or(Value::Null);
    let mut bytes = serde_json::to_vec(&canonical(&json)).unwrap_or_default();
    if let Some(count) = collision_count {
        bytes.extend_from_slice(&count.to_le_bytes());
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// `count` random characters from the safe alphabet, for generated names such as `<replicaset>-x7k2p`.
pub fn random_suffix(count: usize) -> String {
    let mut out = String::with_capacity(count);
    while out.len() < count {
        for byte in uuid::Uuid::new_v4().as_bytes() {
            if out.len() == count {
                break;
            }
            // 27 * 9 = 243: reject the top of the byte range so every character is equally likely.
            if *byte < 243 {
                out.push(char::from(
                    SAFE_ALPHABET[usize::from(*byte) % SAFE_ALPHABET.len()],
                ));
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "tests/hash.rs"]
mod tests;
