//! Printers of the remaining groups (leases, ingresses and ingress classes, webhook configurations), the apiserver's default convertor
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
        ("networking.k8s.io", "ingresses") => (
            vec![
                Column::name(),
                Column::new(
                    "Class",
                    "string",
                    "The name of the IngressClass resource that should be used for additional configuration",
                ),
                Column::new(
                    "Hosts",
                    "string",
                    "Hosts that incoming requests are matched against before the ingress rule",
                ),
                Column::new(
                    "Address",
                    "string",
                    "Address is a list containing ingress points for the load-balancer",
                ),
                Column::new("Ports", "string", "Ports of TLS configurations that open"),
                Column::age(),
            ],
            ingress_row,
        ),
        ("networking.k8s.io", "ingressclasses") => (
            vec![
                Column::name(),
                Column::new(
                    "Controller",
                    "string",
                    "Controller that is responsible for handling this class",
                ),
                Column::new(
                    "Parameters",
                    "string",
                    "A reference to a resource with additional parameters",
                ),
                Column::age(),
            ],
            ingress_class_row,
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

/// `printIngress`: the class, up to three hosts (`*` for none), the load balancer's addresses, `80` or `80, 443`.
fn ingress_row(ingress: &Value, now: jiff::Timestamp) -> Row {
    let class = str_at(ingress, &["spec", "ingressClassName"]);
    let class = if class.is_empty() { "<none>" } else { class };
    let hosts: Vec<&str> = array_at(ingress, &["spec", "rules"])
        .iter()
        .map(|rule| str_at(rule, &["host"]))
        .filter(|host| !host.is_empty())
        .collect();
    let shown = match hosts.len() {
        0 => "*".to_owned(),
        1..=3 => hosts.join(","),
        n => format!("{} + {} more...", hosts[..3].join(","), n - 3),
    };
    let addresses: Vec<&str> = array_at(ingress, &["status", "loadBalancer", "ingress"])
        .iter()
        .map(|point| {
            let ip = str_at(point, &["ip"]);
            if ip.is_empty() {
                str_at(point, &["hostname"])
            } else {
                ip
            }
        })
        .filter(|address| !address.is_empty())
        .collect();
    let ports = if array_at(ingress, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(ingress),
        class.into(),
        shown.into(),
        addresses.join(",").into(),
        ports.into(),
        age(now, ingress),
    ]
    .into()
}

/// `printIngressClass`: the controller and `Kind/name` (with the API group when set) of the parameters.
fn ingress_class_row(class: &Value, now: jiff::Timestamp) -> Row {
    let parameters = match class.pointer("/spec/parameters") {
        Some(p) if p.is_object() => {
            let group = str_at(p, &["apiGroup"]);
            let kind = str_at(p, &["kind"]);
            let kind = if group.is_empty() {
                kind.to_owned()
            } else {
                format!("{kind}.{group}")
            };
            format!("{kind}/{}", str_at(p, &["name"]))
        }
        _ => "<none>".to_owned(),
    };
    vec![
        name(class),
        str_at(class, &["spec", "controller"]).into(),
        parameters.into(),
        age(now, class),
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
