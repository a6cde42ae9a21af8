//! The `fieldSelector` grammar, as `k8s.io/apimachinery/pkg/fields.ParseSelector` reads it: comma-separated
//! `path=value`, `path==value` or `path!=value` terms; `\,`, `\=` and `\\` escape those characters in values.
use serde_json::Value;

use super::SelectorError;

/// One `path op value` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    /// Dotted path into the object JSON, e.g. `metadata.name`.
    pub path: String,
    /// `true` for `!=`.
    pub negated: bool,
    /// The unescaped value.
    pub value: String,
}

impl FieldTerm {
    /// Whether the object satisfies this term; a missing field reads as the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        (field_value(object, &self.path) == self.value) != self.negated
    }
}

/// The field at a dotted path rendered as the apiserver's field sets do: strings as is, numbers and
/// booleans in JSON form, anything missing (or null, or a map or list) as the empty string.
pub fn field_value(object: &Value, path: &str) -> String {
    let found = path
        .split('.')
        .try_fold(object, |value, segment| value.get(segment));
    match found {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// Parse a field selector into its terms (none for the empty selector).
pub fn parse(text: &str) -> Result<Vec<FieldTerm>, SelectorError> {
    let mut terms = Vec::new();
    for part in split_unescaped(text, ',') {
        if part.is_empty() {
            continue;
        }
        let Some((path, negated, raw_value)) = split_term(part) else {
            // The apiserver words this one without the `unable to parse requirement` prefix.
            return Err(SelectorError::Unsupported(format!(
                "invalid selector: '{text}'; can't understand '{part}'"
            )));
        };
        if path.is_empty() {
            return Err(SelectorError::Parse(format!(
                "invalid selector: '{text}'; empty field name in '{part}'"
            )));
        }
        let value = unescape(raw_value).map_err(|why| {
            SelectorError::Parse(format!("invalid field selector value in '{part}': {why}"))
        })?;
        terms.push(FieldTerm {
            path: path.to_owned(),
            negated,
            value,
        });
    }
    Ok(terms)
}

/// Split on `separator` where it is not escaped by a backslash.
fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == separator {
            parts.push(&text[start..index]);
            start = index + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Find the first unescaped operator: `(path, negated, raw value)`.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    let mut escaped = false;
    for (index, c) in term.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        let rest = &term[index..];
        for (operator, negated) in [("!=", true), ("==", false), ("=", false)] {
            if let Some(value) = rest.strip_prefix(operator) {
                return Some((&term[..index], negated, value));
            }
        }
    }
    None
}

fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('\\' | ',' | '=')) => out.push(escaped),
                Some(other) => return Err(format!("invalid escape sequence '\\{other}'")),
                None => return Err("trailing backslash".into()),
            },
            ',' | '=' => return Err(format!("unescaped character '{c}'")),
            _ => out.push(c),
        }
    }
    Ok(out)
}
