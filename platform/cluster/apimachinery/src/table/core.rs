//! Printers of core/v1 kinds other than pods and events: configmaps, secrets, namespaces, services and
//! serviceaccounts.
use super::access::{age, array_at, at, format_labels, i64_at, map_len, name, str_at};
use super::{Column, Printer, Row, RowFn};
use serde_json::Value;

/// The printer of a core/v1 resource, by plural name; `None` when the apiserver has none we reproduce.
pub(crate) fn printer(plural: &str, now: jiff::Timestamp) -> Option<Printer<'static>> {
    let (columns, row): (Vec<Column>, RowFn) = match plural {
        "configmaps" => (
            vec![
                Column::name(),
                Column::new("Data", "string", DATA_DOC),
                Column::age(),
            ],
            configmap_row,
        ),
        "secrets" => (
            vec![
                Column::name(),
                Column::new(
                    "Type",
                    "string",
                    "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
                ),
                Column::new("Data", "string", SECRET_DATA_DOC),
                Column::age(),
            ],
            secret_row,
        ),
        "namespaces" => (
            vec![
                Column::name(),
                Column::new("Status", "string", "The status of the namespace"),
                Column::age(),
            ],
            namespace_row,
        ),
        "serviceaccounts" => (
            vec![
                Column::name(),
                Column::new(
                    "Secrets",
                    "string",
                    "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
                ),
                Column::age(),
            ],
            serviceaccount_row,
        ),
        "services" => (service_columns(), service_row),
        _ => return None,
    };
    Some(Printer::builtin(columns, row, now))
}

/// The OpenAPI descriptions of `ConfigMap.data` and `Secret.data`, which kube-apiserver uses as column docs.
const DATA_DOC: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
const SECRET_DATA_DOC: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";

fn configmap_row(cm: &Value, now: jiff::Timestamp) -> Row {
    let count = map_len(cm, &["data"]) + map_len(cm, &["binaryData"]);
    vec![name(cm), (count as i64).into(), age(now, cm)].into()
}

fn secret_row(secret: &Value, now: jiff::Timestamp) -> Row {
    let count = map_len(secret, &["data"]) as i64;
    vec![
        name(secret),
        str_at(secret, &["type"]).into(),
        count.into(),
        age(now, secret),
    ]
    .into()
}

fn namespace_row(ns: &Value, now: jiff::Timestamp) -> Row {
    vec![
        name(ns),
        str_at(ns, &["status", "phase"]).into(),
        age(now, ns),
    ]
    .into()
}

fn serviceaccount_row(sa: &Value, now: jiff::Timestamp) -> Row {
    let count = array_at(sa, &["secrets"]).len() as i64;
    vec![name(sa), count.into(), age(now, sa)].into()
}

fn service_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new(
            "Type",
            "string",
            "type determines how the Service is exposed.",
        ),
        Column::new(
            "Cluster-IP",
            "string",
            "clusterIP is the IP address of the service and is usually assigned randomly.",
        ),
        Column::new(
            "External-IP",
            "string",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        ),
        Column::new(
            "Port(s)",
            "string",
            "The list of ports that are exposed by this service.",
        ),
        Column::age(),
        Column::new(
            "Selector",
            "string",
            "Route service traffic to pods with label keys and values matching this selector.",
        )
        .wide(),
    ]
}

fn service_row(svc: &Value, now: jiff::Timestamp) -> Row {
    let cluster_ip = array_at(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let ports = service_ports(array_at(svc, &["spec", "ports"]));
    vec![
        name(svc),
        str_at(svc, &["spec", "type"]).into(),
        cluster_ip.into(),
        external_ip(svc).into(),
        if ports.is_empty() {
            "<none>".into()
        } else {
            ports.into()
        },
        age(now, svc),
        format_labels(at(svc, &["spec", "selector"])).into(),
    ]
    .into()
}

/// `makePortString`: `port/proto`, or `port:nodePort/proto` when a node port is set.
fn service_ports(ports: &[Value]) -> String {
    let pieces: Vec<String> = ports
        .iter()
        .map(|p| {
            let (port, node_port, protocol) = (
                i64_at(p, &["port"]),
                i64_at(p, &["nodePort"]),
                str_at(p, &["protocol"]),
            );
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    pieces.join(",")
}

/// `getServiceExternalIP` as the server calls it (wide, so load balancer addresses are not clipped).
fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = array_at(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match str_at(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".into(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let mut addresses: Vec<&str> = array_at(svc, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| {
                    Some(str_at(i, &["ip"]))
                        .filter(|ip| !ip.is_empty())
                        .unwrap_or(str_at(i, &["hostname"]))
                })
                .filter(|a| !a.is_empty())
                .collect();
            addresses.sort_unstable();
            addresses.dedup();
            addresses.extend(external);
            if addresses.is_empty() {
                "<pending>".into()
            } else {
                addresses.join(",")
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).into(),
        _ => "<unknown>".into(),
    }
}
