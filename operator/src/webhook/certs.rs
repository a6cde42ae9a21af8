//! Development certificates: a self-signed CA and a serving certificate it signs (rcgen).
//!
//! For clusters without cert-manager: `configsync certs` writes these files, the CA goes into the
//! MutatingWebhookConfiguration's `caBundle`, and the webhook serves `tls.crt`/`tls.key`.
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// File names written by [`DevCerts::write`].
pub const CA_CERT_FILE: &str = "ca.crt";
/// The CA's private key (keep it to re-issue serving certificates).
pub const CA_KEY_FILE: &str = "ca.key";
/// The serving certificate.
pub const CERT_FILE: &str = "tls.crt";
/// The serving certificate's private key.
pub const KEY_FILE: &str = "tls.key";

/// Failures while generating or writing certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// rcgen could not build a key or certificate.
    #[error("generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be written.
    #[error("write {path}: {source}")]
    WriteFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A CA and a serving certificate, PEM-encoded.
pub struct DevCerts {
    /// The CA certificate (the `caBundle`).
    pub ca_cert_pem: String,
    /// The CA key.
    pub ca_key_pem: String,
    /// The serving certificate.
    pub cert_pem: String,
    /// The serving key.
    pub key_pem: String,
}

impl DevCerts {
    /// A fresh CA and a serving certificate for `dns_names` (DNS names or IP addresses).
    ///
    /// # Errors
    /// [`CertsError::Generate`] when a name is not a valid subject alternative name.
    pub fn generate(dns_names: &[String]) -> Result<Self, CertsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "configsync development CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, &ca_key);

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(dns_names.to_vec())?;
        let common_name = dns_names
            .first()
            .map_or("configsync-webhook", String::as_str);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Self {
            ca_cert_pem: ca_cert.pem(),
            ca_key_pem: ca_key.serialize_pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Write the four PEM files into `dir` (created if missing); keys get mode 0600.
    ///
    /// # Errors
    /// [`CertsError::WriteFile`] naming the file that failed.
    pub fn write(&self, dir: &Path) -> Result<(), CertsError> {
        let fail = |path: &Path| {
            let path = path.display().to_string();
            move |source| CertsError::WriteFile { path, source }
        };
        std::fs::create_dir_all(dir).map_err(fail(dir))?;
        let files = [
            (CA_CERT_FILE, &self.ca_cert_pem, false),
            (CA_KEY_FILE, &self.ca_key_pem, true),
            (CERT_FILE, &self.cert_pem, false),
            (KEY_FILE, &self.key_pem, true),
        ];
        for (name, pem, secret) in files {
            let path = dir.join(name);
            write_file(&path, pem.as_bytes(), secret).map_err(fail(&path))?;
        }
        Ok(())
    }
}

/// Write through a temporary file and a rename ([`configsync_core::atomic`]), so a reloading server never reads
/// half a file.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    configsync_core::atomic::write_file(path, bytes, if secret { 0o600 } else { 0o644 })
}
