//! Seal/open throughput at 1 KiB, 64 KiB and 1 MiB.
//!
//! Run: `cargo run --release -p configsync-envelope --example bench` (optionally `-- SECONDS` per case, default 1).
//! Compare with `openssl speed -evp aes-256-gcm` on the same machine: the difference is the per-object cost of
//! HKDF-SHA256 key derivation, AES key expansion, the allocation of the output and, for `open`, wiping the
//! plaintext on drop (the `wipe` rows measure that alone: allocate, fill, zeroize).
use std::hint::black_box;
use std::time::{Duration, Instant};

use configsync_envelope::{Aad, KeyRing, open, seal};

fn measure(budget: Duration, mut op: impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    let mut iterations = 0u64;
    while start.elapsed() < budget {
        op();
        iterations += 1;
    }
    (iterations, start.elapsed())
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(seconds);
    let ring = KeyRing::generate(None);
    let aad = Aad::new("default", "app-config", "config.yaml");
    println!("{:<6} {:<5} {:>12} {:>12}", "op", "size", "ops/s", "MiB/s");
    for (label, size) in [
        ("1KiB", 1024usize),
        ("64KiB", 64 * 1024),
        ("1MiB", 1024 * 1024),
    ] {
        let plaintext = vec![0x5au8; size];
        let sealed = seal(&ring, &aad, &plaintext).expect("seal");
        let (n, elapsed) = measure(budget, || {
            black_box(seal(&ring, &aad, black_box(&plaintext)).expect("seal"));
        });
        report("seal", label, size, n, elapsed);
        let (n, elapsed) = measure(budget, || {
            black_box(open(&ring, &aad, black_box(&sealed)).expect("open"));
        });
        report("open", label, size, n, elapsed);
        // Part of every open: the returned plaintext is wiped (volatile writes) when dropped.
        let (n, elapsed) = measure(budget, || {
            drop(black_box(zeroize::Zeroizing::new(vec![0x5au8; size])));
        });
        report("wipe", label, size, n, elapsed);
    }
}

fn report(op: &str, label: &str, size: usize, iterations: u64, elapsed: Duration) {
    let per_sec = iterations as f64 / elapsed.as_secs_f64();
    let mib = per_sec * size as f64 / (1024.0 * 1024.0);
    println!("{op:<6} {label:<5} {per_sec:>12.0} {mib:>12.1}");
}
