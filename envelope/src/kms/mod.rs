//! KMS v2 plugin: kube-apiserver's `k8s.io/kms/apis/v2` `KeyManagementService` over a unix socket.
//!
//! ```text
//! kube-apiserver ──Encrypt(DEK seed, uid)──► plugin: seal(primary KEK, KMS_AAD, seed) ──► {ciphertext, key_id}
//!                ──Decrypt(ciphertext, uid, key_id, annotations)──► plugin: open(KEK named in ciphertext)
//!                ──Status()──► {version "v2", healthz "ok", key_id = primary}
//! ```
//!
//! # Theory of operation
//! The apiserver generates its own DEK seed and sends only that (32 bytes) to `Encrypt`; our sealed output is
//! 50 + len(key id) + 32 + 16 bytes, well under the apiserver's 1 kB `encryptedDEKSource` limit. `key_id` is
//! the primary key id of the key ring, so `keys rotate` changes it and the apiserver, which polls `Status`,
//! starts a new DEK seed and marks older objects stale for storage migration.
//!
//! **What the AAD binds.** The request `uid` is a fresh random id per call (Encrypt and the later Decrypt of the
//! same object carry different uids), and the etcd key is not sent, so neither can be bound. The plugin binds the
//! fixed identity [`KMS_AAD`] instead: this domain-separates KMS ciphertexts from store items sealed with the
//! same key ring, so neither can be replayed as the other. The apiserver itself binds each object to its etcd key
//! with its DEK.
//!
//! **Checks and error codes.** Requests are validated before any crypto. `InvalidArgument`: empty plaintext or
//! ciphertext, empty or over-1 kB `key_id`, `key_id` different from the one inside the ciphertext, annotation
//! keys that are not DNS FQDNs or annotations of 32 kB or more, malformed or unauthentic ciphertext.
//! `FailedPrecondition`: the ciphertext's key is not in the key ring. `Internal`: sealing failed.
//! The key file is re-read when it changes ([`crate::keyring::watch`]); a broken file keeps the last good ring
//! and turns `healthz` into the error message.
pub mod server;

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};
use zeroize::Zeroize as _;

use crate::cipher::{self, EnvelopeError};
use crate::format::Aad;
use crate::keyring::watch::KeyRingFile;

/// Generated messages, client and server of `package v2` (from `proto/api.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("v2");
}

use proto::key_management_service_server::KeyManagementService;
use proto::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, StatusRequest, StatusResponse,
};

/// The identity every KMS ciphertext is bound to (see the module docs).
pub const KMS_AAD: Aad<'static> = Aad {
    namespace: "kube-apiserver",
    name: "kms-v2",
    key: "dek-seed",
};
/// The API version reported by `Status`; must equal the EncryptionConfiguration's `apiVersion`.
pub const API_VERSION: &str = "v2";
/// Longest accepted `key_id`, in bytes (apiserver limit).
pub const MAX_KEY_ID_BYTES: usize = 1024;
/// Annotation keys plus values must stay below this many bytes (apiserver limit).
pub const MAX_ANNOTATIONS_BYTES: usize = 32 * 1024;

/// The `KeyManagementService` implementation over a reloading key file.
#[derive(Debug, Clone)]
pub struct KmsService {
    keys: Arc<KeyRingFile>,
}

impl KmsService {
    /// Serve the keys of `keys`.
    pub fn new(keys: Arc<KeyRingFile>) -> Self {
        Self { keys }
    }
}

#[tonic::async_trait]
impl KeyManagementService for KmsService {
    async fn status(
        &self,
        _request: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let ring = self.keys.current();
        let healthz = match self.keys.last_error() {
            None => String::from("ok"),
            Some(error) => format!("key ring reload failed: {error}"),
        };
        Ok(Response::new(StatusResponse {
            version: API_VERSION.to_owned(),
            healthz,
            key_id: ring.primary_id().to_string(),
        }))
    }

    async fn decrypt(
        &self,
        request: Request<DecryptRequest>,
    ) -> Result<Response<DecryptResponse>, Status> {
        let request = request.into_inner();
        validate_key_id(&request.key_id)?;
        validate_annotations(&request.annotations)?;
        if request.ciphertext.is_empty() {
            return Err(Status::invalid_argument("ciphertext is empty"));
        }
        let sealed_key_id = cipher::key_id_of(&request.ciphertext).map_err(envelope_status)?;
        if sealed_key_id != request.key_id {
            return Err(Status::invalid_argument(
                "key_id does not match the key id inside the ciphertext",
            ));
        }
        let ring = self.keys.current();
        let plaintext =
            cipher::open(&ring, &KMS_AAD, &request.ciphertext).map_err(envelope_status)?;
        Ok(Response::new(DecryptResponse {
            plaintext: plaintext.to_vec(),
        }))
    }

    async fn encrypt(
        &self,
        request: Request<EncryptRequest>,
    ) -> Result<Response<EncryptResponse>, Status> {
        let mut request = request.into_inner();
        if request.plaintext.is_empty() {
            return Err(Status::invalid_argument("plaintext is empty"));
        }
        let ring = self.keys.current();
        let sealed = cipher::seal(&ring, &KMS_AAD, &request.plaintext);
        request.plaintext.zeroize();
        let ciphertext = sealed.map_err(envelope_status)?;
        Ok(Response::new(EncryptResponse {
            ciphertext,
            key_id: ring.primary_id().to_string(),
            annotations: HashMap::new(),
        }))
    }
}

fn envelope_status(error: EnvelopeError) -> Status {
    match error {
        EnvelopeError::UnknownFormat | EnvelopeError::DecryptionFailed => {
            Status::invalid_argument(error.to_string())
        }
        EnvelopeError::UnknownKeyId(_) => Status::failed_precondition(error.to_string()),
        EnvelopeError::PlaintextTooLarge => Status::internal(error.to_string()),
    }
}

/// `key_id` must be non-empty and at most [`MAX_KEY_ID_BYTES`].
///
/// # Errors
/// `InvalidArgument` otherwise.
pub fn validate_key_id(key_id: &str) -> Result<(), Status> {
    if key_id.is_empty() {
        return Err(Status::invalid_argument("key_id is empty"));
    }
    if key_id.len() > MAX_KEY_ID_BYTES {
        return Err(Status::invalid_argument(format!(
            "key_id is longer than {MAX_KEY_ID_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Annotation keys must be DNS FQDNs; keys plus values must be under [`MAX_ANNOTATIONS_BYTES`].
///
/// # Errors
/// `InvalidArgument` naming the first offending key (keys are not secret; values are never echoed).
pub fn validate_annotations(annotations: &HashMap<String, Vec<u8>>) -> Result<(), Status> {
    let mut total = 0usize;
    for (key, value) in annotations {
        if !is_fqdn(key) {
            return Err(Status::invalid_argument(format!(
                "annotation key {key:?} is not a fully qualified domain name"
            )));
        }
        total = total.saturating_add(key.len()).saturating_add(value.len());
    }
    if total >= MAX_ANNOTATIONS_BYTES {
        return Err(Status::invalid_argument(format!(
            "annotations total {total} bytes; limit is below 32 kB"
        )));
    }
    Ok(())
}

/// A fully qualified domain name as Kubernetes checks it: a lowercase RFC 1123 subdomain of at most 253
/// characters with at least two labels, each 1 to 63 of `[a-z0-9-]`, not starting or ending with `-`.
pub fn is_fqdn(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_rules() {
        for ok in ["version.encryption.example.io", "a.b", "x-1.example.com."] {
            assert!(is_fqdn(ok), "{ok:?}");
        }
        for bad in [
            "",
            "single",
            "Upper.example.com",
            "a..b",
            "-a.b",
            "a-.b",
            "a_b.c",
            "example.com/x",
        ] {
            assert!(!is_fqdn(bad), "{bad:?}");
        }
        assert!(!is_fqdn(&format!("{}.com", "a".repeat(64))));
    }

    #[test]
    fn annotation_size_limit_is_exclusive() {
        let key = "a.example.com".to_owned();
        let at_limit = HashMap::from([(key.clone(), vec![0; MAX_ANNOTATIONS_BYTES - key.len()])]);
        assert!(validate_annotations(&at_limit).is_err());
        let below = HashMap::from([(key.clone(), vec![0; MAX_ANNOTATIONS_BYTES - key.len() - 1])]);
        assert!(validate_annotations(&below).is_ok());
    }

    #[test]
    fn key_id_limits() {
        assert!(validate_key_id("").is_err());
        assert!(validate_key_id(&"k".repeat(MAX_KEY_ID_BYTES)).is_ok());
        assert!(validate_key_id(&"k".repeat(MAX_KEY_ID_BYTES + 1)).is_err());
    }
}
