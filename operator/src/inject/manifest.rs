//! Injection into manifests (`configsync inject`): documents in, documents out, the same [`super::inject`].
//!
//! Pods are patched at their root; Deployments, StatefulSets and DaemonSets at `spec.template`. Every other
//! document passes through unchanged. The manifest itself stands in for the cluster:
//! - a Namespace document's labels opt its pods in (`configsync.dev/inject=enabled`);
//! - ConfigMap and Secret documents provide the digests for the initial config hash, which is set only when
//!   every source the pod uses is in the manifest and no selector is involved (otherwise a warning says so).
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use serde_json::Value;

use super::{InjectConfig, InjectError, SourceData, inject, requested, sources_to_look_up};
use crate::hash::KeyDigests;
use crate::refs::SourceId;

/// Failures while injecting a manifest, naming the document.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The document's annotations or shape do not allow injection.
    #[error("{document}: {source}")]
    InjectDocument {
        /// `Kind namespace/name`.
        document: String,
        /// Why.
        source: InjectError,
    },
    /// The document's pod template is not a valid pod template, or the patch did not apply.
    #[error("{document}: {reason}")]
    DecodeDocument {
        /// `Kind namespace/name`.
        document: String,
        /// Why.
        reason: String,
    },
}

/// The injected documents and the warnings, each prefixed with its document.
#[derive(Debug, Default)]
pub struct InjectedManifest {
    /// Every input document, patched where asked.
    pub documents: Vec<Value>,
    /// Warnings, `Kind namespace/name: message`.
    pub warnings: Vec<String>,
}

fn str_at<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn namespace_of(doc: &Value) -> &str {
    Some(str_at(doc, "/metadata/namespace"))
        .filter(|ns| !ns.is_empty())
        .unwrap_or("default")
}

fn describe(doc: &Value) -> String {
    let (kind, name) = (str_at(doc, "/kind"), str_at(doc, "/metadata/name"));
    format!("{kind} {}/{name}", namespace_of(doc))
}

/// Where the pod template sits in a document of this kind.
fn template_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment" | "StatefulSet" | "DaemonSet" => Some("/spec/template"),
        _ => None,
    }
}

/// What the manifest says about the cluster: namespace labels and source digests by namespace.
#[derive(Default)]
struct Known {
    labels: BTreeMap<String, BTreeMap<String, String>>,
    sources: BTreeMap<(String, SourceId), KeyDigests>,
}

impl Known {
    fn collect(documents: &[Value]) -> Self {
        let mut known = Self::default();
        for doc in documents {
            let name = str_at(doc, "/metadata/name").to_owned();
            let namespace = namespace_of(doc).to_owned();
            match str_at(doc, "/kind") {
                "Namespace" => {
                    let labels = doc.pointer("/metadata/labels").cloned().unwrap_or_default();
                    let labels = serde_json::from_value(labels).unwrap_or_default();
                    known.labels.insert(name, labels);
                }
                "ConfigMap" => {
                    if let Ok(cm) = serde_json::from_value::<ConfigMap>(doc.clone()) {
                        let digests = KeyDigests::from_config_map(&cm);
                        known
                            .sources
                            .insert((namespace, SourceId::config_map(name)), digests);
                    }
                }
                "Secret" => {
                    if let Ok(secret) = serde_json::from_value::<Secret>(doc.clone()) {
                        let digests = KeyDigests::from_secret(&secret);
                        known
                            .sources
                            .insert((namespace, SourceId::secret(name)), digests);
                    }
                }
                _ => {}
            }
        }
        known
    }

    /// The sources `pod` needs, if the manifest holds all of them.
    fn source_data(
        &self,
        namespace: &str,
        pod: &PodTemplateSpec,
        labels: &BTreeMap<String, String>,
    ) -> Option<SourceData> {
        let spec = requested(pod, labels).ok().flatten()?;
        if spec.selector.is_some() {
            return None;
        }
        let mut data = SourceData::default();
        for id in sources_to_look_up(pod, &spec) {
            let digests = self.sources.get(&(namespace.to_owned(), id.clone()))?;
            data.digests.insert(id, digests.clone());
        }
        Some(data)
    }
}

/// Inject every document that asks for it.
///
/// # Errors
/// [`ManifestError`] naming the first document that cannot be injected; nothing is returned then.
pub fn inject_manifest(
    documents: Vec<Value>,
    config: &InjectConfig,
) -> Result<InjectedManifest, ManifestError> {
    let known = Known::collect(&documents);
    let mut out = InjectedManifest::default();
    for mut doc in documents {
        if let Some(pointer) = template_pointer(str_at(&doc, "/kind")) {
            let warnings = inject_document(&mut doc, pointer, &known, config)?;
            let name = describe(&doc);
            out.warnings
                .extend(warnings.into_iter().map(|w| format!("{name}: {w}")));
        }
        out.documents.push(doc);
    }
    Ok(out)
}

fn inject_document(
    doc: &mut Value,
    pointer: &str,
    known: &Known,
    config: &InjectConfig,
) -> Result<Vec<String>, ManifestError> {
    let document = describe(doc);
    let namespace = namespace_of(doc).to_owned();
    let decode = |reason: String| ManifestError::DecodeDocument {
        document: document.clone(),
        reason,
    };
    let Some(target) = doc.pointer_mut(pointer) else {
        return Err(decode(format!("no pod template at {pointer}")));
    };
    let pod: PodTemplateSpec =
        serde_json::from_value(target.clone()).map_err(|e| decode(e.to_string()))?;
    let labels = known.labels.get(&namespace).cloned().unwrap_or_default();
    let data = known.source_data(&namespace, &pod, &labels);
    let outcome = inject(&pod, &labels, config, data.as_ref()).map_err(|source| {
        ManifestError::InjectDocument {
            document: document.clone(),
            source,
        }
    })?;
    json_patch::patch(target, &outcome.patch).map_err(|e| decode(e.to_string()))?;
    Ok(outcome.warnings)
}
