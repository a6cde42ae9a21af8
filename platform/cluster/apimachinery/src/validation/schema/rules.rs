//! `x-kubernetes-validations`: CEL rules evaluated with `self` bound to the node (and `oldSelf` to the stored
//! node on update), via the `cel` crate. A transition rule (one that reads `oldSelf`) is skipped when there is no
//! old value (create, or a list item, which is not correlated here). A rule that is false becomes
//! `Invalid value: <message>` (or `failed rule: <rule>` without a message): kube-apiserver 1.37 reports CEL
//! failures with `field.OmitValueType`, so no value is printed (older releases printed `"object"`); `messageExpression` wins when
//! it yields a non-empty string, and `reason`/`fieldPath` pick the cause's type and path as kube-apiserver does.
use super::super::Causes;
use super::super::names::go_quote;
use cel::{Context, Program};
use serde_json::Value;

/// Evaluate every rule declared on `schema` against `value`.
pub(super) fn check(
    causes: &mut Causes,
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
) {
    let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    else {
        return;
    };
    let node_type = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object");
    for rule in rules {
        let Some(source) = rule.get("rule").and_then(Value::as_str) else {
            continue;
        };
        let Some(message) = evaluate(rule, source, value, old) else {
            continue;
        };
        let field = match rule.get("fieldPath").and_then(Value::as_str) {
            Some(extra) if extra.starts_with('.') => format!("{path}{extra}"),
            _ => path.to_owned(),
        };
        match rule.get("reason").and_then(Value::as_str) {
            Some("FieldValueRequired") => causes.required(&field, &message),
            Some("FieldValueForbidden") => causes.forbidden(&field, &message),
            Some("FieldValueDuplicate") => causes.duplicate(&field, &go_quote(node_type)),
            _ => causes.invalid_omitting_value(&field, &message),
        }
    }
}

/// `None` when the rule holds (or is a transition rule without an old value); otherwise the message to report.
fn evaluate(rule: &Value, source: &str, value: &Value, old: Option<&Value>) -> Option<String> {
    let program = match Program::compile(source) {
        Ok(program) => program,
        Err(error) => return Some(format!("compilation failed: {error}")),
    };
    let transition = program.references().has_variable("oldSelf");
    if transition && old.is_none() {
        return None;
    }
    let context = match bind(value, old) {
        Ok(context) => context,
        Err(error) => return Some(error),
    };
    match program.execute(&context) {
        Ok(cel::Value::Bool(true)) => None,
        Ok(cel::Value::Bool(false)) => Some(failure_message(rule, source, &context)),
        Ok(other) => Some(format!(
            "rule evaluation error: rule did not evaluate to a bool: {other:?}"
        )),
        Err(error) => Some(format!("rule evaluation error: {error}")),
    }
}

fn bind<'a>(value: &Value, old: Option<&Value>) -> Result<Context<'a, 'a>, String> {
    let mut context = Context::default();
    let convert =
        |value: &Value| cel::to_value(value).map_err(|e| format!("rule evaluation error: {e}"));
    context.add_variable_from_value("self", convert(value)?);
    if let Some(old) = old {
        context.add_variable_from_value("oldSelf", convert(old)?);
    }
    Ok(context)
}

fn failure_message(rule: &Value, source: &str, context: &Context<'_, '_>) -> String {
    let from_expression = rule
        .get("messageExpression")
        .and_then(Value::as_str)
        .and_then(|expression| Program::compile(expression).ok())
        .and_then(|program| program.execute(context).ok())
        .and_then(|result| match result {
            cel::Value::String(text) if !text.trim().is_empty() && !text.contains('\n') => {
                Some(text.to_string())
            }
            _ => None,
        });
    if let Some(message) = from_expression {
        return message;
    }
    match rule.get("message").and_then(Value::as_str) {
        Some(message) if !message.is_empty() => message.to_owned(),
        _ => format!("failed rule: {}", source.trim()),
    }
}

/// Whether `text` matches the RE-style `pattern` (CEL's `matches`); `None` when the pattern does not compile.
pub(super) fn matches(text: &str, pattern: &str) -> Option<bool> {
    let program = Program::compile("text.matches(pattern)").ok()?;
    let mut context = Context::default();
    context.add_variable_from_value("text", text);
    context.add_variable_from_value("pattern", pattern);
    match program.execute(&context) {
        Ok(cel::Value::Bool(matched)) => Some(matched),
        _ => None,
    }
}
