//! `configsync inject`: print a manifest with the sync sidecar injected, for GitOps flows without the webhook.
//!
//! Reads multi-document YAML from `-f FILE` (or `-` for stdin), patches Pods, Deployments, StatefulSets and
//! DaemonSets that opt in (the same decision as the webhook, `configsync_operator::inject`), passes every other
//! document through unchanged, and prints the result. Warnings go to stderr.
use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use configsync_operator::inject::InjectConfig;
use configsync_operator::inject::manifest::inject_manifest;
use serde_json::Value;

/// Inject the configsync sidecar into the manifests of a file (or stdin) and print them.
#[derive(Debug, clap::Args)]
pub struct InjectArgs {
    /// The manifest file, or `-` for stdin.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// The configsync image of the injected containers.
    #[arg(long, default_value_t = InjectConfig::default().image, env = "CONFIGSYNC_INJECT_IMAGE")]
    image: String,
    /// Path of the sidecar binary inside the image (`configsync-sidecar`, or `configsync`: both take `sidecar …`).
    #[arg(long, default_value_t = InjectConfig::default().binary_path, env = "CONFIGSYNC_INJECT_BINARY_PATH")]
    binary_path: String,
    /// Inject a classic sidecar (a render-once init container, then a regular container) instead of a native one
    /// (for clusters before Kubernetes 1.29).
    #[arg(long, env = "CONFIGSYNC_INJECT_REGULAR_CONTAINER")]
    regular_container: bool,
}

impl InjectArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            file,
            image,
            binary_path,
            regular_container,
        } = self;
        let text = read_input(&file)?;
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
            .with_context(|| format!("parse YAML from {}", file.display()))?;
        let documents = documents.into_iter().filter(|doc| !doc.is_null()).collect();
        let config = InjectConfig {
            image,
            binary_path,
            native_sidecar: !regular_container,
        };
        let injected = inject_manifest(documents, &config)?;
        for warning in &injected.warnings {
            eprintln!("warning: {warning}");
        }
        let mut out = std::io::stdout().lock();
        for (index, doc) in injected.documents.iter().enumerate() {
            if index > 0 {
                out.write_all(b"---\n")?;
            }
            out.write_all(serde_saphyr::to_string(doc)?.as_bytes())?;
        }
        Ok(())
    }
}

fn read_input(file: &PathBuf) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))
}
