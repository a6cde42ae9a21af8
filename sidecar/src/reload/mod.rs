//! Telling the app that its files changed: a signal, an HTTP request or a command, retried with backoff.
//!
//! The sync loop calls [`Reloader::notify`] once per published batch, after the new version is visible. Each failed
//! attempt is logged and counted (`reloads_total{result="failure"}`), then retried after an exponential backoff
//! ([`Retry::delay`], pure) until the attempts run out.
pub mod command;
pub mod http;
pub mod process;

use std::path::Path;
use std::time::Duration;

pub use process::ProcessTarget;

use crate::metrics::{ErrorCategory, Metrics};
use crate::signal::Signal;

/// Why a reload failed. Messages name the target, never a config value.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The PID file or `/proc` could not be read.
    #[error("find {target}: {source}")]
    FindProcess {
        /// What was looked for.
        target: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No process matched.
    #[error("no process found for {target}")]
    NoProcess {
        /// What was looked for.
        target: String,
    },
    /// `kill(2)` failed.
    #[error("send {signal} to pid {pid}: {source}")]
    SendSignal {
        /// The signal.
        signal: Signal,
        /// The process.
        pid: i32,
        /// The cause.
        #[source]
        source: nix::Error,
    },
    /// The reload URL is not usable.
    #[error("invalid reload URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The CA file for an https:// reload URL cannot be used.
    #[error("load the reload CA file {path}: {reason}")]
    LoadCa {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// A basic auth credential could not be read (the message names the file, never the value).
    #[error("read {what}: {source}")]
    ReadCredential {
        /// Which credential.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The request failed or timed out.
    #[error("request {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request answered an unexpected status.
    #[error("request {url}: got status {got}, expected {want}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// Received.
        got: ::http::StatusCode,
        /// Expected.
        want: ::http::StatusCode,
    },
    /// The command failed.
    #[error("command {command:?}: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// Why.
        reason: String,
    },
}

/// How to reach the app.
#[derive(Debug, Clone)]
pub enum Reloader {
    /// Send `signal` to every process `target` designates.
    Signal {
        /// Which processes.
        target: ProcessTarget,
        /// Which signal.
        signal: Signal,
    },
    /// Send an HTTP request.
    Http(http::HttpReload),
    /// Run `sh -c command`.
    Command {
        /// The command line.
        command: String,
        /// How long it may run.
        timeout: Duration,
    },
    /// Each in turn (k8s-sidecar runs its `SCRIPT` before its request); each one retried on its own.
    Each(Vec<Reloader>),
}

/// Retry policy: `attempts` tries in all, waiting `base`, 2×`base`, 4×`base`... (at most `max`) in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Total tries (at least 1).
    pub attempts: u32,
    /// First backoff.
    pub base: Duration,
    /// Longest backoff.
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// The wait after failed attempt number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

impl Reloader {
    /// The metrics label of this method.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Signal { .. } => "signal",
            Self::Http(_) => "http",
            Self::Command { .. } => "command",
            Self::Each(_) => "each",
        }
    }

    /// One attempt.
    ///
    /// # Errors
    /// [`ReloadError`] describing what failed.
    pub async fn notify_once(&self) -> Result<(), ReloadError> {
        match self {
            Self::Signal { target, signal } => signal_processes(target, *signal),
            Self::Http(request) => request.send().await,
            Self::Command { command, timeout } => command::run_command(command, *timeout).await,
            Self::Each(all) => {
                for one in all {
                    Box::pin(one.notify_once()).await?;
                }
                Ok(())
            }
        }
    }

    /// Notify, retrying per `retry`; each attempt is counted in `metrics` and each failure logged.
    ///
    /// # Errors
    /// The last attempt's error when every attempt failed.
    pub async fn notify(&self, retry: &Retry, metrics: &Metrics) -> Result<(), ReloadError> {
        if let Self::Each(all) = self {
            let mut outcome = Ok(());
            for one in all {
                if let Err(error) = Box::pin(one.notify(retry, metrics)).await {
                    outcome = Err(error);
                }
            }
            return outcome;
        }
        let mut attempt = 0;
        loop {
            let outcome = self.notify_once().await;
            metrics.reload(self.method(), outcome.is_ok());
            match outcome {
                Ok(()) => return Ok(()),
                Err(error) if attempt + 1 >= retry.attempts.max(1) => {
                    metrics.error(ErrorCategory::Reload);
                    return Err(error);
                }
                Err(error) => {
                    let delay = retry.delay(attempt);
                    tracing::warn!(%error, attempt = attempt + 1, ?delay, method = self.method(), "reload failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

fn signal_processes(target: &ProcessTarget, signal: Signal) -> Result<(), ReloadError> {
    let pids = process::find_pids(target, Path::new("/proc")).map_err(|source| {
        ReloadError::FindProcess {
            target: target.to_string(),
            source,
        }
    })?;
    if pids.is_empty() {
        return Err(ReloadError::NoProcess {
            target: target.to_string(),
        });
    }
    for pid in pids {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal.to_nix()).map_err(
            |source| ReloadError::SendSignal {
                signal,
                pid,
                source,
            },
        )?;
        tracing::info!(pid, %signal, "signalled app");
    }
    Ok(())
}

#[cfg(test)]
mod https_tests;
#[cfg(test)]
mod tests;
