//! `configsync demo`: the whole system in one command, with no cluster to install (or on an existing one).
//!
//! # Theory of operation
//! ```text
//!  configsync demo ──HTTP──► EmbeddedCluster (on 127.0.0.1, kubeconfig in a temp dir)
//!        │                   or an existing cluster (--kubeconfig; a namespace of the demo's own)
//!        │ children (this same binary, real processes):
//!        ├─► configsync operator --webhook-addr ...    (rolls Deployments on config change; injects sidecars,
//!        │       ▲ HTTPS on pod CREATE                   registered from deploy/webhook.yaml with a dev CA)
//!        │       └── the API server
//!        ├─► configsync sidecar --configmap redis-config ──SIGHUP──► configsync demo app
//!        │
//!        └─ applies crds/ + examples/, then narrates the steps of [`story`], each waiting on a condition
//!           with a deadline; `--interactive` instead shows Events until Ctrl-C.
//! ```
//! The story's texts and decisions are pure ([`story`]); [`api`] reads and edits the cluster; [`children`]
//! starts the processes and, on exit (end of the story, error, Ctrl-C or SIGTERM), stops and reaps every one of
//! them before the temp dir is removed; [`target`] starts the embedded server or reaches the existing cluster,
//! and on an existing cluster deletes what the demo created there (namespace, webhook registration).
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use configsync::shutdown::wait_for_shutdown;
use configsync_core::timing::parse_duration;
use tokio::time::Instant;

mod api;
mod app;
mod children;
mod inject;
mod manifests;
mod steps;
mod story;
mod target;

/// Run the whole system (embedded cluster or --kubeconfig's, operator, sidecar, demo app) and walk through its
/// story.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    #[command(flatten)]
    options: DemoOptions,
    #[command(subcommand)]
    mode: Option<DemoMode>,
}

#[derive(Debug, clap::Subcommand)]
enum DemoMode {
    /// The demo's app: prints its config files at start and on every SIGHUP.
    #[command(hide = true)]
    App(app::AppArgs),
}

#[derive(Debug, clap::Args)]
struct DemoOptions {
    /// Instead of the scripted story, wait for your changes (made with kubectl) and show Events until Ctrl-C.
    #[arg(long, env = "CONFIGSYNC_DEMO_INTERACTIVE")]
    interactive: bool,
    /// Pause between steps, for reading (e.g. 2s, 0s).
    #[arg(long, default_value = "2s", value_parser = parse_duration, env = "CONFIGSYNC_DEMO_PAUSE")]
    pause: Duration,
    /// Deadline of each step's wait.
    #[arg(long, default_value = "60s", value_parser = parse_duration, env = "CONFIGSYNC_DEMO_STEP_TIMEOUT")]
    step_timeout: Duration,
    /// Run on the existing cluster of this kubeconfig (its current context) instead of starting the embedded
    /// API server. The demo works in a namespace of its own (see --namespace) and deletes it, and its webhook
    /// registration, on exit; the ConfigSync CRD stays. The API server must reach 127.0.0.1 (the operator's
    /// webhook runs here).
    #[arg(
        long,
        env = "CONFIGSYNC_DEMO_KUBECONFIG",
        conflicts_with_all = ["port", "write_kubeconfig", "pod_ready_delay"]
    )]
    kubeconfig: Option<PathBuf>,
    /// With --kubeconfig: the context to use instead of its current one (the operator and sidecar the demo
    /// starts use it too).
    #[arg(long, env = "CONFIGSYNC_DEMO_CONTEXT", requires = "kubeconfig")]
    context: Option<String>,
    /// The namespace to work in. Default: `default` on the embedded server; a fresh `configsync-demo-<hex>` on
    /// an existing cluster. A missing namespace is created, and then deleted on exit.
    #[arg(short = 'n', long, env = "CONFIGSYNC_DEMO_NAMESPACE")]
    namespace: Option<String>,
    /// Embedded server: its port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0, env = "CONFIGSYNC_DEMO_PORT")]
    port: u16,
    /// Embedded server: where to write its kubeconfig (default: in the demo's temp dir); removed on exit.
    #[arg(long, env = "CONFIGSYNC_DEMO_WRITE_KUBECONFIG")]
    write_kubeconfig: Option<PathBuf>,
    /// After the story, keep the cluster and every component running until Ctrl-C or SIGTERM, so their logs
    /// (in the temp dir), Events, status and /metrics can be inspected (the "no leaks" test does).
    #[arg(
        long,
        env = "CONFIGSYNC_DEMO_KEEP_RUNNING",
        conflicts_with = "interactive"
    )]
    keep_running: bool,
    /// Embedded server: how long simulated pods take to become Ready.
    #[arg(long, default_value = "500ms", value_parser = parse_duration, env = "CONFIGSYNC_DEMO_POD_READY_DELAY")]
    pod_ready_delay: Duration,
}

impl DemoArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            Self {
                mode: Some(DemoMode::App(app)),
                ..
            } => Ok(app.run().await?),
            Self {
                options,
                mode: None,
            } => options.run().await,
        }
    }
}

/// What every step needs: the client (whose default namespace is the demo's), the children, the temp dir and
/// the deadlines.
pub struct Demo {
    client: kube::Client,
    /// The namespace everything is applied in.
    namespace: String,
    /// On an existing cluster: the operator is scoped to the namespace, and so is the webhook registration.
    existing: bool,
    /// The name of the webhook registration, once applied.
    webhook: Option<String>,
    children: children::Children,
    dir: PathBuf,
    step_timeout: Duration,
    app: Option<steps::AppHandle>,
}

impl Demo {
    fn deadline(&self) -> Instant {
        Instant::now() + self.step_timeout
    }
}

impl DemoOptions {
    async fn run(self) -> anyhow::Result<()> {
        let temp = tempfile::Builder::new()
            .prefix("configsync-demo-")
            .tempdir()
            .context("creating the demo's temp dir")?;
        let mut target = self.target(temp.path()).await?;
        println!("    temp dir {}", temp.path().display());
        println!("    namespace {}", target.namespace);
        println!(
            "Use kubectl alongside:\nexport KUBECONFIG={}",
            target.kubeconfig.display()
        );
        let mut demo = Demo {
            client: target.client.clone(),
            namespace: target.namespace.clone(),
            existing: target.existing,
            webhook: None,
            children: children::Children::new(&target.kubeconfig, temp.path())?,
            dir: temp.path().to_owned(),
            step_timeout: self.step_timeout,
            app: None,
        };
        let outcome = tokio::select! {
            outcome = self.story(&mut target, &mut demo) => outcome,
            signal = wait_for_shutdown() => {
                println!("\n{} received: stopping", signal?);
                Ok(())
            }
        };
        if let Err(error) = &outcome {
            println!("\nthe demo failed: {error:#}");
            steps::print_logs(&demo.dir);
        }
        println!("\nShutting down");
        demo.children.shutdown().await;
        target.clean_up(demo.webhook.as_deref()).await;
        remove_kubeconfig(self.write_kubeconfig.as_deref());
        temp.close().context("removing the demo's temp dir")?;
        println!("configsync demo finished: every child stopped, temp files removed");
        outcome
    }

    /// The existing cluster of `--kubeconfig`, or the embedded server (its kubeconfig under `temp` unless
    /// `--write-kubeconfig` says where).
    async fn target(&self, temp: &Path) -> anyhow::Result<target::Target> {
        let namespace = self.namespace.clone();
        if let Some(kubeconfig) = &self.kubeconfig {
            let kubeconfig = match &self.context {
                Some(context) => pin_context(kubeconfig, context, temp)?,
                None => kubeconfig.clone(),
            };
            let (target, url) = target::Target::existing(&kubeconfig, namespace).await?;
            println!(
                "configsync demo: existing cluster at {url} (kubeconfig {})",
                target.kubeconfig.display()
            );
            return Ok(target);
        }
        let kubeconfig = self
            .write_kubeconfig
            .clone()
            .unwrap_or_else(|| temp.join("kubeconfig"));
        let (target, addr) =
            target::Target::embedded(self.port, self.pod_ready_delay, &kubeconfig, namespace)
                .await?;
        println!("configsync demo: embedded Kubernetes API server on http://{addr}");
        Ok(target)
    }

    /// Set the system up, then run the story (or the interactive loop).
    async fn story(&self, target: &mut target::Target, demo: &mut Demo) -> anyhow::Result<()> {
        target.prepare(demo.deadline()).await?;
        steps::set_up(demo).await?;
        if self.interactive {
            return steps::interactive(demo).await;
        }
        for step in steps::available() {
            tokio::time::sleep(self.pause).await;
            println!("{}", story::heading(&step));
            steps::run(step, demo).await?;
            if let Some(crashed) = demo.children.exited() {
                anyhow::bail!("{crashed}");
            }
        }
        println!("\nThe story is complete.");
        if self.keep_running {
            println!(
                "Everything keeps running (--keep-running): press Ctrl-C or send SIGTERM to stop"
            );
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// A kubeconfig written where the user asked (`--write-kubeconfig`) lives outside the temp dir; it points at a
/// server that is gone.
fn remove_kubeconfig(path: Option<&Path>) {
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}

/// A copy of `kubeconfig` in `temp` whose current context is `context`, for the demo and every child it starts.
fn pin_context(kubeconfig: &Path, context: &str, temp: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(kubeconfig)
        .with_context(|| format!("reading --kubeconfig {}", kubeconfig.display()))?;
    let mut config: serde_json::Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("parsing --kubeconfig {}", kubeconfig.display()))?;
    let known = config["contexts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["name"] == context);
    anyhow::ensure!(
        known,
        "--context {context:?} is not a context of {}",
        kubeconfig.display()
    );
    config["current-context"] = context.into();
    let pinned = temp.join("kubeconfig-context");
    std::fs::write(&pinned, config.to_string())
        .with_context(|| format!("writing {}", pinned.display()))?;
    Ok(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_pinned_in_a_copy_and_an_unknown_one_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let original = temp.path().join("original");
        let text = "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: a}\n- name: b\n  context: {cluster: b}\n";
        std::fs::write(&original, text).expect("write");
        let pinned = pin_context(&original, "b", temp.path()).expect("pinned");
        let copy: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&pinned).expect("read")).expect("YAML");
        assert_eq!(copy["current-context"], "b");
        assert_eq!(copy["contexts"][1]["context"]["cluster"], "b");
        assert_eq!(
            std::fs::read_to_string(&original).expect("read"),
            text,
            "the original is untouched"
        );
        let error = pin_context(&original, "c", temp.path()).expect_err("unknown context");
        assert!(
            error.to_string().contains("\"c\" is not a context"),
            "{error}"
        );
    }
}
