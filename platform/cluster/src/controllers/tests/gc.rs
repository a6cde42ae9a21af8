use super::*;
use crate::controllers::pods::controller_ref;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

fn node(kind: Kind, name: &str, owner: Option<(&str, &str)>) -> Node {
    Node {
        kind,
        meta: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("7".into()),
            owner_references: owner
                .map(|(kind, owner)| vec![controller_ref(kind, owner, &format!("uid-{owner}"))]),
            ..ObjectMeta::default()
        },
    }
}

fn deleting(mut node: Node, finalizer: &str) -> Node {
    node.meta.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
    node.meta.finalizers = Some(vec![finalizer.into()]);
    node
}

fn delete(kind: Kind, name: &str) -> GcAction {
    GcAction::Delete {
        kind,
        namespace: "ns".into(),
        name: name.into(),
    }
}

#[test]
fn dependents_of_a_deleted_owner_are_collected_level_by_level() {
    let rs = node(Kind::ReplicaSet, "web-abc", Some(("Deployment", "web")));
    let pod = node(Kind::Pod, "web-abc-x", Some(("ReplicaSet", "web-abc")));
    // The Deployment is gone: its ReplicaSet goes; the pod's owner still exists.
    let actions = plan(&[rs.clone(), pod.clone()], std::slice::from_ref(&rs));
    assert_eq!(actions, vec![delete(Kind::ReplicaSet, "web-abc")]);
    // Then the ReplicaSet is gone: the pod goes.
    assert_eq!(
        plan(std::slice::from_ref(&pod), &[]),
        vec![delete(Kind::Pod, "web-abc-x")]
    );
}

#[test]
fn live_owners_unknown_owner_kinds_and_unowned_objects_are_kept() {
    let deployment = node(Kind::Deployment, "web", None);
    let rs = node(Kind::ReplicaSet, "web-abc", Some(("Deployment", "web")));
    let mut foreign = node(Kind::Pod, "job-pod", None);
    foreign.meta.owner_references = Some(vec![OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        uid: "gone".into(),
        ..Default::default()
    }]);
    let bare = node(Kind::Pod, "bare", None);
    assert!(plan(&[rs.clone(), foreign, bare], &[deployment, rs]).is_empty());
}

#[test]
fn terminating_dependents_are_not_deleted_twice() {
    let mut pod = node(Kind::Pod, "web-abc-x", Some(("ReplicaSet", "web-abc")));
    pod.meta.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
    assert!(plan(&[pod], &[]).is_empty());
}

#[test]
fn foreground_deletion_deletes_dependents_then_drops_the_finalizer() {
    let owner = deleting(node(Kind::Deployment, "web", None), FOREGROUND);
    let rs = node(Kind::ReplicaSet, "web-abc", Some(("Deployment", "web")));
    assert_eq!(
        plan(std::slice::from_ref(&rs), std::slice::from_ref(&owner)),
        vec![delete(Kind::ReplicaSet, "web-abc")]
    );
    let actions = plan(&[], std::slice::from_ref(&owner));
    assert_eq!(
        actions,
        vec![GcAction::RemoveFinalizer {
            kind: Kind::Deployment,
            namespace: "ns".into(),
            name: "web".into(),
            finalizers: vec![],
            resource_version: "7".into()
        }]
    );
}

#[test]
fn orphan_deletion_releases_dependents_then_drops_the_finalizer() {
    let owner = deleting(node(Kind::Deployment, "web", None), ORPHAN);
    let rs = node(Kind::ReplicaSet, "web-abc", Some(("Deployment", "web")));
    let actions = plan(std::slice::from_ref(&rs), std::slice::from_ref(&owner));
    assert_eq!(actions.len(), 2);
    assert_eq!(
        actions[0],
        GcAction::SetOwners {
            kind: Kind::ReplicaSet,
            namespace: "ns".into(),
            name: "web-abc".into(),
            owners: vec![]
        }
    );
    assert!(
        matches!(&actions[1], GcAction::RemoveFinalizer { finalizers, .. } if finalizers.is_empty())
    );
}
