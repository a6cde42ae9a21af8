//! How the long-running subcommands (`cluster`, `demo`, `operator`, `kms`) stop: on Ctrl-C or SIGTERM.
/// Wait for Ctrl-C or SIGTERM; returns which one arrived.
pub async fn wait_for_shutdown() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = interrupt.recv() => "Ctrl-C",
        _ = terminate.recv() => "SIGTERM",
    })
}
