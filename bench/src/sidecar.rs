//! `bench sidecar`: the binary's size here, and the tables of the running part ([`crate::sidecar_run`]).
//!
//! Injected pods run the sidecar-only `configsync-sidecar` binary (`configsync-sidecar sidecar …`, the same
//! arguments as `configsync sidecar …`); its size is measured stripped: a copy is stripped with `strip`
//! (binutils) in a temporary directory.
use std::path::Path;
use std::process::Command;

use crate::report::{Table, percent};
use crate::sidecar_matrix::MatrixCase;
use crate::sidecar_run::RunReport;
use crate::stats;

/// Failures measuring the binary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Copying or reading the binary failed.
    #[error("copying {path} to strip it")]
    CopyBinary {
        /// The binary.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `strip` could not run or failed.
    #[error("strip failed: {0}")]
    Strip(String),
}

/// Bytes of the binary as built and stripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BinarySize {
    /// As built (release profile keeps line tables).
    pub built: u64,
    /// After `strip`.
    pub stripped: u64,
}

/// Strip a copy of `binary` and measure both.
pub fn binary_size(binary: &Path) -> Result<BinarySize, Error> {
    let copy_error = |source| Error::CopyBinary {
        path: binary.display().to_string(),
        source,
    };
    let dir = tempfile::tempdir().map_err(copy_error)?;
    let copy = dir.path().join("sidecar");
    let built = std::fs::copy(binary, &copy).map_err(copy_error)?;
    let out = Command::new("strip")
        .arg(&copy)
        .output()
        .map_err(|e| Error::Strip(e.to_string()))?;
    if !out.status.success() {
        return Err(Error::Strip(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    let stripped = std::fs::metadata(&copy).map_err(copy_error)?.len();
    Ok(BinarySize { built, stripped })
}

/// The sidecar tables: size and memory, latency per case, and the files-latency histograms.
pub fn tables(size: BinarySize, run: &RunReport) -> Vec<Table> {
    let mib = |bytes: u64| format!("{:.1} MiB ({bytes} B)", bytes as f64 / (1024.0 * 1024.0));
    let mut summary = Table::new("sidecar", &["measure", "value", "target"]);
    summary.row(vec![
        "sidecar binary as built".into(),
        mib(size.built),
        "-".into(),
    ]);
    summary.row(vec![
        "sidecar binary stripped".into(),
        mib(size.stripped),
        "reported".into(),
    ]);
    let part = |kib: Option<u64>| kib.map_or_else(|| "?".into(), |kib| mib(kib * 1024));
    if let Some(memory) = &run.memory_50_sources {
        summary.row(vec![
            "RSS watching 50 sources (peak)".into(),
            format!(
                "{} ({} peak)",
                mib(memory.rss_kib * 1024),
                mib(memory.hwm_kib * 1024)
            ),
            "< 16 MiB".into(),
        ]);
        summary.row(vec![
            "  of which file-backed / anonymous".into(),
            format!("{} / {}", part(memory.file_kib), part(memory.anon_kib)),
            "-".into(),
        ]);
    }
    let mut latency = Table::new(
        "sidecar: PATCH → ..data swap, and → reload notice",
        &[
            "case",
            "files p50",
            "files p99",
            "files max (n)",
            "notice p50",
            "notice p99",
            "sidecar event→swap p50 / p99 (n)",
        ],
    );
    let ms = stats::ms;
    for case in &run.latencies {
        let (Some(files), Some(notice)) = (&case.files, &case.notice) else {
            continue;
        };
        latency.row(vec![
            case.case.clone(),
            ms(files.p50),
            ms(files.p99),
            format!("{} ({})", ms(files.max), files.count),
            ms(notice.p50),
            ms(notice.p99),
            inside_cell(case.inside.as_ref()),
        ]);
    }
    let mut header = vec!["bucket"];
    header.extend(run.latencies.iter().map(|case| case.case.as_str()));
    let mut histogram = Table::new("sidecar: files-visible histogram", &header);
    for (i, bucket) in stats::histogram_labels().into_iter().enumerate() {
        let mut row = vec![bucket];
        row.extend(run.latencies.iter().map(|case| {
            case.files_histogram
                .get(i)
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        histogram.row(row);
    }
    vec![summary, latency, histogram, matrix_table(&run.matrix)]
}

/// The publish-cost matrix: PATCH answered → new content readable, the sidecar's own share, and its RSS.
fn matrix_table(cases: &[MatrixCase]) -> Table {
    let mut table = Table::new(
        "sidecar: one source changed, PATCH answered → new content readable by another process",
        &[
            "sources × value, filesystem (mode)",
            "end-to-end p50",
            "p99",
            "max (n)",
            "sidecar event→swap p50 / p99 (n)",
            "own share of p50",
            "RSS (file / anon)",
        ],
    );
    let ms = stats::ms;
    let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
    for case in cases {
        let Some(e2e) = &case.end_to_end else {
            continue;
        };
        let own = case.inside.as_ref().and_then(|i| i.quantile_bound(0.5));
        let share = own.map_or_else(
            || "-".into(),
            |own| {
                format!(
                    "≤ {}",
                    percent(own.as_secs_f64() / e2e.p50.as_secs_f64().max(1e-9))
                )
            },
        );
        let memory = &case.memory;
        let part = |kib: Option<u64>| kib.map_or_else(|| "?".into(), mib);
        table.row(vec![
            format!(
                "{}, {} ({})",
                case.set.describe(),
                case.filesystem,
                case.mode
            ),
            ms(e2e.p50),
            ms(e2e.p99),
            format!("{} ({})", ms(e2e.max), e2e.count),
            inside_cell(case.inside.as_ref()),
            share,
            format!(
                "{} MiB ({} / {})",
                mib(memory.rss_kib),
                part(memory.file_kib),
                part(memory.anon_kib)
            ),
        ]);
    }
    table
}

/// The sidecar's own event → swap quantiles as bucket bounds, e.g. "≤ 1.25 ms / ≤ 4.00 ms (200)".
fn inside_cell(inside: Option<&crate::sidecar_run::Inside>) -> String {
    let Some(inside) = inside else {
        return "-".into();
    };
    let bound = |q| {
        inside
            .quantile_bound(q)
            .map_or_else(|| "> last bucket".into(), |d| format!("≤ {}", stats::ms(d)))
    };
    format!("{} / {} ({})", bound(0.5), bound(0.99), inside.count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_a_copy_and_leaves_the_original() {
        let exe = std::env::current_exe().unwrap();
        let before = std::fs::metadata(&exe).unwrap().len();
        match binary_size(&exe) {
            Ok(size) => {
                assert_eq!(size.built, before);
                assert!(size.stripped > 0 && size.stripped <= size.built);
            }
            Err(Error::Strip(reason)) => eprintln!("skipping: strip unavailable: {reason}"),
            Err(error) => panic!("{error}"),
        }
        assert_eq!(std::fs::metadata(&exe).unwrap().len(), before);
    }
}
