//! `configsync certs`: a development CA and a serving certificate for the injection webhook.
use std::path::PathBuf;

use configsync_operator::webhook::certs::{CA_CERT_FILE, CERT_FILE, DevCerts, KEY_FILE};

/// Write a development CA (`ca.crt`, `ca.key`) and a serving certificate it signs (`tls.crt`, `tls.key`).
#[derive(Debug, clap::Args)]
pub struct CertsArgs {
    /// Directory for the PEM files (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// DNS name or IP address the serving certificate is valid for (repeatable), e.g.
    /// `configsync-webhook.configsync-system.svc`.
    #[arg(long = "dns", required = true)]
    dns: Vec<String>,
}

impl CertsArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let Self { out, dns } = self;
        let certs = DevCerts::generate(&dns)?;
        certs.write(&out)?;
        eprintln!(
            "wrote {CA_CERT_FILE} (the webhook caBundle), {CERT_FILE} and {KEY_FILE} to {}",
            out.display()
        );
        Ok(())
    }
}
