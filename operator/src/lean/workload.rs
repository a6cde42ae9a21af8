//! Deployments, StatefulSets, DaemonSets, CronJobs and Argo Rollouts decoded into what the controller reads:
//! trimmed metadata, the pod template reduced to a [`TemplateView`] while it is parsed, and the replica
//! counts of rollout progress. A CronJob's pod template is `spec.jobTemplate.spec.template`; a Rollout's is
//! `spec.template` as a Deployment's (its status counts read alike; `observedGeneration` may be a string).
//!
//! A list page of these holds no pod specs: each template is parsed whole (one at a time), reduced to its
//! `config-hash` and source references, and dropped before the parser moves to the next object.
use std::borrow::Cow;
use std::collections::BTreeMap;

use configsync_crds::WorkloadKind;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::CronJob;
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

/// One entry of `status.conditions`, as read.
#[derive(Deserialize)]
struct ConditionView {
    #[serde(rename = "type")]
    type_: String,
    status: String,
}

/// `deserialize_with` for `status.conditions`: only configsync's `ConfigSyncApplied`, as `True` or not.
fn config_applied<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let conditions = Option::<Vec<ConditionView>>::deserialize(deserializer)?;
    Ok(conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == crate::plan::condition::TYPE)
        .map(|c| c.status == "True"))
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
    /// configsync's `ConfigSyncApplied` condition: `Some(true)` when True.
    #[serde(rename = "conditions", deserialize_with = "config_applied")]
    pub config_applied: Option<bool>,
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
    /// configsync's `ConfigSyncApplied` condition: `Some(true)` when True.
    #[serde(rename = "conditions", deserialize_with = "config_applied")]
    pub config_applied: Option<bool>,
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

/// `spec.jobTemplate.spec` of a CronJob, as read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct JobSpecView {
    /// `template`, reduced.
    #[serde(deserialize_with = "template_view")]
    pub template: TemplateView,
}

/// `spec.jobTemplate` of a CronJob, as read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct JobTemplateView {
    /// The Job spec.
    pub spec: JobSpecView,
}

/// `spec` of a CronJob, as read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CronJobSpecView {
    /// The template of the Jobs it creates.
    pub job_template: JobTemplateView,
}

/// A CronJob as the operator reads it: nothing rolls, the next Job starts with the stamped template.
#[derive(Resource, Clone, Debug, Default, Deserialize)]
#[resource(inherit = "CronJob")]
pub struct CronJobView {
    /// See [`super::lean_meta`].
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    /// The reduced job template.
    #[serde(default)]
    pub spec: Option<CronJobSpecView>,
}

/// `status` of an Argo Rollout, as read (`observedGeneration` is a string in Argo Rollouts).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutStatusView {
    /// `status.observedGeneration`, a number or a decimal string.
    pub observed_generation: Option<serde_json::Value>,
    /// `status.replicas`.
    pub replicas: Option<i32>,
    /// `status.updatedReplicas`.
    pub updated_replicas: Option<i32>,
    /// `status.availableReplicas`.
    pub available_replicas: Option<i32>,
}

impl RolloutStatusView {
    /// The counts as a Deployment's status.
    pub fn as_replica_status(&self) -> ReplicaStatus {
        let generation = match &self.observed_generation {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        ReplicaStatus {
            observed_generation: generation,
            replicas: self.replicas,
            updated_replicas: self.updated_replicas,
            available_replicas: self.available_replicas,
            config_applied: None,
        }
    }
}

/// An Argo Rollout (`argoproj.io/v1alpha1`) as the operator reads it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RolloutView {
    /// See [`super::lean_meta`].
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    /// Replicas and the reduced template.
    #[serde(default)]
    pub spec: Option<ReplicatedSpec>,
    /// Replica counts.
    #[serde(default)]
    pub status: Option<RolloutStatusView>,
}

impl Resource for RolloutView {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("Rollout")
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("argoproj.io")
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("v1alpha1")
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("rollouts")
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl Workload for CronJobView {
    const KIND: WorkloadKind = WorkloadKind::CronJob;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template_hash(&self) -> Option<&str> {
        let template = &self.spec.as_ref()?.job_template.spec.template;
        template.config_hash.as_deref()
    }
    fn source_refs(&self) -> Cow<'_, [SourceRef]> {
        let sources = self
            .spec
            .as_ref()
            .map(|s| &s.job_template.spec.template.sources);
        Cow::Borrowed(sources.map_or(&[][..], Vec::as_slice))
    }
    fn template_fingerprint(&self) -> Option<Cow<'_, str>> {
        let template = &self.spec.as_ref()?.job_template.spec.template;
        template.fingerprint.as_deref().map(Cow::Borrowed)
    }
    fn template_policy(&self) -> Cow<'_, BTreeMap<String, String>> {
        match &self.spec {
            Some(spec) => Cow::Borrowed(&spec.job_template.spec.template.policy),
            None => Cow::Owned(BTreeMap::new()),
        }
    }
}

impl Workload for CronJob {
    const KIND: WorkloadKind = WorkloadKind::CronJob;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template_hash(&self) -> Option<&str> {
        TemplateView::template_hash_of(
            self.spec
                .as_ref()?
                .job_template
                .spec
                .as_ref()?
                .template
                .metadata
                .as_ref()?,
        )
    }
    fn source_refs(&self) -> Cow<'_, [SourceRef]> {
        let template = self
            .spec
            .as_ref()
            .and_then(|s| s.job_template.spec.as_ref())
            .map(|s| &s.template);
        Cow::Owned(
            template
                .map(|t| TemplateView::of(t).sources)
                .unwrap_or_default(),
        )
    }
    fn template_fingerprint(&self) -> Option<Cow<'_, str>> {
        let template = &self.spec.as_ref()?.job_template.spec.as_ref()?.template;
        Some(Cow::Owned(crate::hash::template_fingerprint(template)))
    }
    fn template_policy(&self) -> Cow<'_, BTreeMap<String, String>> {
        let spec = self
            .spec
            .as_ref()
            .and_then(|s| s.job_template.spec.as_ref());
        Cow::Owned(
            spec.map(|s| crate::workload::template_policy(&s.template))
                .unwrap_or_default(),
        )
    }
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
            fn template_policy(&self) -> Cow<'_, BTreeMap<String, String>> {
                match &self.spec {
                    Some(spec) => Cow::Borrowed(&spec.template.policy),
                    None => Cow::Owned(BTreeMap::new()),
                }
            }
        }
    )*};
}

workload_for_view!(
    DeploymentView => Deployment,
    StatefulSetView => StatefulSet,
    DaemonSetView => DaemonSet,
    RolloutView => Rollout
);
