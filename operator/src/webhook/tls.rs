//! The serving certificate, reloaded from its files when they change.
//!
//! Each TLS handshake compares the files' modification time and length with the loaded ones (two `stat`s);
//! on a change the pair is re-read and, if it parses and matches, swapped in. A broken or half-written
//! pair keeps the previous certificate in service and is retried on the next handshake.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Failures while loading the serving certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or parsed.
    #[error("read {path}: {reason}")]
    ReadPem {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The key does not fit the certificate, or rustls rejected it.
    #[error("load key pair: {0}")]
    LoadKeyPair(#[from] rustls::Error),
}

type Stamp = [(Option<SystemTime>, u64); 2];

/// A [`ResolvesServerCert`] that follows its certificate and key files.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Mutex<(Stamp, Arc<CertifiedKey>)>,
}

fn stamp(paths: [&Path; 2]) -> Stamp {
    paths.map(|path| std::fs::metadata(path).map_or((None, 0), |m| (m.modified().ok(), m.len())))
}

fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let bad = |path: &Path| {
        let path = path.display().to_string();
        move |e: rustls::pki_types::pem::Error| TlsError::ReadPem {
            path,
            reason: e.to_string(),
        }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(bad(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad(cert))?;
    if chain.is_empty() {
        return Err(TlsError::ReadPem {
            path: cert.display().to_string(),
            reason: "no certificate in the file".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(bad(key))?;
    Ok(CertifiedKey::from_der(chain, key, provider)?)
}

impl ReloadingCert {
    /// Load the pair once; later changes are picked up on handshakes.
    ///
    /// # Errors
    /// [`TlsError`] when the initial pair cannot be loaded.
    pub fn new(
        cert_path: &Path,
        key_path: &Path,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let stamp = stamp([cert_path, key_path]);
        let key = load(cert_path, key_path, &provider)?;
        Ok(Self {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: Mutex::new((stamp, Arc::new(key))),
        })
    }

    fn refresh(&self) -> Arc<CertifiedKey> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = stamp([&self.cert_path, &self.key_path]);
        if now != current.0 {
            match load(&self.cert_path, &self.key_path, &self.provider) {
                Ok(key) => {
                    tracing::info!(cert = %self.cert_path.display(), "reloaded the webhook certificate");
                    *current = (now, Arc::new(key));
                }
                Err(error) => {
                    tracing::warn!(%error, "keeping the previous webhook certificate");
                }
            }
        }
        current.1.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.refresh())
    }
}
