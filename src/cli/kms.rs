//! `configsync kms`: the kube-apiserver KMS v2 plugin on a unix socket.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use configsync::shutdown::wait_for_shutdown;
use configsync_core::log::LogOptions;
use configsync_envelope::keyring::watch::KeyRingFile;
use configsync_envelope::kms::{KmsService, server};

/// Serve the KMS v2 gRPC API (Status, Encrypt, Decrypt) for kube-apiserver's EncryptionConfiguration.
///
/// The key file is re-read when it changes, so `configsync keys rotate` takes effect without a restart.
#[derive(Debug, clap::Args)]
pub struct KmsArgs {
    /// Unix socket to listen on (the EncryptionConfiguration's `endpoint: unix://<path>`).
    #[arg(long, value_name = "PATH", env = "CONFIGSYNC_KMS_SOCKET")]
    pub socket: PathBuf,
    /// The key file (see `configsync keys generate`).
    #[arg(long, value_name = "FILE", env = "CONFIGSYNC_KEYS")]
    pub keys: PathBuf,
    #[command(flatten)]
    pub log: LogOptions,
}

impl KmsArgs {
    /// Serve until SIGTERM or SIGINT, then finish in-flight calls and remove the socket.
    pub async fn run(self) -> anyhow::Result<()> {
        let Self { socket, keys, log } = self;
        log.init()?;
        let keys = KeyRingFile::open(&keys)
            .with_context(|| format!("loading key file {}", keys.display()))?;
        tracing::info!(primary = %keys.current().primary_id(), "loaded key ring");
        let listener = server::bind(&socket)?;
        tracing::info!(socket = %socket.display(), "KMS v2 plugin listening");
        let shutdown = async move {
            match wait_for_shutdown().await {
                Ok(signal) => tracing::info!(signal, "shutting down"),
                Err(error) => tracing::error!(%error, "cannot wait for SIGTERM; shutting down"),
            }
        };
        let served = server::serve(listener, KmsService::new(Arc::new(keys)), shutdown).await;
        let _ = std::fs::remove_file(&socket);
        Ok(served?)
    }
}
