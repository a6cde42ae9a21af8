//! The built-in resource types, custom resource types derived from CRDs, and the discovery documents.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use crate::ResourceType;
use serde_json::Value;

/// Why a CRD cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The CRD object lacks required fields or is malformed.
    #[error("invalid CustomResourceDefinition: {0}")]
    InvalidCrd(String),
}

/// Every built-in resource this server serves.
pub fn builtin_resources() -> Vec<ResourceType> {
    Vec::new()
}

/// The resource types a CRD object (`apiextensions.k8s.io/v1`) serves: one per served version.
pub fn resources_from_crd(crd: &Value) -> Result<Vec<ResourceType>, RegistryError> {
    let _ = crd;
    Err(RegistryError::InvalidCrd("not implemented".into()))
}

/// `/version`.
pub fn version_info() -> Value {
    Value::Null
}

/// `/api`: the core group's `APIVersions`.
pub fn core_api_versions() -> Value {
    Value::Null
}

/// `/apis`: the `APIGroupList` of every non-core group among `resources`.
pub fn api_group_list(resources: &[ResourceType]) -> Value {
    let _ = resources;
    Value::Null
}

/// `/api/v1` or `/apis/<group>/<version>`: the `APIResourceList` (with subresources such as `deployments/status`).
pub fn api_resource_list(group: &str, version: &str, resources: &[ResourceType]) -> Value {
    let _ = (group, version, resources);
    Value::Null
}
