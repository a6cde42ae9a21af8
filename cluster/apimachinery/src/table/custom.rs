//! Custom resources: NAME, then the CRD's `additionalPrinterColumns`, as apiextensions-apiserver's table
//! convertor builds them. Each column takes the first value its JSONPath reaches; `string` columns print it as
//! text (objects and arrays as compact JSON), `integer`/`number`/`boolean` keep the JSON type, `date` shows the
//! age of an RFC 3339 time. A missing value, a value of the wrong type or an unparsable path gives `null`.
//! An `Age` column (`.metadata.creationTimestamp`, type `date`) is added when no column shows that path.
use super::access::{name, parse_time, since};
use super::jsonpath::{self, Step};
use super::{AGE_DESCRIPTION, Column, Printer};
use crate::PrinterColumn;
use serde_json::Value;

const CREATION_TIMESTAMP_PATH: &str = ".metadata.creationTimestamp";

/// The printer for a custom resource with these printer columns.
pub(crate) fn printer(columns: &[PrinterColumn], now: jiff::Timestamp) -> Printer<'_> {
    let mut shown: Vec<PrinterColumn> = columns.to_vec();
    if !shown
        .iter()
        .any(|c| c.json_path.trim() == CREATION_TIMESTAMP_PATH)
    {
        shown.push(PrinterColumn {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description: AGE_DESCRIPTION.into(),
            priority: 0,
            json_path: CREATION_TIMESTAMP_PATH.into(),
        });
    }
    let mut definitions = vec![Column::name()];
    definitions.extend(shown.iter().map(definition));
    let paths: Vec<(String, Option<Vec<Step>>)> = shown
        .iter()
        .map(|c| (c.type_.clone(), jsonpath::parse(&c.json_path).ok()))
        .collect();
    Printer {
        columns: definitions,
        row: Box::new(move |object| {
            let mut cells = vec![name(object)];
            cells.extend(
                paths
                    .iter()
                    .map(|(type_, steps)| cell(type_, steps.as_deref(), object, now)),
            );
            cells.into()
        }),
    }
}

fn definition(column: &PrinterColumn) -> Column {
    let description = if column.description.is_empty() {
        format!(
            "Custom resource definition column (in JSONPath format): {}",
            column.json_path
        )
    } else {
        column.description.clone()
    };
    Column {
        name: column.name.clone(),
        type_: column.type_.clone(),
        format: column.format.clone(),
        description,
        priority: column.priority,
    }
}

/// The cell of one column: the first value the path reaches, converted for the column type.
pub(crate) fn cell(
    type_: &str,
    steps: Option<&[Step]>,
    object: &Value,
    now: jiff::Timestamp,
) -> Value {
    let Some(value) = steps.and_then(|steps| jsonpath::find(steps, object).into_iter().next())
    else {
        return Value::Null;
    };
    match (type_, value) {
        (_, Value::Null) => Value::Null,
        ("string", Value::String(text)) => Value::String(text.clone()),
        ("string", other) => Value::String(other.to_string()),
        ("integer", Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).into(),
        ("number", Value::Number(n)) => n.as_f64().into(),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(text)) => date_cell(text, now).into(),
        _ => Value::Null,
    }
}

/// `ConvertToHumanReadableDateType` after `UnmarshalQueryParameter`: empty is `<unknown>`, unparsable `<invalid>`.
fn date_cell(text: &str, now: jiff::Timestamp) -> String {
    if text.is_empty() {
        return "<unknown>".into();
    }
    match text.parse::<jiff::Timestamp>() {
        Ok(_) => since(now, parse_time(text)),
        Err(_) => "<invalid>".into(),
    }
}
