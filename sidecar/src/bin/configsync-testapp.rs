//! `configsync-testapp`: a tiny program for the sidecar's integration tests; never shipped in an image.
//!
//! It records what the sidecar does to it, in the directory named by `TESTAPP_OUT`:
//! * `env.<pid>`: its environment at start, as a JSON object;
//! * `events`: `start <pid>` once its signal handlers are installed, then `signal <pid> <NAME>` for every SIGHUP,
//!   SIGUSR1, SIGUSR2, SIGTERM and SIGINT it receives.
//!
//! Behaviour knobs: `TESTAPP_EXIT_CODE=n` exits with `n` right after start; on SIGTERM/SIGINT it exits with
//! `TESTAPP_TERM_EXIT` (default 0) unless `TESTAPP_IGNORE_TERM=1`, in which case it keeps running (so only SIGKILL
//! stops it).
use std::io::Write;
use std::path::{Path, PathBuf};

use tokio::signal::unix::{SignalKind, signal};

fn append(out: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("events"))?;
    file.write_all(format!("{line}\n").as_bytes())
}

fn env_number(name: &str) -> Option<i32> {
    std::env::var(name).ok()?.parse().ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let out = PathBuf::from(
        std::env::var_os("TESTAPP_OUT").ok_or_else(|| std::io::Error::other("set TESTAPP_OUT"))?,
    );
    let pid = std::process::id();
    let kinds = [
        ("SIGHUP", SignalKind::hangup()),
        ("SIGUSR1", SignalKind::user_defined1()),
        ("SIGUSR2", SignalKind::user_defined2()),
        ("SIGTERM", SignalKind::terminate()),
        ("SIGINT", SignalKind::interrupt()),
    ];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (name, kind) in kinds {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(name).is_err() {
                    return;
                }
            }
        });
    }
    let env: serde_json::Map<String, serde_json::Value> = std::env::vars()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let tmp = out.join(format!(".env.{pid}.tmp"));
    std::fs::write(&tmp, serde_json::Value::Object(env).to_string())?;
    std::fs::rename(&tmp, out.join(format!("env.{pid}")))?;
    append(&out, &format!("start {pid}"))?;
    if let Some(code) = env_number("TESTAPP_EXIT_CODE") {
        std::process::exit(code);
    }
    let ignore_term = std::env::var("TESTAPP_IGNORE_TERM").is_ok_and(|v| v == "1");
    while let Some(name) = rx.recv().await {
        append(&out, &format!("signal {pid} {name}"))?;
        if matches!(name, "SIGTERM" | "SIGINT") && !ignore_term {
            std::process::exit(env_number("TESTAPP_TERM_EXIT").unwrap_or(0));
        }
    }
    Ok(())
}
