//! Object metadata rules: names, namespaces, labels, annotations, finalizers.
use super::*;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' \
or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn mk_cm(metadata: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata})
}

#[test]
fn valid_metadata_passes() {
    let metadata = json!({"name": "app.config-1", "namespace": "default",
        "labels": {"app.kubernetes.io/name": "web", "tier": "", "x": "A_b.c-1"},
        "annotations": {"Example.COM/Key": "anything at all", "note": ""},
        "finalizers": ["configsync.dev/cleanup", "kubernetes"]});
    assert_eq!(causes("v1", "ConfigMap", &mk_cm(metadata), None), []);
}

#[test]
fn name_is_required_unless_generate_name() {
    assert_eq!(
        causes(
            "v1",
            "ConfigMap",
            &mk_cm(json!({"namespace": "default"})),
            None
        ),
        [cause(
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required"
        )]
    );
    let generated = mk_cm(json!({"generateName": "web-", "namespace": "default"}));
    assert_eq!(causes("v1", "ConfigMap", &generated, None), []);
    let bad_prefix = mk_cm(json!({"generateName": "Web-", "namespace": "default"}));
    assert_eq!(
        causes("v1", "ConfigMap", &bad_prefix, None),
        [cause(
            "FieldValueInvalid",
            "metadata.generateName",
            &format!("Invalid value: \"Web-\": {SUBDOMAIN_MSG}")
        )]
    );
}

#[test]
fn names_must_be_dns_subdomains() {
    assert_eq!(
        causes(
            "v1",
            "ConfigMap",
            &mk_cm(json!({"name": "A", "namespace": "default"})),
            None
        ),
        [cause(
            "FieldValueInvalid",
            "metadata.name",
            &format!("Invalid value: \"A\": {SUBDOMAIN_MSG}")
        )]
    );
    let long = "a".repeat(254);
    let found = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"name": long, "namespace": "default"})),
        None,
    );
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .2
            .ends_with(": must be no more than 253 characters"),
        "{found:?}"
    );
}

#[test]
fn namespaces_need_labels_and_services_dns1035() {
    let ns = |name: &str| json!({"metadata": {"name": name}});
    assert_eq!(causes("v1", "Namespace", &ns("team-a"), None), []);
    assert_eq!(
        causes("v1", "Namespace", &ns("team.a"), None),
        [cause(
            "FieldValueInvalid",
            "metadata.name",
            "Invalid value: \"team.a\": must not contain dots"
        )]
    );
    let svc =
        json!({"metadata": {"name": "1web", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}});
    assert_eq!(
        causes("v1", "Service", &svc, None),
        [cause(
            "FieldValueInvalid",
            "metadata.name",
            "Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', \
start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used \
for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        )]
    );
}

#[test]
fn namespaced_objects_need_a_valid_namespace() {
    assert_eq!(
        causes("v1", "ConfigMap", &mk_cm(json!({"name": "a"})), None),
        [cause(
            "FieldValueRequired",
            "metadata.namespace",
            "Required value"
        )]
    );
    let found = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"name": "a", "namespace": "Bad"})),
        None,
    );
    assert_eq!(found[0].1, "metadata.namespace");
    assert!(
        found[0]
            .2
            .starts_with("Invalid value: \"Bad\": a lowercase RFC 1123 label must consist")
    );
}

#[test]
fn label_keys_and_values_are_checked() {
    let found = causes(
        "v1",
        "ConfigMap",
        &mk_cm(
            json!({"name": "a", "namespace": "d", "labels": {"-bad": "ok", "good": "bad value", "a/b/c": "x"}}),
        ),
        None,
    );
    let messages: Vec<&str> = found.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(
        found.iter().filter(|c| c.1 == "metadata.labels").count(),
        3,
        "{found:?}"
    );
    assert!(messages.contains(
        &"Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is \
'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    ));
    assert!(messages.contains(
        &"Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, \
'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', \
regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ));
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Invalid value: \"a/b/c\": a qualified name must consist of"))
    );
    let long_value = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"name": "a", "namespace": "d", "labels": {"k": "v".repeat(64)}})),
        None,
    );
    assert!(
        long_value[0]
            .2
            .ends_with(": must be no more than 63 characters")
    );
    let bad_prefix = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"name": "a", "namespace": "d", "labels": {"/x": "1"}})),
        None,
    );
    assert_eq!(
        bad_prefix[0].2,
        "Invalid value: \"/x\": prefix part must be non-empty"
    );
}

#[test]
fn annotations_keys_and_total_size() {
    let big = "x".repeat(256 * 1024);
    let found = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"name": "a", "namespace": "d", "annotations": {"k": big}})),
        None,
    );
    assert_eq!(
        found,
        [cause(
            "FieldValueTooLong",
            "metadata.annotations",
            "Too long: may not be more than 262144 bytes"
        )]
    );
    let found = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"name": "a", "namespace": "d", "annotations": {"bad key": "v"}})),
        None,
    );
    assert_eq!(found[0].1, "metadata.annotations");
    assert!(
        found[0]
            .2
            .starts_with("Invalid value: \"bad key\": name part must consist")
    );
}

#[test]
fn update_keeps_name_and_forbids_finalizers_while_deleting() {
    let old = mk_cm(
        json!({"name": "a", "namespace": "d", "deletionTimestamp": "2025-01-01T00:00:00Z",
                           "finalizers": ["x.io/a"]}),
    );
    let new = mk_cm(json!({"name": "a", "namespace": "d", "finalizers": ["x.io/a", "x.io/b"]}));
    assert_eq!(
        causes("v1", "ConfigMap", &new, Some(&old)),
        [cause(
            "FieldValueForbidden",
            "metadata.finalizers",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers \
[]string{\"x.io/b\"}"
        )]
    );
    let removing = mk_cm(json!({"name": "a", "namespace": "d", "finalizers": []}));
    assert_eq!(causes("v1", "ConfigMap", &removing, Some(&old)), []);
    let renamed = mk_cm(json!({"name": "b", "namespace": "d"}));
    assert_eq!(
        causes("v1", "ConfigMap", &renamed, Some(&old)),
        [cause(
            "FieldValueInvalid",
            "metadata.name",
            "Invalid value: \"b\": field is immutable"
        )]
    );
}

#[test]
fn unknown_kinds_get_metadata_checks_only() {
    let custom = ResourceType {
        group: "configsync.dev".into(),
        kind: "ConfigSync".into(),
        ..resource("v1", "ConfigMap")
    };
    let object = json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"anything": [1, 2]}, "data": 5});
    assert_eq!(validate(&custom, &object, None), Ok(()));
    let bad = json!({"metadata": {"name": "A", "namespace": "d"}});
    let err = validate(&custom, &bad, None).expect_err("bad name");
    assert_eq!(err.kind, "ConfigSync");
    assert_eq!(err.causes[0].field, "metadata.name");
    let mut untouched = object.clone();
    apply_defaults(&custom, &mut untouched);
    assert_eq!(untouched, object);
}

#[test]
fn go_quote_escapes_like_strconv_quote() {
    assert_eq!(
        names::go_quote("a\"b\\c\n\u{1}é"),
        "\"a\\\"b\\\\c\\n\\x01é\""
    );
}
