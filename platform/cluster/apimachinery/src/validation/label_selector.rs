//! Structured `metav1.LabelSelector` objects (`matchLabels`, `matchExpressions`): matching, validation, and
//! printing them the way Go's `%#v` does in kube-apiserver messages.
use super::Causes;
use super::meta::{go_string_slice, labels};
use super::names::{go_quote, is_qualified_name};
use serde_json::{Map, Value};

const OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// Whether `labels` (a `metadata.labels` object) match `selector` as `LabelSelectorAsSelector` does: a missing
/// selector matches nothing, an empty one everything, an unknown operator nothing.
pub fn matches_label_selector(selector: &Value, labels: &Value) -> bool {
    let Some(selector) = selector.as_object() else {
        return false;
    };
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let labels_ok = match_labels
        .into_iter()
        .flatten()
        .all(|(key, value)| value.as_str().is_some_and(|v| label(key) == Some(v)));
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    labels_ok
        && expressions.into_iter().flatten().all(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        })
}

/// Whether the selector has neither labels nor expressions.
pub(crate) fn is_empty(selector: &Map<String, Value>) -> bool {
    let count = |key: &str| match selector.get(key) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    count("matchLabels") + count("matchExpressions") == 0
}

/// `ValidateLabelSelector`.
pub(crate) fn validate(causes: &mut Causes, selector: &Value, field: &str) {
    labels(
        causes,
        selector,
        "matchLabels",
        &format!("{field}.matchLabels"),
    );
    let Some(expressions) = causes.array(
        selector,
        "matchExpressions",
        &format!("{field}.matchExpressions"),
    ) else {
        return;
    };
    for (i, expression) in expressions.iter().enumerate() {
        let path = format!("{field}.matchExpressions[{i}]");
        let operator = causes
            .string(expression, "operator", &format!("{path}.operator"))
            .unwrap_or_default();
        let values = causes
            .array(expression, "values", &format!("{path}.values"))
            .map_or(0, Vec::len);
        match operator {
            "In" | "NotIn" if values == 0 => causes.required(
                &format!("{path}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            ),
            "Exists" | "DoesNotExist" if values > 0 => causes.forbidden(
                &format!("{path}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            op if !OPERATORS.contains(&op) => {
                causes.invalid(
                    &format!("{path}.operator"),
                    &go_quote(op),
                    "not a valid selector operator",
                );
            }
            _ => {}
        }
        let key = causes
            .string(expression, "key", &format!("{path}.key"))
            .unwrap_or_default();
        for message in is_qualified_name(key) {
            causes.invalid(&format!("{path}.key"), &go_quote(key), &message);
        }
    }
}

/// Go's `%#v` of a `map[string]string` (keys sorted, `(nil)` when absent).
pub fn go_string_map(map: Option<&Value>) -> String {
    let Some(map) = map.and_then(Value::as_object) else {
        return "map[string]string(nil)".to_owned();
    };
    let entries: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                go_quote(k),
                go_quote(v.as_str().unwrap_or_default())
            )
        })
        .collect();
    format!("map[string]string{{{}}}", entries.join(", "))
}

fn go_requirement(expression: &Value) -> String {
    let text = |key: &str| {
        go_quote(
            expression
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )
    };
    let values = match expression.get("values").and_then(Value::as_array) {
        Some(values) => {
            go_string_slice(&values.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        }
        None => "[]string(nil)".to_owned(),
    };
    format!(
        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}",
        text("key"),
        text("operator")
    )
}

/// Go's `%#v` of a `metav1.LabelSelector`, as in `spec.selector: Invalid value: v1.LabelSelector{...}`.
pub fn go_label_selector(selector: &Value) -> String {
    let expressions = match selector.get("matchExpressions").and_then(Value::as_array) {
        Some(items) => {
            let items: Vec<String> = items.iter().map(go_requirement).collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
        None => "[]v1.LabelSelectorRequirement(nil)".to_owned(),
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{expressions}}}",
        go_string_map(selector.get("matchLabels"))
    )
}
