use configsync_crds::annotations as keys;
use configsync_crds::{SourceKind::ConfigMap, SourceKind::Secret, WorkloadKind};
use serde_json::json;

use super::*;
use crate::fixtures::{mk_deployment, mk_pod_spec};
use crate::workload::{Workload, follow};

fn changed(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

fn apply(index: &mut RefIndex, deployment: &k8s_openapi::api::apps::v1::Deployment) -> WorkloadRef {
    let sources = follow(deployment, false)
        .unwrap()
        .map(|f| f.sources)
        .unwrap_or_default();
    let workload = deployment.workload_ref();
    index.apply_workload(workload.clone(), &sources);
    workload
}

fn names(set: &BTreeSet<WorkloadRef>) -> Vec<&str> {
    set.iter().map(|w| w.name.as_str()).collect()
}

#[test]
fn a_source_change_reaches_exactly_its_consumers() {
    let mut index = RefIndex::default();
    let auto = [(keys::AUTO, "true")];
    apply(
        &mut index,
        &mk_deployment(
            "ns",
            "web",
            &auto,
            mk_pod_spec(&["shared", "web-only"], &[]),
        ),
    );
    apply(
        &mut index,
        &mk_deployment("ns", "api", &auto, mk_pod_spec(&["shared"], &[])),
    );
    apply(
        &mut index,
        &mk_deployment("other", "web", &auto, mk_pod_spec(&["shared"], &[])),
    );
    apply(
        &mut index,
        &mk_deployment("ns", "unannotated", &[], mk_pod_spec(&["shared"], &[])),
    );
    assert_eq!(
        names(&index.affected("ns", ConfigMap, "shared")),
        ["api", "web"]
    );
    assert_eq!(names(&index.affected("ns", ConfigMap, "web-only")), ["web"]);
    assert_eq!(
        names(&index.affected("other", ConfigMap, "shared")),
        ["web"]
    );
    assert!(
        index.affected("ns", Secret, "shared").is_empty(),
        "kinds are distinct"
    );
    assert!(index.affected("ns", ConfigMap, "nobody").is_empty());
    assert_eq!(index.workload_count(), 3);
    assert_eq!(index.source_count(), 3);
}

#[test]
fn key_level_affected_set() {
    let mut index = RefIndex::default();
    let auto = [(keys::AUTO, "true")];
    apply(
        &mut index,
        &mk_deployment("ns", "reads-a", &auto, mk_pod_spec(&[], &[("jumbo", "a")])),
    );
    apply(
        &mut index,
        &mk_deployment("ns", "reads-b", &auto, mk_pod_spec(&[], &[("jumbo", "b")])),
    );
    apply(
        &mut index,
        &mk_deployment("ns", "reads-all", &auto, mk_pod_spec(&["jumbo"], &[])),
    );
    assert_eq!(
        names(&index.affected_by_keys("ns", ConfigMap, "jumbo", &changed(&["a"]))),
        ["reads-a", "reads-all"]
    );
    assert_eq!(
        names(&index.affected_by_keys("ns", ConfigMap, "jumbo", &changed(&["c"]))),
        ["reads-all"]
    );
    assert!(
        index
            .affected_by_keys("ns", ConfigMap, "jumbo", &changed(&[]))
            .is_empty()
    );
    assert_eq!(index.affected("ns", ConfigMap, "jumbo").len(), 3);
}

#[test]
fn reapplying_replaces_old_references() {
    let mut index = RefIndex::default();
    let auto = [(keys::AUTO, "true")];
    let w = apply(
        &mut index,
        &mk_deployment("ns", "web", &auto, mk_pod_spec(&["old"], &[])),
    );
    apply(
        &mut index,
        &mk_deployment("ns", "web", &auto, mk_pod_spec(&["new"], &[])),
    );
    assert!(index.affected("ns", ConfigMap, "old").is_empty());
    assert_eq!(names(&index.affected("ns", ConfigMap, "new")), ["web"]);
    assert_eq!(
        index
            .sources_of(&w)
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>(),
        ["new"]
    );
    assert_eq!(index.source_count(), 1, "empty entries are dropped");
    // Removing the opt-in removes the workload.
    apply(
        &mut index,
        &mk_deployment("ns", "web", &[], mk_pod_spec(&["new"], &[])),
    );
    assert_eq!(index.workload_count(), 0);
    assert_eq!(index.source_count(), 0);
}

#[test]
fn delete_workload_forgets_it() {
    let mut index = RefIndex::default();
    let auto = [(keys::AUTO, "true")];
    let web = apply(
        &mut index,
        &mk_deployment("ns", "web", &auto, mk_pod_spec(&["shared"], &[])),
    );
    apply(
        &mut index,
        &mk_deployment("ns", "api", &auto, mk_pod_spec(&["shared"], &[])),
    );
    index.delete_workload(&web);
    index.delete_workload(&web);
    assert_eq!(names(&index.affected("ns", ConfigMap, "shared")), ["api"]);
    assert_eq!(index.workload_count(), 1);
}

#[test]
fn named_extra_sources_and_excludes_are_honoured() {
    let mut index = RefIndex::default();
    let annotations = [
        (keys::AUTO, "true"),
        (keys::EXCLUDE_CONFIGMAPS, "noisy"),
        (keys::SECRETS, "extra-secret"),
        (keys::wave::EXTRA_CONFIGMAPS, "wave-extra"),
    ];
    apply(
        &mut index,
        &mk_deployment(
            "ns",
            "web",
            &annotations,
            mk_pod_spec(&["app", "noisy"], &[]),
        ),
    );
    assert_eq!(names(&index.affected("ns", ConfigMap, "app")), ["web"]);
    assert!(index.affected("ns", ConfigMap, "noisy").is_empty());
    assert_eq!(
        names(&index.affected("ns", Secret, "extra-secret")),
        ["web"]
    );
    assert_eq!(
        names(&index.affected_by_keys("ns", ConfigMap, "wave-extra", &changed(&["any"]))),
        ["web"]
    );
}

#[test]
fn typed_reloader_auto_only_indexes_its_kind() {
    let mut index = RefIndex::default();
    let spec = json!({"containers": [{"name": "app", "envFrom": [
        {"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "s"}}]}]});
    let d = mk_deployment("ns", "web", &[(keys::reloader::SECRET_AUTO, "true")], spec);
    let w = apply(&mut index, &d);
    assert_eq!(w.kind, WorkloadKind::Deployment);
    assert!(index.affected("ns", ConfigMap, "cm").is_empty());
    assert_eq!(names(&index.affected("ns", Secret, "s")), ["web"]);
}

#[test]
fn projected_and_init_container_refs_are_indexed() {
    let mut index = RefIndex::default();
    let spec = json!({
        "containers": [{"name": "app"}],
        "initContainers": [{"name": "init", "env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "init-secret", "key": "x"}}}]}],
        "volumes": [{"name": "p", "projected": {"sources": [{"configMap": {"name": "proj",
            "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}],
    });
    apply(
        &mut index,
        &mk_deployment("ns", "web", &[(keys::AUTO, "true")], spec),
    );
    assert_eq!(
        names(&index.affected_by_keys("ns", Secret, "init-secret", &changed(&["x"]))),
        ["web"]
    );
    assert_eq!(
        names(&index.affected_by_keys("ns", ConfigMap, "proj", &changed(&["ca.crt"]))),
        ["web"]
    );
    assert!(
        index
            .affected_by_keys("ns", ConfigMap, "proj", &changed(&["other"]))
            .is_empty()
    );
}
