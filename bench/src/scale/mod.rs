//! `bench scale`: the operator at scale on the embedded cluster over HTTP, the operator as its own process.
//!
//! ```text
//!  1. generate (objects)   N ConfigMaps + N Secrets of S bytes, D Deployments (3–5 refs, every kind),
//!                          one `shared` ConfigMap read by F `fan-*` Deployments
//!  2. create (load)        concurrent POSTs, at most --concurrency in flight; then list to verify counts
//!  3. operator (operator)  start → /readyz (ready time) → quiet → RSS/HWM; K sequential updates of one
//!                          ConfigMap → reaction p50/p99 + histogram, CPU and API requests per update;
//!                          fan-out unlimited; restart with --rollouts-per-second → patches on restart,
//!                          fan-out rate
//! ```
//! Step 3 runs only when the `configsync` binary has an `operator` subcommand; otherwise the report says
//! why it was skipped. The cluster counts requests per client, and the harness identifies itself
//! (`load::USER_AGENT`), so the operator's requests are counted apart.
use std::path::PathBuf;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde::Serialize;

use crate::procfs::Memory;

pub mod load;
pub mod objects;
pub mod observe;
pub mod operator;
pub mod process;
mod report;
mod run;

pub use operator::OperatorReport;
pub use report::{json, tables};
pub use run::run;

/// Parameters of a scale run.
#[derive(Clone, Debug, clap::Args)]
pub struct Params {
    /// ConfigMaps to create.
    #[arg(long, default_value_t = 10_000)]
    pub configmaps: usize,
    /// Secrets to create.
    #[arg(long, default_value_t = 10_000)]
    pub secrets: usize,
    /// Bytes of data per ConfigMap and Secret (`10KiB`, `1MiB`, `512`).
    #[arg(long, default_value = "10KiB", value_parser = parse_size)]
    pub size: usize,
    /// Deployments, each reading 3 to 5 of the sources.
    #[arg(long, default_value_t = 2_000)]
    pub deployments: usize,
    /// Deployments sharing the one `shared` ConfigMap (fan-out).
    #[arg(long, default_value_t = 1_000)]
    pub fanout: usize,
    /// Sequential updates for the reaction latency.
    #[arg(long, default_value_t = 1_000)]
    pub updates: usize,
    /// Create requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Replicas of every Deployment (0: the cluster simulates no pods).
    #[arg(long, default_value_t = 0)]
    pub replicas: i32,
    /// The namespace for everything.
    #[arg(long, default_value = "bench")]
    pub namespace: String,
    /// Rollout budget for the second fan-out, passed as `--rollouts-per-second`.
    #[arg(long, default_value_t = 50.0)]
    pub rollouts_per_second: f64,
    /// Where the operator serves `/readyz`.
    #[arg(long, default_value = "127.0.0.1:18080")]
    pub operator_health: String,
    /// Extra arguments for `configsync operator` (repeat the flag for each).
    #[arg(long = "operator-arg", allow_hyphen_values = true)]
    pub operator_args: Vec<String>,
    /// Run the cluster's simulated controllers (ReplicaSets, pods, garbage collector). Off by default:
    /// their sweeps list every workload on every Deployment event and would be measured instead of the
    /// operator.
    #[arg(long)]
    pub controllers: bool,
    /// Append the operator's log (stderr) to this file.
    #[arg(long)]
    pub operator_log: Option<PathBuf>,
    /// Latency the embedded cluster adds before every API answer (`configsync cluster --api-latency`):
    /// `5ms`, `20ms`. Not available with `--kubeconfig`.
    #[arg(long, default_value = "0ms", value_parser = parse_latency)]
    pub api_latency: std::time::Duration,
    /// Seconds any single wait may take before the run fails.
    #[arg(long, default_value_t = 120)]
    pub deadline_seconds: u64,
}

/// A Go-style duration (`20ms`, `1s`), read as the operator reads its flags.
pub fn parse_latency(text: &str) -> Result<std::time::Duration, String> {
    configsync_core::timing::parse_duration(text).map_err(|invalid| invalid.to_string())
}

/// `10KiB` → 10240; plain numbers are bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let scale = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "Ki" => 1024,
        "MiB" | "Mi" => 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?}: use B, KiB or MiB")),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("invalid size {text:?}"))
}

/// Where the cluster is.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// What it is, for the report (`configsync cluster (embedded)`, or the kubeconfig of an existing one).
    pub description: String,
    /// A kubeconfig pointing at it.
    pub kubeconfig: PathBuf,
    /// Its process, when it runs as one (for its RSS).
    pub server_pid: Option<u32>,
    /// How the operator's requests are counted there ([`load::Counting::detect`]).
    pub counting: load::Counting,
}

/// Objects of each kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// ConfigMaps (including `shared`).
    pub config_maps: usize,
    /// Secrets.
    pub secrets: usize,
    /// Deployments (including the fan-out ones).
    pub deployments: usize,
}

/// Everything a scale run measured.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleReport {
    /// The cluster it ran on ([`Endpoint::description`]).
    pub cluster: String,
    /// Objects the harness created.
    pub created: Counts,
    /// Objects the cluster lists afterwards.
    pub listed: Counts,
    /// Raw ConfigMap and Secret data, bytes.
    pub raw_bytes: u64,
    /// Seconds spent creating everything.
    pub create_seconds: f64,
    /// The API server's memory after creation, when it is a separate process.
    pub server_memory: Option<Memory>,
    /// The operator measurements, or why there are none.
    pub operator: Result<OperatorReport, String>,
}

impl ScaleReport {
    /// Every object created is listed.
    pub fn all_created(&self) -> bool {
        self.created == self.listed
    }
}

/// The objects a run creates, counted.
pub fn expected_counts(params: &Params) -> Counts {
    Counts {
        config_maps: params.configmaps + 1,
        secrets: params.secrets,
        deployments: params.deployments + params.fanout,
    }
}

/// Generated objects, in creation order.
pub fn config_maps(params: &Params) -> impl Iterator<Item = ConfigMap> + '_ {
    let shared = objects::config_map(&params.namespace, "shared".into(), params.size, 0);
    (0..params.configmaps)
        .map(|i| {
            objects::config_map(
                &params.namespace,
                objects::config_map_name(i),
                params.size,
                i,
            )
        })
        .chain(std::iter::once(shared))
}

/// Generated Secrets.
pub fn secrets(params: &Params) -> impl Iterator<Item = Secret> + '_ {
    (0..params.secrets).map(|i| objects::secret(&params.namespace, i, params.size))
}

/// Generated Deployments: the fleet, then the fan-out set.
pub fn deployments(params: &Params) -> impl Iterator<Item = Deployment> + '_ {
    let ns = params.namespace.as_str();
    let fleet = (0..params.deployments).map(move |i| {
        let refs = objects::references(i, params.configmaps, params.secrets);
        objects::deployment(ns, deployment_name(i), &refs, params.replicas)
    });
    let shared = [objects::Reference {
        secret: false,
        name: "shared".into(),
        kind: objects::RefKind::EnvFrom,
    }];
    let fan = (0..params.fanout)
        .map(move |i| objects::deployment(ns, fan_name(i), &shared, params.replicas));
    fleet.chain(fan)
}

/// Fleet Deployment `i`.
pub fn deployment_name(i: usize) -> String {
    format!("deploy-{i:05}")
}

/// Fan-out Deployment `i`.
pub fn fan_name(i: usize) -> String {
    format!("fan-{i:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("10KiB"), Ok(10 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("10kb").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("99999999999999999999MiB").is_err());
    }
}
