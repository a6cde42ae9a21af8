//! The connection flags every command that talks to the API takes, with kubectl's meanings:
//! `-n/--namespace`, `-A/--all-namespaces`, `--kubeconfig` and `--context`.
//!
//! ```text
//!  --kubeconfig / --context  → configsync_core::kubeconfig::KubeconfigArgs (the flags and their loading, shared
//!                              with the sidecar)
//!  -n NS / -A / none         → NS / every namespace / the context's namespace (else `default`)
//! ```
use anyhow::Context as _;
use configsync_core::kubeconfig::KubeconfigArgs;

/// kubectl's connection flags.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct KubeArgs {
    /// The namespace (default: the kubeconfig context's, else `default`; `operator` watches every namespace
    /// unless -n or --namespaces is given).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// `--kubeconfig` and `--context`.
    #[command(flatten)]
    pub kubeconfig: KubeconfigArgs,
}

/// Which namespaces a command works on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One namespace.
    Namespace(String),
    /// Every namespace (`-A`).
    All,
}

impl KubeArgs {
    /// The client configuration these flags select.
    pub async fn config(&self) -> anyhow::Result<kube::Config> {
        Ok(self.kubeconfig.load().await?)
    }

    /// A client and the namespaces to work on.
    pub async fn connect(&self) -> anyhow::Result<(kube::Client, Scope)> {
        let config = self.config().await?;
        let scope = self.scope(&config.default_namespace);
        let client = kube::Client::try_from(config).context("building the Kubernetes client")?;
        Ok((client, scope))
    }

    /// `-A`, `-n`, or the context's namespace.
    pub fn scope(&self, default_namespace: &str) -> Scope {
        match (&self.namespace, self.all_namespaces) {
            (_, true) => Scope::All,
            (Some(namespace), false) => Scope::Namespace(namespace.clone()),
            (None, false) => Scope::Namespace(default_namespace.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        kube: KubeArgs,
    }

    #[test]
    fn flags_mean_what_kubectl_means() {
        let cmd = Cmd::parse_from(["x", "-n", "prod", "--context", "b", "--kubeconfig", "/k"]);
        assert_eq!(cmd.kube.scope("default"), Scope::Namespace("prod".into()));
        assert_eq!(cmd.kube.kubeconfig.context.as_deref(), Some("b"));
        assert_eq!(cmd.kube.kubeconfig.kubeconfig, Some(PathBuf::from("/k")));
        let all = Cmd::parse_from(["x", "-A"]);
        assert_eq!(all.kube.scope("default"), Scope::All);
        let none = Cmd::parse_from(["x"]);
        assert_eq!(none.kube.scope("team"), Scope::Namespace("team".into()));
        assert!(Cmd::try_parse_from(["x", "-A", "-n", "prod"]).is_err());
    }
}
