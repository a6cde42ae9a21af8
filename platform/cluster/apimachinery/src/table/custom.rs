//! Custom resources: NAME, then the CRD's `additionalPrinterColumns`, as apiextensions-apiserver's table
//! convertor builds them. Each column takes the first value its JSONPath reaches; `string` columns print it as
//! text (objects and arrays as compact JSON), `integer`/`number`/`boolean` keep the JSON type, `date` shows the
//! age of an RFC 3339 time. A missing value, a value of the wrong type or an unparsable path gives `null`.
//! A CRD version without `additionalPrinterColumns` gets the one column the apiserver defaults it to: `Age`
//! (`.metadata.creationTimestamp`, type `date`). A CRD that lists columns gets exactly those, as in Kubernetes.
use super::access::{array_at, i64_at, name, parse_time, since, str_at};
use super::jsonpath::{self, Step};
use super::{AGE_DESCRIPTION, Column, Printer};
use crate::PrinterColumn;
use serde_json::Value;

const CREATION_TIMESTAMP_PATH: &str = ".metadata.creationTimestamp";

/// The `additionalPrinterColumns` of `version` in a CustomResourceDefinition (JSON), ready for
/// [`ResourceType::printer_columns`](crate::ResourceType). `None` when the CRD does not define that version;
/// entries without a name or JSONPath are skipped, as validation would have rejected them.
pub fn printer_columns(crd: &Value, version: &str) -> Option<Vec<PrinterColumn>> {
    let versions = array_at(crd, &["spec", "versions"]);
    let served = versions.iter().find(|v| str_at(v, &["name"]) == version)?;
    let columns = array_at(served, &["additionalPrinterColumns"])
        .iter()
        .filter(|c| !str_at(c, &["name"]).is_empty() && !str_at(c, &["jsonPath"]).is_empty())
        .map(|c| PrinterColumn {
            name: str_at(c, &["name"]).into(),
            type_: str_at(c, &["type"]).into(),
            format: str_at(c, &["format"]).into(),
            description: str_at(c, &["description"]).into(),
            priority: i32::try_from(i64_at(c, &["priority"])).unwrap_or_default(),
            json_path: str_at(c, &["jsonPath"]).into(),
        })
        .collect();
    Some(columns)
}

/// The printer for a custom resource with these printer columns.
pub(crate) fn printer(columns: &[PrinterColumn], now: jiff::Timestamp) -> Printer<'_> {
    let mut shown: Vec<PrinterColumn> = columns.to_vec();
    if shown.is_empty() {
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
