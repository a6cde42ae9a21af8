//! The processes under test: `configsync cluster` (the API server over HTTP) and `configsync operator`.
//! Both are killed when their handle drops. Every wait polls a condition against a deadline.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use configsync_operator::controller::MALLOC_ENV;

use crate::procfs;

/// Failures starting or watching a process.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The binary could not be started.
    #[error("starting {what}")]
    SpawnProcess {
        /// Which process.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The process did not get ready in time.
    #[error("{0} was not ready within the deadline")]
    WaitReady(&'static str),
    /// A temporary directory could not be made.
    #[error("creating a temporary directory")]
    CreateTempDir(#[source] std::io::Error),
}

/// A child process, killed on drop.
#[derive(Debug)]
pub struct Process {
    child: Child,
    /// When it was spawned.
    pub started: Instant,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Spawn `command`; `what` names it in errors.
    pub fn spawn(mut command: Command, what: &'static str) -> Result<Self, Error> {
        let child = command
            .spawn()
            .map_err(|source| Error::SpawnProcess { what, source })?;
        Ok(Self {
            child,
            started: Instant::now(),
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its memory now.
    pub fn memory(&self) -> Result<procfs::Memory, procfs::Error> {
        procfs::memory(self.pid())
    }

    /// Its CPU time so far, in clock ticks.
    pub fn cpu_ticks(&self) -> Result<u64, procfs::Error> {
        procfs::cpu_ticks(self.pid())
    }
}

/// A running `configsync cluster` on a free port.
#[derive(Debug)]
pub struct ClusterProcess {
    /// The process.
    pub process: Process,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// The kubeconfig it wrote.
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

/// Start `configsync cluster --port 0` (with `--no-controllers` unless `controllers`, and `--api-latency`)
/// and wait for its address and `/readyz`.
pub fn start_cluster(
    configsync: &Path,
    controllers: bool,
    api_latency: Duration,
    deadline: Duration,
) -> Result<ClusterProcess, Error> {
    let dir = tempfile::tempdir().map_err(Error::CreateTempDir)?;
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(configsync)
        .args(["cluster", "--port", "0", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .args((!controllers).then_some("--no-controllers"))
        .arg(format!("--api-latency={}ms", api_latency.as_millis()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| Error::SpawnProcess {
            what: "configsync cluster",
            source,
        })?;
    let stdout = child.stdout.take();
    let process = Process {
        child,
        started: Instant::now(),
    };
    let (line_tx, line_rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = line_tx.send(line);
            }
        });
    }
    let addr = wait_for_line(&line_rx, "listening on http://", deadline)
        .and_then(|line| line.rsplit("http://").next().map(str::to_owned))
        .ok_or(Error::WaitReady("configsync cluster"))?;
    wait_until(deadline, || http_status(&addr, "/readyz") == Some(200))
        .ok_or(Error::WaitReady("configsync cluster"))?;
    Ok(ClusterProcess {
        process,
        addr,
        kubeconfig,
        _dir: dir,
    })
}

/// The text of `configsync operator --help` (run once per benchmark: whether this build has the operator, and
/// which flags it takes); the reason when this build has no operator.
pub fn operator_help(configsync: &Path) -> Result<String, String> {
    let out = Command::new(configsync)
        .args(["operator", "--help"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", configsync.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err("`configsync operator` is not in this build yet (branch operator-runtime)".to_owned())
    }
}

/// Whether the operator whose `--help` text is `help` takes `flag` (an older commit's may not, e.g. `--settle`).
pub fn has_flag(help: &str, flag: &str) -> bool {
    help.contains(flag)
}

/// Start `configsync operator --metrics-addr <health> <args>` against `kubeconfig`, with the environment
/// `deploy/operator.yaml` sets (`MALLOC_ENV`); its stderr is appended to `log` when given, dropped otherwise.
pub fn start_operator(
    configsync: &Path,
    kubeconfig: &Path,
    health: &str,
    args: &[String],
    log: Option<&Path>,
) -> Result<Process, Error> {
    let spawn_error = |source| Error::SpawnProcess {
        what: "configsync operator",
        source,
    };
    let stderr = match log {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Stdio::from)
            .map_err(spawn_error)?,
        None => Stdio::null(),
    };
    let child = Command::new(configsync)
        .arg("operator")
        .args(["--metrics-addr", health])
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        // What deploy/operator.yaml sets: the benchmark measures what ships.
        .envs(MALLOC_ENV.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(spawn_error)?;
    Ok(Process {
        child,
        started: Instant::now(),
    })
}

/// Wait until `GET http://<addr>/readyz` answers 200; the time since the process started.
pub fn wait_ready(process: &Process, addr: &str, deadline: Duration) -> Result<Duration, Error> {
    wait_until(deadline, || http_status(addr, "/readyz") == Some(200))
        .ok_or(Error::WaitReady("configsync operator"))?;
    Ok(process.started.elapsed())
}

/// Poll `condition` every 10 ms until it holds or `deadline` passes.
pub fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> Option<()> {
    let end = Instant::now() + deadline;
    loop {
        if condition() {
            return Some(());
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    needle: &str,
    deadline: Duration,
) -> Option<String> {
    let end = Instant::now() + deadline;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The status code of a plain `GET`, `None` when nothing answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}
