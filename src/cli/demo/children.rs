//! The demo's child processes: the operator, the sidecar and the demo app, each a real process of this same
//! binary (`std::env::current_exe()`), so the demo runs exactly what ships.
//!
//! Components log to a file in the demo's temp dir; the demo app's stdout is relayed to the demo's own output,
//! indented, and its header lines are parsed into [`AppEvent`]s for the story to wait on. [`Children::shutdown`]
//! sends SIGTERM to every child, waits for it (SIGKILL after a grace period) and reaps it, so no process outlives
//! the demo; `kill_on_drop` is the backstop when the demo unwinds. Each child runs in its own process group, so
//! a terminal's Ctrl-C (SIGINT to the foreground group) reaches only the demo, which then stops the children in
//! order instead of racing their exits against its own.
use super::story::{self, AppEvent};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long a child may take to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("finding this program's path failed: {0}")]
    FindExecutable(#[source] std::io::Error),
    #[error("creating the log file {path} failed: {source}")]
    CreateLog {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting `configsync {what}` failed: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
}

/// A started child: its name, PID and log file (if it logs to one).
#[derive(Debug)]
struct Running {
    name: String,
    child: Child,
}

/// Every child the demo started, in start order.
#[derive(Debug)]
pub struct Children {
    exe: PathBuf,
    kubeconfig: PathBuf,
    log_dir: PathBuf,
    running: Vec<Running>,
}

impl Children {
    /// Children of this binary that talk to the cluster through `kubeconfig` and log into `log_dir`.
    pub fn new(kubeconfig: &Path, log_dir: &Path) -> Result<Self, ChildError> {
        Ok(Self {
            exe: std::env::current_exe().map_err(ChildError::FindExecutable)?,
            kubeconfig: kubeconfig.to_owned(),
            log_dir: log_dir.to_owned(),
            running: Vec::new(),
        })
    }

    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        command
    }

    /// The log file of the child `name` started by [`Children::spawn_logged`].
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }

    /// Start `configsync <args>` with its stdout and stderr in [`Children::log_file`]; returns its PID.
    pub fn spawn_logged(&mut self, name: &str, args: &[String]) -> Result<u32, ChildError> {
        let path = self.log_file(name);
        let create_log = |source| ChildError::CreateLog {
            path: path.clone(),
            source,
        };
        let log = std::fs::File::create(&path).map_err(create_log)?;
        let log_err = log.try_clone().map_err(create_log)?;
        let mut command = self.command(args);
        command.stdout(log).stderr(log_err);
        self.start(name, command)
    }

    /// Start the demo app with its stdout relayed (indented) and its header lines sent to `events_tx`.
    pub fn spawn_app(
        &mut self,
        args: &[String],
        events_tx: mpsc::UnboundedSender<AppEvent>,
    ) -> Result<u32, ChildError> {
        let mut command = self.command(args);
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let pid = self.start("demo app", command)?;
        let stdout = self.running.last_mut().and_then(|r| r.child.stdout.take());
        if let Some(stdout) = stdout {
            tokio::spawn(relay(stdout, events_tx));
        }
        Ok(pid)
    }

    fn start(&mut self, name: &str, mut command: Command) -> Result<u32, ChildError> {
        let child = command.spawn().map_err(|source| ChildError::Spawn {
            what: name.to_owned(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        println!("    started {name} (pid {pid})");
        self.running.push(Running {
            name: name.to_owned(),
            child,
        });
        Ok(pid)
    }

    /// The exit status of a child that already stopped, by name (a crashed component).
    pub fn exited(&mut self) -> Option<String> {
        self.running.iter_mut().find_map(|running| {
            let status = running.child.try_wait().ok().flatten()?;
            Some(format!("{} exited early ({status})", running.name))
        })
    }

    /// Stop every child, newest first: SIGTERM, up to [`GRACE`] to exit, then SIGKILL; reap each one.
    pub async fn shutdown(&mut self) {
        while let Some(mut running) = self.running.pop() {
            let pid = running.child.id();
            if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let status = match tokio::time::timeout(GRACE, running.child.wait()).await {
                Ok(status) => status.ok(),
                Err(_) => {
                    let _ = running.child.kill().await;
                    running.child.wait().await.ok()
                }
            };
            let status = status.map_or_else(|| "unknown".to_owned(), |s| s.to_string());
            println!(
                "    stopped {} (pid {}, {status})",
                running.name,
                pid.unwrap_or_default()
            );
        }
    }
}

/// Print the app's lines, indented, and pass its headers on.
async fn relay(stdout: tokio::process::ChildStdout, events_tx: mpsc::UnboundedSender<AppEvent>) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        println!("    | {line}");
        if let Some(event) = story::parse_app_header(&line) {
            let _ = events_tx.send(event);
        }
    }
}
