//! `configsync demo`: the whole system in one command, with no cluster to install.
//!
//! # Theory of operation
//! ```text
//!  configsync demo ──in-process──► EmbeddedCluster (HTTP on 127.0.0.1, kubeconfig in a temp dir)
//!        │ children (this same binary, real processes):
//!        ├─► configsync operator --webhook-addr ...    (rolls Deployments on config change; injects sidecars,
//!        │       ▲ HTTPS on pod CREATE                   registered from deploy/webhook.yaml with a dev CA)
//!        │       └── the embedded cluster
//!        ├─► configsync sidecar --configmap redis-config ──SIGHUP──► configsync demo app
//!        │
//!        └─ applies crds/ + examples/, then narrates the steps of [`story`], each waiting on a condition
//!           with a deadline; `--interactive` instead shows Events until Ctrl-C.
//! ```
//! The story's texts and decisions are pure ([`story`]); [`api`] reads and edits the cluster; [`children`]
//! starts the processes and, on exit (end of the story, error, Ctrl-C or SIGTERM), stops and reaps every one of
//! them before the temp dir is removed.
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use configsync_cluster::{Config, EmbeddedCluster};
use tokio::time::Instant;

mod api;
mod app;
mod children;
mod inject;
mod manifests;
mod steps;
mod story;

/// Run the whole system (embedded cluster, operator, sidecar, demo app) and walk through its story.
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
    /// Port of the API server on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0, env = "CONFIGSYNC_DEMO_PORT")]
    port: u16,
    /// Where to write the kubeconfig (default: in the demo's temp dir); removed on exit.
    #[arg(long, env = "CONFIGSYNC_DEMO_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// After the story, keep the cluster and every component running until Ctrl-C or SIGTERM, so their logs
    /// (in the temp dir), Events, status and /metrics can be inspected (the "no leaks" test does).
    #[arg(
        long,
        env = "CONFIGSYNC_DEMO_KEEP_RUNNING",
        conflicts_with = "interactive"
    )]
    keep_running: bool,
    /// How long simulated pods take to become Ready.
    #[arg(long, default_value = "500ms", value_parser = parse_duration, env = "CONFIGSYNC_DEMO_POD_READY_DELAY")]
    pod_ready_delay: Duration,
}

/// A duration like `2s`, `500ms` or `1m`.
fn parse_duration(input: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {input:?}: expected e.g. 2s, 500ms or 1m");
    let signed: jiff::SignedDuration = input.parse().map_err(|_| invalid())?;
    Duration::try_from(signed).map_err(|_| invalid())
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

/// What every step needs: the in-process client, the children, the temp dir and the deadlines.
pub struct Demo {
    client: kube::Client,
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
        let kubeconfig = self
            .kubeconfig
            .clone()
            .unwrap_or_else(|| temp.path().join("kubeconfig"));
        let config = Config {
            pod_ready_delay: self.pod_ready_delay,
            ..Config::default()
        };
        let mut cluster = EmbeddedCluster::start(config).await;
        let addr = cluster.serve_http(self.port).await?;
        cluster.write_kubeconfig(&kubeconfig)?;
        let kubeconfig = std::path::absolute(&kubeconfig).unwrap_or(kubeconfig);
        println!("configsync demo: embedded Kubernetes API server on http://{addr}");
        println!("    temp dir {}", temp.path().display());
        println!(
            "Use kubectl alongside:\nexport KUBECONFIG={}",
            kubeconfig.display()
        );
        let mut demo = Demo {
            client: cluster.client(),
            children: children::Children::new(&kubeconfig, temp.path())?,
            dir: temp.path().to_owned(),
            step_timeout: self.step_timeout,
            app: None,
        };
        let outcome = tokio::select! {
            outcome = self.story(&mut demo) => outcome,
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
        drop(cluster);
        remove_kubeconfig(self.kubeconfig.as_deref());
        temp.close().context("removing the demo's temp dir")?;
        println!("configsync demo finished: every child stopped, temp files removed");
        outcome
    }

    /// Set the system up, then run the story (or the interactive loop).
    async fn story(&self, demo: &mut Demo) -> anyhow::Result<()> {
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

/// A kubeconfig the user asked for lives outside the temp dir; it points at a server that is gone.
fn remove_kubeconfig(path: Option<&Path>) {
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}

/// Wait for Ctrl-C or SIGTERM; returns which one arrived.
async fn wait_for_shutdown() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = interrupt.recv() => "Ctrl-C",
        _ = terminate.recv() => "SIGTERM",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_friendly_form() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
