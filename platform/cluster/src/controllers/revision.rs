//! ControllerRevisions for StatefulSets and DaemonSets: one immutable snapshot per pod template, named
//! `<owner>-<hash>`, numbered in creation order, holding `{"spec": {"template": ..., "$patch": "replace"}}` like the
//! real controllers store it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use super::hash::template_hash;
use super::pods::{self, controller_ref};
use super::write::{self, CONTROLLER_MANAGER};

/// Label on pods (and revisions) naming the revision of their template.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";

/// The hash of a workload's pod template.
pub fn revision_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    template_hash(template, collision_count)
}

/// A new ControllerRevision of `template` for the owner.
pub fn build_revision(
    kind: &str,
    owner: &ObjectMeta,
    template: &PodTemplateSpec,
    hash: &str,
    number: i64,
) -> Option<ControllerRevision> {
    let name = owner.name.as_deref()?;
    let uid = owner.uid.as_deref()?;
    let mut data = serde_json::to_value(template).ok()?;
    if let Some(map) = data.as_object_mut() {
        map.insert("$patch".into(), json!("replace"));
    }
    let labels = pods::template_labels(template, &[(CONTROLLER_REVISION_HASH, hash)]);
    Some(ControllerRevision {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}")),
            namespace: owner.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![controller_ref(kind, name, uid)]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(json!({"spec": {"template": data}}))),
        revision: number,
    })
}

/// The pod template stored in a revision, if it can be read back.
pub fn stored_template(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut template = revision
        .data
        .as_ref()?
        .0
        .get("spec")?
        .get("template")?
        .clone();
    if let Some(map) = template.as_object_mut() {
        map.remove("$patch");
    }
    serde_json::from_value(template).ok()
}

/// Revisions beyond `limit` that no pod or status uses, oldest first.
pub fn revisions_to_prune(
    revisions: &[ControllerRevision],
    in_use: &[&str],
    limit: i32,
) -> Vec<String> {
    let mut unused: Vec<&ControllerRevision> = revisions
        .iter()
        .filter(|r| !in_use.contains(&r.name_any().as_str()))
        .collect();
    unused.sort_by_key(|r| r.revision);
    let excess = unused
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(0));
    unused.iter().take(excess).map(|r| r.name_any()).collect()
}

/// The revisions of one owner, and the one for its current template, created if missing.
pub struct Revisions {
    /// Every revision the owner controls, including `update`.
    pub all: Vec<ControllerRevision>,
    /// The revision of the current template.
    pub update: ControllerRevision,
}

/// Lists the owner's revisions and creates the one for `template` if it does not exist yet.
///
/// # Errors
/// The list or the create failed; an AlreadyExists is answered by reading the existing revision.
pub async fn ensure_revision(
    api: &Api<ControllerRevision>,
    kind: &str,
    owner: &ObjectMeta,
    template: &PodTemplateSpec,
    collision_count: Option<i32>,
) -> kube::Result<Option<Revisions>> {
    let uid = owner.uid.clone().unwrap_or_default();
    let listed = api.list(&ListParams::default()).await?;
    let mut all: Vec<ControllerRevision> = listed
        .items
        .into_iter()
        .filter(|r| pods::is_controlled_by(&r.metadata, &uid))
        .collect();
    let hash = revision_hash(template, collision_count);
    let wanted = format!("{}-{hash}", owner.name.as_deref().unwrap_or_default());
    if let Some(update) = all.iter().find(|r| r.name_any() == wanted).cloned() {
        return Ok(Some(Revisions { all, update }));
    }
    let number = all.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let Some(revision) = build_revision(kind, owner, template, &hash, number) else {
        return Ok(None);
    };
    let params = PostParams {
        field_manager: Some(CONTROLLER_MANAGER.to_string()),
        ..PostParams::default()
    };
    let update = match api.create(&params, &revision).await {
        Err(error) if write::is_already_exists(&error) => api.get(&wanted).await?,
        other => other?,
    };
    all.push(update.clone());
    Ok(Some(Revisions { all, update }))
}

/// Labels of the revision's hash, as a map to merge into pod labels.
pub fn hash_of(revision: &ControllerRevision) -> Option<String> {
    revision.labels().get(CONTROLLER_REVISION_HASH).cloned()
}

/// The number of each revision by name.
pub fn numbers(revisions: &[ControllerRevision]) -> BTreeMap<String, i64> {
    revisions
        .iter()
        .map(|r| (r.name_any(), r.revision))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(image: &str) -> PodTemplateSpec {
        serde_json::from_value(json!({
            "metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": image}]}
        }))
        .unwrap_or_default()
    }

    fn owner() -> ObjectMeta {
        ObjectMeta {
            name: Some("db".into()),
            namespace: Some("ns".into()),
            uid: Some("uid-db".into()),
            ..Default::default()
        }
    }

    #[test]
    fn revisions_round_trip_their_template() {
        let hash = revision_hash(&template("postgres:16"), None);
        let revision = build_revision("StatefulSet", &owner(), &template("postgres:16"), &hash, 3)
            .unwrap_or_default();
        assert_eq!(revision.name_any(), format!("db-{hash}"));
        assert_eq!(revision.revision, 3);
        assert_eq!(hash_of(&revision), Some(hash));
        assert!(pods::is_controlled_by(&revision.metadata, "uid-db"));
        assert_eq!(stored_template(&revision), Some(template("postgres:16")));
        let data = revision.data.map(|d| d.0).unwrap_or_default();
        assert_eq!(data["spec"]["template"]["$patch"], json!("replace"));
    }

    #[test]
    fn pruning_keeps_revisions_in_use_and_the_newest() {
        let mk = |image: &str, n: i64| {
            let hash = revision_hash(&template(image), None);
            build_revision("StatefulSet", &owner(), &template(image), &hash, n).unwrap_or_default()
        };
        let revisions = [mk("a", 1), mk("b", 2), mk("c", 3), mk("d", 4)];
        let in_use = revisions[3].name_any();
        let pruned = revisions_to_prune(&revisions, &[in_use.as_str()], 1);
        assert_eq!(
            pruned,
            vec![revisions[0].name_any(), revisions[1].name_any()]
        );
    }
}
