//! Lean decoding of watched objects: serde parses straight into what the operator keeps, so a list page
//! never holds values, managed fields or pod specs.
//!
//! ```text
//!  list page / watch event JSON ──serde──► ConfigMapDigests / SecretDigests   (metadata + KeyDigests)
//!                                └─serde──► DeploymentView / StatefulSetView / DaemonSetView
//!                                            (metadata + template hash + source refs + replica counts)
//! ```
//! - Values are hashed while the parser walks them ([`source`]): a ConfigMap's `data` as UTF-8 bytes,
//!   `binaryData` and a Secret's `data` base64-decoded into one scratch buffer per object that is wiped
//!   afterwards. The digests equal [`crate::hash::KeyDigests::from_config_map`] / `from_secret`.
//! - Metadata ([`lean_meta`]) keeps name, namespace, uid, resourceVersion, generation, labels and
//!   annotations, minus `kubectl.kubernetes.io/last-applied-configuration` (a copy of the whole object,
//!   values included); `managedFields` and everything else are skipped unparsed.
//! - A workload's pod template ([`workload`]) is parsed one object at a time and reduced at once to its
//!   `configsync.dev/config-hash` annotation and [`crate::refs::source_refs`].
//!
//! Each type derives `kube::Resource` from the k8s-openapi kind it stands for, so `Api<T>` and the watcher
//! use the usual URLs. None of them can be written back: they are read models.
use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

pub mod source;
pub mod workload;

pub use source::{ConfigMapDigests, SecretDigests};
pub use workload::{
    CronJobView, DaemonSetView, DeploymentView, RolloutView, StatefulSetView, TemplateView,
};

/// The annotation `kubectl apply` writes: the whole last applied object, values included.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The metadata fields the operator reads; the rest of the wire object is skipped.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "annotations_without_last_applied")]
    annotations: Option<BTreeMap<String, String>>,
}

/// `deserialize_with` for `metadata`: [`ObjectMeta`] with only the fields listed in the module docs.
///
/// # Errors
/// The parser's error when a kept field has the wrong type.
pub fn lean_meta<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ObjectMeta, D::Error> {
    let wire = Option::<WireMeta>::deserialize(deserializer)?.unwrap_or_default();
    Ok(ObjectMeta {
        name: wire.name,
        namespace: wire.namespace,
        uid: wire.uid,
        resource_version: wire.resource_version,
        generation: wire.generation,
        labels: wire.labels,
        annotations: wire.annotations,
        ..ObjectMeta::default()
    })
}

fn annotations_without_last_applied<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Annotations;

    impl<'de> Visitor<'de> for Annotations {
        type Value = Option<BTreeMap<String, String>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of annotations")
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kept = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if key == LAST_APPLIED {
                    map.next_value::<IgnoredAny>()?;
                } else {
                    let value = map.next_value::<String>()?;
                    kept.insert(key, value);
                }
            }
            Ok(Some(kept))
        }
    }

    deserializer.deserialize_option(Annotations)
}

#[cfg(test)]
mod tests;
