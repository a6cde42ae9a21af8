//! `bench sidecar`, the publish-cost matrix: how long one changed source takes to become readable, as the
//! projection grows (1 or 200 sources, 350 B to 700 KiB values) and on each filesystem (tmpfs, disk).
//!
//! ```text
//!  harness ── PATCH source i ──► cluster ── watch ──► sidecar (--selector set) ── <source i>/..data swap
//!     t0 = the PATCH answered                         harness reads <dir>/<source i>/v.conf until it holds
//!                                                     version k (another process: this harness)
//! ```
//! Every [`Set`] is its own group of ConfigMaps (one key `v.conf` each, labelled `configsync-bench-set=<set>`),
//! created once; each case starts a fresh sidecar on that set under a fresh directory of one [`Target`], waits for
//! the first complete publish, then changes one source per update (rotating through the set). The clock starts when
//! the PATCH is answered and stops when a read through the user-visible path returns the new version's marker (the
//! first 8 bytes); the whole file is then read once and its length checked. The sidecar's own share is its
//! `event_to_swap` histogram (the change's arrival at its sync loop → the `<dir>/<source i>/..data` rename), read
//! from `/metrics` after the case; RSS is read from `/proc` right after the last update.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::Serialize;
use serde_json::json;

use crate::procfs::Memory;
use crate::scale::process::Process;
use crate::sidecar_run::{Error, Inside, Target, free_addr, parse_inside, scrape, wait_for};
use crate::stats::{self, Summary};

/// The key every source of a set holds.
const KEY: &str = "v.conf";
/// The label that groups a set's ConfigMaps.
const SET_LABEL: &str = "configsync-bench-set";

/// A group of sources measured together: how many, and the size of each one's single value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Set {
    /// ConfigMaps in the set.
    pub sources: usize,
    /// Bytes of each value.
    pub value_bytes: usize,
}

impl Set {
    /// The label value, e.g. `200x100k`.
    fn label(self) -> String {
        match self.value_bytes {
            b if b >= 1024 => format!("{}x{}k", self.sources, b / 1024),
            b => format!("{}x{b}b", self.sources),
        }
    }

    /// For the report, e.g. `200 sources × 100 KiB`.
    pub fn describe(self) -> String {
        let size = match self.value_bytes {
            b if b >= 1024 => format!("{} KiB", b / 1024),
            b => format!("{b} B"),
        };
        let plural = if self.sources == 1 { "" } else { "s" };
        format!("{} source{plural} × {size}", self.sources)
    }

    fn name(self, index: usize) -> String {
        format!("m-{}-{index:03}", self.label())
    }
}

/// The sets of the matrix: 350 B and 700 KiB values, 1 and 200 sources, and the issue's 200 × 100 KiB.
pub const SETS: [Set; 5] = [
    Set {
        sources: 1,
        value_bytes: 350,
    },
    Set {
        sources: 1,
        value_bytes: 700 * 1024,
    },
    Set {
        sources: 200,
        value_bytes: 350,
    },
    Set {
        sources: 200,
        value_bytes: 100 * 1024,
    },
    Set {
        sources: 200,
        value_bytes: 700 * 1024,
    },
];

/// One measured case.
#[derive(Clone, Debug, Serialize)]
pub struct MatrixCase {
    /// The set.
    pub set: Set,
    /// The filesystem of the target directory.
    pub filesystem: String,
    /// How the sidecar was configured (`flags` or a compatible mode).
    pub mode: String,
    /// The PATCH answered → the new content readable through the user-visible path.
    pub end_to_end: Option<Summary>,
    /// The sidecar's own event → swap histogram.
    pub inside: Option<Inside>,
    /// RSS right after the last update.
    pub memory: Memory,
}

/// How a case starts the sidecar: `flags` (`sidecar --selector …`), or a compatible mode's environment.
#[derive(Clone, Debug)]
pub enum Mode {
    /// `<sidecar> sidecar --namespace NS --selector configsync-bench-set=SET --dir DIR --wait 0s`.
    Flags,
    /// `<sidecar>` with no arguments and k8s-sidecar's environment (`LABEL`, `LABEL_VALUE`, `FOLDER`,
    /// `NAMESPACE`, `UNIQUE_FILENAMES=true` since every source holds the same key, `HEALTH_PORT`), as a pod that
    /// swapped only the image runs it.
    K8sSidecar,
}

impl Mode {
    fn describe(&self) -> &'static str {
        match self {
            Self::Flags => "flags",
            Self::K8sSidecar => "k8s-sidecar env",
        }
    }

    /// The user-visible file of source `index` of `set` under `root`.
    fn file(&self, root: &Path, namespace: &str, set: Set, index: usize) -> PathBuf {
        match self {
            Self::Flags => root.join(set.name(index)).join(KEY),
            Self::K8sSidecar => root.join(format!(
                "namespace_{namespace}.configmap_{}.{KEY}",
                set.name(index)
            )),
        }
    }

    fn command(
        &self,
        sidecar: &Path,
        namespace: &str,
        set: Set,
        dir: &Path,
        health: &str,
    ) -> Command {
        let mut command = Command::new(sidecar);
        match self {
            Self::Flags => {
                command
                    .args(["sidecar", "--namespace", namespace, "--selector"])
                    .arg(format!("{SET_LABEL}={}", set.label()))
                    .arg("--dir")
                    .arg(dir)
                    .args(["--wait", "0s", "--health-addr", health]);
            }
            Self::K8sSidecar => {
                let port = health.rsplit(':').next().unwrap_or_default();
                command
                    .env("LABEL", SET_LABEL)
                    .env("LABEL_VALUE", set.label())
                    .env("FOLDER", dir)
                    .env("NAMESPACE", namespace)
                    .env("UNIQUE_FILENAMES", "true")
                    .env("HEALTH_PORT", port);
            }
        }
        command
    }
}

/// What the matrix needs from the surrounding run.
pub struct Matrix<'a> {
    /// The sidecar binary.
    pub sidecar: &'a Path,
    /// The kubeconfig of the cluster.
    pub kubeconfig: &'a Path,
    /// The namespace of the sources.
    pub namespace: &'a str,
    /// A client of the cluster.
    pub client: &'a Client,
    /// Updates per case.
    pub updates: usize,
    /// The next version to write: versions grow across cases, so no PATCH ever repeats a set's current data.
    pub next_version: std::sync::atomic::AtomicUsize,
}

impl Matrix<'_> {
    /// Create every set's ConfigMaps (version 0).
    ///
    /// # Errors
    /// [`Error::WriteSource`] naming the ConfigMap.
    pub async fn create_sets(&self) -> Result<(), Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), self.namespace);
        for set in SETS {
            for index in 0..set.sources {
                let name = set.name(index);
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        namespace: Some(self.namespace.to_owned()),
                        labels: Some(BTreeMap::from([(SET_LABEL.to_owned(), set.label())])),
                        ..ObjectMeta::default()
                    },
                    data: Some(BTreeMap::from([(
                        KEY.to_owned(),
                        value(0, set.value_bytes),
                    )])),
                    ..ConfigMap::default()
                };
                api.create(&PostParams::default(), &cm)
                    .await
                    .map_err(|e| Error::WriteSource(name, e))?;
            }
        }
        Ok(())
    }

    /// Every set on every target, in `mode`.
    ///
    /// # Errors
    /// [`Error`] of the first case that fails.
    pub async fn run(&self, targets: &[Target], mode: &Mode) -> Result<Vec<MatrixCase>, Error> {
        let mut cases = Vec::new();
        for target in targets {
            for set in SETS {
                cases.push(self.case(target, set, mode).await?);
            }
        }
        Ok(cases)
    }

    async fn case(&self, target: &Target, set: Set, mode: &Mode) -> Result<MatrixCase, Error> {
        let dir = tempfile::tempdir_in(&target.base).map_err(|e| {
            Error::Local(format!("a directory under {}: {e}", target.base.display()))
        })?;
        let health = free_addr()?;
        let mut command = mode.command(self.sidecar, self.namespace, set, dir.path(), &health);
        command
            .env("KUBECONFIG", self.kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let sidecar = Process::spawn(command, "configsync sidecar")?;
        let root = dir.path().to_owned();
        let files: Vec<PathBuf> = (0..set.sources)
            .map(|i| mode.file(&root, self.namespace, set, i))
            .collect();
        let first = files.clone();
        tokio::task::spawn_blocking(move || {
            wait_for(
                Duration::from_secs(120),
                "the first complete publish",
                || first.iter().all(|f| f.exists()).then_some(()),
            )
        })
        .await
        .map_err(|e| Error::Local(e.to_string()))??;
        let mut samples = Vec::with_capacity(self.updates);
        for k in 1..=self.updates {
            let index = k % set.sources;
            let k = self
                .next_version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.update(set, index, k).await?;
            let answered = Instant::now();
            let file = files[index].clone();
            let bytes = set.value_bytes;
            tokio::task::spawn_blocking(move || readable(&file, k, bytes))
                .await
                .map_err(|e| Error::Local(e.to_string()))??;
            samples.push(answered.elapsed());
        }
        let memory = sidecar.memory().map_err(|e| Error::Local(e.to_string()))?;
        let metrics = tokio::task::spawn_blocking(move || scrape(&health))
            .await
            .map_err(|e| Error::Local(e.to_string()))??;
        Ok(MatrixCase {
            set,
            filesystem: target.filesystem.clone(),
            mode: mode.describe().to_owned(),
            end_to_end: stats::summarize(&samples),
            inside: parse_inside(&metrics),
            memory,
        })
    }

    async fn update(&self, set: Set, index: usize, version: usize) -> Result<(), Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), self.namespace);
        let patch = json!({"data": {KEY: value(version, set.value_bytes)}});
        let name = set.name(index);
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
            .map_err(|e| Error::WriteSource(name, e))
    }
}

/// Version `version`'s value: its 8-digit marker, then filler up to `bytes`.
fn value(version: usize, bytes: usize) -> String {
    let mut text = format!("{:08}", version % 100_000_000);
    text.push_str(&"x".repeat(bytes.saturating_sub(text.len())));
    text
}

/// Wait until `file` starts with version `version`'s marker, then check that the whole file is there.
fn readable(file: &Path, version: usize, bytes: usize) -> Result<(), Error> {
    let marker = format!("{:08}", version % 100_000_000);
    wait_for(Duration::from_secs(60), "the new content", || {
        let mut head = [0u8; 8];
        let mut opened = std::fs::File::open(file).ok()?;
        opened.read_exact(&mut head).ok()?;
        (head == marker.as_bytes()).then_some(())
    })?;
    let whole =
        std::fs::read(file).map_err(|e| Error::Local(format!("{}: {e}", file.display())))?;
    if whole.len() != bytes || !whole.starts_with(marker.as_bytes()) {
        return Err(Error::Local(format!(
            "{}: {} bytes of version {version} expected, {} read",
            file.display(),
            bytes,
            whole.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_version_and_size() {
        let v = value(42, 350);
        assert_eq!(v.len(), 350);
        assert!(v.starts_with("00000042x"));
        assert_eq!(SETS[3].label(), "200x100k");
        assert_eq!(SETS[0].label(), "1x350b");
        assert_eq!(SETS[0].describe(), "1 source × 350 B");
        assert_eq!(SETS[4].name(7), "m-200x700k-007");
    }
}
