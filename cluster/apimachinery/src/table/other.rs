//! Printers of the remaining groups (leases, webhook configurations), the apiserver's default convertor
//! (NAME, CREATED AT) that CRDs get, and the NAME AGE fallback for anything else.
use super::access::{AGE_UNSET_RFC3339, age, array_at, name, str_at, time_at};
use super::{AGE_DESCRIPTION, Column, Printer, Row, RowFn};
use serde_json::Value;

/// The printer of a resource outside core and apps, by group and plural name.
pub(crate) fn printer(group: &str, plural: &str, now: jiff::Timestamp) -> Option<Printer<'static>> {
    let (columns, row): (Vec<Column>, RowFn) = match (group, plural) {
        ("coordination.k8s.io", "leases") => (
            vec![
                Column::name(),
                Column::new(
                    "Holder",
                    "string",
                    "holderIdentity contains the identity of the holder of a current lease.",
                ),
                Column::age(),
            ],
            lease_row,
        ),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations" | "validatingwebhookconfigurations",
        ) => (
            vec![
                Column::name(),
                Column::new(
                    "Webhooks",
                    "integer",
                    "Webhooks indicates the number of webhooks registered in this configuration",
                ),
                Column::age(),
            ],
            webhook_row,
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions") => (
            vec![
                Column::name(),
                Column::new("Created At", "date", AGE_DESCRIPTION),
            ],
            created_at_row,
        ),
        _ => return None,
    };
    Some(Printer::builtin(columns, row, now))
}

/// NAME and AGE, for any resource without a printer of its own.
pub(crate) fn name_age_printer(now: jiff::Timestamp) -> Printer<'static> {
    Printer {
        columns: vec![Column::name(), Column::age()],
        row: Box::new(move |object| vec![name(object), age(now, object)].into()),
    }
}

fn lease_row(lease: &Value, now: jiff::Timestamp) -> Row {
    vec![
        name(lease),
        str_at(lease, &["spec", "holderIdentity"]).into(),
        age(now, lease),
    ]
    .into()
}

fn webhook_row(config: &Value, now: jiff::Timestamp) -> Row {
    vec![
        name(config),
        (array_at(config, &["webhooks"]).len() as i64).into(),
        age(now, config),
    ]
    .into()
}

/// The default table convertor's row: the creation time in RFC 3339 (Go's zero time when unset).
pub(super) fn created_at_row(object: &Value, _now: jiff::Timestamp) -> Row {
    let created = time_at(object, &["metadata", "creationTimestamp"]).map_or_else(
        || AGE_UNSET_RFC3339.to_string(),
        |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    vec![name(object), created.into()].into()
}
