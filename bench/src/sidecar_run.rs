//! `bench sidecar`, the running part: `configsync sidecar` as its own process against `configsync
//! cluster` (HTTP) or an existing cluster given by its kubeconfig ([`Cluster`]), timed from outside.
//!
//! ```text
//!  harness ── PATCH source ──► cluster ── watch ──► sidecar ── ..data swap ──► harness polls readlink
//!     t0 (before the PATCH)                                 └── POST /reload ──► harness's listener
//! ```
//! "Files visible" is the moment `<dir>/..data` points at a new directory (polled every 100 µs), so each
//! latency is an upper bound on the sidecar's own event → swap time: it also holds the PATCH round trip and
//! the API server's watch delivery. The notice is the reload request arriving at a listener the harness
//! runs (`--http-url`). RSS is read from `/proc/<pid>/status` once 50 sources are on disk.
//!
//! Where the files go: the injected sidecar writes into an `emptyDir` with `medium: Memory` (tmpfs), so the cases
//! run under a [`Target`] base directory that defaults to `/dev/shm`; the two `--wait 0s` cases run again under a
//! comparison base (the system temp directory, a disk here), where the new version's `fsync`s reach the device.
//! Each case names the filesystem it ran on (from `/proc/self/mounts`).
//!
//! The inside view: after each case the harness reads the sidecar's own histogram
//! `configsync_sidecar_event_to_swap_seconds` from its `/metrics` (the change's arrival at its sync loop →
//! the `..data` rename), without the PATCH round trip and the API server's delivery. Its p50/p99 are bucket
//! upper bounds (ten per decade: 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k, from 0.1 ms).
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::Serialize;
use serde_json::json;

use crate::procfs::{self, Memory};
use crate::scale::load;
use crate::scale::process::{self, Process};
use crate::sidecar_matrix::{Matrix, MatrixCase, Mode};
use crate::stats::{self, Summary};

const POLL: Duration = Duration::from_micros(100);

/// Failures of the running part.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting a process failed.
    #[error(transparent)]
    Process(#[from] process::Error),
    /// Talking to the cluster failed.
    #[error(transparent)]
    Load(#[from] load::Error),
    /// Writing a source failed.
    #[error("writing {0}")]
    WriteSource(String, #[source] kube::Error),
    /// A local step failed (temp dir, listener, /proc).
    #[error("{0}")]
    Local(String),
    /// The sidecar did not do what was waited for in time.
    #[error("waiting for {0} timed out")]
    Wait(&'static str),
}

/// A base directory for the sidecar's target directories, and the filesystem it is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Each case writes into a fresh directory under this one.
    pub base: PathBuf,
    /// `tmpfs`, `ext4`, ... (`unknown` when `/proc/self/mounts` does not say).
    pub filesystem: String,
}

impl Target {
    /// `base` and the filesystem it is on.
    pub fn new(base: PathBuf) -> Self {
        let filesystem = procfs::filesystem_of(&base).unwrap_or_else(|| "unknown".into());
        Self { base, filesystem }
    }

    fn tempdir(&self) -> Result<tempfile::TempDir, Error> {
        tempfile::tempdir_in(&self.base)
            .map_err(|e| Error::Local(format!("a directory under {}: {e}", self.base.display())))
    }
}

/// Latencies of one case.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// What was changed, how the sidecar ran, and the filesystem it wrote to.
    pub case: String,
    /// The filesystem of the target directory.
    pub filesystem: String,
    /// PATCH → `..data` swapped.
    pub files: Option<Summary>,
    /// Histogram of `files` over `stats::BUCKETS_MS`.
    pub files_histogram: Vec<usize>,
    /// PATCH → reload request received.
    pub notice: Option<Summary>,
    /// The sidecar's own event → swap histogram.
    pub inside: Option<Inside>,
}

/// The sidecar's `event_to_swap_seconds` histogram, read from its `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Inside {
    /// Observations.
    pub count: u64,
    /// `(upper bound in seconds, cumulative count)` per bucket, `+Inf` left out.
    pub buckets: Vec<(f64, u64)>,
}

impl Inside {
    /// The upper bound of the bucket holding quantile `q` (`None`: no data, or beyond the last bucket).
    pub fn quantile_bound(&self, q: f64) -> Option<Duration> {
        let wanted = (q * self.count as f64).ceil().max(1.0) as u64;
        (self.count > 0)
            .then(|| {
                self.buckets
                    .iter()
                    .find(|(_, cumulative)| *cumulative >= wanted)
            })
            .flatten()
            .map(|(le, _)| Duration::from_secs_f64(*le))
    }
}

const INSIDE_METRIC: &str = "configsync_sidecar_event_to_swap_seconds";

/// Parse the event → swap histogram out of a Prometheus text exposition.
pub fn parse_inside(text: &str) -> Option<Inside> {
    let mut inside = Inside::default();
    let bucket_prefix = format!("{INSIDE_METRIC}_bucket{{le=\"");
    let count_prefix = format!("{INSIDE_METRIC}_count ");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&bucket_prefix) {
            let (le, value) = rest.split_once("\"} ")?;
            if let (Ok(le), Ok(value)) = (le.parse::<f64>(), value.trim().parse::<u64>())
                && le.is_finite()
            {
                inside.buckets.push((le, value));
            }
        } else if let Some(count) = line.strip_prefix(&count_prefix) {
            inside.count = count.trim().parse().ok()?;
        }
    }
    (!inside.buckets.is_empty()).then_some(inside)
}

/// GET `/metrics` from `addr` (HTTP/1.0, the whole body).
pub(crate) fn scrape(addr: &str) -> Result<String, Error> {
    let local = |e: std::io::Error| Error::Local(format!("scraping {addr}/metrics: {e}"));
    let mut stream = std::net::TcpStream::connect(addr).map_err(local)?;
    stream
        .write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .map_err(local)?;
    let mut body = String::new();
    stream.read_to_string(&mut body).map_err(local)?;
    Ok(body)
}

/// A free local port for the sidecar's health server.
pub(crate) fn free_addr() -> Result<String, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Local(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Local(e.to_string()))?;
    Ok(addr.to_string())
}

/// Everything the running part measured.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Where the cases and the memory measure ran.
    pub target: Target,
    /// Where the two `--wait 0s` cases ran again, if they did.
    pub compare: Option<Target>,
    /// One entry per case.
    pub latencies: Vec<Latency>,
    /// RSS with 50 sources synced (`None` with `--matrix-only`).
    pub memory_50_sources: Option<Memory>,
    /// The publish-cost matrix ([`crate::sidecar_matrix`]), on the target then the comparison base.
    pub matrix: Vec<MatrixCase>,
}

/// The binaries a sidecar run starts.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// `configsync`, for `configsync cluster --no-controllers`.
    pub configsync: PathBuf,
    /// The sidecar measured: `configsync-sidecar` (what injected pods run), or `configsync`; both take `sidecar …`.
    pub sidecar: PathBuf,
}

/// The cluster the sidecar runs against.
#[derive(Clone, Debug)]
pub enum Cluster {
    /// `configsync cluster --no-controllers`, started for the run.
    Embedded,
    /// An existing cluster, by its kubeconfig.
    Existing(PathBuf),
}

impl Cluster {
    /// What it is, for the report.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded => "embedded (configsync cluster, over HTTP)".to_owned(),
            Self::Existing(path) => format!("existing (kubeconfig {})", path.display()),
        }
    }
}

/// What a sidecar run does: where, in which namespace, how many updates per undebounced case.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The cluster.
    pub cluster: Cluster,
    /// The namespace of the sources (created if missing; it must not hold them yet).
    pub namespace: String,
    /// Updates per undebounced case (debounced: a tenth, at least 5).
    pub updates: usize,
    /// Updates per case of the publish-cost matrix.
    pub matrix_updates: usize,
    /// Run only the matrix (skip the latency cases and the 50-source memory measure).
    pub matrix_only: bool,
}

/// Run every case with the sidecar binary under `target`, and the `--wait 0s` cases again under `compare`.
pub async fn run(
    binaries: &Binaries,
    plan: &Plan,
    target: Target,
    compare: Option<Target>,
) -> Result<RunReport, Error> {
    // Held until the run ends: dropping it stops the embedded cluster.
    let (kubeconfig, _cluster) = match &plan.cluster {
        Cluster::Existing(path) => (path.clone(), None),
        Cluster::Embedded => {
            let deadline = Duration::from_secs(60);
            let cluster = tokio::task::spawn_blocking({
                let configsync = binaries.configsync.clone();
                move || process::start_cluster(&configsync, false, Duration::ZERO, deadline)
            })
            .await
            .map_err(|e| Error::Local(e.to_string()))??;
            (cluster.kubeconfig.clone(), Some(cluster))
        }
    };
    let client = load::client(&kubeconfig).await?;
    load::ensure_namespace(&client, &plan.namespace).await?;
    let matrix = Matrix {
        sidecar: &binaries.sidecar,
        kubeconfig: &kubeconfig,
        namespace: &plan.namespace,
        client: &client,
        updates: plan.matrix_updates,
        next_version: 1.into(),
    };
    matrix.create_sets().await?;
    let mut targets = vec![target.clone()];
    targets.extend(compare.clone());
    let mut cases = matrix.run(&targets, &Mode::Flags).await?;
    cases.extend(matrix.run(&targets, &Mode::K8sSidecar).await?);
    let matrix = cases;
    if plan.matrix_only {
        return Ok(RunReport {
            target,
            compare,
            latencies: Vec::new(),
            memory_50_sources: None,
            matrix,
        });
    }
    create_sources(&client, &plan.namespace).await?;
    let env = Env {
        sidecar: binaries.sidecar.clone(),
        kubeconfig,
        namespace: plan.namespace.clone(),
        client,
    };
    let updates = plan.updates;
    let few = (updates / 10).max(5);
    let mut latencies = vec![
        env.latency(&target, Source::TenFiles, updates, "0s")
            .await?,
        env.latency(&target, Source::OneMibSecret, updates, "0s")
            .await?,
        env.latency(&target, Source::TenFiles, few, "100ms").await?,
        env.latency(&target, Source::TenFiles, few, "1s").await?,
    ];
    if let Some(compare) = &compare {
        latencies.push(
            env.latency(compare, Source::TenFiles, updates, "0s")
                .await?,
        );
        latencies.push(
            env.latency(compare, Source::OneMibSecret, updates, "0s")
                .await?,
        );
    }
    let memory_50_sources = Some(env.memory_50_sources(&target).await?);
    Ok(RunReport {
        target,
        compare,
        latencies,
        memory_50_sources,
        matrix,
    })
}

#[derive(Clone, Copy, Debug)]
enum Source {
    TenFiles,
    OneMibSecret,
}

impl Source {
    fn flag(self) -> [&'static str; 2] {
        match self {
            Self::TenFiles => ["--configmap", "ten-files"],
            Self::OneMibSecret => ["--secret", "one-mib"],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::TenFiles => "10-file ConfigMap (10 × 1 KiB)",
            Self::OneMibSecret => "1 MiB Secret (1 key)",
        }
    }
}

fn ten_files(version: usize) -> BTreeMap<String, String> {
    (0..10)
        .map(|i| {
            (
                format!("file-{i}.conf"),
                format!("{version:08}").repeat(128),
            )
        })
        .collect()
}

fn one_mib(version: usize) -> BTreeMap<String, ByteString> {
    let mut blob = vec![b'x'; 1024 * 1024];
    blob[..8].copy_from_slice(format!("{:08}", version % 100_000_000).as_bytes());
    BTreeMap::from([("blob".to_owned(), ByteString(blob))])
}

fn meta(name: String, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_owned()),
        ..ObjectMeta::default()
    }
}

async fn create_sources(client: &Client, namespace: &str) -> Result<(), Error> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let pp = PostParams::default();
    let mut configmaps = vec![("ten-files".to_owned(), ten_files(0))];
    configmaps.extend((0..25).map(|i| (format!("src-cm-{i:02}"), ten_files(i))));
    for (name, data) in configmaps {
        let cm = ConfigMap {
            metadata: meta(name.clone(), namespace),
            data: Some(data),
            ..ConfigMap::default()
        };
        cms.create(&pp, &cm)
            .await
            .map_err(|e| Error::WriteSource(name, e))?;
    }
    let mut all_secrets = vec![("one-mib".to_owned(), one_mib(0))];
    all_secrets.extend((0..25).map(|i| {
        let data = BTreeMap::from([("token".to_owned(), ByteString(vec![b'a' + i as u8; 64]))]);
        (format!("src-secret-{i:02}"), data)
    }));
    for (name, data) in all_secrets {
        let secret = Secret {
            metadata: meta(name.clone(), namespace),
            data: Some(data),
            ..Secret::default()
        };
        secrets
            .create(&pp, &secret)
            .await
            .map_err(|e| Error::WriteSource(name, e))?;
    }
    Ok(())
}

struct Env {
    sidecar: PathBuf,
    kubeconfig: PathBuf,
    namespace: String,
    client: Client,
}

impl Env {
    fn sidecar(&self, dir: &Path, extra: &[String]) -> Result<Process, Error> {
        let mut command = Command::new(&self.sidecar);
        command
            .arg("sidecar")
            .args(["--namespace", &self.namespace, "--dir"])
            .arg(dir)
            .args(extra)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(Process::spawn(command, "configsync sidecar")?)
    }

    async fn latency(
        &self,
        target: &Target,
        source: Source,
        updates: usize,
        wait: &str,
    ) -> Result<Latency, Error> {
        let dir = target.tempdir()?;
        let (url, notices) = notice_listener()?;
        let [flag, name] = source.flag();
        let health = free_addr()?;
        let args: Vec<String> = [
            flag,
            name,
            "--flat",
            "--http-url",
            &url,
            "--wait",
            wait,
            "--health-addr",
            &health,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let _sidecar = self.sidecar(dir.path(), &args)?;
        let data = dir.path().join("..data");
        wait_for(Duration::from_secs(30), "the first sync", || {
            std::fs::read_link(&data).ok()
        })?;
        let (mut files, mut notice) = (Vec::new(), Vec::new());
        for k in 1..=updates {
            let before = std::fs::read_link(&data).ok();
            while notices.try_recv().is_ok() {}
            let start = Instant::now();
            self.update(source, k).await?;
            let data = data.clone();
            let swapped = tokio::task::spawn_blocking(move || {
                wait_for(Duration::from_secs(30), "the ..data swap", || {
                    std::fs::read_link(&data)
                        .ok()
                        .filter(|now| Some(now) != before.as_ref())
                })
            })
            .await
            .map_err(|e| Error::Local(e.to_string()))??;
            drop(swapped);
            files.push(start.elapsed());
            let arrived = notices
                .recv_timeout(Duration::from_secs(30))
                .map_err(|_| Error::Wait("the reload notice"))?;
            notice.push(arrived.saturating_duration_since(start));
        }
        let metrics = tokio::task::spawn_blocking(move || scrape(&health))
            .await
            .map_err(|e| Error::Local(e.to_string()))??;
        Ok(Latency {
            case: format!("{}, --wait {wait}, {}", source.label(), target.filesystem),
            filesystem: target.filesystem.clone(),
            files: stats::summarize(&files),
            files_histogram: stats::histogram(&files),
            notice: stats::summarize(&notice),
            inside: parse_inside(&metrics),
        })
    }

    async fn update(&self, source: Source, version: usize) -> Result<(), Error> {
        let pp = PatchParams::default();
        match source {
            Source::TenFiles => {
                let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
                let patch = json!({"data": ten_files(version)});
                api.patch("ten-files", &pp, &Patch::Merge(&patch))
                    .await
                    .map(drop)
            }
            Source::OneMibSecret => {
                let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
                let patch = json!({"data": one_mib(version)});
                api.patch("one-mib", &pp, &Patch::Merge(&patch))
                    .await
                    .map(drop)
            }
        }
        .map_err(|e| Error::WriteSource(format!("{source:?}"), e))
    }

    async fn memory_50_sources(&self, target: &Target) -> Result<Memory, Error> {
        let dir = target.tempdir()?;
        let mut args = vec!["--health-addr".to_owned(), "off".to_owned()];
        for i in 0..25 {
            args.extend(["--configmap".to_owned(), format!("src-cm-{i:02}")]);
            args.extend(["--secret".to_owned(), format!("src-secret-{i:02}")]);
        }
        let sidecar = self.sidecar(dir.path(), &args)?;
        let root = dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            wait_for(Duration::from_secs(60), "50 sources on disk", || {
                (synced_sources(&root) >= 50).then_some(())
            })
        })
        .await
        .map_err(|e| Error::Local(e.to_string()))??;
        tokio::time::sleep(Duration::from_secs(1)).await;
        sidecar.memory().map_err(|e| Error::Local(e.to_string()))
    }
}

/// Sources on disk: the source directories (`<name>/`) with their own published `<name>/..data`.
fn synced_sources(root: &Path) -> usize {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("..data").is_dir())
        .count()
}

/// Poll `probe` every 100 µs until it yields a value or `limit` passes.
pub(crate) fn wait_for<T>(
    limit: Duration,
    what: &'static str,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, Error> {
    let end = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if Instant::now() >= end {
            return Err(Error::Wait(what));
        }
        std::thread::sleep(POLL);
    }
}

/// A one-thread HTTP listener that answers 200 to anything and reports each request's arrival.
fn notice_listener() -> Result<(String, mpsc::Receiver<Instant>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Local(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Local(e.to_string()))?;
    let (arrived_tx, arrived_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            if arrived_tx.send(Instant::now()).is_err() {
                return;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    Ok((format!("http://{addr}/reload"), arrived_rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_event_to_swap_histogram_and_its_bucket_bounds() {
        let text = "# TYPE configsync_sidecar_event_to_swap_seconds histogram\n\
            configsync_sidecar_event_to_swap_seconds_sum 0.3\n\
            configsync_sidecar_event_to_swap_seconds_count 100\n\
            configsync_sidecar_event_to_swap_seconds_bucket{le=\"0.00025\"} 0\n\
            configsync_sidecar_event_to_swap_seconds_bucket{le=\"0.0005\"} 10\n\
            configsync_sidecar_event_to_swap_seconds_bucket{le=\"0.001\"} 60\n\
            configsync_sidecar_event_to_swap_seconds_bucket{le=\"0.002\"} 98\n\
            configsync_sidecar_event_to_swap_seconds_bucket{le=\"0.004\"} 99\n\
            configsync_sidecar_event_to_swap_seconds_bucket{le=\"+Inf\"} 100\n\
            configsync_sidecar_syncs_total 7\n";
        let inside = parse_inside(text).expect("histogram present");
        assert_eq!(inside.count, 100);
        assert_eq!(inside.buckets.len(), 5, "+Inf left out");
        assert_eq!(inside.quantile_bound(0.5), Some(Duration::from_millis(1)));
        assert_eq!(inside.quantile_bound(0.99), Some(Duration::from_millis(4)));
        assert_eq!(inside.quantile_bound(1.0), None, "beyond the last bucket");
        assert_eq!(parse_inside("configsync_sidecar_syncs_total 7\n"), None);
    }
}
