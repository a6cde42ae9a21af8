//! The workloads configsync rolls (Deployment, StatefulSet, DaemonSet) behind one read-only view.
//!
//! The pure modules only need four things from a workload: who it is ([`WorkloadRef`]), its metadata
//! annotations (the opt-in and the `observed-hash` record), its pod template's annotations (the live
//! `config-hash`) and its pod spec (the references). [`Workload`] gives exactly that for the three kinds.
use std::collections::BTreeMap;

use configsync_crds::WorkloadKind;
use configsync_crds::annotations::{CONFIG_HASH, OBSERVED_HASH};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::annotations::{self, WorkloadPolicy, parse_policy};
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

/// Read-only access to what the pure modules need from a Deployment, StatefulSet or DaemonSet.
pub trait Workload {
    /// The workload's kind.
    const KIND: WorkloadKind;
    /// The workload's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The pod template, if the object has a spec.
    fn template(&self) -> Option<&PodTemplateSpec>;

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

    /// The pod spec, if any.
    fn pod_spec(&self) -> Option<&PodSpec> {
        self.template().and_then(|t| t.spec.as_ref())
    }

    /// The live pod-template `configsync.dev/config-hash`.
    fn template_hash(&self) -> Option<&str> {
        let annotations = self.template()?.metadata.as_ref()?.annotations.as_ref()?;
        annotations.get(CONFIG_HASH).map(String::as_str)
    }

    /// The metadata `configsync.dev/observed-hash` record.
    fn observed_hash(&self) -> Option<&str> {
        self.annotations().get(OBSERVED_HASH).map(String::as_str)
    }
}

impl Workload for Deployment {
    const KIND: WorkloadKind = WorkloadKind::Deployment;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

impl Workload for StatefulSet {
    const KIND: WorkloadKind = WorkloadKind::StatefulSet;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

impl Workload for DaemonSet {
    const KIND: WorkloadKind = WorkloadKind::DaemonSet;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

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
    let Some(policy) = parse_policy(workload.annotations(), auto_all)? else {
        return Ok(None);
    };
    let refs = workload.pod_spec().map(source_refs).unwrap_or_default();
    let sources = policy.followed_sources(&refs);
    Ok(Some(Followed { policy, sources }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
        for (observed, template, spec) in [
            (
                deployment.observed_hash(),
                deployment.template_hash(),
                deployment.pod_spec(),
            ),
            (
                statefulset.observed_hash(),
                statefulset.template_hash(),
                statefulset.pod_spec(),
            ),
            (
                daemonset.observed_hash(),
                daemonset.template_hash(),
                daemonset.pod_spec(),
            ),
        ] {
            assert_eq!(observed, Some("v1:aa"));
            assert_eq!(template, Some("v1:bb"));
            assert_eq!(spec.map(|s| s.containers.len()), Some(1));
        }
    }

    #[test]
    fn bare_object_has_no_hashes() {
        let deployment = Deployment::default();
        assert_eq!(deployment.template_hash(), None);
        assert_eq!(deployment.observed_hash(), None);
        assert!(deployment.annotations().is_empty());
        assert!(deployment.pod_spec().is_none());
    }
}
