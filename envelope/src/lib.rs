//! AES-256-GCM envelope encryption, key ring, and the KMS v2 plugin.
#![forbid(unsafe_code)]
