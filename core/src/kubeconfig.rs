//! kubectl's `--kubeconfig` and `--context`, loaded the same way by every binary (the `configsync` commands and
//! the sidecar):
//!
//! ```text
//!  --kubeconfig FILE   → Kubeconfig::read_from(FILE) → Config::from_custom_kubeconfig(--context)
//!  --context NAME      → Config::from_kubeconfig($KUBECONFIG or ~/.kube/config, --context)
//!  neither             → Config::infer() (kubeconfig, then in-cluster)
//! ```
//!
//! With the `cli` feature, [`KubeconfigArgs`] is the one clap definition of the two flags, flattened into the
//! `configsync` commands and the sidecar alike (each keeps its own `-n`: one namespace there, several here).
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Failures while finding the Kubernetes API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--kubeconfig FILE` could not be read or parsed.
    #[error("reading --kubeconfig {}: {source}", path.display())]
    ReadKubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig (or its `--context`) does not give a usable configuration.
    #[error("loading {what}: {source}")]
    LoadKubeconfig {
        /// Which file and context.
        what: String,
        /// Why.
        source: kube::config::KubeconfigError,
    },
    /// Neither a kubeconfig nor the in-cluster service account was found.
    #[error("finding the Kubernetes API (kubeconfig or in-cluster): {0}")]
    InferConfig(#[from] kube::config::InferConfigError),
}

/// kubectl's `--kubeconfig` and `--context`, flattened (`#[command(flatten)]`) into every binary's arguments.
/// Neither has a variable of its own: `KUBECONFIG` is read by [`load`] when `--kubeconfig` is not given.
#[cfg(feature = "cli")]
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct KubeconfigArgs {
    /// The kubeconfig file, as kubectl's (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service
    /// account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use, as kubectl's (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
}

#[cfg(feature = "cli")]
impl KubeconfigArgs {
    /// The client configuration these flags select ([`load`]).
    ///
    /// # Errors
    /// [`Error`] naming the file or context that failed.
    pub async fn load(&self) -> Result<kube::Config, Error> {
        load(self.kubeconfig.as_deref(), self.context.as_deref()).await
    }
}

/// The client configuration `--kubeconfig` and `--context` select (see the module docs).
///
/// # Errors
/// [`Error`] naming the file or context that failed.
pub async fn load(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<kube::Config, Error> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    match (kubeconfig, context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(|source| Error::ReadKubeconfig {
                path: path.to_owned(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|source| Error::LoadKubeconfig {
                    what: format!("--kubeconfig {}", path.display()),
                    source,
                })
        }
        (None, Some(context)) => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|source| Error::LoadKubeconfig {
                what: format!("kubeconfig context {context:?}"),
                source,
            }),
        (None, None) => Ok(kube::Config::infer().await?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "cli")]
    #[test]
    fn flags_parse_as_kubectl_spells_them() {
        use clap::Parser as _;

        #[derive(Debug, clap::Parser)]
        struct Cmd {
            #[command(flatten)]
            kube: KubeconfigArgs,
        }
        let cmd = Cmd::parse_from(["x", "--context", "b", "--kubeconfig", "/k"]);
        assert_eq!(
            cmd.kube,
            KubeconfigArgs {
                kubeconfig: Some(PathBuf::from("/k")),
                context: Some("b".into()),
            }
        );
        assert_eq!(Cmd::parse_from(["x"]).kube, KubeconfigArgs::default());
    }

    const TWO_CONTEXTS: &str = "apiVersion: v1
kind: Config
current-context: first
clusters:
- name: one
  cluster: {server: 'https://127.0.0.1:6441'}
- name: two
  cluster: {server: 'https://127.0.0.1:6442'}
users:
- name: u
  user: {token: t}
contexts:
- name: first
  context: {cluster: one, user: u, namespace: team-one}
- name: second
  context: {cluster: two, user: u, namespace: team-two}
";

    #[tokio::test]
    async fn context_picks_its_server_and_namespace() {
        let dir = tempfile::tempdir().expect("loads");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, TWO_CONTEXTS).expect("loads");
        let current = load(Some(&path), None).await.expect("loads");
        assert_eq!(current.cluster_url.to_string(), "https://127.0.0.1:6441/");
        assert_eq!(current.default_namespace, "team-one");
        let second = load(Some(&path), Some("second")).await.expect("loads");
        assert_eq!(second.cluster_url.to_string(), "https://127.0.0.1:6442/");
        assert_eq!(second.default_namespace, "team-two");
        let missing = load(Some(&path), Some("third")).await.expect_err("fails");
        assert!(missing.to_string().contains("--kubeconfig"), "{missing}");
        let unreadable = load(Some(&dir.path().join("nope")), None)
            .await
            .expect_err("fails");
        assert!(
            matches!(unreadable, Error::ReadKubeconfig { .. }),
            "{unreadable}"
        );
    }
}
