//! The bounded proptest driver: runs one target on one strategy until its share of the time budget or the
//! case budget is spent, and reports executions.
//!
//! `CONFIGSYNC_FUZZ_SECONDS` (default 2) is the time per target, split between its strategies;
//! `CONFIGSYNC_FUZZ_CASES` (default 100000) caps the cases per strategy. `CONFIGSYNC_FUZZ_SAVE=1` writes the
//! minimal failing input to `regressions/<target>/` so it can be committed.
use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use configsync_fuzz::Target;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestError, TestRunner};

/// Cases per proptest run; the deadline is checked between runs.
const BATCH: u32 = 64;

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .unwrap_or(default)
}

/// Run `target` on inputs from `strategy` for `share` of the per-target time budget. Panics with the
/// minimal failing input on a finding.
pub fn fuzz(target: &str, share: f64, strategy: impl Strategy<Value = Vec<u8>>) {
    let max_cases = env_number("CONFIGSYNC_FUZZ_CASES", 100_000.0) as u64;
    run(target, share, max_cases, strategy);
}

/// [`fuzz`] capped at `per_second` cases per second of budget, for targets that are expensive per case
/// (they start a process): the default 2 s give a few hundred cases, a long run proportionally more.
pub fn fuzz_at_most(
    target: &str,
    share: f64,
    per_second: f64,
    strategy: impl Strategy<Value = Vec<u8>>,
) {
    let max_cases = (seconds() * share * per_second) as u64;
    run(target, share, max_cases, strategy);
}

fn seconds() -> f64 {
    env_number("CONFIGSYNC_FUZZ_SECONDS", 2.0)
}

fn run(target: &str, share: f64, max_cases: u64, strategy: impl Strategy<Value = Vec<u8>>) {
    let Some(target) = configsync_fuzz::targets::find(target) else {
        panic!("no fuzz target {target}");
    };
    let budget = Duration::from_secs_f64(seconds() * share);
    let started = Instant::now();
    let executions = Cell::new(0u64);
    let mut cases = 0u64;
    while cases < max_cases && started.elapsed() < budget {
        let batch = u32::try_from((max_cases - cases).min(u64::from(BATCH))).unwrap_or(BATCH);
        let config = Config {
            cases: batch,
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&strategy, |data| {
            executions.set(executions.get() + 1);
            (target.run)(&data);
            Ok(())
        });
        match result {
            Ok(()) => cases += u64::from(batch),
            Err(TestError::Fail(reason, input)) => {
                report_failure(target, &reason.to_string(), &input)
            }
            Err(TestError::Abort(reason)) => panic!("fuzz {}: aborted: {reason}", target.name),
        }
    }
    eprintln!(
        "fuzz {}: {} executions ({} cases) in {:.2}s",
        target.name,
        executions.get(),
        cases,
        started.elapsed().as_secs_f64()
    );
}

fn report_failure(target: Target, reason: &str, input: &[u8]) -> ! {
    let saved = std::env::var_os("CONFIGSYNC_FUZZ_SAVE").map(|_| save(target, input));
    panic!(
        "fuzz {}: {reason}\nminimal input ({} bytes): {:?}\nsaved: {saved:?} (set CONFIGSYNC_FUZZ_SAVE=1 to keep it under regressions/)",
        target.name,
        input.len(),
        String::from_utf8_lossy(input),
    );
}

fn save(target: Target, input: &[u8]) -> std::io::Result<PathBuf> {
    let dir = regressions_dir().join(target.name);
    std::fs::create_dir_all(&dir)?;
    let digest = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("crash-{digest:016x}"));
    std::fs::write(&path, input)?;
    Ok(path)
}

/// `fuzz/regressions`.
pub fn regressions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions")
}
