//! Printers of apps/v1 kinds: deployments, replicasets, statefulsets, daemonsets and controllerrevisions.
use super::access::{
    age, array_at, at, container_cells, format_label_selector, format_labels, i64_at, name,
    selector_string, str_at,
};
use super::{Column, Printer, Row, RowFn};
use serde_json::Value;

const CONTAINERS_DOC: &str = "Names of each container in the template.";
const IMAGES_DOC: &str = "Images referenced by each container in the template.";
const SELECTOR_DOC: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.";

/// The printer of an apps/v1 resource, by plural name.
pub(crate) fn printer(plural: &str, now: jiff::Timestamp) -> Option<Printer<'static>> {
    let (columns, row): (Vec<Column>, RowFn) = match plural {
        "deployments" => (deployment_columns(), deployment_row),
        "replicasets" => (replicaset_columns(), replicaset_row),
        "statefulsets" => (statefulset_columns(), statefulset_row),
        "daemonsets" => (daemonset_columns(), daemonset_row),
        "controllerrevisions" => (
            vec![
                Column::name(),
                Column::new("Controller", "string", "Controller of the object"),
                Column::new(
                    "Revision",
                    "string",
                    "Revision indicates the revision of the state represented by Data.",
                ),
                Column::age(),
            ],
            controllerrevision_row,
        ),
        _ => return None,
    };
    Some(Printer::builtin(columns, row, now))
}

fn template_cells(columns: &mut Vec<Column>) {
    columns.push(Column::new("Containers", "string", CONTAINERS_DOC).wide());
    columns.push(Column::new("Images", "string", IMAGES_DOC).wide());
}

fn deployment_columns() -> Vec<Column> {
    let mut columns = vec![
        Column::name(),
        Column::new("Ready", "string", "Number of the pod with ready state"),
        Column::new(
            "Up-to-date",
            "string",
            "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
        ),
        Column::new(
            "Available",
            "string",
            "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        Column::age(),
    ];
    template_cells(&mut columns);
    columns.push(Column::new("Selector", "string", SELECTOR_DOC).wide());
    columns
}

fn pod_spec(object: &Value) -> Option<&Value> {
    at(object, &["spec", "template", "spec"])
}

fn deployment_row(d: &Value, now: jiff::Timestamp) -> Row {
    let ready = format!(
        "{}/{}",
        i64_at(d, &["status", "readyReplicas"]),
        i64_at(d, &["spec", "replicas"])
    );
    let (containers, images) = container_cells(pod_spec(d));
    vec![
        name(d),
        ready.into(),
        i64_at(d, &["status", "updatedReplicas"]).into(),
        i64_at(d, &["status", "availableReplicas"]).into(),
        age(now, d),
        containers,
        images,
        selector_string(at(d, &["spec", "selector"])).into(),
    ]
    .into()
}

fn replicaset_columns() -> Vec<Column> {
    let mut columns = vec![
        Column::name(),
        Column::new(
            "Desired",
            "integer",
            "Replicas is the number of desired replicas.",
        ),
        Column::new(
            "Current",
            "integer",
            "Replicas is the most recently observed number of replicas.",
        ),
        Column::new(
            "Ready",
            "integer",
            "The number of ready replicas for this replica set.",
        ),
        Column::age(),
    ];
    template_cells(&mut columns);
    columns.push(
        Column::new(
            "Selector",
            "string",
            "Selector is a label query over pods that should match the replica count.",
        )
        .wide(),
    );
    columns
}

fn replicaset_row(rs: &Value, now: jiff::Timestamp) -> Row {
    let (containers, images) = container_cells(pod_spec(rs));
    vec![
        name(rs),
        i64_at(rs, &["spec", "replicas"]).into(),
        i64_at(rs, &["status", "replicas"]).into(),
        i64_at(rs, &["status", "readyReplicas"]).into(),
        age(now, rs),
        containers,
        images,
        format_label_selector(at(rs, &["spec", "selector"])).into(),
    ]
    .into()
}

fn statefulset_columns() -> Vec<Column> {
    let mut columns = vec![
        Column::name(),
        Column::new("Ready", "string", "Number of the pod with ready state"),
        Column::age(),
    ];
    template_cells(&mut columns);
    columns
}

fn statefulset_row(sts: &Value, now: jiff::Timestamp) -> Row {
    let ready = format!(
        "{}/{}",
        i64_at(sts, &["status", "readyReplicas"]),
        i64_at(sts, &["spec", "replicas"])
    );
    let (containers, images) = container_cells(pod_spec(sts));
    vec![name(sts), ready.into(), age(now, sts), containers, images].into()
}

fn daemonset_columns() -> Vec<Column> {
    let mut columns = vec![
        Column::name(),
        Column::new(
            "Desired",
            "integer",
            "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).",
        ),
        Column::new(
            "Current",
            "integer",
            "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
        ),
        Column::new(
            "Ready",
            "integer",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        ),
        Column::new(
            "Up-to-date",
            "integer",
            "The total number of nodes that are running updated daemon pod",
        ),
        Column::new(
            "Available",
            "integer",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
        ),
        Column::new(
            "Node Selector",
            "string",
            "NodeSelector is a selector which must be true for the pod to fit on a node.",
        ),
        Column::age(),
    ];
    template_cells(&mut columns);
    columns.push(
        Column::new(
            "Selector",
            "string",
            "A label query over pods that are managed by the daemon set.",
        )
        .wide(),
    );
    columns
}

fn daemonset_row(ds: &Value, now: jiff::Timestamp) -> Row {
    let status = |field: &str| Value::from(i64_at(ds, &["status", field]));
    let (containers, images) = container_cells(pod_spec(ds));
    vec![
        name(ds),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        format_labels(pod_spec(ds).and_then(|spec| spec.get("nodeSelector"))).into(),
        age(now, ds),
        containers,
        images,
        format_label_selector(at(ds, &["spec", "selector"])).into(),
    ]
    .into()
}

fn controllerrevision_row(revision: &Value, now: jiff::Timestamp) -> Row {
    vec![
        name(revision),
        controller_of(revision).into(),
        i64_at(revision, &["revision"]).into(),
        age(now, revision),
    ]
    .into()
}

/// The controlling owner as `kind.group/name` in lower case (`daemonset.apps/web`), `<none>` without one.
fn controller_of(object: &Value) -> String {
    let owners = array_at(object, &["metadata", "ownerReferences"]);
    let Some(owner) = owners
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".into();
    };
    let api_version = str_at(owner, &["apiVersion"]);
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let kind = str_at(owner, &["kind"]);
    let owner_name = str_at(owner, &["name"]);
    match (kind, group) {
        ("", "") => owner_name.to_string(),
        (kind, "") => format!("{}/{owner_name}", kind.to_lowercase()),
        (kind, group) => format!(
            "{}.{}/{owner_name}",
            kind.to_lowercase(),
            group.to_lowercase()
        ),
    }
}
