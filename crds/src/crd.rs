//! The generated CustomResourceDefinition, rendered as YAML.
//!
//! `configsync crd` prints [`crd_yaml`]; `crds/configsync.dev_configsyncs.yaml` holds the committed copy, and a
//! test fails when the two differ.
use kube::CustomResourceExt;

use crate::ConfigSync;

/// Where the committed CRD lives, relative to the workspace root.
pub const CRD_FILE: &str = "crds/configsync.dev_configsyncs.yaml";

/// Failures while rendering the CRD.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CRD could not be serialized to YAML.
    #[error("serialize the ConfigSync CRD to YAML")]
    SerializeCrd(#[source] serde_saphyr::ser_error::Error),
}

/// The ConfigSync CRD as one YAML document.
///
/// # Errors
/// [`Error::SerializeCrd`] if the YAML serializer rejects the CRD (a bug, not bad input).
pub fn crd_yaml() -> Result<String, Error> {
    serde_saphyr::to_string(&ConfigSync::crd()).map_err(Error::SerializeCrd)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    use super::*;

    fn committed() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("configsync.dev_configsyncs.yaml");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    #[test]
    fn committed_crd_matches_the_types() {
        let generated = crd_yaml().unwrap();
        assert!(
            committed() == generated,
            "{CRD_FILE} is out of date with the Rust types; run `cargo run -- crd > {CRD_FILE}`"
        );
    }

    #[test]
    fn yaml_round_trips_to_the_same_crd() {
        let parsed: CustomResourceDefinition = serde_saphyr::from_str(&committed()).unwrap();
        assert_eq!(parsed, ConfigSync::crd());
    }
}
