//! The machine's baseline: `openssl speed -evp <cipher>` run in the same invocation, single thread.
//!
//! With `-mr` openssl prints machine-readable lines; the throughput line is `+F:<n>:<alg>:<bytes/s>…`,
//! one value per block size (we ask for one size with `-bytes`).
use std::process::Command;

/// Failures running or reading openssl.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `openssl` could not be started (missing from PATH).
    #[error("openssl is not available: {0}")]
    RunOpenssl(#[source] std::io::Error),
    /// openssl ran but failed.
    #[error("openssl speed failed: {0}")]
    OpensslFailed(String),
    /// The output has no throughput line.
    #[error("no +F throughput line in openssl's output")]
    ParseSpeed,
}

/// openssl's version line, if it runs.
pub fn version() -> Option<String> {
    let out = Command::new("openssl").arg("version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Bytes per second of `openssl speed -evp <algorithm>` on blocks of `bytes`, for `seconds`.
pub fn speed(algorithm: &str, bytes: usize, seconds: u32) -> Result<f64, Error> {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", &seconds.to_string()])
        .args(["-bytes", &bytes.to_string(), "-evp", algorithm])
        .output()
        .map_err(Error::RunOpenssl)?;
    if !out.status.success() {
        return Err(Error::OpensslFailed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    parse_speed(&String::from_utf8_lossy(&out.stdout)).ok_or(Error::ParseSpeed)
}

/// The first value of the `+F:` line: bytes per second.
pub fn parse_speed(output: &str) -> Option<f64> {
    let line = output.lines().find(|line| line.starts_with("+F:"))?;
    line.split(':').nth(3)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_throughput_line() {
        let output =
            "+DT:sha256:1:16384\n+R:46236:sha256:0.620000\n+H:16384\n+F:25:sha256:1221823587.10\n";
        assert_eq!(parse_speed(output), Some(1_221_823_587.10));
        assert_eq!(parse_speed("+H:16384\n"), None);
        assert_eq!(parse_speed("+F:25:sha256:fast\n"), None);
    }
}
