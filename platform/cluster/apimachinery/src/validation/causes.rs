//! Building field causes with kube-apiserver's wording (`k8s.io/apimachinery/pkg/util/validation/field`).
use super::{FieldCause, Invalid, names::go_quote};
use serde_json::Value;

/// How Go prints a bad value in a message: strings quoted (`%q`), numbers and booleans bare, `null` for nothing.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

/// The causes found so far.
#[derive(Debug, Default)]
pub(crate) struct Causes(Vec<FieldCause>);

impl Causes {
    fn push(&mut self, reason: &str, field: &str, body: String) {
        self.0.push(FieldCause {
            reason: reason.to_owned(),
            message: body,
            field: field.to_owned(),
        });
    }

    fn with_detail(head: &str, detail: &str) -> String {
        if detail.is_empty() {
            head.to_owned()
        } else {
            format!("{head}: {detail}")
        }
    }

    /// `field.Required`.
    pub(crate) fn required(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueRequired",
            field,
            Self::with_detail("Required value", detail),
        );
    }

    /// `field.Invalid` with the bad value already printed the Go way.
    pub(crate) fn invalid(&mut self, field: &str, bad: &str, detail: &str) {
        self.push(
            "FieldValueInvalid",
            field,
            Self::with_detail(&format!("Invalid value: {bad}"), detail),
        );
    }

    /// `field.Invalid` with `field.OmitValueType`: `Invalid value: <detail>`, no value printed.
    pub(crate) fn invalid_omitting_value(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {detail}"),
        );
    }

    /// `field.Forbidden`.
    pub(crate) fn forbidden(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueForbidden",
            field,
            Self::with_detail("Forbidden", detail),
        );
    }

    /// `field.TooLong` (v1.33 wording).
    pub(crate) fn too_long(&mut self, field: &str, max_bytes: usize) {
        self.push(
            "FieldValueTooLong",
            field,
            format!("Too long: may not be more than {max_bytes} bytes"),
        );
    }

    /// `field.Duplicate`.
    pub(crate) fn duplicate(&mut self, field: &str, bad: &str) {
        self.push(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {bad}"),
        );
    }

    /// `field.NotFound`.
    pub(crate) fn not_found(&mut self, field: &str, bad: &str) {
        self.push("FieldValueNotFound", field, format!("Not found: {bad}"));
    }

    /// `field.NotSupported`.
    pub(crate) fn not_supported(&mut self, field: &str, bad: &str, supported: &[&str]) {
        let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        let detail = format!("supported values: {}", quoted.join(", "));
        self.push(
            "FieldValueNotSupported",
            field,
            format!("Unsupported value: {bad}: {detail}"),
        );
    }

    /// A field of the wrong JSON type (`field.TypeInvalid`).
    pub(crate) fn type_invalid(&mut self, field: &str, value: &Value, expected: &str) {
        let detail = format!("must be of type {expected}");
        self.push(
            "FieldValueTypeInvalid",
            field,
            format!("Invalid value: {}: {detail}", go_value(value)),
        );
    }

    /// `field.TypeInvalid` with the bad value already printed and a custom detail (kube-openapi's type errors).
    pub(crate) fn type_invalid_detail(&mut self, field: &str, bad: &str, detail: &str) {
        self.push(
            "FieldValueTypeInvalid",
            field,
            Self::with_detail(&format!("Invalid value: {bad}"), detail),
        );
    }

    /// `field.TooMany`: a list with more than `max` items.
    pub(crate) fn too_many(&mut self, field: &str, actual: usize, max: u64) {
        self.push(
            "FieldValueTooMany",
            field,
            format!("Too many: {actual}: must have at most {max} items"),
        );
    }

    /// `Ok` when nothing was found.
    pub(crate) fn into_result(self, kind: &str) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid {
                kind: kind.to_owned(),
                causes: self.0,
            })
        }
    }
}

/// Typed access to optional fields: a present field of the wrong type is recorded as a cause and read as absent.
impl Causes {
    /// `object[key]` as a JSON object, if present and an object.
    pub(crate) fn object<'a>(
        &mut self,
        parent: &'a Value,
        key: &str,
        field: &str,
    ) -> Option<&'a serde_json::Map<String, Value>> {
        match parent.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                self.type_invalid(field, other, "object");
                None
            }
        }
    }

    /// `object[key]` as a list, if present and a list.
    pub(crate) fn array<'a>(
        &mut self,
        parent: &'a Value,
        key: &str,
        field: &str,
    ) -> Option<&'a Vec<Value>> {
        match parent.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(items),
            Some(other) => {
                self.type_invalid(field, other, "array");
                None
            }
        }
    }

    /// `object[key]` as a string, if present and a string.
    pub(crate) fn string<'a>(
        &mut self,
        parent: &'a Value,
        key: &str,
        field: &str,
    ) -> Option<&'a str> {
        match parent.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.type_invalid(field, other, "string");
                None
            }
        }
    }

    /// `object[key]` as an integer, if present and an integer.
    pub(crate) fn integer(&mut self, parent: &Value, key: &str, field: &str) -> Option<i64> {
        match parent.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => {
                let integer = value.as_i64();
                if integer.is_none() {
                    self.type_invalid(field, value, "integer");
                }
                integer
            }
        }
    }
}
