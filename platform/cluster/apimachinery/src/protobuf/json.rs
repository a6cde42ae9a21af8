//! How decoded protobuf fields become the JSON the REST API uses.
//!
//! Go's protobuf encoder (gogo) writes every non-pointer field, even when it holds its zero value, while Go's JSON
//! encoder drops those fields when they are tagged `omitempty`. So a field that is a plain value in Go is skipped
//! when it is unset *or* zero (`unset_*`), a pointer field is skipped only when it is absent (`Option::is_none`),
//! and a required field without `omitempty` is always written (`required_*`). The three special wire types of
//! apimachinery (`Time`, `IntOrString`, `Quantity`) serialize the way their Go `MarshalJSON` does.
use base64::Engine as _;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which a zero `metav1.Time` encodes as.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// A non-pointer Go string tagged `omitempty`: skipped when absent or empty.
pub(crate) fn unset_str(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// A non-pointer Go int32 tagged `omitempty`: skipped when absent or zero.
pub(crate) fn unset_i32(value: &Option<i32>) -> bool {
    value.is_none_or(|n| n == 0)
}

/// A non-pointer Go int64 tagged `omitempty`: skipped when absent or zero.
pub(crate) fn unset_i64(value: &Option<i64>) -> bool {
    value.is_none_or(|n| n == 0)
}

/// A non-pointer Go bool tagged `omitempty`: skipped when absent or false.
pub(crate) fn unset_bool(value: &Option<bool>) -> bool {
    !value.unwrap_or(false)
}

/// A required string (no `omitempty`): always written, empty when absent.
pub(crate) fn required_str<S: Serializer>(
    value: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_deref().unwrap_or_default())
}

/// A required int32 (no `omitempty`): always written, zero when absent.
pub(crate) fn required_i32<S: Serializer>(
    value: &Option<i32>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_i32(value.unwrap_or_default())
}

/// A `map<string, bytes>` field (Secret `data`, ConfigMap `binaryData`): values become standard base64.
pub(crate) fn base64_map<S: Serializer>(
    map: &BTreeMap<String, Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let engine = base64::engine::general_purpose::STANDARD;
    serializer.collect_map(map.iter().map(|(key, bytes)| (key, engine.encode(bytes))))
}

/// `metav1.Time`: seconds and nanos since the epoch; JSON is RFC 3339 in UTC at second precision.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Time {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, optional, tag = "1")]
    pub seconds: Option<i64>,
    /// Fraction of a second; dropped by the JSON form, as in Go.
    #[prost(int32, optional, tag = "2")]
    pub nanos: Option<i32>,
}

impl Time {
    /// The RFC 3339 form, or `None` for an absent or zero (Go `time.Time{}`) time.
    pub fn to_rfc3339(&self) -> Option<String> {
        let seconds = self.seconds.filter(|&s| s != GO_ZERO_TIME_SECONDS)?;
        let timestamp = jiff::Timestamp::from_second(seconds).ok()?;
        Some(timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_rfc3339() {
            Some(text) => serializer.serialize_str(&text),
            None => serializer.serialize_none(),
        }
    }
}

/// A time field that Go would print as `null`: skip it instead.
pub(crate) fn unset_time(value: &Option<Time>) -> bool {
    value.as_ref().and_then(Time::to_rfc3339).is_none()
}

/// `intstr.IntOrString`: `type` 0 means the int, 1 the string.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IntOrString {
    /// 0 = Int, 1 = String.
    #[prost(int64, optional, tag = "1")]
    pub r#type: Option<i64>,
    /// The int value.
    #[prost(int32, optional, tag = "2")]
    pub int_val: Option<i32>,
    /// The string value.
    #[prost(string, optional, tag = "3")]
    pub str_val: Option<String>,
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.r#type == Some(1) {
            serializer.serialize_str(self.str_val.as_deref().unwrap_or_default())
        } else {
            serializer.serialize_i32(self.int_val.unwrap_or_default())
        }
    }
}

/// `resource.Quantity`: the client already sends its canonical string; an empty one is Go's zero quantity, `"0"`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantity {
    /// Canonical text, e.g. `100m` or `64Mi`.
    #[prost(string, optional, tag = "1")]
    pub string: Option<String>,
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.string.as_deref() {
            None | Some("") => serializer.serialize_str("0"),
            Some(text) => serializer.serialize_str(text),
        }
    }
}

/// A `status` the client may send on create but the server resets: decoded as nothing, printed as `{}`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct IgnoredStatus {}
