//! ConfigMaps and Secrets decoded straight into per-key digests: no value outlives the parser's visit of it.
//!
//! ```text
//!  "data": {"k": "v", …}        ──UTF-8 bytes──────────────► sha256 ─┐ DigestsBuilder (rank 0)
//!  "binaryData" / Secret "data" ──base64 → scratch (wiped)──► sha256 ─┤ (rank 0 or 1)
//!  Secret "stringData"          ──UTF-8 bytes──────────────► sha256 ─┘ (rank 1)
//!                                                  finish ─► KeyDigests (sorted, higher rank wins)
//! ```
//! The ranks reproduce [`KeyDigests::from_config_map`] (`binaryData` over `data`) and
//! [`KeyDigests::from_secret`] (`stringData` over `data`) whatever order the fields arrive in.
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::lean_meta;
use crate::hash::{Digest, DigestsBuilder, KeyDigests};

/// A ConfigMap as the operator keeps it: trimmed metadata and the digests of `data` and `binaryData`.
#[derive(Resource, Clone, Debug, Default)]
#[resource(inherit = "ConfigMap")]
pub struct ConfigMapDigests {
    /// See [`super::lean_meta`].
    pub metadata: ObjectMeta,
    /// One digest per key of `data` and `binaryData`.
    pub digests: KeyDigests,
}

/// A Secret as the operator keeps it: trimmed metadata and the digests of `data` (and `stringData`).
#[derive(Resource, Clone, Debug, Default)]
#[resource(inherit = "Secret")]
pub struct SecretDigests {
    /// See [`super::lean_meta`].
    pub metadata: ObjectMeta,
    /// One digest per key of `data`, overlaid with `stringData`.
    pub digests: KeyDigests,
}

impl<'de> Deserialize<'de> for ConfigMapDigests {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            #[serde(default, deserialize_with = "lean_meta")]
            metadata: ObjectMeta,
            #[serde(default)]
            data: DigestMap<false>,
            #[serde(default)]
            binary_data: DigestMap<true>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(Self {
            metadata: wire.metadata,
            digests: wire.data.0.overlay(wire.binary_data.0).finish(),
        })
    }
}

impl<'de> Deserialize<'de> for SecretDigests {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            #[serde(default, deserialize_with = "lean_meta")]
            metadata: ObjectMeta,
            #[serde(default)]
            data: DigestMap<true>,
            #[serde(default)]
            string_data: DigestMap<false>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(Self {
            metadata: wire.metadata,
            digests: wire.data.0.overlay(wire.string_data.0).finish(),
        })
    }
}

/// One map of values, as digests; `BASE64`: the values are base64 strings (Go `[]byte`).
#[derive(Default)]
struct DigestMap<const BASE64: bool>(DigestsBuilder);

impl<'de, const BASE64: bool> Deserialize<'de> for DigestMap<BASE64> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(MapVisitor::<BASE64>)
    }
}

struct MapVisitor<const BASE64: bool>;

impl<'de, const BASE64: bool> Visitor<'de> for MapVisitor<BASE64> {
    type Value = DigestMap<BASE64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of string values")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(DigestMap::default())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(DigestMap::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut builder = DigestsBuilder::default();
        let (mut key, mut scratch) = (String::new(), Vec::new());
        while map.next_key_seed(KeyInto(&mut key))?.is_some() {
            let seed = ValueDigest::<BASE64> {
                scratch: &mut scratch,
            };
            let digest = map.next_value_seed(seed)?;
            builder.push(&key, 0, digest);
        }
        Ok(DigestMap(builder))
    }
}

/// Parses a map key into a reused buffer.
struct KeyInto<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for KeyInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(key);
        Ok(())
    }
}

/// Parses one value into its digest. Base64 values decode into `scratch`, which is zeroed after hashing;
/// like k8s-openapi's `ByteString`, a null base64 value is empty.
struct ValueDigest<'a, const BASE64: bool> {
    scratch: &'a mut Vec<u8>,
}

impl<'de, const BASE64: bool> DeserializeSeed<'de> for ValueDigest<'_, BASE64> {
    type Value = Digest;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Digest, D::Error> {
        if BASE64 {
            deserializer.deserialize_option(self)
        } else {
            deserializer.deserialize_str(self)
        }
    }
}

impl<'de, const BASE64: bool> Visitor<'de> for ValueDigest<'_, BASE64> {
    type Value = Digest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if BASE64 {
            "a base64-encoded string"
        } else {
            "a string"
        })
    }

    fn visit_none<E>(self) -> Result<Digest, E> {
        Ok(Digest::of(&[]))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Digest, D::Error> {
        d.deserialize_str(self)
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Digest, E> {
        if !BASE64 {
            return Ok(Digest::of(value.as_bytes()));
        }
        // Reserved up front so decoding never reallocates (and leaves an unwiped copy behind).
        self.scratch.clear();
        self.scratch
            .reserve(base64::decoded_len_estimate(value.len()));
        let decoded = STANDARD.decode_vec(value, self.scratch);
        let digest = decoded.map(|()| Digest::of(self.scratch));
        self.scratch.fill(0);
        // The decoder's own message quotes the offending byte: say nothing about the value.
        digest.map_err(|_| E::custom("a value is not valid base64"))
    }
}
