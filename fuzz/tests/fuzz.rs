//! Drives every fuzz target with proptest for a bounded time (see `fuzz/driver.rs`), half on arbitrary
//! bytes and half on structure-aware inputs, and replays `regressions/<target>/*`.
//!
//! A longer local run: `CONFIGSYNC_FUZZ_SECONDS=60 cargo test --release -p configsync-fuzz --test fuzz -- --nocapture`.
#![allow(clippy::unwrap_used)]

mod fuzz {
    pub mod driver;
    pub mod inputs;
    pub mod json;
}

use fuzz::driver::{fuzz, fuzz_at_most, regressions_dir};
use fuzz::inputs;

macro_rules! fuzz_test {
    ($name:ident, $structured:expr) => {
        #[test]
        fn $name() {
            fuzz(stringify!($name), 0.5, inputs::bytes());
            fuzz(stringify!($name), 0.5, $structured);
        }
    };
}

fuzz_test!(envelope_open, inputs::sealed());
fuzz_test!(envelope_round_trip, inputs::plaintext());
fuzz_test!(keyring_document, inputs::keyring());
fuzz_test!(protobuf_decode, inputs::protobuf());
fuzz_test!(label_selector, inputs::label_selector());
fuzz_test!(field_selector, inputs::field_selector());
fuzz_test!(json_patch, inputs::json_patch());
fuzz_test!(merge_patch, inputs::object_pair());
fuzz_test!(strategic_merge_patch, inputs::object_pair());
fuzz_test!(server_side_apply, inputs::object_pair());
fuzz_test!(table, inputs::json_object());
fuzz_test!(crd_registry, inputs::crd());
fuzz_test!(validation, inputs::json_object());
fuzz_test!(request, inputs::request());
fuzz_test!(annotations, inputs::annotations());

fuzz_test!(projected_path, inputs::paths());
fuzz_test!(admission_review, inputs::admission_review());

/// Each case sources the env file in `/bin/sh`: hundreds of cases per run, not a hundred thousand.
#[test]
fn env_file() {
    fuzz_at_most("env_file", 0.5, 200.0, inputs::bytes());
    fuzz_at_most("env_file", 0.5, 300.0, inputs::env_vars());
}

/// Every file under `regressions/<target>/` runs through its target; a directory naming no target fails.
#[test]
fn regressions_replay() {
    let replayed = replay(&regressions_dir());
    eprintln!("replayed {replayed} regression inputs");
}

fn replay(root: &std::path::Path) -> usize {
    let mut replayed = 0;
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap();
        if !dir.file_type().unwrap().is_dir() {
            continue;
        }
        let name = dir.file_name().into_string().unwrap();
        let target = configsync_fuzz::targets::find(&name)
            .unwrap_or_else(|| panic!("{}/{name}: no such target", root.display()));
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let path = file.unwrap().path();
            (target.run)(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    replayed
}

/// Every target has a fuzz test above: the list in `TARGETS` and this file stay in step.
#[test]
fn every_target_is_fuzzed() {
    let source: String = include_str!("fuzz.rs").split_whitespace().collect();
    for target in configsync_fuzz::TARGETS {
        let by_macro = format!("fuzz_test!({},", target.name);
        let by_hand = format!("fn{}()", target.name);
        assert!(
            source.contains(&by_macro) || source.contains(&by_hand),
            "{} has no fuzz test",
            target.name
        );
    }
}
