use super::*;
use crate::controllers::testutil::{mk_deployment, mk_rs};

fn rs_for(deployment: &Deployment, revision: i64, replicas: i32) -> ReplicaSet {
    let mut rs = build_new_replicaset(deployment, revision, replicas).unwrap_or_default();
    rs.metadata.uid = Some(format!("uid-{}", rs.name_any()));
    rs
}

#[test]
fn new_replicaset_carries_hash_owner_and_annotations() {
    let deployment = mk_deployment(3, "nginx");
    let rs = rs_for(&deployment, 4, 1);
    let hash = template_hash(&deployment.spec.as_ref().map(|s| s.template.clone()), None);
    assert_eq!(rs.name_any(), format!("web-{hash}"));
    assert_eq!(rs.labels().get(POD_TEMPLATE_HASH), Some(&hash));
    let spec = rs.spec.clone().unwrap_or_default();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(
        spec.selector
            .match_labels
            .unwrap_or_default()
            .get(POD_TEMPLATE_HASH),
        Some(&hash)
    );
    let template_labels = spec
        .template
        .and_then(|t| t.metadata)
        .and_then(|m| m.labels)
        .unwrap_or_default();
    assert_eq!(template_labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(template_labels.get(POD_TEMPLATE_HASH), Some(&hash));
    assert!(pods::is_controlled_by(&rs.metadata, "uid-web"));
    let annotations = rs.annotations();
    assert_eq!(annotations.get(REVISION).map(String::as_str), Some("4"));
    assert_eq!(
        annotations.get(DESIRED_REPLICAS).map(String::as_str),
        Some("3")
    );
    assert_eq!(annotations.get(MAX_REPLICAS).map(String::as_str), Some("4"));
}

#[test]
fn template_hash_follows_the_template_only() {
    let a = rs_for(&mk_deployment(3, "nginx"), 1, 3);
    let b = rs_for(&mk_deployment(5, "nginx"), 2, 5);
    let c = rs_for(&mk_deployment(3, "nginx:2"), 1, 3);
    assert_eq!(a.name_any(), b.name_any());
    assert_ne!(a.name_any(), c.name_any());
}

#[test]
fn split_finds_the_replicaset_of_the_current_template() {
    let old_deployment = mk_deployment(3, "nginx:1");
    let deployment = mk_deployment(3, "nginx:2");
    let old = rs_for(&old_deployment, 1, 3);
    let new = rs_for(&deployment, 2, 1);
    let (found, rest) = split_replicasets(&deployment, vec![new.clone(), old.clone()]);
    assert_eq!(found.map(|rs| rs.name_any()), Some(new.name_any()));
    assert_eq!(
        rest.iter().map(|rs| rs.name_any()).collect::<Vec<_>>(),
        vec![old.name_any()]
    );
    let (none, _) = split_replicasets(&mk_deployment(3, "nginx:3"), vec![old, new]);
    assert!(none.is_none());
}

#[test]
fn rollout_restart_annotation_makes_a_new_template() {
    let deployment = mk_deployment(3, "nginx");
    let current = rs_for(&deployment, 1, 3);
    let mut restarted = deployment.clone();
    if let Some(spec) = restarted.spec.as_mut() {
        let meta = spec.template.metadata.get_or_insert_with(Default::default);
        meta.annotations = Some(
            [(
                "kubectl.kubernetes.io/restartedAt".into(),
                "2026-01-01T00:00:00Z".into(),
            )]
            .into(),
        );
    }
    let (found, _) = split_replicasets(&restarted, vec![current]);
    assert!(found.is_none());
}

#[test]
fn initial_size_respects_surge_and_recreate_draining() {
    let deployment = mk_deployment(4, "nginx:2");
    assert_eq!(initial_replicas(&deployment, &[]), Some(4));
    assert_eq!(
        initial_replicas(&deployment, &[mk_rs("old", 4, 4, 4, 1)]),
        Some(1)
    );
    let mut recreate = deployment.clone();
    if let Some(spec) = recreate.spec.as_mut() {
        spec.strategy = Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
    }
    assert_eq!(
        initial_replicas(&recreate, &[mk_rs("old", 4, 4, 4, 1)]),
        None
    );
    assert_eq!(
        initial_replicas(&recreate, &[mk_rs("old", 0, 0, 0, 1)]),
        Some(4)
    );
    assert_eq!(
        scale_down_before_create(&[mk_rs("old", 4, 4, 4, 1)]),
        vec![Scale {
            name: "old".into(),
            replicas: 0
        }]
    );
}

#[test]
fn history_beyond_the_limit_is_pruned_oldest_first() {
    let mut deployment = mk_deployment(3, "nginx");
    if let Some(spec) = deployment.spec.as_mut() {
        spec.revision_history_limit = Some(1);
    }
    let old = [
        mk_rs("a", 0, 0, 0, 1),
        mk_rs("b", 0, 0, 0, 2),
        mk_rs("busy", 2, 2, 2, 3),
        mk_rs("c", 0, 0, 0, 4),
    ];
    assert_eq!(
        history_to_delete(&deployment, &old),
        vec!["a".to_string(), "b".to_string()]
    );
}

#[test]
fn scale_patch_records_the_deployment_size() {
    let patch = scale_patch(&mk_deployment(4, "nginx"), 2);
    assert_eq!(
        patch,
        json!({"metadata": {"annotations": {DESIRED_REPLICAS: "4", MAX_REPLICAS: "5"}}, "spec": {"replicas": 2}})
    );
}

#[test]
fn malformed_revision_reads_as_zero() {
    let mut meta = ObjectMeta::default();
    assert_eq!(revision(&meta), 0);
    meta.annotations = Some([(REVISION.to_string(), "x".to_string())].into());
    assert_eq!(revision(&meta), 0);
    meta.annotations = Some([(REVISION.to_string(), "7".to_string())].into());
    assert_eq!(revision(&meta), 7);
}

#[test]
fn paused_deployments_scale_but_do_not_roll() {
    let new = mk_rs("new", 2, 2, 2, 2);
    let old = mk_rs("old", 0, 0, 0, 1);
    assert_eq!(
        scale_while_paused(4, Some(&new), std::slice::from_ref(&old)),
        vec![Scale {
            name: "new".into(),
            replicas: 4
        }]
    );
    let rolling_old = mk_rs("old", 2, 2, 2, 1);
    assert!(scale_while_paused(4, Some(&new), &[rolling_old]).is_empty());
    assert!(scale_while_paused(4, None, &[old]).is_empty());
}
