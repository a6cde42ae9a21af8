//! Structured `metav1.LabelSelector` objects (`matchLabels`, `matchExpressions`), as
//! `LabelSelectorAsSelector` converts them: the same requirements and validation as the text syntax.
use serde_json::Value;

use super::SelectorError;
use super::label::{Operator, Requirement, validate_key, validate_label_value};

fn structured_error(why: String) -> SelectorError {
    SelectorError::Parse(format!("invalid label selector: {why}"))
}

fn requirement_from_expression(expression: &Value) -> Result<Requirement, SelectorError> {
    let key = expression
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or_default();
    validate_key(key)?;
    let values: Vec<String> = match expression.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| structured_error(format!("values of {key:?} must be strings")))?,
        Some(other) => {
            return Err(structured_error(format!(
                "values of {key:?} must be a list, got {other}"
            )));
        }
    };
    let operator = match expression.get("operator").and_then(Value::as_str) {
        Some("In") => Operator::In,
        Some("NotIn") => Operator::NotIn,
        Some("Exists") => Operator::Exists,
        Some("DoesNotExist") => Operator::DoesNotExist,
        other => {
            let shown = other.unwrap_or_default();
            return Err(structured_error(format!(
                "{shown:?} is not a valid label selector operator"
            )));
        }
    };
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => Err(structured_error(format!(
            "key {key:?}: for 'in', 'notin' operators, values set can't be empty"
        ))),
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => Err(structured_error(
            format!("key {key:?}: values set must be empty for exists and does not exist"),
        )),
        _ => {
            values.iter().try_for_each(|v| validate_label_value(v))?;
            Ok(Requirement {
                key: key.to_owned(),
                operator,
                values,
            })
        }
    }
}

/// The requirements of a structured `metav1.LabelSelector`: `matchLabels` entries, then `matchExpressions`.
pub fn from_structured(selector: &Value) -> Result<Vec<Requirement>, SelectorError> {
    let Value::Object(selector) = selector else {
        return Err(structured_error(format!(
            "expected an object, got {selector}"
        )));
    };
    let mut requirements = Vec::new();
    match selector.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(labels)) => {
            for (key, value) in labels {
                validate_key(key)?;
                let Some(value) = value.as_str() else {
                    return Err(structured_error(format!(
                        "matchLabels[{key:?}] must be a string"
                    )));
                };
                validate_label_value(value)?;
                let values = vec![value.to_owned()];
                requirements.push(Requirement {
                    key: key.clone(),
                    operator: Operator::Equals,
                    values,
                });
            }
        }
        Some(other) => {
            return Err(structured_error(format!(
                "matchLabels must be a map, got {other}"
            )));
        }
    }
    match selector.get("matchExpressions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(expressions)) => {
            for expression in expressions {
                requirements.push(requirement_from_expression(expression)?);
            }
        }
        Some(other) => {
            return Err(structured_error(format!(
                "matchExpressions must be a list, got {other}"
            )));
        }
    }
    Ok(requirements)
}
