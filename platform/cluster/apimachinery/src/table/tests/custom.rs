//! CRD printer columns: JSONPath forms, column types, the default Age column.
use super::super::jsonpath::{find, parse};
use super::{ago, columns, meta, now, only_row, resource};
use crate::{IncludeObject, PrinterColumn};
use serde_json::{Value, json};

fn column(name: &str, type_: &str, json_path: &str) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        format: String::new(),
        description: String::new(),
        priority: 0,
        json_path: json_path.into(),
    }
}

fn widget() -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w1", 300),
        "spec": {"replicas": 3, "ratio": 0.5, "enabled": true, "size": 2.9, "items": [{"name": "first"}, {"name": "second"}],
                 "selector": {"b": 1, "a": [true]}, "lastRun": ago(90), "broken": "yesterday"},
        "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True", "since": ago(45)}]}})
}

fn table(printer_columns: Vec<PrinterColumn>) -> Value {
    let rt = resource("example.com", "widgets", Some(printer_columns));
    super::super::to_table(&rt, &[widget()], IncludeObject::None, now(), "9")
}

#[test]
fn columns_of_every_type_and_path_form() {
    let t = table(vec![
        column("Replicas", "integer", ".spec.replicas"),
        column(
            "Ready",
            "string",
            r#".status.conditions[?(@.type=="Ready")].status"#,
        ),
        column("First", "string", ".spec.items[0].name"),
        column("Any", "string", ".spec.items[*].name"),
        column("Last", "string", ".spec.items[-1].name"),
        column("Selector", "string", ".spec.selector"),
        column("Count", "string", ".spec.replicas"),
        column("Ratio", "number", ".spec.ratio"),
        column("Size", "integer", ".spec.size"),
        column("On", "boolean", ".spec.enabled"),
        column("Ran", "date", ".spec.lastRun"),
        column(
            "Since",
            "date",
            r#".status.conditions[?(@.status=="True")].since"#,
        ),
        column("Bad", "date", ".spec.broken"),
        column("Missing", "string", ".status.nothing"),
        column("Mistyped", "integer", ".spec.enabled"),
        column("Unparsable", "string", ".spec.items[0:1]"),
    ]);
    assert_eq!(
        only_row(&t),
        vec![
            json!("w1"),
            json!(3),
            json!("True"),
            json!("first"),
            json!("first"),
            json!("second"),
            json!(r#"{"a":[true],"b":1}"#),
            json!("3"),
            json!(0.5),
            json!(2),
            json!(true),
            json!("90s"),
            json!("45s"),
            json!("<invalid>"),
            Value::Null,
            Value::Null,
            Value::Null,
        ]
    );
    // A CRD that lists its columns gets exactly those: no Age is added, as in apiextensions-apiserver.
    assert_eq!(columns(&t).last(), Some(&("Unparsable".to_string(), 0)));
}

#[test]
fn column_definitions_keep_type_format_priority_and_default_description() {
    let mut wide = column("Node", "string", ".spec.node");
    wide.priority = 1;
    wide.format = "hostname".into();
    wide.description = "Where it runs".into();
    let t = table(vec![
        column("Replicas", "integer", ".spec.replicas"),
        wide,
        column("Age", "date", ".metadata.creationTimestamp"),
    ]);
    assert_eq!(
        t["columnDefinitions"],
        json!([
            {"name": "Name", "type": "string", "format": "name", "description": super::super::NAME_DESCRIPTION, "priority": 0},
            {"name": "Replicas", "type": "integer", "format": "", "priority": 0,
             "description": "Custom resource definition column (in JSONPath format): .spec.replicas"},
            {"name": "Node", "type": "string", "format": "hostname", "description": "Where it runs", "priority": 1},
            {"name": "Age", "type": "date", "format": "", "priority": 0,
             "description": "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp"},
        ])
    );
    assert_eq!(
        only_row(&t),
        vec![json!("w1"), json!(3), Value::Null, json!("5m")]
    );
}

#[test]
fn no_printer_columns_gives_name_and_age() {
    let t = table(vec![]);
    assert_eq!(
        columns(&t),
        vec![("Name".to_string(), 0), ("Age".to_string(), 0)]
    );
    assert_eq!(t["columnDefinitions"][1]["type"], "date");
    assert_eq!(only_row(&t), vec![json!("w1"), json!("5m")]);
}

#[test]
fn jsonpath_forms() {
    let object = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web"}},
        "list": [{"n": 1, "k": "a"}, {"n": 2, "k": "b"}, {"n": 3}], "map": {"x": 1}});
    let eval = |path: &str| -> Vec<Value> {
        match parse(path) {
            Ok(steps) => find(&steps, &object).into_iter().cloned().collect(),
            Err(error) => vec![json!(format!("error: {error}"))],
        }
    };
    assert_eq!(
        eval(r".metadata.labels.app\.kubernetes\.io/name"),
        [json!("web")]
    );
    assert_eq!(
        eval(".metadata.labels['app.kubernetes.io/name']"),
        [json!("web")]
    );
    assert_eq!(eval("{.list[*].n}"), [json!(1), json!(2), json!(3)]);
    assert_eq!(eval("$.list[?(@.n>1)].n"), [json!(2), json!(3)]);
    assert_eq!(eval(".list[?(@.n <= 2)].k"), [json!("a"), json!("b")]);
    assert_eq!(
        eval(".list[?(@.k!='a')].n"),
        [json!(2)],
        "an item without the key never matches"
    );
    assert_eq!(eval(".list[?(@.k)].n"), [json!(1), json!(2)]);
    assert_eq!(eval(".map.*"), [json!(1)]);
    assert_eq!(eval(".list[5].n"), Vec::<Value>::new());
    assert_eq!(eval(".map[0]"), Vec::<Value>::new());
    for bad in [
        ".list[",
        ".a..b",
        ".list[?(n>1)]",
        ".list[1:2]",
        ".list[?(@.n==x)]",
    ] {
        assert!(parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn printer_columns_are_read_from_the_crd_version() {
    let crd = json!({"spec": {"versions": [
        {"name": "v1alpha1", "additionalPrinterColumns": [{"name": "Old", "type": "string", "jsonPath": ".spec.old"}]},
        {"name": "v1", "additionalPrinterColumns": [
            {"name": "Ready", "type": "string", "jsonPath": ".status.ready", "priority": 1, "description": "d", "format": "f"},
            {"name": "", "type": "string", "jsonPath": ".x"}]},
        {"name": "v2"}]}});
    let ready = PrinterColumn {
        name: "Ready".into(),
        type_: "string".into(),
        format: "f".into(),
        description: "d".into(),
        priority: 1,
        json_path: ".status.ready".into(),
    };
    assert_eq!(super::super::printer_columns(&crd, "v1"), Some(vec![ready]));
    assert_eq!(super::super::printer_columns(&crd, "v2"), Some(vec![]));
    assert_eq!(super::super::printer_columns(&crd, "v3"), None);
}
