//! Shared helpers for the end-to-end tests: a Kubernetes API to run against, `kubectl` against it, and
//! deadline-bound waits. Each test binary includes this with `mod support;`.
//!
//! # Two backends, one switch
//! - By default every test starts its own `configsync cluster` (the embedded API server) as a process.
//! - With `CONFIGSYNC_REAL_K8S=DIR` (the directory `hack/real-k8s up DIR` wrote) the tests share that real
//!   kube-apiserver, kube-controller-manager and etcd. Each test gets a namespace of its own, made the default
//!   namespace of its own kubeconfig, so kubectl, the operator (scoped with `--namespaces`) and the sidecar stay
//!   inside it; the namespace is deleted when the test ends.
//!
//! kubectl must be on PATH. When `CI` is set a missing kubectl fails the tests; otherwise they are skipped
//! with a printed reason. Every wait polls a condition against a deadline.
#![allow(dead_code)]
pub mod proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(20);

/// Names the directory of a running real control plane (`hack/real-k8s up DIR`); unset: the embedded server.
pub const REAL_K8S_ENV: &str = "CONFIGSYNC_REAL_K8S";

/// The directory of the real control plane the tests run against, when [`REAL_K8S_ENV`] names one.
pub fn real_k8s_dir() -> Option<PathBuf> {
    std::env::var_os(REAL_K8S_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// What the tests run against.
pub enum Backend {
    /// A `configsync cluster` process of this test's own; killed on drop. `addr` is its `host:port`.
    Embedded { child: Child, addr: String },
    /// The shared real control plane; this test's namespace is deleted on drop.
    Real { admin_kubeconfig: PathBuf },
}

/// A Kubernetes API for one test: its kubeconfig (whose context namespace is [`Cluster::namespace`]) and a
/// temporary directory.
pub struct Cluster {
    pub backend: Backend,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
    /// The namespace this test works in: `default` on the embedded server, a fresh one on a real cluster.
    pub namespace: String,
    /// Further namespaces made with [`Cluster::create_namespace`], deleted with the test's own on a real cluster.
    extra_namespaces: std::cell::RefCell<Vec<String>>,
    /// Cluster-scoped objects (`kind/name`) this test made on a real cluster, deleted when it ends.
    cluster_objects: std::cell::RefCell<Vec<String>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        match &mut self.backend {
            Backend::Embedded { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Backend::Real { admin_kubeconfig } => {
                for object in self.cluster_objects.borrow().iter() {
                    let _ = Command::new("kubectl")
                        .arg("--kubeconfig")
                        .arg(&*admin_kubeconfig)
                        .args(["delete", object, "--ignore-not-found", "--wait=false"])
                        .output();
                }
                let mut namespaces = vec![self.namespace.clone()];
                namespaces.extend(self.extra_namespaces.borrow().iter().cloned());
                let _ = Command::new("kubectl")
                    .arg("--kubeconfig")
                    .arg(&*admin_kubeconfig)
                    .args(["delete", "namespace", "--wait=false"])
                    .args(&namespaces)
                    .output();
            }
        }
    }
}

pub fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl is required on PATH when CI is set"
        );
        eprintln!("skipping: kubectl is not on PATH (set CI to make this a failure)");
    }
    found
}

/// The backend [`REAL_K8S_ENV`] chooses, ready for this test; `None` when kubectl is missing.
pub fn start() -> Option<Cluster> {
    if !kubectl_available() {
        return None;
    }
    Some(match real_k8s_dir() {
        Some(dir) => start_real(&dir),
        None => start_embedded_process(),
    })
}

/// The embedded server whatever the switch says, for the few tests that need what only it offers (its fault
/// injection endpoints); `None` when kubectl is missing.
pub fn start_embedded() -> Option<Cluster> {
    kubectl_available().then(start_embedded_process)
}

/// Start `configsync cluster` on a free port and wait until `/readyz` answers.
fn start_embedded_process() -> Cluster {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["cluster", "--port", "0", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .env("CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS", "200")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn configsync cluster");
    let line_rx = lines_of(child.stdout.take().expect("stdout"));
    let addr = wait_for_line(&line_rx, "listening on http://");
    let addr = addr
        .as_deref()
        .and_then(|line| line.rsplit("http://").next())
        .unwrap_or_default()
        .to_owned();
    let cluster = Cluster {
        backend: Backend::Embedded {
            child,
            addr: addr.clone(),
        },
        kubeconfig,
        dir,
        namespace: "default".to_owned(),
        extra_namespaces: Default::default(),
        cluster_objects: Default::default(),
    };
    assert!(!addr.is_empty(), "the server prints its address");
    wait_until("/readyz answers ok", || {
        http_get(&addr, "/readyz").is_some_and(|body| body.ends_with("ok"))
    });
    cluster.wait_for_root_ca();
    cluster
}

/// A fresh namespace on the real control plane at `real` and a kubeconfig whose context uses it.
fn start_real(real: &Path) -> Cluster {
    let admin_kubeconfig = real.join("kubeconfig");
    assert!(
        admin_kubeconfig.is_file(),
        "{REAL_K8S_ENV}={} holds no kubeconfig: run hack/real-k8s up first",
        real.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::copy(&admin_kubeconfig, &kubeconfig).expect("copy the admin kubeconfig");
    let namespace = configsync_cluster::shared_cluster::test_namespace("e2e");
    let cluster = Cluster {
        backend: Backend::Real { admin_kubeconfig },
        kubeconfig,
        dir,
        namespace: namespace.clone(),
        extra_namespaces: Default::default(),
        cluster_objects: Default::default(),
    };
    cluster.ok(&["create", "namespace", &namespace]);
    cluster.ok(&[
        "config",
        "set-context",
        "--current",
        "--namespace",
        &namespace,
    ]);
    // kube-controller-manager creates the namespace's `default` ServiceAccount; pods are refused until it exists.
    wait_until("the namespace's default ServiceAccount exists", || {
        cluster
            .run(&["get", "serviceaccount", "default"])
            .status
            .success()
    });
    cluster
}

/// The lines of `stream`, read on a thread of their own, as they come.
pub fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    line_rx
}

pub fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> Option<String> {
    wait_for_line_where(lines, |line| line.contains(needle))
}

/// The first line for which `wanted` holds, within [`DEADLINE`].
pub fn wait_for_line_where(
    lines: &mpsc::Receiver<String>,
    mut wanted: impl FnMut(&str) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + DEADLINE;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if wanted(&line) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Whether `condition` comes to hold within [`DEADLINE`] (polled).
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
/// A command that runs `program` with SIGHUP at its default disposition, for stand-in apps that `trap` it. A
/// non-interactive shell cannot trap a signal that was ignored when it started (POSIX), and a run under `nohup`
/// (a CI job, a detached terminal) hands SIGHUP down ignored: the stand-in would then never see the sidecar's
/// reload. `env --default-signal` (GNU coreutils 8.31 and later) resets it before `program` starts.
pub fn with_default_sighup(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("env");
    command.arg("--default-signal=HUP").arg(program);
    command
}

/// The Argo Rollouts CRD fixture (`tests/workload_kinds/rollout-crd.yaml`), installed and served. It is
/// cluster-scoped and the same for every test, so it is applied, never deleted; the applies of one test binary
/// take turns, since two `kubectl apply` of an absent object at once both create it and one fails with
/// AlreadyExists (seen in `rbac_e2e` on the real control plane).
pub fn install_rollout_crd(cluster: &Cluster) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cluster.ok(&[
        "apply",
        "-f",
        &repo("tests/workload_kinds/rollout-crd.yaml"),
    ]);
    wait_until("rollouts.argoproj.io is served", || {
        cluster
            .run(&["get", "rollouts.argoproj.io"])
            .status
            .success()
    });
}

pub fn wait_until(what: &str, condition: impl FnMut() -> bool) {
    assert!(eventually(condition), "timed out waiting until {what}");
}

pub fn http_get(addr: &str, path: &str) -> Option<String> {
    get_response(addr, path).filter(|response| response.starts_with("HTTP/1.1 200"))
}

/// The whole response to a plain `GET`, whatever its status; `None` when nothing answers.
pub fn get_response(addr: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// The status code of a plain `GET`, whatever it is; `None` when nothing answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    get_response(addr, path)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Send `method path` with a JSON `body`; the whole response when the status is 2xx.
pub fn http_send(addr: &str, method: &str, path: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 2").then_some(response)
}

impl Cluster {
    /// Wait until kube-controller-manager (or the embedded server's publisher) has put `kube-root-ca.crt` into
    /// the test's namespace, so that what a test lists does not depend on when that happens.
    fn wait_for_root_ca(&self) {
        wait_until("the namespace holds kube-root-ca.crt", || {
            self.run(&["get", "configmap", "kube-root-ca.crt"])
                .status
                .success()
        });
    }

    /// Create a further namespace for this test and return its name: `base` on the embedded server (the
    /// cluster is the test's own), `<test namespace>-<base>` on the shared real one, where it is deleted with
    /// the test's namespace.
    pub fn create_namespace(&self, base: &str) -> String {
        let name = if self.is_real() {
            format!("{}-{base}", self.namespace)
        } else {
            base.to_owned()
        };
        self.ok(&["create", "namespace", &name]);
        self.extra_namespaces.borrow_mut().push(name.clone());
        name
    }

    /// The name a cluster-scoped object of this test gets: `base` on the embedded server, `base-<namespace>` on the
    /// shared real one, where `kind/name` is deleted when the test ends (tests running at once must not share it).
    pub fn cluster_scoped_name(&self, kind: &str, base: &str) -> String {
        if !self.is_real() {
            return base.to_owned();
        }
        let name = format!("{base}-{}", self.namespace);
        self.cluster_objects
            .borrow_mut()
            .push(format!("{kind}/{name}"));
        name
    }

    /// `text` (a manifest) with every `namespace: default` moved to this test's namespace.
    pub fn localize_text(&self, text: &str) -> String {
        text.replace(
            "namespace: default",
            &format!("namespace: {}", self.namespace),
        )
    }

    /// `object` with every `"namespace": "default"` (metadata, RoleBinding subjects, ...) moved to this test's
    /// namespace.
    pub fn localize(&self, object: &mut serde_json::Value) {
        match object {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if key == "namespace" && value == "default" {
                        *value = serde_json::Value::String(self.namespace.clone());
                    } else {
                        self.localize(value);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|item| self.localize(item))
            }
            _ => {}
        }
    }

    /// Whether this is the shared real control plane.
    pub fn is_real(&self) -> bool {
        matches!(self.backend, Backend::Real { .. })
    }

    /// The embedded server's `host:port`; panics on a real cluster (the caller needs embedded-only endpoints).
    pub fn embedded_addr(&self) -> &str {
        match &self.backend {
            Backend::Embedded { addr, .. } => addr,
            Backend::Real { .. } => panic!("this needs the embedded server's own HTTP endpoints"),
        }
    }

    /// Make the API unreachable for every client that starts after this, as if the API server were stopped: the
    /// embedded server is killed; the shared real one cannot be, so this test's kubeconfig is pointed at a
    /// loopback port where nothing listens (connections are refused, as with a stopped apiserver).
    pub fn stop_api(&mut self) {
        match &mut self.backend {
            Backend::Embedded { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Backend::Real { .. } => {
                let closed = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|listener| listener.local_addr())
                    .expect("a free loopback port");
                let cluster = self.ok(&[
                    "config",
                    "view",
                    "--minify",
                    "-o",
                    "jsonpath={.clusters[0].name}",
                ]);
                self.ok(&[
                    "config",
                    "set-cluster",
                    cluster.trim(),
                    &format!("--server=https://{closed}"),
                ]);
            }
        }
    }

    /// Replace the embedded cluster's fault settings (`platform/cluster/src/faults.rs`), e.g. `{"error500Share":1.0}`;
    /// `{}` turns every fault off.
    pub fn set_faults(&self, settings: &str) {
        http_send(
            self.embedded_addr(),
            "PUT",
            "/configsync.dev/faults",
            settings,
        )
        .unwrap_or_else(|| panic!("PUT /configsync.dev/faults {settings} failed"));
    }

    /// End every open watch stream now, like an apiserver restart.
    pub fn close_watches(&self) {
        http_send(
            self.embedded_addr(),
            "POST",
            "/configsync.dev/faults/close-watches",
            "",
        )
        .expect("POST /configsync.dev/faults/close-watches failed");
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command.arg("--kubeconfig").arg(&self.kubeconfig);
        command
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl")
    }

    /// Run kubectl, assert success, return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run kubectl, assert failure, return stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = args.to_vec();
        full.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&full)).expect("kubectl -o json prints JSON")
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write manifest");
        path
    }

    /// Write `object` (moved into the test's namespace, see [`Cluster::localize`]) to the file `name` in the
    /// cluster's directory and `kubectl apply` it.
    pub fn apply_json(&self, name: &str, object: &serde_json::Value) -> String {
        let mut object = object.clone();
        self.localize(&mut object);
        let path = self.file(name, &object.to_string());
        self.ok(&["apply", "-f", path_str(&path)])
    }

    /// `kubectl apply -f` a file or folder of this repository, e.g. `examples/course/redis-config.yaml`, as
    /// written; on a real cluster with `namespace: default` moved to the test's namespace first.
    pub fn apply_repo(&self, path: &str) -> String {
        if !self.is_real() {
            return self.ok(&["apply", "-f", &repo(path)]);
        }
        let full = PathBuf::from(repo(path));
        let mut files = if full.is_dir() {
            files_under(&full)
        } else {
            vec![full]
        };
        files.retain(|f| {
            f.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        });
        files.sort();
        let text: Vec<String> = files
            .iter()
            .map(|f| self.localize_text(&std::fs::read_to_string(f).expect("read manifest")))
            .collect();
        let name = format!("localized-{}.yaml", path.replace('/', "_"));
        let manifest = self.file(&name, &text.join("\n---\n"));
        self.ok(&["apply", "-f", path_str(&manifest)])
    }

    /// `kubectl patch <kind> <name> --type merge -p <patch>`; asserts success.
    pub fn merge_patch(&self, kind: &str, name: &str, patch: &str) -> String {
        self.ok(&["patch", kind, name, "--type", "merge", "-p", patch])
    }
}

/// `configsync sidecar` against `cluster`: the `sources` (`--configmap NAME`, `--secret NAME`) of the test's
/// namespace, projected into `dir` once they have been quiet for 200ms. The caller adds the rest (health
/// address, output) and spawns it.
pub fn sidecar_command(cluster: &Cluster, sources: &[&str], dir: &Path) -> Command {
    // The sidecar-only binary, as injected pods run it (`configsync sidecar` takes the same arguments).
    let mut command = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"));
    command
        .arg("sidecar")
        .args(sources)
        .args([
            "--namespace",
            &cluster.namespace,
            "--wait",
            "200ms",
            "--dir",
        ])
        .arg(dir)
        .env("KUBECONFIG", &cluster.kubeconfig);
    command
}

/// Spawn `sidecar` (a [`sidecar_command`] for the course's `redis-config` into `out`) and wait for its first
/// projection of `redis.properties`; returns the process and that file.
pub fn spawn_redis_sidecar(sidecar: &mut Command, out: &Path) -> (Process, PathBuf) {
    let process = Process(sidecar.spawn().expect("start configsync sidecar"));
    let properties = out.join("redis-config/redis.properties");
    wait_until("the initial projection", || {
        read_text(&properties).contains("maxmemory 2mb")
    });
    (process, properties)
}

/// Run `command` to its end and assert that it succeeded (showing its stderr if not); returns its output.
pub fn run_ok(command: &mut Command) -> Output {
    let out = command.output().expect("run the command");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `configsync certs --out dir --dns name`: a CA and a serving pair `tls.crt`/`tls.key` for `name` in `dir`.
pub fn make_certificate(dir: &Path, name: &str) {
    run_ok(Command::new(env!("CARGO_BIN_EXE_configsync")).args([
        "certs",
        "--out",
        path_str(dir),
        "--dns",
        name,
    ]));
}

impl Cluster {
    /// `kubectl create secret tls NAME` from `dir`'s tls.crt and tls.key; with `dry_run`, only printed as YAML
    /// (for `kubectl apply -f`, the course's way to rotate it). Returns kubectl's output.
    pub fn create_tls_secret(&self, name: &str, dir: &Path, dry_run: bool) -> String {
        let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        let mut args = vec!["create", "secret", "tls", name, "--cert", path_str(&crt)];
        args.extend(["--key", path_str(&key)]);
        if dry_run {
            args.extend(["--dry-run=client", "-o", "yaml"]);
        }
        self.ok(&args)
    }
}

/// The path of `path` (relative to the repository root) in this checkout.
pub fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The address a sidecar's health server bound, from its log (`... serving /healthz ... bound=127.0.0.1:PORT`).
pub fn sidecar_health_addr(log: &Path) -> Option<String> {
    health_addr_in(&read_text(log))
}

/// The address in a sidecar's log text (see [`sidecar_health_addr`]), text (`bound=ADDR`) or JSON
/// (`"bound":"ADDR"`, k8s-sidecar mode's default).
pub fn health_addr_in(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("serving /healthz"))?;
    let addr = match line.split_once("bound=") {
        Some((_, rest)) => rest.split_whitespace().next()?,
        None => line.split_once(r#""bound":""#)?.1.split('"').next()?,
    };
    Some(addr.to_owned())
}

/// A file's text; empty while it does not exist (yet).
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A running `configsync operator`; killed on drop. Its stdout and stderr lines (the logs, echoed to the test's
/// stderr) are kept in `log`.
pub struct Operator {
    pub child: Child,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Operator {
    /// Whether the operator has printed a line containing `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.printed_addr(needle).is_some()
    }

    /// How many lines the operator has printed containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log.lock().map_or(0, |log| {
            log.iter().filter(|line| line.contains(needle)).count()
        })
    }

    /// What follows `marker` on the first line that holds it (e.g. `"webhook on https://"`), if printed yet.
    pub fn printed_addr(&self, marker: &str) -> Option<String> {
        let log = self.log.lock().ok()?;
        log.iter()
            .find_map(|line| Some(line.split_once(marker)?.1.trim().to_owned()))
    }
}

/// Keep every line of `stream` in `log`; echo it to the test's stderr when `echo`.
fn keep_lines(
    stream: impl Read + Send + 'static,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    echo: bool,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if echo {
                eprintln!("{line}");
            }
            if let Ok(mut log) = log.lock() {
                log.push(line);
            }
        }
    });
}

/// Start `configsync operator <extra>` against `cluster` and wait until `/readyz` says it has listed everything.
/// On a real cluster it follows only the test's namespace (`--namespaces`), so tests sharing the control plane
/// never act on each other's workloads.
pub fn start_operator(cluster: &Cluster, extra: &[&str]) -> Operator {
    start_operator_with(cluster, &cluster.kubeconfig, extra)
}

/// [`start_operator`] with another `kubeconfig` of `cluster`'s (e.g. one through a [`proxy::DelayProxy`]).
pub fn start_operator_with(cluster: &Cluster, kubeconfig: &Path, extra: &[&str]) -> Operator {
    start_operator_with_env(cluster, kubeconfig, extra, &[])
}

/// [`start_operator_with`] with environment variables (e.g. those of a rendered Deployment); flags win over them.
pub fn start_operator_with_env(
    cluster: &Cluster,
    kubeconfig: &Path,
    extra: &[&str],
    env: &[(String, String)],
) -> Operator {
    let (operator, addr) = spawn_operator_with_env(cluster, kubeconfig, extra, env);
    wait_until("the operator is ready", || {
        http_get(&addr, "/readyz").is_some()
    });
    operator
}

/// [`start_operator_with`] without waiting for readiness (which an operator short of RBAC never reaches):
/// the operator and its health address, once printed.
pub fn spawn_operator_with(
    cluster: &Cluster,
    kubeconfig: &Path,
    extra: &[&str],
) -> (Operator, String) {
    spawn_operator_with_env(cluster, kubeconfig, extra, &[])
}

/// [`spawn_operator_with`] with environment variables; flags win over them.
pub fn spawn_operator_with_env(
    cluster: &Cluster,
    kubeconfig: &Path,
    extra: &[&str],
    env: &[(String, String)],
) -> (Operator, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_configsync"));
    command
        .args(["operator", "--metrics-addr", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().map(|(name, value)| (name, value)));
    if cluster.is_real() && !extra.iter().any(|arg| arg.starts_with("--namespaces")) {
        command.args(["--namespaces", &cluster.namespace]);
    }
    let mut child = command
        .env("KUBECONFIG", kubeconfig)
        .env("CONFIGSYNC_LOG_LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn configsync operator");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    keep_lines(stdout, log.clone(), false);
    keep_lines(stderr, log.clone(), true);
    let operator = Operator { child, log };
    let marker = "serving health and metrics on http://";
    wait_until("the operator prints its health address", || {
        operator.logged(marker)
    });
    let addr = operator.printed_addr(marker).unwrap_or_default();
    (operator, addr)
}

/// A child process killed (and reaped) on drop.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// One HTTP request as [`recording_server`] received it (header names lower-case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: String,
}

/// A plain HTTP server on 127.0.0.1 answering every request with `status` and recording it; returns its base URL
/// (`http://127.0.0.1:PORT`) and the requests so far.
pub fn recording_server(status: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>) {
    answering_server(move |_| (status, String::new()))
}

/// A plain HTTP server on 127.0.0.1 answering each request with the status and body `answer` gives for it, and
/// recording it; returns its base URL (`http://127.0.0.1:PORT`) and the requests so far.
pub fn answering_server(
    answer: impl Fn(&Recorded) -> (u16, String) + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_owned(),
                parts.next().unwrap_or("").to_owned(),
            );
            let mut headers = std::collections::BTreeMap::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).map_or(true, |n| n <= 2) {
                    break;
                }
                if let Some((name, value)) = header.trim_end().split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body).into_owned();
            let request = Recorded {
                method,
                path,
                headers,
                body,
            };
            let (status, body) = answer(&request);
            record.lock().expect("recorded requests").push(request);
            let _ = write!(
                &stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

/// A kubeconfig whose current context (`dead`) points at a closed port, with a second context for `cluster`
/// (the first of `cluster`'s kubeconfig); returns the file.
pub fn two_context_kubeconfig(cluster: &Cluster) -> PathBuf {
    let text = std::fs::read_to_string(&cluster.kubeconfig).expect("read kubeconfig");
    let mut config: serde_json::Value = serde_saphyr::from_str(&text).expect("kubeconfig YAML");
    let good = config["contexts"][0].clone();
    let mut dead_cluster = config["clusters"][0].clone();
    dead_cluster["name"] = "dead".into();
    dead_cluster["cluster"]["server"] = "https://127.0.0.1:9".into();
    let mut dead = good.clone();
    dead["name"] = "dead".into();
    dead["context"]["cluster"] = "dead".into();
    config["clusters"]
        .as_array_mut()
        .expect("clusters")
        .push(dead_cluster);
    config["contexts"]
        .as_array_mut()
        .expect("contexts")
        .push(dead);
    config["current-context"] = "dead".into();
    let path = cluster.dir.path().join("two-contexts");
    std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    path
}

/// The ConfigMap `app` and the Deployment `web` (1 replica, labelled `app: web`) that takes its keys as
/// environment variables, as YAML for `kubectl apply`: what the operator, explain and dry-run end-to-end tests
/// start from. They differ only in the Deployment's `annotations` (values quoted).
pub fn app_and_web_manifest(annotations: &[(&str, &str)]) -> String {
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  greeting: hello
---
{}",
        deployment_reading_app("web", annotations)
    )
}

/// A Deployment `name` (1 replica, labelled `app: NAME`) that takes ConfigMap `app`'s keys as environment
/// variables, with these `annotations` (values quoted; none: no `annotations` field).
pub fn deployment_reading_app(name: &str, annotations: &[(&str, &str)]) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(key, value)| format!("    {key}: \"{value}\"\n"))
        .collect();
    let annotations = if annotations.is_empty() {
        annotations
    } else {
        format!("  annotations:\n{annotations}")
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
{annotations}spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        envFrom:
        - configMapRef: {{name: app}}
"
    )
}
