//! Deployments, StatefulSets and DaemonSets decoded into what the controller reads: trimmed metadata, the
//! pod template reduced to a [`TemplateView`] while it is parsed, and the replica counts of rollout progress.
//!
//! A list page of these holds no pod specs: each template is parsed whole (one at a time), reduced to its
//! `config-hash` and source references, and dropped before the parser moves to the next object.
use std::borrow::Cow;

use configsync_crds::WorkloadKind;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Deserializer};

use super::lean_meta;
use crate::refs::SourceRef;
pub use crate::workload::TemplateView;
use crate::workload::Workload;

/// `deserialize_with` for `spec.template`: the template parsed, reduced, dropped.
fn template_view<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TemplateView, D::Error> {
    let template = Option::<PodTemplateSpec>::deserialize(deserializer)?;
    Ok(template.as_ref().map(TemplateView::of).unwrap_or_default())
}

/// `spec` of a Deployment or StatefulSet, as read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicatedSpec {
    /// `spec.replicas` (the API's default is 1).
    pub replicas: Option<i32>,
    /// `spec.template`, reduced.
    #[serde(deserialize_with = "template_view")]
    pub template: TemplateView,
}

/// `status` of a Deployment or StatefulSet, as read.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaStatus {
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// `status.replicas`: every replica, any version.
    pub replicas: Option<i32>,
    /// `status.updatedReplicas`.
    pub updated_replicas: Option<i32>,
    /// `status.availableReplicas`.
    pub available_replicas: Option<i32>,
}

/// `spec` of a DaemonSet, as read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DaemonSetSpecView {
    /// `spec.template`, reduced.
    #[serde(deserialize_with = "template_view")]
    pub template: TemplateView,
}

/// `status` of a DaemonSet, as read.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DaemonSetStatusView {
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// `status.desiredNumberScheduled`.
    pub desired_number_scheduled: Option<i32>,
    /// `status.currentNumberScheduled`.
    pub current_number_scheduled: Option<i32>,
    /// `status.updatedNumberScheduled`.
    pub updated_number_scheduled: Option<i32>,
    /// `status.numberAvailable`.
    pub number_available: Option<i32>,
}

/// A Deployment as the operator reads it.
#[derive(Resource, Clone, Debug, Default, Deserialize)]
#[resource(inherit = "Deployment")]
pub struct DeploymentView {
    /// See [`super::lean_meta`].
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    /// Replicas and the reduced template.
    #[serde(default)]
    pub spec: Option<ReplicatedSpec>,
    /// Replica counts.
    #[serde(default)]
    pub status: Option<ReplicaStatus>,
}

/// A StatefulSet as the operator reads it.
#[derive(Resource, Clone, Debug, Default, Deserialize)]
#[resource(inherit = "StatefulSet")]
pub struct StatefulSetView {
    /// See [`super::lean_meta`].
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    /// Replicas and the reduced template.
    #[serde(default)]
    pub spec: Option<ReplicatedSpec>,
    /// Replica counts.
    #[serde(default)]
    pub status: Option<ReplicaStatus>,
}

/// A DaemonSet as the operator reads it.
#[derive(Resource, Clone, Debug, Default, Deserialize)]
#[resource(inherit = "DaemonSet")]
pub struct DaemonSetView {
    /// See [`super::lean_meta`].
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    /// The reduced template.
    #[serde(default)]
    pub spec: Option<DaemonSetSpecView>,
    /// Scheduling counts.
    #[serde(default)]
    pub status: Option<DaemonSetStatusView>,
}

macro_rules! workload_for_view {
    ($($view:ident => $kind:ident),*) => {$(
        impl Workload for $view {
            const KIND: WorkloadKind = WorkloadKind::$kind;
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn template_hash(&self) -> Option<&str> {
                self.spec.as_ref()?.template.config_hash.as_deref()
            }
            fn source_refs(&self) -> Cow<'_, [SourceRef]> {
                let sources = self.spec.as_ref().map(|s| s.template.sources.as_slice());
                Cow::Borrowed(sources.unwrap_or_default())
            }
            fn template_fingerprint(&self) -> Option<Cow<'_, str>> {
                let fingerprint = self.spec.as_ref()?.template.fingerprint.as_deref()?;
                Some(Cow::Borrowed(fingerprint))
            }
        }
    )*};
}

workload_for_view!(
    DeploymentView => Deployment,
    StatefulSetView => StatefulSet,
    DaemonSetView => DaemonSet
);
