//! Golden tests: every `operator/tests/golden/inject/<case>.input.json` is injected and compared with
//! `<case>.patch.json` (or `<case>.error.txt` for a refused pod).
//!
//! Regenerate deliberately, then review the diff: `UPDATE_GOLDEN=1 cargo test -p configsync-operator inject::`.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::hash::KeyDigests;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Sources {
    configmaps: BTreeMap<String, BTreeMap<String, String>>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    selected: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    #[serde(default)]
    namespace_labels: BTreeMap<String, String>,
    #[serde(default = "yes")]
    native_sidecar: bool,
    sources: Option<Sources>,
    pod: Value,
}

fn yes() -> bool {
    true
}

fn digests(map: &BTreeMap<String, String>) -> KeyDigests {
    KeyDigests::from_entries(map.iter().map(|(k, v)| (k.as_str(), v.as_bytes())))
}

fn source_data(sources: &Sources) -> SourceData {
    let mut data = SourceData::default();
    for (name, map) in &sources.configmaps {
        data.digests
            .insert(SourceId::config_map(name), digests(map));
    }
    for (name, map) in &sources.secrets {
        data.digests.insert(SourceId::secret(name), digests(map));
    }
    data.selected = sources.selected.iter().map(SourceId::config_map).collect();
    data
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/inject")
}

fn config(native: bool) -> InjectConfig {
    InjectConfig {
        image: "configsync:test".to_owned(),
        native_sidecar: native,
        ..InjectConfig::default()
    }
}

fn run_case(input: &Input) -> Result<InjectOutcome, InjectError> {
    let pod: PodTemplateSpec = serde_json::from_value(input.pod.clone()).unwrap();
    let data = input.sources.as_ref().map(source_data);
    inject(
        &pod,
        &input.namespace_labels,
        &config(input.native_sidecar),
        data.as_ref(),
    )
}

/// Apply the patch and inject again: the second pass must change nothing.
fn assert_idempotent(name: &str, input: &Input, outcome: &InjectOutcome) {
    let mut patched = input.pod.clone();
    json_patch::patch(&mut patched, &outcome.patch).unwrap_or_else(|e| panic!("{name}: {e}"));
    let pod: PodTemplateSpec = serde_json::from_value(patched).unwrap();
    let data = input.sources.as_ref().map(source_data);
    let again = inject(&pod, &input.namespace_labels, &config(true), data.as_ref()).unwrap();
    assert!(
        again.patch.0.is_empty(),
        "{name}: second pass patched {:?}",
        again.patch
    );
}

fn compare_or_update(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{} differs", path.display());
}

#[test]
fn golden_cases_match_and_are_idempotent() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".input.json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} golden cases", cases.len());
    for case in cases {
        let name = case
            .to_string_lossy()
            .trim_end_matches(".input.json")
            .to_owned();
        let input: Input = serde_json::from_str(&std::fs::read_to_string(&case).unwrap()).unwrap();
        match run_case(&input) {
            Ok(outcome) => {
                let rendered = json!({"patch": outcome.patch, "warnings": outcome.warnings});
                let text = serde_json::to_string_pretty(&rendered).unwrap() + "\n";
                compare_or_update(Path::new(&format!("{name}.patch.json")), &text);
                assert_idempotent(&name, &input, &outcome);
            }
            Err(error) => compare_or_update(
                Path::new(&format!("{name}.error.txt")),
                &format!("{error}\n"),
            ),
        }
    }
}

fn annotated(pairs: &[(&str, &str)]) -> PodTemplateSpec {
    serde_json::from_value(json!({
        "metadata": {"annotations": pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()},
        "spec": {"containers": [{"name": "app", "image": "app", "command": ["/app"]}]}
    }))
    .unwrap()
}

#[test]
fn keys_with_slash_and_tilde_are_escaped_in_pointers() {
    let pod = annotated(&[
        ("configsync.dev/inject", "true"),
        ("configsync.dev/inject-configmaps", "cfg"),
    ]);
    let outcome = inject(
        &pod,
        &BTreeMap::new(),
        &config(true),
        Some(&SourceData::default()),
    )
    .unwrap();
    let paths: Vec<String> = outcome
        .patch
        .0
        .iter()
        .map(|op| op.path().to_string())
        .collect();
    assert!(
        paths.contains(&"/metadata/annotations/configsync.dev~1injected".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/metadata/annotations/configsync.dev~1config-hash".to_owned()),
        "{paths:?}"
    );
    let token = json_patch::jsonptr::PointerBuf::from_tokens(["a~b/c"]);
    assert_eq!(token.as_str(), "/a~0b~1c");
}

#[test]
fn namespace_label_opts_in_and_pod_false_opts_out() {
    let labels = BTreeMap::from([("configsync.dev/inject".to_owned(), "enabled".to_owned())]);
    let pod = annotated(&[("configsync.dev/inject-configmaps", "cfg")]);
    assert!(requested(&pod, &labels).unwrap().is_some());
    assert!(requested(&pod, &BTreeMap::new()).unwrap().is_none());
    let opted_out = annotated(&[
        ("configsync.dev/inject", "false"),
        ("configsync.dev/inject-configmaps", "cfg"),
    ]);
    assert!(requested(&opted_out, &labels).unwrap().is_none());
}

#[test]
fn bad_annotations_inject_nothing_and_name_every_problem() {
    let pod = annotated(&[
        ("configsync.dev/inject", "true"),
        ("configsync.dev/inject-configmaps", "cfg"),
        ("configsync.dev/inject-mode", "daemon"),
        ("configsync.dev/inject-wait", "5 parsecs"),
    ]);
    let error = inject(&pod, &BTreeMap::new(), &config(true), None).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("configsync.dev/inject-mode: \"daemon\": unknown mode"),
        "{message}"
    );
    assert!(
        message.contains("configsync.dev/inject-wait: \"5 parsecs\""),
        "{message}"
    );
}

#[test]
fn signal_names_parse_in_every_spelling() {
    for input in ["HUP", "hup", "SIGHUP", "sigHup", "1"] {
        assert_eq!(annotations::signal_name(input), Some("HUP"), "{input}");
    }
    assert_eq!(annotations::signal_name("SIGFOO"), None);
    assert_eq!(annotations::signal_name("99"), None);
}

#[test]
fn config_hash_matches_the_operator_hash_of_pod_and_sidecar_sources() {
    let pod = annotated(&[
        ("configsync.dev/inject", "true"),
        ("configsync.dev/inject-configmaps", "cfg"),
    ]);
    let mut data = SourceData::default();
    data.digests.insert(
        SourceId::config_map("cfg"),
        KeyDigests::from_entries([("k", b"v".as_slice())]),
    );
    let outcome = inject(&pod, &BTreeMap::new(), &config(true), Some(&data)).unwrap();
    let expected = crate::hash::workload_hash(
        &[SourceRef {
            id: SourceId::config_map("cfg"),
            keys: ConsumedKeys::All,
            optional: true,
            env_prefixes: BTreeSet::new(),
        }],
        &data.digests,
    )
    .unwrap();
    let value = outcome.patch.0.iter().find_map(|op| match op {
        json_patch::PatchOperation::Add(add) if add.path.as_str().ends_with("config-hash") => {
            Some(add.value.clone())
        }
        _ => None,
    });
    assert_eq!(value, Some(json!(expected.as_str())));
}
