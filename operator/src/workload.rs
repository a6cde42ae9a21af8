//! The workloads configsync rolls (Deployment, StatefulSet, DaemonSet) behind one read-only view.
//!
//! The pure modules only need four things from a workload: who it is ([`WorkloadRef`]), its metadata
//! annotations (the opt-in and the `observed-hash` record), its pod template's annotations (the live
//! `config-hash`) and the sources its pod spec consumes. [`Workload`] gives exactly that for the three kinds,
//! both for the k8s-openapi types and for the lean views the watches decode ([`crate::lean`], which keep a
//! [`TemplateView`] instead of the pod template).
use std::borrow::Cow;
use std::collections::BTreeMap;

use configsync_crds::WorkloadKind;
use configsync_crds::annotations::{
    CONFIG_HASH, LAST_ROLLOUT, OBSERVED_HASH, OBSERVED_TEMPLATE, RECORD_LABEL,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::annotations::{self, WorkloadPolicy, parse_policy};
use crate::hash::template_fingerprint;
use crate::refs::{SourceRef, source_refs};

/// One workload, by kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadRef {
    /// Deployment, StatefulSet or DaemonSet.
    pub kind: WorkloadKind,
    /// The workload's namespace.
    pub namespace: String,
    /// The workload's name.
    pub name: String,
}

impl WorkloadRef {
    /// A reference from its parts.
    pub fn new(kind: WorkloadKind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

static EMPTY: BTreeMap<String, String> = BTreeMap::new();

/// Read-only access to what the pure modules need from a Deployment, StatefulSet or DaemonSet: the
/// k8s-openapi types, and the lean views the watches decode ([`crate::lean`]).
pub trait Workload {
    /// The workload's kind.
    const KIND: WorkloadKind;
    /// The workload's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The live pod-template `configsync.dev/config-hash`.
    fn template_hash(&self) -> Option<&str>;
    /// Every source the pod template consumes ([`source_refs`]; empty without a pod spec).
    fn source_refs(&self) -> Cow<'_, [SourceRef]>;
    /// The pod template's [`crate::hash::template_fingerprint`] (`None` without a template).
    fn template_fingerprint(&self) -> Option<Cow<'_, str>>;
    /// The pod template's policy annotations (Reloader's and wave's opt-ins may sit there).
    fn template_policy(&self) -> Cow<'_, BTreeMap<String, String>>;

    /// Kind, namespace and name (empty strings when the object lacks them).
    fn workload_ref(&self) -> WorkloadRef {
        let meta = self.meta();
        let namespace = meta.namespace.clone().unwrap_or_default();
        WorkloadRef::new(Self::KIND, namespace, meta.name.clone().unwrap_or_default())
    }

    /// The workload's own annotations (opt-in, policy, `observed-hash`).
    fn annotations(&self) -> &BTreeMap<String, String> {
        self.meta().annotations.as_ref().unwrap_or(&EMPTY)
    }

    /// The metadata `configsync.dev/observed-hash` record.
    fn observed_hash(&self) -> Option<&str> {
        self.annotations().get(OBSERVED_HASH).map(String::as_str)
    }

    /// The metadata `configsync.dev/observed-template` record: the template fingerprint the record saw.
    fn observed_template(&self) -> Option<&str> {
        self.annotations()
            .get(OBSERVED_TEMPLATE)
            .map(String::as_str)
    }

    /// The metadata `configsync.dev/last-rollout` annotation, as written (parse it with
    /// [`crate::plan::last_rollout::LastRollout::parse`]).
    fn last_rollout(&self) -> Option<&str> {
        self.annotations().get(LAST_ROLLOUT).map(String::as_str)
    }

    /// The metadata label `configsync.dev/observed-hash`: the record's short form.
    fn record_label(&self) -> Option<&str> {
        let labels = self.meta().labels.as_ref()?;
        labels.get(RECORD_LABEL).map(String::as_str)
    }
}

/// A pod template reduced to what the operator reads: its `config-hash` and the sources it consumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateView {
    /// The pod-template `configsync.dev/config-hash`.
    pub config_hash: Option<String>,
    /// [`source_refs`] of the pod spec.
    pub sources: Vec<SourceRef>,
    /// [`crate::hash::template_fingerprint`] of the template.
    pub fingerprint: Option<String>,
    /// The template's policy annotations ([`annotations::is_policy_key`]): opt-ins set there count too.
    pub policy: BTreeMap<String, String>,
}

impl TemplateView {
    /// The `config-hash` of a pod template's metadata.
    pub fn template_hash_of(meta: &ObjectMeta) -> Option<&str> {
        meta.annotations
            .as_ref()?
            .get(CONFIG_HASH)
            .map(String::as_str)
    }

    /// Reduce a pod template.
    pub fn of(template: &PodTemplateSpec) -> Self {
        Self {
            config_hash: template_hash(Some(template)).map(str::to_owned),
            sources: template.spec.as_ref().map(source_refs).unwrap_or_default(),
            fingerprint: Some(template_fingerprint(template)),
            policy: template_policy(template),
        }
    }
}

/// The policy annotations of a pod template.
pub fn template_policy(template: &PodTemplateSpec) -> BTreeMap<String, String> {
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref());
    annotations
        .into_iter()
        .flatten()
        .filter(|(k, _)| annotations::is_policy_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn template_hash(template: Option<&PodTemplateSpec>) -> Option<&str> {
    let annotations = template?.metadata.as_ref()?.annotations.as_ref()?;
    annotations.get(CONFIG_HASH).map(String::as_str)
}

fn template_refs(template: Option<&PodTemplateSpec>) -> Cow<'_, [SourceRef]> {
    let spec = template.and_then(|t| t.spec.as_ref());
    Cow::Owned(spec.map(source_refs).unwrap_or_default())
}

macro_rules! workload_for_openapi {
    ($($kind:ident),*) => {$(
        impl Workload for $kind {
            const KIND: WorkloadKind = WorkloadKind::$kind;
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn template_hash(&self) -> Option<&str> {
                template_hash(self.spec.as_ref().map(|s| &s.template))
            }
            fn source_refs(&self) -> Cow<'_, [SourceRef]> {
                template_refs(self.spec.as_ref().map(|s| &s.template))
            }
            fn template_fingerprint(&self) -> Option<Cow<'_, str>> {
                let template = &self.spec.as_ref()?.template;
                Some(Cow::Owned(template_fingerprint(template)))
            }
            fn template_policy(&self) -> Cow<'_, BTreeMap<String, String>> {
                let template = self.spec.as_ref().map(|s| template_policy(&s.template));
                Cow::Owned(template.unwrap_or_default())
            }
        }
    )*};
}

workload_for_openapi!(Deployment, StatefulSet, DaemonSet);

/// A followed workload's policy and the sources it follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followed {
    /// The parsed annotations.
    pub policy: WorkloadPolicy,
    /// The sources that count, merged and sorted: what the index records and the hash covers.
    pub sources: Vec<SourceRef>,
}

/// Parse the workload's annotations and pick the sources they follow. `Ok(None)`: not followed.
///
/// # Errors
/// [`annotations::Error::ParsePolicy`] naming every malformed annotation (for a Warning Event).
pub fn follow<W: Workload>(
    workload: &W,
    auto_all: bool,
) -> Result<Option<Followed>, annotations::Error> {
    let merged =
        annotations::policy_annotations(workload.annotations(), &workload.template_policy());
    let Some(policy) = parse_policy(&merged, auto_all)? else {
        return Ok(None);
    };
    let namespace = workload.meta().namespace.as_deref().unwrap_or_default();
    let policy = policy.resolve_namespaces(namespace)?;
    let sources = policy.followed_sources(&workload.source_refs());
    Ok(Some(Followed { policy, sources }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::refs::SourceId;

    #[test]
    fn reads_hashes_and_refs_from_each_kind() {
        let body = json!({
            "metadata": {"name": "web", "namespace": "prod", "annotations": {OBSERVED_HASH: "v1:aa"}},
            "spec": {"selector": {}, "template": {
                "metadata": {"annotations": {CONFIG_HASH: "v1:bb"}},
                "spec": {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cm"}}]}]}}}
        });
        let deployment: Deployment = serde_json::from_value(body.clone()).unwrap();
        let statefulset: StatefulSet = serde_json::from_value(body.clone()).unwrap();
        let daemonset: DaemonSet = serde_json::from_value(body).unwrap();
        assert_eq!(
            deployment.workload_ref(),
            WorkloadRef::new(WorkloadKind::Deployment, "prod", "web")
        );
        assert_eq!(statefulset.workload_ref().kind, WorkloadKind::StatefulSet);
        assert_eq!(daemonset.workload_ref().kind, WorkloadKind::DaemonSet);
        for (observed, template, refs) in [
            (
                deployment.observed_hash(),
                deployment.template_hash(),
                deployment.source_refs(),
            ),
            (
                statefulset.observed_hash(),
                statefulset.template_hash(),
                statefulset.source_refs(),
            ),
            (
                daemonset.observed_hash(),
                daemonset.template_hash(),
                daemonset.source_refs(),
            ),
        ] {
            assert_eq!(observed, Some("v1:aa"));
            assert_eq!(template, Some("v1:bb"));
            assert_eq!(refs.len(), 1);
            assert_eq!(refs[0].id, SourceId::config_map("cm"));
        }
    }

    #[test]
    fn bare_object_has_no_hashes() {
        let deployment = Deployment::default();
        assert_eq!(deployment.template_hash(), None);
        assert_eq!(deployment.observed_hash(), None);
        assert!(deployment.annotations().is_empty());
        assert!(deployment.source_refs().is_empty());
    }
}
