//! Shared helpers for the end-to-end tests: a `configsync cluster` process, `kubectl` against it, and
//! deadline-bound waits. Each test binary includes this with `mod support;`.
//!
//! kubectl must be on PATH. When `CI` is set a missing kubectl fails the tests; otherwise they are skipped
//! with a printed reason. Every wait polls a condition against a deadline.
#![allow(dead_code)]
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running `configsync cluster`; killed on drop.
pub struct Cluster {
    pub child: Child,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
    pub addr: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Start the binary on a free port and wait until `/readyz` answers; `None` when kubectl is missing.
pub fn start() -> Option<Cluster> {
    if !kubectl_available() {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["cluster", "--port", "0", "--kubeconfig"])
        .arg(&kubeconfig)
        .env("CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS", "200")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn configsync cluster");
    let line_rx = lines_of(child.stdout.take().expect("stdout"));
    let mut cluster = Cluster {
        child,
        kubeconfig,
        dir,
        addr: String::new(),
    };
    let addr =
        wait_for_line(&line_rx, "listening on http://").expect("the server prints its address");
    let addr = addr.rsplit("http://").next().unwrap_or_default().to_owned();
    cluster.addr = addr.clone();
    wait_until("/readyz answers ok", || {
        http_get(&addr, "/readyz").is_some_and(|body| body.ends_with("ok"))
    });
    Some(cluster)
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
    let deadline = Instant::now() + DEADLINE;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting until {what}");
}

pub fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
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
    /// Replace the embedded cluster's fault settings (`cluster/src/faults.rs`), e.g. `{"error500Share":1.0}`;
    /// `{}` turns every fault off.
    pub fn set_faults(&self, settings: &str) {
        http_send(&self.addr, "PUT", "/configsync.dev/faults", settings)
            .unwrap_or_else(|| panic!("PUT /configsync.dev/faults {settings} failed"));
    }

    /// End every open watch stream now, like an apiserver restart.
    pub fn close_watches(&self) {
        http_send(
            &self.addr,
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

    /// Write `object` to the file `name` in the cluster's directory and `kubectl apply` it.
    pub fn apply_json(&self, name: &str, object: &serde_json::Value) -> String {
        let path = self.file(name, &object.to_string());
        self.ok(&["apply", "-f", path_str(&path)])
    }

    /// `kubectl apply -f` a file or folder of this repository, e.g. `examples/course/redis-config.yaml`.
    pub fn apply_repo(&self, path: &str) -> String {
        self.ok(&["apply", "-f", &repo(path)])
    }

    /// `kubectl patch <kind> <name> --type merge -p <patch>`; asserts success.
    pub fn merge_patch(&self, kind: &str, name: &str, patch: &str) -> String {
        self.ok(&["patch", kind, name, "--type", "merge", "-p", patch])
    }
}

/// `configsync sidecar` against `cluster`: the `sources` (`--configmap NAME`, `--secret NAME`) of namespace
/// `default`, projected into `dir` once they have been quiet for 200ms. The caller adds the rest (health
/// address, output) and spawns it.
pub fn sidecar_command(cluster: &Cluster, sources: &[&str], dir: &Path) -> Command {
    // The sidecar-only binary, as injected pods run it (`configsync sidecar` takes the same arguments).
    let mut command = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"));
    command
        .arg("sidecar")
        .args(sources)
        .args(["--namespace", "default", "--wait", "200ms", "--dir"])
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

/// The path of `path` (relative to the repository root) in this checkout.
pub fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
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
pub fn start_operator(cluster: &Cluster, extra: &[&str]) -> Operator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["operator", "--metrics-addr", "127.0.0.1:0"])
        .args(extra)
        .env("KUBECONFIG", &cluster.kubeconfig)
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
    wait_until("the operator is ready", || {
        http_get(&addr, "/readyz").is_some()
    });
    operator
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
