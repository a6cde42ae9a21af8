//! Printers of `rbac.authorization.k8s.io`: roles show NAME and CREATED AT; bindings show their role reference,
//! age and (wide) the users, groups and service accounts they bind, as kube-apiserver's `printRoleBinding` does.
use super::access::{age, array_at, name, str_at};
use super::other::created_at_row;
use super::{AGE_DESCRIPTION, Column, Printer, Row, RowFn};
use serde_json::Value;

/// `RoleBinding.roleRef` documentation, the description of the Role column.
const ROLE_REF_DESCRIPTION: &str = "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.";

/// The printer of an RBAC resource, by plural name.
pub(crate) fn printer(plural: &str, now: jiff::Timestamp) -> Option<Printer<'static>> {
    let (columns, row): (Vec<Column>, RowFn) = match plural {
        "roles" | "clusterroles" => (
            vec![
                Column::name(),
                Column::new("Created At", "date", AGE_DESCRIPTION),
            ],
            created_at_row,
        ),
        "rolebindings" | "clusterrolebindings" => (binding_columns(), binding_row),
        _ => return None,
    };
    Some(Printer::builtin(columns, row, now))
}

fn binding_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Role", "string", ROLE_REF_DESCRIPTION),
        Column::age(),
        Column::new("Users", "string", "Users in the roleBinding").wide(),
        Column::new("Groups", "string", "Groups in the roleBinding").wide(),
        Column::new(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the roleBinding",
        )
        .wide(),
    ]
}

fn binding_row(binding: &Value, now: jiff::Timestamp) -> Row {
    let role = format!(
        "{}/{}",
        str_at(binding, &["roleRef", "kind"]),
        str_at(binding, &["roleRef", "name"])
    );
    let (users, groups, service_accounts) = subject_names(binding);
    vec![
        name(binding),
        role.into(),
        age(now, binding),
        users.join(", ").into(),
        groups.join(", ").into(),
        service_accounts.join(", ").into(),
    ]
    .into()
}

/// Users, groups and `namespace/name` service accounts of the binding's subjects (`rbac.SubjectsStrings`).
fn subject_names(binding: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut users, mut groups, mut service_accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in array_at(binding, &["subjects"]) {
        let subject_name = str_at(subject, &["name"]).to_owned();
        match str_at(subject, &["kind"]) {
            "User" => users.push(subject_name),
            "Group" => groups.push(subject_name),
            "ServiceAccount" => service_accounts.push(format!(
                "{}/{subject_name}",
                str_at(subject, &["namespace"])
            )),
            _ => {}
        }
    }
    (users, groups, service_accounts)
}
