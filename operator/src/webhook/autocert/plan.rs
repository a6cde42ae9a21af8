//! What the webhook's certificate Secret should hold next: plain functions over its data and the time.
//!
//! The Secret holds the signing CA (`ca.crt`, `ca.key`), every CA the apiserver must still trust
//! (`ca-bundle.crt`, the `caBundle`), and the serving pair (`tls.crt`, `tls.key`). [`decide`] reads it and returns
//! the next content, or nothing when it is current:
//! - missing or unreadable (not PEM, a key that does not fit, a leaf no CA of the bundle signed): a fresh CA and
//!   serving certificate;
//! - the signing CA within 1.5 × `validity` of its end (it lives 3 × `validity`): a new CA is added to the bundle
//!   and signs from the next serving certificate on, so the apiserver trusts it before anything is served with
//!   it; expired CAs leave the bundle;
//! - the serving certificate within `validity / 3` of its end, or for other hosts: a new one, signed by the CA
//!   that was already in the bundle.
use std::collections::BTreeMap;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

/// The signing CA's certificate.
pub const CA_CERT: &str = "ca.crt";
/// The signing CA's key.
pub const CA_KEY: &str = "ca.key";
/// Every CA still trusted, PEM-concatenated: the `caBundle`.
pub const CA_BUNDLE: &str = "ca-bundle.crt";
/// The serving certificate.
pub const TLS_CERT: &str = "tls.crt";
/// The serving key.
pub const TLS_KEY: &str = "tls.key";

/// Failures of this module.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// rcgen could not build a key or certificate.
    #[error("issue certificate: {0}")]
    Issue(#[from] rcgen::Error),
    /// A time is out of the certificate range.
    #[error("certificate validity out of range")]
    Validity,
}

/// The serving certificate's names and lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// DNS names and IP addresses of the serving certificate.
    pub hosts: Vec<String>,
    /// Lifetime of a serving certificate; CAs live three times as long.
    pub validity: Duration,
}

impl Policy {
    fn validity_secs(&self) -> i64 {
        i64::try_from(self.validity.as_secs())
            .unwrap_or(i64::MAX / 8)
            .max(3)
    }

    /// Renew the serving certificate this many seconds before its end.
    fn leaf_margin(&self) -> i64 {
        self.validity_secs() / 3
    }

    /// Add a new CA this many seconds before the signing CA's end.
    fn ca_margin(&self) -> i64 {
        self.validity_secs() * 3 / 2
    }
}

/// One parsed certificate: its PEM and what the decisions read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cert {
    pem: String,
    not_after: i64,
}

/// The Secret's content, checked. `Debug` shows certificates' ends and hosts, never keys.
#[derive(Clone)]
pub struct Stored {
    ca: Cert,
    ca_key: String,
    bundle: Vec<Cert>,
    leaf: Cert,
    leaf_key: String,
    leaf_hosts: Vec<String>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("ca_not_after", &self.ca.not_after)
            .field("bundle", &self.bundle.len())
            .field("leaf_not_after", &self.leaf.not_after)
            .field("leaf_hosts", &self.leaf_hosts)
            .finish_non_exhaustive()
    }
}

impl Stored {
    /// The `caBundle` (every trusted CA, PEM).
    pub fn bundle_pem(&self) -> String {
        self.bundle.iter().map(|c| c.pem.as_str()).collect()
    }

    /// The serving pair, PEM.
    pub fn serving(&self) -> (&str, &str) {
        (&self.leaf.pem, &self.leaf_key)
    }

    /// Unix second at which the serving certificate ends.
    pub fn leaf_not_after(&self) -> i64 {
        self.leaf.not_after
    }

    /// The Secret `data` for this content.
    pub fn to_data(&self) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            (CA_CERT.to_owned(), self.ca.pem.clone().into_bytes()),
            (CA_KEY.to_owned(), self.ca_key.clone().into_bytes()),
            (CA_BUNDLE.to_owned(), self.bundle_pem().into_bytes()),
            (TLS_CERT.to_owned(), self.leaf.pem.clone().into_bytes()),
            (TLS_KEY.to_owned(), self.leaf_key.clone().into_bytes()),
        ])
    }

    /// When [`decide`] will next have something to do (Unix seconds).
    pub fn next_due(&self, policy: &Policy) -> i64 {
        (self.leaf.not_after - policy.leaf_margin()).min(self.ca.not_after - policy.ca_margin())
    }
}

/// Why the Secret is (re)written; the text is for logs and Events and never holds key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// No Secret yet.
    Missing,
    /// The Secret cannot be used; the reason says what is wrong.
    Corrupt(String),
    /// The signing CA has ended.
    CaExpired,
    /// A new CA joins the bundle before the signing one ends.
    CaDue,
    /// The serving certificate is near its end, or names other hosts.
    LeafDue,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("no certificate Secret yet"),
            Self::Corrupt(reason) => write!(f, "the certificate Secret is unusable: {reason}"),
            Self::CaExpired => f.write_str("the CA has expired"),
            Self::CaDue => f.write_str("the CA nears its end: a new CA joins the caBundle"),
            Self::LeafDue => {
                f.write_str("the serving certificate nears its end or names other hosts")
            }
        }
    }
}

/// Parse the Secret's data.
///
/// # Errors
/// What makes it unusable, as text without key material.
pub fn parse(data: &BTreeMap<String, Vec<u8>>) -> Result<Stored, String> {
    let text = |key: &str| -> Result<String, String> {
        let bytes = data.get(key).ok_or_else(|| format!("{key} is missing"))?;
        String::from_utf8(bytes.clone()).map_err(|_| format!("{key} is not PEM text"))
    };
    let ca_pem = text(CA_CERT)?;
    let ca_key = text(CA_KEY)?;
    let bundle_pem = text(CA_BUNDLE)?;
    let leaf_pem = text(TLS_CERT)?;
    let leaf_key = text(TLS_KEY)?;
    let ca_der = one_pem(&ca_pem, CA_CERT)?;
    let ca = x509(&ca_der, CA_CERT)?;
    if !ca.is_ca() {
        return Err(format!("{CA_CERT} is not a CA certificate"));
    }
    key_fits(&ca_key, &ca, CA_KEY)?;
    let leaf_der = one_pem(&leaf_pem, TLS_CERT)?;
    let leaf = x509(&leaf_der, TLS_CERT)?;
    key_fits(&leaf_key, &leaf, TLS_KEY)?;
    let mut bundle = Vec::new();
    let mut signer_in_bundle = false;
    let mut ca_in_bundle = false;
    for pem in Pem::iter_from_buffer(bundle_pem.as_bytes()) {
        let pem = pem.map_err(|e| format!("{CA_BUNDLE}: {e}"))?;
        let cert = x509(&pem, CA_BUNDLE)?;
        signer_in_bundle |= leaf.verify_signature(Some(cert.public_key())).is_ok();
        ca_in_bundle |= cert.as_raw() == ca.as_raw();
        bundle.push(Cert {
            pem: to_pem(&pem.contents),
            not_after: cert.validity().not_after.timestamp(),
        });
    }
    if !ca_in_bundle {
        return Err(format!("{CA_BUNDLE} does not hold {CA_CERT}"));
    }
    if !signer_in_bundle {
        return Err(format!("no CA of {CA_BUNDLE} signed {TLS_CERT}"));
    }
    Ok(Stored {
        ca: Cert {
            pem: ca_pem,
            not_after: ca.validity().not_after.timestamp(),
        },
        ca_key,
        bundle,
        leaf_hosts: hosts_of(&leaf),
        leaf: Cert {
            pem: leaf_pem,
            not_after: leaf.validity().not_after.timestamp(),
        },
        leaf_key,
    })
}

fn one_pem(text: &str, key: &str) -> Result<Pem, String> {
    let mut pems = Pem::iter_from_buffer(text.as_bytes());
    let pem = pems
        .next()
        .ok_or_else(|| format!("{key} holds no PEM block"))?
        .map_err(|e| format!("{key}: {e}"))?;
    if pems.next().is_some() {
        return Err(format!("{key} holds more than one certificate"));
    }
    Ok(pem)
}

fn x509<'a>(pem: &'a Pem, key: &str) -> Result<X509Certificate<'a>, String> {
    pem.parse_x509()
        .map_err(|e| format!("{key} is not an X.509 certificate: {e}"))
}

fn key_fits(key_pem: &str, cert: &X509Certificate<'_>, key: &str) -> Result<(), String> {
    let pair = KeyPair::from_pem(key_pem).map_err(|_| format!("{key} is not a private key"))?;
    if pair.public_key_raw() == cert.public_key().subject_public_key.data.as_ref() {
        Ok(())
    } else {
        Err(format!("{key} does not fit its certificate"))
    }
}

fn hosts_of(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let mut hosts: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect();
    hosts.sort();
    hosts
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

fn to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// What [`decide`] found.
#[derive(Debug)]
pub enum Decision {
    /// The Secret is current.
    Keep(Stored),
    /// Write this content, for this reason.
    Write(Stored, Why),
}

/// The next content of the Secret at `now` (Unix seconds), from what it holds (`None`: no Secret).
///
/// # Errors
/// [`PlanError`] when a certificate cannot be issued.
pub fn decide(
    stored: Option<Result<Stored, String>>,
    now: i64,
    policy: &Policy,
) -> Result<Decision, PlanError> {
    let stored = match stored {
        None => return fresh(now, policy).map(|s| Decision::Write(s, Why::Missing)),
        Some(Err(reason)) => {
            return fresh(now, policy).map(|s| Decision::Write(s, Why::Corrupt(reason)));
        }
        Some(Ok(stored)) => stored,
    };
    if stored.ca.not_after <= now {
        return fresh(now, policy).map(|s| Decision::Write(s, Why::CaExpired));
    }
    let mut wanted = policy.hosts.clone();
    wanted.sort();
    let leaf_due =
        stored.leaf.not_after - policy.leaf_margin() <= now || stored.leaf_hosts != wanted;
    let ca_due = stored.ca.not_after - policy.ca_margin() <= now;
    if !leaf_due && !ca_due {
        return Ok(Decision::Keep(stored));
    }
    let mut next = stored.clone();
    if leaf_due {
        let (leaf, key) = issue_leaf(&stored.ca, &stored.ca_key, now, policy)?;
        next.leaf = leaf;
        next.leaf_key = key;
        next.leaf_hosts = wanted;
    }
    if ca_due {
        let (ca, key) = issue_ca(now, policy)?;
        next.bundle.insert(0, ca.clone());
        next.ca = ca;
        next.ca_key = key;
    }
    next.bundle.retain(|cert| cert.not_after > now);
    let why = if ca_due { Why::CaDue } else { Why::LeafDue };
    Ok(Decision::Write(next, why))
}

/// A new CA and a serving certificate it signs.
fn fresh(now: i64, policy: &Policy) -> Result<Stored, PlanError> {
    let (ca, ca_key) = issue_ca(now, policy)?;
    let (leaf, leaf_key) = issue_leaf(&ca, &ca_key, now, policy)?;
    let mut leaf_hosts = policy.hosts.clone();
    leaf_hosts.sort();
    Ok(Stored {
        bundle: vec![ca.clone()],
        ca,
        ca_key,
        leaf,
        leaf_key,
        leaf_hosts,
    })
}

fn at(unix: i64) -> Result<time::OffsetDateTime, PlanError> {
    time::OffsetDateTime::from_unix_timestamp(unix).map_err(|_| PlanError::Validity)
}

fn issue_ca(now: i64, policy: &Policy) -> Result<(Cert, String), PlanError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("configsync webhook CA {now}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let not_after = now + 3 * policy.validity_secs();
    params.not_before = at(now - 60)?;
    params.not_after = at(not_after)?;
    let cert = params.self_signed(&key)?;
    Ok((
        Cert {
            pem: cert.pem(),
            not_after,
        },
        key.serialize_pem(),
    ))
}

fn issue_leaf(
    ca: &Cert,
    ca_key: &str,
    now: i64,
    policy: &Policy,
) -> Result<(Cert, String), PlanError> {
    let ca_key = KeyPair::from_pem(ca_key)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.pem, &ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(policy.hosts.clone())?;
    let common_name = policy
        .hosts
        .first()
        .map_or("configsync-webhook", String::as_str);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let not_after = (now + policy.validity_secs()).min(ca.not_after);
    params.not_before = at(now - 60)?;
    params.not_after = at(not_after)?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((
        Cert {
            pem: cert.pem(),
            not_after,
        },
        key.serialize_pem(),
    ))
}

#[cfg(test)]
mod tests;
