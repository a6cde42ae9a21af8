//! `bench`: configsync's on-demand benchmarks. See `BENCHMARKS.md` for the commands and recorded results.
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use configsync_bench::machine::{self, Machine};
use configsync_bench::report::emit;
use configsync_bench::scale::load::{self, Counting};
use configsync_bench::scale::{self, Endpoint, Params, process};
use configsync_bench::sidecar_run::Target;
use configsync_bench::{openssl, primitives, sidecar, sidecar_run};

#[derive(Debug, Parser)]
#[command(
    about = "configsync benchmarks (not tests): each prints a table, and a JSON line with --json"
)]
struct Args {
    /// Also print one JSON line with every number.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// sha256 (canonical digest path) and envelope AES-256-GCM against `openssl speed`, same run.
    Primitives {
        /// Seconds per case (openssl runs as long for its baseline).
        #[arg(long, default_value_t = 1)]
        seconds: u32,
        /// Rounds of every case; each number is the best of its rounds.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
    /// The operator at scale on `configsync cluster` over HTTP, the operator as its own process.
    Scale {
        #[command(flatten)]
        params: Params,
        /// The `configsync` binary (default: next to this one).
        #[arg(long)]
        configsync: Option<PathBuf>,
        /// Run on the existing cluster of this kubeconfig (its current context) instead of starting
        /// `configsync cluster`. Use a namespace that does not exist yet (--namespace); the operator is
        /// scoped to it with `--namespaces`.
        #[arg(long, conflicts_with = "controllers")]
        kubeconfig: Option<PathBuf>,
    },
    /// Sidecar: stripped binary size, event → files and → reload notice latency, RSS with 50 sources.
    Sidecar {
        /// The `configsync` binary, for the embedded cluster (default: next to this one).
        #[arg(long)]
        configsync: Option<PathBuf>,
        /// The sidecar binary measured, as injected pods run it (default: `configsync-sidecar` next to this one).
        #[arg(long)]
        sidecar_bin: Option<PathBuf>,
        /// Updates per undebounced case (debounced cases run a tenth, at least 5).
        #[arg(long, default_value_t = 200)]
        updates: usize,
        /// Updates per case of the publish-cost matrix (1 and 200 sources, 350 B to 700 KiB values).
        #[arg(long, default_value_t = 30)]
        matrix_updates: usize,
        /// Run only the publish-cost matrix.
        #[arg(long)]
        matrix_only: bool,
        /// Where the sidecar writes (a fresh directory per case under it). The injected volume is an emptyDir
        /// with medium Memory, i.e. tmpfs: hence /dev/shm.
        #[arg(long, default_value = "/dev/shm")]
        dir_base: PathBuf,
        /// The two `--wait 0s` cases run again under this directory, for comparison (default: the system temp
        /// directory; skipped when it is on the same kind of filesystem as --dir-base).
        #[arg(long)]
        compare_base: Option<PathBuf>,
        /// Run on the existing cluster of this kubeconfig (its current context) instead of starting
        /// `configsync cluster`.
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// The namespace of the sources (created; it must not hold them yet).
        #[arg(long, default_value = "bench-sidecar")]
        namespace: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let machine = Machine::detect();
    println!("machine: {}", machine.describe());
    println!(
        "command: {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    match args.command {
        Command::Primitives { seconds, rounds } => {
            println!(
                "openssl: {}",
                openssl::version().unwrap_or_else(|| "not available".into())
            );
            println!("instructions: {}", machine::instructions_used().join(", "));
            let cases = primitives::run(seconds, rounds.max(1)).context("primitives benchmark")?;
            let json = primitives::json(&cases);
            emit(&[primitives::table(&cases)], args.json.then_some(&json));
        }
        Command::Scale {
            mut params,
            configsync,
            kubeconfig,
        } => {
            let configsync = match configsync {
                Some(path) => path,
                None => sibling("configsync")?,
            };
            // Held until the run ends: dropping it stops the embedded cluster.
            let (endpoint, _cluster) = match kubeconfig {
                Some(_) if !params.api_latency.is_zero() => {
                    anyhow::bail!(
                        "--api-latency applies to the embedded cluster only, not with --kubeconfig"
                    )
                }
                Some(kubeconfig) => {
                    params
                        .operator_args
                        .extend(["--namespaces".to_owned(), params.namespace.clone()]);
                    (existing(kubeconfig).await?, None)
                }
                None => {
                    let (endpoint, cluster) = embedded(&configsync, &params).await?;
                    (endpoint, Some(cluster))
                }
            };
            // The operator's own reaction: without `--settle 0s` every change would first wait out the
            // settle window (default 2 s) that lets a deploy's two writes give one rollout.
            let help = scale::process::operator_help(&configsync);
            if help
                .as_deref()
                .is_ok_and(|help| scale::process::has_flag(help, "--settle"))
                && !params
                    .operator_args
                    .iter()
                    .any(|a| a.starts_with("--settle"))
            {
                params
                    .operator_args
                    .extend(["--settle".to_owned(), "0s".to_owned()]);
            }
            let operator = help.map(|_| configsync.as_path());
            let report = scale::run(&params, &endpoint, operator).await?;
            let json = scale::json(&params, &report);
            emit(&scale::tables(&params, &report), args.json.then_some(&json));
        }
        Command::Sidecar {
            configsync,
            sidecar_bin,
            updates,
            matrix_updates,
            matrix_only,
            dir_base,
            compare_base,
            kubeconfig,
            namespace,
        } => {
            let configsync = match configsync {
                Some(path) => path,
                None => sibling("configsync")?,
            };
            let sidecar_bin = match sidecar_bin {
                Some(path) => path,
                None => sibling("configsync-sidecar")?,
            };
            let target = Target::new(dir_base);
            let compare = Target::new(compare_base.unwrap_or_else(std::env::temp_dir));
            let compare = (compare.filesystem != target.filesystem).then_some(compare);
            println!(
                "sidecar files: under {} ({}); comparison: {}",
                target.base.display(),
                target.filesystem,
                compare.as_ref().map_or_else(
                    || "none (same filesystem)".to_owned(),
                    |c| format!("under {} ({})", c.base.display(), c.filesystem)
                )
            );
            let size = sidecar::binary_size(&sidecar_bin).context("measuring the binary")?;
            let binaries = sidecar_run::Binaries {
                configsync,
                sidecar: sidecar_bin,
            };
            let cluster = match kubeconfig {
                Some(path) => sidecar_run::Cluster::Existing(path),
                None => sidecar_run::Cluster::Embedded,
            };
            println!("cluster: {}, namespace {namespace}", cluster.describe());
            let plan = sidecar_run::Plan {
                cluster,
                namespace,
                updates: updates.max(1),
                matrix_updates: matrix_updates.max(1),
                matrix_only,
            };
            let run = sidecar_run::run(&binaries, &plan, target, compare)
                .await
                .context("running the sidecar")?;
            let json = serde_json::json!({"benchmark": "sidecar", "cluster": plan.cluster.describe(),
                "namespace": plan.namespace, "binary": size, "run": run});
            emit(&sidecar::tables(size, &run), args.json.then_some(&json));
        }
    }
    Ok(())
}

/// An existing cluster, from its kubeconfig.
async fn existing(kubeconfig: PathBuf) -> anyhow::Result<Endpoint> {
    let client = load::client(&kubeconfig).await?;
    Ok(Endpoint {
        description: format!("existing (kubeconfig {})", kubeconfig.display()),
        counting: Counting::detect(&client).await,
        kubeconfig,
        server_pid: None,
    })
}

/// Start `configsync cluster` (HTTP) as a process of its own.
async fn embedded(
    configsync: &Path,
    params: &Params,
) -> anyhow::Result<(Endpoint, process::ClusterProcess)> {
    let deadline = Duration::from_secs(params.deadline_seconds);
    let (controllers, api_latency) = (params.controllers, params.api_latency);
    let cluster = tokio::task::spawn_blocking({
        let configsync = configsync.to_owned();
        move || process::start_cluster(&configsync, controllers, api_latency, deadline)
    })
    .await?
    .context("starting configsync cluster")?;
    let endpoint = Endpoint {
        description: "embedded (configsync cluster, over HTTP)".to_owned(),
        kubeconfig: cluster.kubeconfig.clone(),
        server_pid: Some(cluster.process.pid()),
        counting: Counting::ByClient,
    };
    Ok((endpoint, cluster))
}

/// The binary `name` (of the `configsync` package) in the same target directory as this binary.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let path = exe.with_file_name(name);
    anyhow::ensure!(
        path.exists(),
        "{} not found: build it (cargo build --release -p configsync) or pass its path",
        path.display()
    );
    Ok(path)
}
