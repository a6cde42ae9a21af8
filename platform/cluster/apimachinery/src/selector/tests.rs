use serde_json::{Value, json};

use super::*;

fn mk_pod(labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "prod", "labels": labels},
        "spec": {"nodeName": "node-a"},
        "status": {"phase": "Running"}
    })
}

fn label_matches(selector: &str, labels: Value) -> bool {
    match LabelSelector::parse(selector) {
        Ok(parsed) => parsed.matches_object(&mk_pod(labels)),
        Err(err) => panic!("{selector:?} should parse: {err}"),
    }
}

#[test]
fn empty_label_selector_matches_everything() {
    assert!(label_matches("", json!({})));
    assert!(label_matches("  ", json!({"a": "b"})));
    assert!(LabelSelector::parse("").is_ok_and(|s| s.is_empty()));
    let unlabelled = json!({"metadata": {"name": "x"}});
    assert!(LabelSelector::default().matches_object(&unlabelled));
}

#[test]
fn equality_operators() {
    let labels = json!({"app": "web", "tier": "front"});
    assert!(label_matches("app=web", labels.clone()));
    assert!(label_matches("app==web", labels.clone()));
    assert!(label_matches("app = web , tier==front", labels.clone()));
    assert!(!label_matches("app=db", labels.clone()));
    assert!(label_matches("app!=db", labels.clone()));
    assert!(!label_matches("app!=web", labels.clone()));
    // `!=` also matches objects without the label at all.
    assert!(label_matches("missing!=x", labels.clone()));
    // `key=` selects the empty value.
    assert!(label_matches("empty=", json!({"empty": ""})));
    assert!(!label_matches("empty=", labels));
}

#[test]
fn set_based_operators() {
    let labels = json!({"env": "prod", "tier": "front"});
    assert!(label_matches("env in (prod, qa)", labels.clone()));
    assert!(!label_matches("env in (qa,dev)", labels.clone()));
    assert!(label_matches("env notin (qa,dev)", labels.clone()));
    assert!(!label_matches("env notin (prod)", labels.clone()));
    assert!(label_matches("missing notin (prod)", labels.clone()));
    assert!(!label_matches("missing in (prod)", labels.clone()));
    assert!(label_matches("tier", labels.clone()));
    assert!(!label_matches("missing", labels.clone()));
    assert!(label_matches("!missing", labels.clone()));
    assert!(!label_matches("!tier", labels.clone()));
    assert!(label_matches("env in (prod),tier,!legacy,env!=qa", labels));
    // Keywords are plain values in value position; `()` holds the empty value.
    assert!(label_matches("x in (in, notin)", json!({"x": "notin"})));
    assert!(label_matches("x in ()", json!({"x": ""})));
}

#[test]
fn numeric_comparisons() {
    assert!(label_matches("gen>3", json!({"gen": "4"})));
    assert!(!label_matches("gen>3", json!({"gen": "3"})));
    assert!(label_matches("gen<3", json!({"gen": "2"})));
    assert!(!label_matches("gen<3", json!({"gen": "two"})));
    assert!(!label_matches("gen<3", json!({})));
}

#[test]
fn parsed_requirements_are_exposed() {
    let parsed = LabelSelector::parse("a in (x,y),!b")
        .map(|s| s.requirements().to_vec())
        .ok();
    let expected = vec![
        Requirement {
            key: "a".into(),
            operator: Operator::In,
            values: vec!["x".into(), "y".into()],
        },
        Requirement {
            key: "b".into(),
            operator: Operator::DoesNotExist,
            values: vec![],
        },
    ];
    assert_eq!(parsed, Some(expected));
}

fn label_error(selector: &str) -> String {
    match LabelSelector::parse(selector) {
        Ok(parsed) => panic!("{selector:?} should not parse, got {parsed:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn label_parse_errors() {
    let cases = [
        ("a b", "found 'b', expected: =, !=, ==, >, <, in, notin"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        (
            "a=b,",
            "found 'end of string', expected: identifier after ','",
        ),
        (",a", "found ',', expected: identifier"),
        ("a in b", "found 'b', expected: '('"),
        (
            "a in (b",
            "found 'end of string', expected: ',', ')' or identifier",
        ),
        ("a in (b c)", "found 'c', expected: ',', ')' or identifier"),
        ("a=(", "found '(', expected: identifier"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a (", "found '(', expected: =, !=, ==, >, <, in, notin"),
        (
            "gen>x",
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("-a=b", "name part must consist of alphanumeric characters"),
        (
            "Example.com/a=b",
            "prefix part \"Example.com\" must be a lowercase RFC 1123 subdomain",
        ),
        ("/a", "prefix part must be non-empty"),
        ("example.com/=b", "name part must be non-empty"),
        ("a=b_", "invalid label value \"b_\""),
    ];
    for (selector, expected) in cases {
        let message = label_error(selector);
        assert!(
            message.starts_with("unable to parse requirement: "),
            "{message}"
        );
        assert!(
            message.contains(expected),
            "{selector:?}: {message:?} lacks {expected:?}"
        );
    }
    let long = "a".repeat(64);
    assert!(label_error(&long).contains("no more than 63 characters"));
    assert!(label_error(&format!("a={long}")).contains("no more than 63 characters"));
    assert!(LabelSelector::parse(&format!("example.com/{}=v", "a".repeat(63))).is_ok());
}

fn field_matches(selector: &str, object: &Value) -> bool {
    match FieldSelector::parse(selector) {
        Ok(parsed) => parsed.matches_object(object),
        Err(err) => panic!("{selector:?} should parse: {err}"),
    }
}

#[test]
fn field_selector_operators_and_paths() {
    let pod = mk_pod(json!({}));
    assert!(field_matches("", &pod));
    assert!(field_matches("metadata.name=web-1", &pod));
    assert!(field_matches(
        "metadata.name==web-1,metadata.namespace=prod",
        &pod
    ));
    assert!(!field_matches("metadata.name=web-2", &pod));
    assert!(field_matches("metadata.name!=web-2", &pod));
    assert!(!field_matches("metadata.namespace!=prod", &pod));
    assert!(field_matches(
        "status.phase=Running,spec.nodeName=node-a",
        &pod
    ));
    // A missing field compares as the empty string.
    assert!(field_matches("spec.missing=", &pod));
    assert!(field_matches("spec.missing!=x", &pod));
    assert!(!field_matches("spec.missing=x", &pod));
    let event = json!({"involvedObject": {"kind": "Pod", "name": "web-1"}, "count": 3, "x": true});
    assert!(field_matches(
        "involvedObject.kind=Pod,involvedObject.name=web-1",
        &event
    ));
    assert!(field_matches("count=3,x=true", &event));
}

#[test]
fn field_selector_escapes() {
    let object = json!({"metadata": {"name": "a,b=c\\d"}});
    assert!(field_matches(r"metadata.name=a\,b\=c\\d", &object));
    let terms = FieldSelector::parse(r"a=x\,y,b!=z")
        .map(|s| s.terms().to_vec())
        .ok();
    let expected = vec![
        FieldTerm {
            path: "a".into(),
            negated: false,
            value: "x,y".into(),
        },
        FieldTerm {
            path: "b".into(),
            negated: true,
            value: "z".into(),
        },
    ];
    assert_eq!(terms, Some(expected));
}

#[test]
fn field_parse_errors() {
    let cases = [
        (
            "metadata.name",
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
        ),
        ("a=b,c", "can't understand 'c'"),
        ("=b", "empty field name"),
        ("a=b=c", "unescaped character '='"),
        (r"a=b\x", r"invalid escape sequence '\x'"),
        (r"a=b\", "trailing backslash"),
    ];
    for (selector, expected) in cases {
        match FieldSelector::parse(selector) {
            Ok(parsed) => panic!("{selector:?} should not parse: {parsed:?}"),
            Err(err) => assert!(err.to_string().contains(expected), "{selector:?}: {err}"),
        }
    }
}

#[test]
fn structured_label_selectors() {
    let selector = json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "team", "operator": "Exists"}
        ]
    });
    let parsed = LabelSelector::from_label_selector(&selector);
    let Ok(parsed) = parsed else {
        panic!("{parsed:?}")
    };
    assert!(parsed.matches_object(&mk_pod(json!({"app": "web", "tier": "edge", "team": "a"}))));
    assert!(!parsed.matches_object(&mk_pod(json!({"app": "web", "tier": "edge"}))));
    assert!(!parsed.matches_object(&mk_pod(
        json!({"app": "web", "tier": "edge", "team": "a", "legacy": "y"})
    )));
    assert!(!parsed.matches_object(&mk_pod(
        json!({"app": "web", "tier": "edge", "team": "a", "env": "dev"})
    )));
    let everything = LabelSelector::from_label_selector(&json!({}));
    assert!(everything.is_ok_and(|s| s.matches_object(&mk_pod(json!({})))));
    let bad = [
        (json!([]), "expected an object"),
        (
            json!({"matchLabels": {"app": 1}}),
            "matchLabels[\"app\"] must be a string",
        ),
        (json!({"matchLabels": {"-x": "a"}}), "invalid label key"),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            "values set can't be empty",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            "must be empty",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
            "\"Gt\" is not a valid",
        ),
        (
            json!({"matchExpressions": {"key": "a"}}),
            "matchExpressions must be a list",
        ),
    ];
    for (selector, expected) in bad {
        match LabelSelector::from_label_selector(&selector) {
            Ok(parsed) => panic!("{selector} should be rejected: {parsed:?}"),
            Err(err) => assert!(err.to_string().contains(expected), "{selector}: {err}"),
        }
    }
}

fn selectable(group: &str, plural: &str, custom: bool) -> SelectableFields {
    let builtin = crate::registry::builtin_resources()
        .into_iter()
        .find(|rt| rt.group == group && rt.plural == plural);
    let rt = builtin.unwrap_or_else(|| panic!("no built-in {group}/{plural}"));
    SelectableFields::of(&rt, custom)
}

fn field_error(selector: &str, fields: SelectableFields) -> String {
    match FieldSelector::parse_for(selector, fields) {
        Ok(_) => panic!("{selector:?} should be rejected"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn field_labels_follow_each_kinds_conversion() {
    for (group, plural, accepted) in [
        (
            "",
            "pods",
            "spec.nodeName=a,status.phase=Running,spec.serviceAccountName=x,spec.hostNetwork=false",
        ),
        (
            "",
            "events",
            "involvedObject.kind=Pod,reason=X,reportingComponent=c,source=c,type=Normal",
        ),
        (
            "events.k8s.io",
            "events",
            "regarding.name=web,reportingController=c,reason=X",
        ),
        ("", "secrets", "type=Opaque,metadata.name=s"),
        (
            "",
            "namespaces",
            "status.phase=Active,metadata.name=default",
        ),
        ("", "services", "spec.type=ClusterIP,spec.clusterIP=None"),
        ("", "configmaps", "metadata.name=a,metadata.namespace=b"),
        ("apps", "deployments", "metadata.name=web"),
    ] {
        let parsed = FieldSelector::parse_for(accepted, selectable(group, plural, false));
        assert!(parsed.is_ok(), "{group}/{plural} {accepted}: {parsed:?}");
    }
    assert_eq!(
        field_error(
            "status.phase=Running,spec.containers=x",
            selectable("", "pods", false)
        ),
        "field label not supported: spec.containers"
    );
    assert_eq!(
        field_error(
            "involvedObject.name=a",
            selectable("events.k8s.io", "events", false)
        ),
        "field label not supported: involvedObject.name"
    );
    assert_eq!(
        field_error("metadata.namespace=a", selectable("", "namespaces", false)),
        "field label not supported: metadata.namespace"
    );
    assert_eq!(
        field_error("data.key=x", selectable("", "configmaps", false)),
        r#""data.key" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
    assert_eq!(
        field_error(
            "status.replicas=1",
            selectable("apps", "replicasets", false)
        ),
        r#""status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
    // Custom resources: metadata.name, and metadata.namespace only when namespaced.
    let widgets = selectable("", "configmaps", true);
    assert!(FieldSelector::parse_for("metadata.namespace=a", widgets.clone()).is_ok());
    assert_eq!(
        field_error("spec.size=1", widgets),
        "field label not supported: spec.size"
    );
    assert_eq!(
        field_error("metadata.namespace=a", selectable("", "namespaces", true)),
        "field label not supported: metadata.namespace"
    );
}

#[test]
fn computed_field_values_match_to_selectable_fields() {
    let matches = |selector: &str, group: &str, plural: &str, object: &Value| {
        FieldSelector::parse_for(selector, selectable(group, plural, false))
            .map(|parsed| parsed.matches_object(object))
            .unwrap_or_else(|err| panic!("{selector}: {err}"))
    };
    let pod = json!({"spec": {"nodeName": "n1"}, "status": {"podIPs": [{"ip": "10.0.0.9"}], "podIP": "10.0.0.1"}});
    assert!(matches("spec.hostNetwork=false", "", "pods", &pod));
    assert!(matches("spec.host=n1", "", "pods", &pod));
    assert!(matches("status.podIP=10.0.0.9", "", "pods", &pod));
    let legacy = json!({"reportingComponent": "kubelet", "source": {}});
    assert!(matches("source=kubelet", "", "events", &legacy));
    let recorded =
        json!({"reportingComponent": "x", "source": {"component": "deployment-controller"}});
    assert!(matches(
        "source=deployment-controller",
        "",
        "events",
        &recorded
    ));
    assert!(matches("source!=x", "", "events", &recorded));
}
