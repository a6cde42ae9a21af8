//! The machine a run happened on: CPU model and flags, cores, memory and load, from `/proc`.
use std::process::Command;

/// What `BENCHMARKS.md` records about the machine.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Machine {
    /// `nproc`.
    pub cores: usize,
    /// `lscpu`'s model name.
    pub cpu_model: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// The 1-minute load average when the run started.
    pub load_average: String,
    /// Crypto-relevant CPU flags present (`sha_ni`, `aes`, `pclmulqdq`, `vaes`, `vpclmulqdq`, `avx2`).
    pub crypto_flags: Vec<String>,
}

const CRYPTO_FLAGS: [&str; 6] = ["sha_ni", "aes", "pclmulqdq", "vaes", "vpclmulqdq", "avx2"];

impl Machine {
    /// Read it now.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        Self {
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model: lscpu_model().unwrap_or_else(|| field(&cpuinfo, "model name")),
            memory_mib: field(&meminfo, "MemTotal")
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .map_or(0, |kib| kib / 1024),
            load_average: loadavg
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            crypto_flags: cpu_flags(&cpuinfo),
        }
    }

    /// One line for the report header.
    pub fn describe(&self) -> String {
        format!(
            "{} cores, {}, {} MiB RAM, load average {}, crypto flags: {}",
            self.cores,
            self.cpu_model,
            self.memory_mib,
            self.load_average,
            self.crypto_flags.join(" ")
        )
    }
}

fn lscpu_model() -> Option<String> {
    let out = Command::new("lscpu").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(field(&text, "Model name")).filter(|model| !model.is_empty())
}

/// The value after `name:` on the first line that starts with `name`.
pub fn field(text: &str, name: &str) -> String {
    text.lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.split_once(':'))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default()
}

/// The crypto flags in the first `flags` line of `/proc/cpuinfo`.
pub fn cpu_flags(cpuinfo: &str) -> Vec<String> {
    let flags = field(cpuinfo, "flags");
    let present: Vec<&str> = flags.split_whitespace().collect();
    CRYPTO_FLAGS
        .iter()
        .filter(|flag| present.contains(flag))
        .map(|flag| (*flag).to_owned())
        .collect()
}

/// Which CPU instructions the hashing and cipher crates pick at run time on this machine.
///
/// sha2 0.11 uses SHA-NI when `sha` and `sse4.1` are detected (cpufeatures), unless built with
/// `--cfg sha2_backend="soft"`; aes 0.9 uses VAES-512, VAES-256 or AES-NI, the widest detected;
/// ghash/polyval 0.7 use 128-bit PCLMULQDQ.
pub fn instructions_used() -> Vec<&'static str> {
    let mut used = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse4.1")
        {
            used.push("sha256: SHA-NI");
        } else {
            used.push("sha256: portable (no SHA-NI)");
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("vaes")
        {
            used.push("AES: VAES-512 (aes 0.9 picks it at run time)");
        } else if std::arch::is_x86_feature_detected!("vaes") {
            used.push("AES: VAES-256");
        } else if std::arch::is_x86_feature_detected!("aes") {
            used.push("AES: AES-NI");
        }
        if std::arch::is_x86_feature_detected!("pclmulqdq") {
            used.push("GHASH: PCLMULQDQ (polyval 0.7 has no VPCLMULQDQ path)");
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_crypto_flags() {
        let cpuinfo = "model name\t: Xeon\nflags\t\t: fpu sse aes avx2 sha_ni\nflags\t: other\n";
        assert_eq!(field(cpuinfo, "model name"), "Xeon");
        assert_eq!(cpu_flags(cpuinfo), vec!["sha_ni", "aes", "avx2"]);
        assert_eq!(field(cpuinfo, "missing"), "");
    }
}
