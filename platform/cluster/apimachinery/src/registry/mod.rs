//! The built-in resource types, custom resource types derived from CRDs, and the discovery documents.
//!
//! ```text
//!   builtin_resources() ─┐
//!   resources_from_crd() ┴─► [ResourceType] ──► find / find_by_kind   (router)
//!                                           └─► api_group_list / api_resource_list   (discovery)
//! ```
//! Everything here mirrors kube-apiserver v1.33: names, short names, categories, verbs and subresources are the
//! values `kubectl api-resources -o wide` shows against a real cluster.
use crate::ResourceType;
use serde_json::Value;

mod builtin;
mod crd;
mod discovery;

pub use discovery::{
    aggregated_discovery, core_api_versions_at, kube_aware_version_order, storage_version_hash,
};

/// Why a CRD cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The CRD object lacks required fields or is malformed.
    #[error("invalid CustomResourceDefinition: {0}")]
    InvalidCrd(String),
}

/// Every built-in resource this server serves.
pub fn builtin_resources() -> Vec<ResourceType> {
    builtin::resources()
}

/// The resource types a CRD object (`apiextensions.k8s.io/v1`) serves: one per served version.
pub fn resources_from_crd(crd: &Value) -> Result<Vec<ResourceType>, RegistryError> {
    crd::resources(crd)
}

/// The `status` of an accepted CRD (`acceptedNames`, `NamesAccepted` and `Established` conditions,
/// `storedVersions`), as kube-apiserver's CRD controllers write it; `now` is an RFC 3339 timestamp.
pub fn crd_status(crd: &Value, now: &str) -> Result<Value, RegistryError> {
    crd::status(crd, now)
}

/// `/version`.
pub fn version_info() -> Value {
    discovery::version_info()
}

/// `/api`: the core group's `APIVersions`.
pub fn core_api_versions() -> Value {
    discovery::core_api_versions_at("127.0.0.1:6443")
}

/// `/apis`: the `APIGroupList` of every non-core group among `resources`.
pub fn api_group_list(resources: &[ResourceType]) -> Value {
    discovery::api_group_list(resources)
}

/// `/api/v1` or `/apis/<group>/<version>`: the `APIResourceList` (with subresources such as `deployments/status`).
pub fn api_resource_list(group: &str, version: &str, resources: &[ResourceType]) -> Value {
    discovery::api_resource_list(group, version, resources)
}

/// The resource served at `group/version/plural`, as the router resolves a URL.
pub fn find<'a>(
    resources: &'a [ResourceType],
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'a ResourceType> {
    resources
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource whose objects have `apiVersion` (`v1`, `apps/v1`) and `kind`, as a request body names them.
pub fn find_by_kind<'a>(
    resources: &'a [ResourceType],
    api_version: &str,
    kind: &str,
) -> Option<&'a ResourceType> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    resources
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// Resolve what a user typed (`deploy`, `deployments`, `deployment`, `Deployment`, `deployments.apps`) to resources,
/// the way kubectl's RESTMapper does: plural, singular, short name or kind, optionally qualified by `.group`.
pub fn resolve<'a>(resources: &'a [ResourceType], name: &str) -> Vec<&'a ResourceType> {
    let matches = |r: &ResourceType, n: &str| {
        r.plural == n
            || r.singular == n
            || r.kind.eq_ignore_ascii_case(n)
            || r.short_names.iter().any(|s| s == n)
    };
    let unqualified: Vec<_> = resources.iter().filter(|r| matches(r, name)).collect();
    if !unqualified.is_empty() {
        return unqualified;
    }
    match name.split_once('.') {
        Some((short, group)) => resources
            .iter()
            .filter(|r| r.group == group && matches(r, short))
            .collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
