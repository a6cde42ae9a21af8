//! ConfigMap and Secret rules.
use super::*;
use base64::Engine as _;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn mk_cm(data: Value, binary: Value) -> Value {
    json!({"metadata": {"name": "cfg", "namespace": "d"}, "data": data, "binaryData": binary})
}

fn mk_secret(secret_type: &str, data: Value) -> Value {
    json!({"metadata": {"name": "s", "namespace": "d"}, "type": secret_type, "data": data})
}

const KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  \
or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

#[test]
fn config_map_keys() {
    let ok = mk_cm(
        json!({"redis.properties": "x", "A_b-1": ""}),
        json!({"logo.bin": b64(b"\x00\x01")}),
    );
    assert_eq!(causes("v1", "ConfigMap", &ok, None), []);
    let bad = mk_cm(
        json!({"a/b": "x", "..": "y", "..x": "z", ".": "w"}),
        Value::Null,
    );
    let mut found = causes("v1", "ConfigMap", &bad, None);
    found.sort();
    assert_eq!(
        found,
        [
            cause(
                "FieldValueInvalid",
                "data[..]",
                "Invalid value: \"..\": must not be '..'"
            ),
            cause(
                "FieldValueInvalid",
                "data[..x]",
                "Invalid value: \"..x\": must not start with '..'"
            ),
            cause(
                "FieldValueInvalid",
                "data[.]",
                "Invalid value: \".\": must not be '.'"
            ),
            cause(
                "FieldValueInvalid",
                "data[a/b]",
                &format!("Invalid value: \"a/b\": {KEY_MSG}")
            ),
        ]
    );
    let long = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"k".repeat(254): "v"}), Value::Null),
        None,
    );
    assert_eq!(long.len(), 1);
    assert!(long[0].2.ends_with(": must be no more than 253 characters"));
}

#[test]
fn config_map_key_in_data_and_binary_data() {
    let both = mk_cm(json!({"k": "v"}), json!({"k": b64(b"v")}));
    assert_eq!(
        causes("v1", "ConfigMap", &both, None),
        [
            cause(
                "FieldValueInvalid",
                "data[k]",
                "Invalid value: \"k\": duplicate of key present in binaryData"
            ),
            cause(
                "FieldValueInvalid",
                "binaryData[k]",
                "Invalid value: \"k\": duplicate of key present in data"
            ),
        ]
    );
}

#[test]
fn config_map_size_limit_counts_data_and_decoded_binary_data() {
    let half = "x".repeat(512 * 1024);
    let at_limit = mk_cm(
        json!({"a": half}),
        json!({"b": b64(&vec![0u8; 512 * 1024])}),
    );
    assert_eq!(causes("v1", "ConfigMap", &at_limit, None), []);
    let over = mk_cm(
        json!({"a": half}),
        json!({"b": b64(&vec![0u8; 512 * 1024 + 1])}),
    );
    assert_eq!(
        causes("v1", "ConfigMap", &over, None),
        [cause(
            "FieldValueTooLong",
            "[]",
            "Too long: may not be more than 1048576 bytes"
        )]
    );
    let wrong_type = causes(
        "v1",
        "ConfigMap",
        &mk_cm(json!({"a": 1}), Value::Null),
        None,
    );
    assert_eq!(
        wrong_type,
        [cause(
            "FieldValueTypeInvalid",
            "data[a]",
            "Invalid value: \"number\": must be of type string"
        )]
    );
}

#[test]
fn immutable_config_map_data_cannot_change() {
    let mut old = mk_cm(json!({"a": "1"}), Value::Null);
    old["immutable"] = json!(true);
    let mut changed = mk_cm(json!({"a": "2"}), json!({"b": b64(b"x")}));
    changed["immutable"] = json!(true);
    let immutable = "Forbidden: field is immutable when `immutable` is set";
    assert_eq!(
        causes("v1", "ConfigMap", &changed, Some(&old)),
        [
            cause("FieldValueForbidden", "data", immutable),
            cause("FieldValueForbidden", "binaryData", immutable)
        ]
    );
    let unset = mk_cm(json!({"a": "1"}), Value::Null);
    assert_eq!(
        causes("v1", "ConfigMap", &unset, Some(&old)),
        [cause("FieldValueForbidden", "immutable", immutable)]
    );
    let mut labels_only = old.clone();
    labels_only["metadata"]["labels"] = json!({"a": "b"});
    assert_eq!(causes("v1", "ConfigMap", &labels_only, Some(&old)), []);
    let mutable_old = mk_cm(json!({"a": "1"}), Value::Null);
    assert_eq!(causes("v1", "ConfigMap", &changed, Some(&mutable_old)), []);
}

#[test]
fn secret_keys_size_and_value_types() {
    let ok = mk_secret(
        "Opaque",
        json!({"username": b64(b"admin"), "password": b64(b"1f2d1e2e67df")}),
    );
    assert_eq!(causes("v1", "Secret", &ok, None), []);
    let bad_key = causes(
        "v1",
        "Secret",
        &mk_secret("Opaque", json!({"a b": b64(b"x")})),
        None,
    );
    assert_eq!(
        bad_key,
        [cause(
            "FieldValueInvalid",
            "data[a b]",
            &format!("Invalid value: \"a b\": {KEY_MSG}")
        )]
    );
    let big = mk_secret("Opaque", json!({"a": b64(&vec![7u8; 1024 * 1024 + 1])}));
    assert_eq!(
        causes("v1", "Secret", &big, None),
        [cause(
            "FieldValueTooLong",
            "data",
            "Too long: may not be more than 1048576 bytes"
        )]
    );
    let exactly = mk_secret("Opaque", json!({"a": b64(&vec![7u8; 1024 * 1024])}));
    assert_eq!(causes("v1", "Secret", &exactly, None), []);
    let typed = causes(
        "v1",
        "Secret",
        &mk_secret("Opaque", json!({"password": {"nested": "s3cret"}})),
        None,
    );
    assert_eq!(
        typed,
        [cause(
            "FieldValueTypeInvalid",
            "data[password]",
            "Invalid value: \"object\": must be of type string"
        )]
    );
    assert!(!format!("{typed:?}").contains("s3cret"));
}

#[test]
fn secret_types_require_their_keys() {
    let tls = causes(
        "v1",
        "Secret",
        &mk_secret("kubernetes.io/tls", json!({"tls.crt": b64(b"c")})),
        None,
    );
    assert_eq!(
        tls,
        [cause(
            "FieldValueRequired",
            "data[tls.key]",
            "Required value"
        )]
    );
    let tls_ok = mk_secret(
        "kubernetes.io/tls",
        json!({"tls.crt": b64(b"c"), "tls.key": b64(b"k")}),
    );
    assert_eq!(causes("v1", "Secret", &tls_ok, None), []);
    let basic = causes(
        "v1",
        "Secret",
        &mk_secret("kubernetes.io/basic-auth", json!({})),
        None,
    );
    assert_eq!(basic.len(), 2);
    let docker = causes(
        "v1",
        "Secret",
        &mk_secret("kubernetes.io/dockerconfigjson", json!({})),
        None,
    );
    assert_eq!(
        docker,
        [cause(
            "FieldValueRequired",
            "data[.dockerconfigjson]",
            "Required value"
        )]
    );
    let ssh = causes(
        "v1",
        "Secret",
        &mk_secret("kubernetes.io/ssh-auth", json!({})),
        None,
    );
    assert_eq!(ssh[0].1, "data[ssh-privatekey]");
    let token = causes(
        "v1",
        "Secret",
        &mk_secret("kubernetes.io/service-account-token", json!({})),
        None,
    );
    assert_eq!(
        token[0].1,
        "metadata.annotations[kubernetes.io/service-account.name]"
    );
}

#[test]
fn secret_type_and_immutable_data_are_fixed_on_update() {
    let mut old = mk_secret("Opaque", json!({"a": b64(b"1")}));
    let retyped = mk_secret(
        "kubernetes.io/tls",
        json!({"tls.crt": b64(b"c"), "tls.key": b64(b"k")}),
    );
    assert_eq!(
        causes("v1", "Secret", &retyped, Some(&old)),
        [cause(
            "FieldValueInvalid",
            "type",
            "Invalid value: \"kubernetes.io/tls\": field is immutable"
        )]
    );
    old["immutable"] = json!(true);
    let mut changed = mk_secret("Opaque", json!({"a": b64(b"2")}));
    changed["immutable"] = json!(true);
    assert_eq!(
        causes("v1", "Secret", &changed, Some(&old)),
        [cause(
            "FieldValueForbidden",
            "data",
            "Forbidden: field is immutable when `immutable` is set"
        )]
    );
    assert_eq!(causes("v1", "Secret", &old.clone(), Some(&old)), []);
}
