//! The apiserver's wording of apply conflicts (`k8s.io/apiserver/.../fieldmanager/internal/conflict.go`),
//! for the 409 Status message and its `FieldManagerConflict` causes.
use std::collections::BTreeMap;

use serde_json::Value;

use super::{BEFORE_FIRST_APPLY, Conflict, managers};

/// How the apiserver names a conflict's owner: `"alice"` for an applier, `"kubectl-client-side-apply"
/// using apps/v1` for an updater, with ` with subresource "status"` when it owns fields of a subresource.
/// `live` is the object the apply was made against (its managedFields say what kind of owner it is).
pub fn conflict_owner(conflict: &Conflict, live: Option<&Value>) -> String {
    let entries = live.map(managers::read).unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| e.manager == conflict.manager && e.api_version == conflict.api_version);
    let mut owner = format!("{:?}", conflict.manager);
    if let Some(subresource) = entry.and_then(|e| e.subresource.as_deref()) {
        owner.push_str(&format!(" with subresource {subresource:?}"));
    }
    let is_update = match entry {
        Some(entry) => entry.operation == managers::UPDATE,
        None => conflict.manager == BEFORE_FIRST_APPLY,
    };
    if is_update {
        owner.push_str(&format!(" using {}", conflict.api_version));
    }
    owner
}

/// The apiserver's message for a failed apply, e.g. `Apply failed with 1 conflict: conflict with
/// "kubectl-client-side-apply" using apps/v1: .spec.replicas`; several conflicts are grouped by owner.
pub fn conflict_message(conflicts: &[Conflict], live: Option<&Value>) -> String {
    if let [conflict] = conflicts {
        let owner = conflict_owner(conflict, live);
        return format!(
            "Apply failed with 1 conflict: conflict with {owner}: {}",
            conflict.field
        );
    }
    let mut by_owner: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for conflict in conflicts {
        let fields = by_owner.entry(conflict_owner(conflict, live)).or_default();
        fields.push(&conflict.field);
    }
    let lines: Vec<String> = by_owner
        .iter()
        .flat_map(|(owner, fields)| {
            let head = format!("conflicts with {owner}:");
            std::iter::once(head).chain(fields.iter().map(|field| format!("- {field}")))
        })
        .collect();
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}
