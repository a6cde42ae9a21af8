//! Reload by running a command through `sh -c`, with a timeout (the process is killed when it runs out).
use std::time::Duration;

use super::ReloadError;

/// Run `sh -c command`; success means exit status 0 within `timeout`.
///
/// # Errors
/// [`ReloadError::Command`] when it cannot start, fails or times out.
pub async fn run_command(command: &str, timeout: Duration) -> Result<(), ReloadError> {
    let failed = |reason: String| ReloadError::Command {
        command: command.to_string(),
        reason,
    };
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("could not start: {e}")))?;
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| failed(format!("could not wait: {e}")))?,
        Err(_) => {
            let _ = child.kill().await;
            return Err(failed(format!("timed out after {timeout:?}")));
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(failed(format!("exited with {status}")))
    }
}
