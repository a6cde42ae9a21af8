//! The operator's own webhook certificate (`configsync operator --webhook-cert-auto <MutatingWebhookConfiguration>`),
//! as the Vault injector's `-tls-auto` does it: no cert-manager, no helm-generated Secret.
//!
//! # Theory of operation
//! ```text
//!  every replica, every tick (≤ 10 s, and when something falls due):
//!   GET Secret ─► plan::parse ─► plan::decide(now) ─► (if due) create / replace with resourceVersion ─┐
//!                                                                                                     ▼
//!   ServingCert::set(tls.crt, tls.key)  ◄── the Secret's current content ──► SSA caBundle on each webhook
//! ```
//! - One Secret in the operator's namespace holds the CA, the trusted bundle and the serving pair, so every replica
//!   serves the same certificate. Writes carry the `resourceVersion` they read (create fails if it exists): when
//!   two replicas decide at once, exactly one write lands and the other re-reads it (vault-k8s reaches the same with
//!   its leader Lease; here a standby that never leads still serves and repairs).
//! - The served pair is swapped in memory ([`ServingCert`]): no restart, no file.
//! - The `caBundle` of every webhook in the named MutatingWebhookConfiguration is set by server-side apply with the
//!   field manager [`FIELD_MANAGER`] whenever it differs from the Secret's bundle (also after someone re-applied
//!   the configuration without it).
//! - Rotation never breaks a request: see [`plan`] (a new CA is trusted before anything is signed by it).
//! - A Secret that cannot be used is replaced; the reason goes to the log and to a Warning Event on the Secret.
//!   Key material is never logged.
pub mod plan;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use plan::Policy;
use plan::{Decision, Stored, Why};

/// The field manager of the `caBundle` writes.
pub const FIELD_MANAGER: &str = "configsync-webhook-cert";
/// The Event reason when an unusable Secret is replaced.
pub const REASON_REPLACED: &str = "WebhookCertificateReplaced";

/// Where the certificate lives and what it is for.
#[derive(Clone, Debug)]
pub struct AutoCertConfig {
    /// The MutatingWebhookConfiguration whose webhooks get the `caBundle`.
    pub webhook_configuration: String,
    /// The Secret holding the CA and the serving pair.
    pub secret: String,
    /// The Secret's namespace (the operator's own).
    pub namespace: String,
    /// Hosts and validity.
    pub policy: Policy,
    /// This replica's name, for Events.
    pub instance: Option<String>,
}

/// Failures of one round.
#[derive(Debug, thiserror::Error)]
pub enum AutoCertError {
    /// The Secret could not be read.
    #[error("read Secret {0}: {1}")]
    ReadSecret(String, #[source] kube::Error),
    /// The Secret could not be written (a conflict means another replica wrote first).
    #[error("write Secret {0}: {1}")]
    WriteSecret(String, #[source] kube::Error),
    /// A certificate could not be issued.
    #[error(transparent)]
    Issue(#[from] plan::PlanError),
    /// The serving pair was refused by rustls.
    #[error("load the serving certificate: {0}")]
    LoadServing(String),
    /// The MutatingWebhookConfiguration could not be read or patched.
    #[error("set the caBundle of MutatingWebhookConfiguration {0}: {1}")]
    PatchCaBundle(String, #[source] kube::Error),
}

/// The serving certificate, swapped in memory when the Secret changes.
#[derive(Debug)]
pub struct ServingCert {
    provider: Arc<CryptoProvider>,
    current: RwLock<Option<(String, Arc<CertifiedKey>)>>,
}

impl ServingCert {
    /// Nothing to serve yet (ring, like the rest of the webhook).
    pub fn new() -> Self {
        Self {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            current: RwLock::new(None),
        }
    }

    /// Serve `cert_pem`/`key_pem` from the next handshake on; `Ok(false)` when it is already served.
    ///
    /// # Errors
    /// [`AutoCertError::LoadServing`] when rustls refuses the pair (the previous one keeps serving).
    pub fn set(&self, cert_pem: &str, key_pem: &str) -> Result<bool, AutoCertError> {
        let served = self
            .current
            .read()
            .map(|c| c.as_ref().is_some_and(|(pem, _)| pem == cert_pem))
            .unwrap_or(false);
        if served {
            return Ok(false);
        }
        let bad = |e: &dyn std::fmt::Display| AutoCertError::LoadServing(e.to_string());
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| bad(&e))?;
        let key = CertifiedKey::from_der(chain, key, &self.provider).map_err(|e| bad(&e))?;
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Some((cert_pem.to_owned(), Arc::new(key)));
        Ok(true)
    }
}

impl Default for ServingCert {
    fn default() -> Self {
        Self::new()
    }
}

impl ResolvesServerCert for ServingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, key)| key.clone()))
    }
}

/// Keeps the Secret, the served pair and the `caBundle` current.
pub struct AutoCert {
    secrets: Api<Secret>,
    configurations: Api<MutatingWebhookConfiguration>,
    recorder: Recorder,
    config: AutoCertConfig,
    serving: Arc<ServingCert>,
}

impl AutoCert {
    /// A keeper for `config`, serving through `serving`.
    pub fn new(client: kube::Client, config: AutoCertConfig, serving: Arc<ServingCert>) -> Self {
        let reporter = Reporter {
            controller: crate::controller::events::REPORTER.to_owned(),
            instance: config.instance.clone(),
        };
        Self {
            secrets: Api::namespaced(client.clone(), &config.namespace),
            configurations: Api::all(client.clone()),
            recorder: Recorder::new(client, reporter),
            config,
            serving,
        }
    }

    /// How often a replica re-reads the Secret and the configuration (at most 10 s; sooner for short validities).
    fn resync(&self) -> Duration {
        (self.config.policy.validity / 10)
            .clamp(Duration::from_millis(100), Duration::from_secs(10))
    }

    /// Round after round until the first succeeds (errors are logged), so the webhook has a certificate.
    pub async fn first(&self) -> Stored {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.round().await {
                Ok(stored) => return stored,
                Err(error) => {
                    tracing::warn!(%error, "the webhook certificate is not ready yet; retrying")
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Keep everything current forever.
    pub async fn run(self) {
        loop {
            let wait = match self.round().await {
                Ok(stored) => {
                    let due = stored.next_due(&self.config.policy) - now();
                    let due = Duration::from_secs(u64::try_from(due).unwrap_or(0));
                    self.resync().min(due.max(Duration::from_millis(100)))
                }
                Err(error) => {
                    tracing::warn!(%error, "keeping the webhook certificate current failed; retrying");
                    self.resync()
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Read, renew if due, serve, and set the `caBundle` (a failure of that is logged, not returned).
    ///
    /// # Errors
    /// [`AutoCertError`]; a write conflict is one, and the next round re-reads.
    pub async fn round(&self) -> Result<Stored, AutoCertError> {
        let name = &self.config.secret;
        let secret = self
            .secrets
            .get_opt(name)
            .await
            .map_err(|e| AutoCertError::ReadSecret(name.clone(), e))?;
        let parsed = secret.as_ref().map(|s| plan::parse(&secret_data(s)));
        let stored = match plan::decide(parsed, now(), &self.config.policy)? {
            Decision::Keep(stored) => stored,
            Decision::Write(next, why) => {
                self.write(secret.as_ref(), &next, &why).await?;
                next
            }
        };
        let (cert, key) = stored.serving();
        if self.serving.set(cert, key)? {
            tracing::info!(
                secret = %name,
                not_after = stored.leaf_not_after(),
                "serving the webhook certificate of the Secret"
            );
        }
        // The webhook serves even while the configuration is missing or cannot be patched; the next round retries.
        if let Err(error) = self.set_ca_bundle(&stored.bundle_pem()).await {
            tracing::warn!(%error, "the caBundle is not current; retrying");
        }
        Ok(stored)
    }

    async fn write(
        &self,
        live: Option<&Secret>,
        next: &Stored,
        why: &Why,
    ) -> Result<(), AutoCertError> {
        let name = &self.config.secret;
        let mut secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.config.namespace.clone()),
                labels: Some(
                    [(
                        "app.kubernetes.io/managed-by".to_owned(),
                        "configsync".to_owned(),
                    )]
                    .into(),
                ),
                ..Default::default()
            },
            type_: Some("Opaque".to_owned()),
            data: Some(
                next.to_data()
                    .into_iter()
                    .map(|(k, v)| (k, ByteString(v)))
                    .collect(),
            ),
            ..Default::default()
        };
        let written = match live {
            None => self.secrets.create(&PostParams::default(), &secret).await,
            Some(live) => {
                secret.metadata.resource_version = live.metadata.resource_version.clone();
                self.secrets
                    .replace(name, &PostParams::default(), &secret)
                    .await
            }
        };
        let written = written.map_err(|e| AutoCertError::WriteSecret(name.clone(), e))?;
        tracing::info!(secret = %name, reason = %why, "wrote the webhook certificate Secret");
        if let Why::Corrupt(_) = why {
            tracing::warn!(secret = %name, reason = %why, "replaced an unusable webhook certificate Secret");
            self.event(&written, why).await;
        }
        Ok(())
    }

    async fn event(&self, secret: &Secret, why: &Why) {
        let regarding = ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Secret".to_owned()),
            name: secret.metadata.name.clone(),
            namespace: secret.metadata.namespace.clone(),
            uid: secret.metadata.uid.clone(),
            ..Default::default()
        };
        let event = Event {
            type_: EventType::Warning,
            reason: REASON_REPLACED.to_owned(),
            note: Some(format!(
                "{why}; a new CA and serving certificate replace it"
            )),
            action: "Replace".to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &regarding).await {
            tracing::warn!(%error, "publishing the Event failed");
        }
    }

    /// Apply `bundle` to every webhook of the configuration whose `caBundle` differs.
    async fn set_ca_bundle(&self, bundle: &str) -> Result<(), AutoCertError> {
        let name = &self.config.webhook_configuration;
        let fail = |e| AutoCertError::PatchCaBundle(name.clone(), e);
        let Some(live) = self.configurations.get_opt(name).await.map_err(fail)? else {
            tracing::warn!(configuration = %name, "MutatingWebhookConfiguration not found: its caBundle is set once it exists");
            return Ok(());
        };
        let Some(body) = ca_bundle_apply(&live, bundle.as_bytes()) else {
            return Ok(());
        };
        self.configurations
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await
            .map_err(fail)?;
        tracing::info!(configuration = %name, "set the webhooks' caBundle");
        Ok(())
    }
}

/// The server-side apply body setting `bundle` on every webhook of `live`, or `None` when all carry it.
pub fn ca_bundle_apply(
    live: &MutatingWebhookConfiguration,
    bundle: &[u8],
) -> Option<serde_json::Value> {
    let webhooks = live.webhooks.as_deref().unwrap_or_default();
    let current = webhooks.iter().all(|w| {
        w.client_config
            .ca_bundle
            .as_ref()
            .is_some_and(|b| b.0 == bundle)
    });
    if current || webhooks.is_empty() {
        return None;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(bundle);
    let entries: Vec<serde_json::Value> = webhooks
        .iter()
        .map(|w| serde_json::json!({"name": w.name, "clientConfig": {"caBundle": encoded}}))
        .collect();
    Some(serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": live.metadata.name},
        "webhooks": entries,
    }))
}

fn secret_data(secret: &Secret) -> std::collections::BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}
