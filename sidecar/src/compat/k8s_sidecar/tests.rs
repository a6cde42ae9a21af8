use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;

use super::*;
use crate::source::{SourceKind, Value};

/// Enough for every variable to have an effect: a request to carry REQ_*, METHOD=SLEEP for SLEEP_TIME.
const BASE: &[(&str, &str)] = &[
    ("FOLDER", "/tmp/dashboards"),
    ("LABEL", "grafana_dashboard"),
    ("REQ_URL", "http://localhost:3000/reload"),
    ("REQ_METHOD", "POST"),
    ("METHOD", "SLEEP"),
    ("REQ_USERNAME", "admin"),
    ("REQ_PASSWORD", "secret"),
];

fn run(env: &BTreeMap<String, String>) -> Result<Translation, CompatError> {
    translate(&|name| env.get(name).cloned(), &[])
}

#[test]
fn every_variable_does_what_its_row_says() {
    let names: BTreeSet<_> = VARIABLES.iter().map(|v| v.name).collect();
    assert_eq!(names.len(), VARIABLES.len(), "no variable twice");
    let base: BTreeMap<String, String> = BASE
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for variable in VARIABLES {
        let mut without = base.clone();
        without.remove(variable.name);
        let mut with = without.clone();
        with.insert(variable.name.into(), variable.example.into());
        let (before, after) = (run(&without), run(&with));
        let after = after.unwrap_or_else(|e| panic!("{}={}: {e}", variable.name, variable.example));
        let changed = before.as_ref().map(|t| &t.args) != Ok(&after.args);
        assert_eq!(
            changed, variable.translated,
            "{}: the row says translated={}, the flags say otherwise",
            variable.name, variable.translated
        );
        let warned = after.warnings.iter().any(|w| w.starts_with(variable.name));
        assert_eq!(
            warned,
            variable.support != Support::Supported,
            "{}: warned={warned} for a variable that is {}",
            variable.name,
            variable.support.label()
        );
    }
}

/// The README rows of one table, between `<!-- NAME -->` and `<!-- /NAME -->`.
fn readme_rows(name: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let start = format!("<!-- {name} -->");
    let end = format!("<!-- /{name} -->");
    let (_, rest) = readme.split_once(&start).expect("table start marker");
    let (table, _) = rest.split_once(&end).expect("table end marker");
    table
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_tables_are_these_rows() {
    let variables: Vec<String> = VARIABLES
        .iter()
        .map(|v| format!("| `{}` | {} | {} |", v.name, v.support.label(), v.how))
        .chain(
            FLAGS
                .iter()
                .map(|(theirs, ours)| format!("| `{theirs}` | supported | `{ours}` |")),
        )
        .collect();
    assert_eq!(readme_rows("k8s-sidecar-variables"), variables);
    let flags: Vec<String> = crate::compat::configmap_reload::FLAGS
        .iter()
        .map(|(name, how)| format!("| `--{name}` | {how} |"))
        .collect();
    assert_eq!(readme_rows("configmap-reload-flags"), flags);
}

fn meta(annotations: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some("dashboards".into()),
        namespace: Some("team-a".into()),
        annotations: Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ObjectMeta::default()
    }
}

fn source() -> SourceData {
    let config_map = ConfigMap {
        metadata: meta(&[]),
        data: Some(BTreeMap::from([(
            "board.json".to_string(),
            "{}".to_string(),
        )])),
        ..ConfigMap::default()
    };
    crate::api::Projectable::to_source(&config_map)
}

fn keys(names: &FileNames, annotations: &[(&str, &str)]) -> Vec<String> {
    names
        .apply(&meta(annotations), source())
        .data
        .into_keys()
        .collect()
}

#[test]
fn files_go_where_k8s_sidecar_puts_them() {
    let names = FileNames {
        dir: "/tmp/dashboards".into(),
        folder_annotation: Some("grafana_folder".into()),
        unique: false,
    };
    assert_eq!(keys(&names, &[]), ["board.json"]);
    assert_eq!(keys(&names, &[("other", "x")]), ["board.json"]);
    assert_eq!(
        keys(&names, &[("grafana_folder", "Team A")]),
        ["Team A/board.json"]
    );
    assert_eq!(
        keys(&names, &[("grafana_folder", "/tmp/dashboards/ops/net")]),
        ["ops/net/board.json"],
        "an absolute folder under FOLDER"
    );
    assert_eq!(
        keys(&names, &[("grafana_folder", "./x/")]),
        ["x/board.json"]
    );
    assert_eq!(
        keys(&names, &[("grafana_folder", "/tmp/dashboards")]),
        ["board.json"]
    );
    for outside in ["/etc", "../up", "a/../../b"] {
        assert!(
            keys(&names, &[("grafana_folder", outside)]).is_empty(),
            "{outside}: never written outside FOLDER"
        );
    }
    let unique = FileNames {
        unique: true,
        ..names
    };
    assert_eq!(
        keys(&unique, &[("grafana_folder", "ops")]),
        ["ops/namespace_team-a.configmap_dashboards.board.json"]
    );
    let projected = unique.apply(&meta(&[]), source());
    assert_eq!(projected.kind, SourceKind::ConfigMap);
    assert_eq!(
        projected.data.values().next(),
        Some(&Value::from("{}")),
        "values are untouched"
    );
}
