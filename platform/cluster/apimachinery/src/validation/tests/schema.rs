//! Custom resources against a structural schema: pruning, defaulting, kube-openapi checks and CEL rules.
use super::*;
use crate::validation::schema::{
    crd_version_schema, prune_and_default, validate as validate_schema,
};

const DURATION: &str = "^([0-9]+(ms|s|m|h))+$";

/// A cut-down ConfigSync schema: the same kinds of constraints as `crds/configsync.dev_configsyncs.yaml`.
fn mk_schema() -> Value {
    let item = json!({
        "type": "object", "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["ConfigMap", "Secret"]},
            "name": {"type": "string", "nullable": true, "minLength": 1, "maxLength": 8},
            "selector": {"type": "object", "nullable": true,
                         "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "optional": {"type": "boolean", "default": false}
        },
        "x-kubernetes-validations": [{"rule": "has(self.name) != has(self.selector)",
                                      "message": "exactly one of name or selector must be set"}]
    });
    json!({
        "type": "object", "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object", "required": ["sources", "targets"],
                "properties": {
                    "strategy": {"type": "string", "default": "restart", "enum": ["restart", "reload", "none"]},
                    "suspend": {"type": "boolean", "default": false},
                    "sources": {"type": "array", "minItems": 1, "maxItems": 2, "items": item},
                    "targets": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                    "debounce": {
                        "type": "object", "nullable": true, "required": ["min"],
                        "properties": {
                            "min": {"type": "string", "pattern": DURATION},
                            "max": {"type": "string", "nullable": true, "pattern": DURATION}
                        },
                        "x-kubernetes-validations": [{"rule": "!has(self.max) || duration(self.max) >= duration(self.min)",
                                                      "message": "debounce max must be >= min"}]
                    },
                    "rollout": {"type": "object", "properties": {
                        "maxConcurrent": {"type": "integer", "minimum": 1.0, "maximum": 10},
                        "replicas": {"x-kubernetes-int-or-string": true}
                    }},
                    "since": {"type": "string", "format": "date-time"},
                    "revision": {"type": "integer", "x-kubernetes-validations": [
                        {"rule": "self >= oldSelf", "messageExpression": "'may not go back from ' + string(oldSelf)"}
                    ]}
                }
            },
            "status": {"type": "object", "nullable": true, "properties": {"count": {"type": "integer"}}}
        }
    })
}

fn mk_object(spec: Value) -> Value {
    json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
           "metadata": {"name": "x", "namespace": "default", "labels": {"a": "b"}}, "spec": spec})
}

fn minimal_spec() -> Value {
    json!({"sources": [{"kind": "ConfigMap", "name": "app"}], "targets": [{"kind": "Deployment", "name": "web"}]})
}

/// The `(field, message)` of every cause, after pruning and defaulting as the server does.
fn errors(spec: Value, old: Option<Value>) -> Vec<(String, String)> {
    let schema = mk_schema();
    let mut object = mk_object(spec);
    prune_and_default(&schema, &mut object);
    match validate_schema("ConfigSync", &schema, &object, old.map(mk_object).as_ref()) {
        Ok(()) => vec![],
        Err(invalid) => invalid
            .causes
            .into_iter()
            .map(|c| (c.field, c.message))
            .collect(),
    }
}

fn one(field: &str, message: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), message.to_owned())]
}

#[test]
fn defaults_fill_missing_properties_and_unknown_fields_are_pruned() {
    let schema = mk_schema();
    let mut spec = minimal_spec();
    spec["bogus"] = json!(1);
    spec["targets"][0]["extra"] = json!("kept: preserve-unknown-fields");
    spec["sources"][0]["unknown"] = json!(true);
    spec["suspend"] = Value::Null;
    let mut object = mk_object(spec);
    object["topLevelJunk"] = json!("x");
    let mut unknown = prune_and_default(&schema, &mut object);
    unknown.sort();
    assert_eq!(
        unknown,
        ["spec.bogus", "spec.sources[0].unknown", "topLevelJunk"],
        "what strict field validation reports"
    );
    assert_eq!(
        object,
        json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
               "metadata": {"name": "x", "namespace": "default", "labels": {"a": "b"}},
               "spec": {"strategy": "restart", "suspend": false,
                        "sources": [{"kind": "ConfigMap", "name": "app", "optional": false}],
                        "targets": [{"kind": "Deployment", "name": "web", "extra": "kept: preserve-unknown-fields"}]}})
    );
}

#[test]
fn explicit_values_are_not_overwritten_by_defaults() {
    let schema = mk_schema();
    let mut spec = minimal_spec();
    spec["strategy"] = json!("none");
    spec["suspend"] = json!(true);
    let mut object = mk_object(spec);
    prune_and_default(&schema, &mut object);
    assert_eq!(object["spec"]["strategy"], "none");
    assert_eq!(object["spec"]["suspend"], true);
}

#[test]
fn a_valid_object_passes() {
    let mut spec = minimal_spec();
    spec["debounce"] = json!({"min": "5s", "max": "1m"});
    spec["rollout"] = json!({"maxConcurrent": 2, "replicas": "50%"});
    spec["since"] = json!("2026-01-02T03:04:05Z");
    assert_eq!(errors(spec, None), vec![]);
}

#[test]
fn enum_violations_list_the_supported_values() {
    let mut spec = minimal_spec();
    spec["strategy"] = json!("bogus");
    assert_eq!(
        errors(spec, None),
        one(
            "spec.strategy",
            r#"Unsupported value: "bogus": supported values: "restart", "reload", "none""#
        )
    );
}

#[test]
fn pattern_violations_quote_the_pattern() {
    let mut spec = minimal_spec();
    spec["debounce"] = json!({"min": "5 s"});
    assert_eq!(
        errors(spec, None),
        one(
            "spec.debounce.min",
            &format!(
                r#"Invalid value: "5 s": spec.debounce.min in body should match '{DURATION}'"#
            )
        )
    );
}

#[test]
fn cel_rules_report_their_message_at_the_node() {
    let mut spec = minimal_spec();
    spec["sources"][0]["selector"] = json!({"matchLabels": {"app": "web"}});
    spec["debounce"] = json!({"min": "1m", "max": "5s"});
    assert_eq!(
        errors(spec, None),
        vec![
            (
                "spec.debounce".to_owned(),
                r#"Invalid value: debounce max must be >= min"#.to_owned()
            ),
            (
                "spec.sources[0]".to_owned(),
                r#"Invalid value: exactly one of name or selector must be set"#.to_owned()
            ),
        ]
    );
}

#[test]
fn missing_required_fields_are_reported() {
    assert_eq!(
        errors(json!({"sources": [{"name": "app"}]}), None),
        vec![
            ("spec.targets".to_owned(), "Required value".to_owned()),
            (
                "spec.sources[0].kind".to_owned(),
                "Required value".to_owned()
            ),
        ]
    );
    let schema = mk_schema();
    let object = json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync", "metadata": {"name": "x"}});
    let invalid =
        validate_schema("ConfigSync", &schema, &object, None).expect_err("spec is required");
    assert_eq!(
        invalid.status_message("configsync.dev", "x"),
        r#"ConfigSync.configsync.dev "x" is invalid: spec: Required value"#
    );
}

#[test]
fn types_lengths_bounds_item_counts_and_formats_are_checked() {
    let mut spec = minimal_spec();
    spec["suspend"] = json!("yes");
    spec["sources"] = json!([{"kind": "Secret", "name": ""}, {"kind": "Secret", "name": "123456789"}, {"kind": "Secret", "name": "c"}]);
    spec["rollout"] = json!({"maxConcurrent": 0, "replicas": true});
    spec["since"] = json!("yesterday");
    assert_eq!(
        errors(spec, None),
        vec![
            ("spec.rollout.maxConcurrent".to_owned(), "Invalid value: 0: spec.rollout.maxConcurrent in body should be greater than or equal to 1".to_owned()),
            ("spec.rollout.replicas".to_owned(), r#"Invalid value: "boolean": spec.rollout.replicas in body must be of type int-or-string: "boolean""#.to_owned()),
            ("spec.since".to_owned(), r#"Invalid value: "yesterday": spec.since in body must be of type date-time: "yesterday""#.to_owned()),
            ("spec.sources".to_owned(), "Too many: 3: must have at most 2 items".to_owned()),
            ("spec.sources[0].name".to_owned(), r#"Invalid value: "": spec.sources[0].name in body should be at least 1 chars long"#.to_owned()),
            ("spec.sources[1].name".to_owned(), "Too long: may not be more than 8 bytes".to_owned()),
            ("spec.suspend".to_owned(), r#"Invalid value: "string": spec.suspend in body must be of type boolean: "string""#.to_owned()),
        ]
    );
    let mut empty = minimal_spec();
    empty["sources"] = json!([]);
    assert_eq!(
        errors(empty, None),
        one(
            "spec.sources",
            "Invalid value: 0: spec.sources in body should have at least 1 items"
        )
    );
}

#[test]
fn transition_rules_run_only_on_update() {
    let mut spec = minimal_spec();
    spec["revision"] = json!(1);
    assert_eq!(errors(spec.clone(), None), vec![]);
    let mut old = minimal_spec();
    old["revision"] = json!(3);
    assert_eq!(
        errors(spec, Some(old)),
        one("spec.revision", r#"Invalid value: may not go back from 3"#)
    );
}

#[test]
fn nulls_are_accepted_only_where_nullable() {
    let mut spec = minimal_spec();
    spec["debounce"] = Value::Null;
    assert_eq!(errors(spec, None), vec![]);
    let mut spec = minimal_spec();
    spec["sources"][0]["kind"] = Value::Null;
    assert_eq!(
        errors(spec, None),
        one("spec.sources[0].kind", "Required value")
    );
}

#[test]
fn the_schema_of_a_crd_version_is_found_by_name() {
    let crd = json!({"spec": {"versions": [
        {"name": "v1", "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v2"}
    ]}});
    assert_eq!(
        crd_version_schema(&crd, "v1"),
        Some(&json!({"type": "object"}))
    );
    assert_eq!(crd_version_schema(&crd, "v2"), None);
    assert_eq!(crd_version_schema(&json!("junk"), "v1"), None);
}
