//! Bodies are built the way client-go builds them (prost-encoded messages in the envelope); two golden byte
//! strings written by hand from the wire format pin the field numbers independently of the structs.
use super::core::*;
use super::json::{IgnoredStatus, IntOrString, Quantity, Time};
use super::meta::*;
use super::pod::*;
use super::volume::*;
use super::workloads::*;
use super::*;
use serde_json::json;
use std::collections::BTreeMap;

mod core;
mod kubectl;
mod workloads;

pub(super) fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

pub(super) fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// ObjectMeta as gogo writes it for a new object: every non-pointer field present, most of them zero.
pub(super) fn mk_meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(Time {
            seconds: Some(-62_135_596_800),
            nanos: Some(0),
        }),
        labels: map(labels),
        ..Default::default()
    }
}

pub(super) fn body<M: Message>(api_version: &str, kind: &str, message: &M) -> Vec<u8> {
    encode_envelope(api_version, kind, message.encode_to_vec())
}

pub(super) fn decoded<M: Message>(api_version: &str, kind: &str, message: &M) -> Value {
    match decode(&body(api_version, kind, message)) {
        Ok(value) => value,
        Err(error) => panic!("decode failed: {error}"),
    }
}

pub(super) fn int(n: i32) -> IntOrString {
    IntOrString {
        r#type: Some(0),
        int_val: Some(n),
        str_val: s(""),
    }
}

pub(super) fn string(text: &str) -> IntOrString {
    IntOrString {
        r#type: Some(1),
        int_val: Some(0),
        str_val: s(text),
    }
}

pub(super) fn qty(text: &str) -> Quantity {
    Quantity { string: s(text) }
}

pub(super) fn local(name: &str) -> Option<LocalObjectReference> {
    Some(LocalObjectReference { name: s(name) })
}

#[test]
fn golden_configmap_bytes_decode() {
    let raw: &[u8] = b"\x0a\x04\x0a\x02cm\x12\x06\x0a\x01k\x12\x01v\x20\x01";
    let mut body = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12".to_vec();
    body.push(u8::try_from(raw.len()).unwrap_or_default());
    body.extend_from_slice(raw);
    body.extend_from_slice(b"\x1a\x00\x22\x00");
    let value = decode(&body).map_err(|e| e.to_string());
    let expected = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
        "data": {"k": "v"}, "immutable": true});
    assert_eq!(value, Ok(expected));
}

#[test]
fn golden_secret_bytes_decode_to_base64_data() {
    // metadata{name=1:"s"}, data=2{"pw": 0x00 0xff}, type=3:"Opaque", stringData=4{"u":"me"}
    let raw: &[u8] = b"\x0a\x03\x0a\x01s\x12\x08\x0a\x02pw\x12\x02\x00\xff\x1a\x06Opaque\x22\x07\x0a\x01u\x12\x02me";
    let mut body = b"k8s\0\x0a\x0c\x0a\x02v1\x12\x06Secret\x12".to_vec();
    body.push(u8::try_from(raw.len()).unwrap_or_default());
    body.extend_from_slice(raw);
    let value = decode(&body).map_err(|e| e.to_string());
    let expected = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"pw": "AP8="}, "type": "Opaque", "stringData": {"u": "me"}});
    assert_eq!(value, Ok(expected));
}

fn error_of(body: &[u8]) -> String {
    match decode(body) {
        Ok(value) => format!("unexpectedly decoded {value}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn unsupported_kind_is_reported_by_name() {
    let body = encode_envelope("apps/v1", "StatefulSet", vec![]);
    assert!(
        matches!(decode(&body), Err(ProtobufError::UnsupportedKind(kind)) if kind == "StatefulSet (apps/v1)")
    );
}

#[test]
fn malformed_bodies_are_errors() {
    assert!(error_of(b"{\"kind\":\"ConfigMap\"}").contains("magic"));
    assert!(
        error_of(b"k8s\0\x0f").starts_with("malformed"),
        "invalid wire type 7"
    );
    assert!(
        error_of(b"k8s\0\x0a\x05\x0a\x02v1").starts_with("malformed"),
        "length beyond the end"
    );
    assert!(error_of(&encode_envelope("v1", "", vec![])).contains("no kind"));
    let bad_utf8 = encode_envelope("v1", "ConfigMap", b"\x0a\x04\x0a\x02\xff\xfe".to_vec());
    assert!(error_of(&bad_utf8).contains("ConfigMap"));
    let mut encoded = meta::Unknown {
        content_encoding: s("gzip"),
        ..Default::default()
    }
    .encode_to_vec();
    encoded.splice(0..0, MAGIC.iter().copied());
    assert!(error_of(&encoded).contains("gzip"));
}

#[test]
fn pseudo_random_bytes_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut body = MAGIC.to_vec();
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let len = (state >> 58) as usize;
        for _ in 0..len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            body.push((state >> 56) as u8);
        }
        let _ = decode(&body);
    }
}
