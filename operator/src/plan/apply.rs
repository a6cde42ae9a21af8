//! The server-side-apply body for a decision: the smallest object that says what configsync owns.
//!
//! ```text
//!  apiVersion: apps/v1 | batch/v1 | argoproj.io/v1alpha1
//!  kind: Deployment | StatefulSet | DaemonSet | CronJob | Rollout
//!  metadata: {name, namespace, annotations: {configsync.dev/observed-hash: <record>,
//!             configsync.dev/observed-template: <template fingerprint>,    (the fingerprint when known)
//!             configsync.dev/last-rollout: <time and cause>},  (a rollout's new one, else the live one)
//!            labels: {configsync.dev/observed-hash: <first 12 hex digits of the record>}}
//!  spec: {template: {metadata: {annotations: {configsync.dev/config-hash: <hash>}}}}   (only when one exists;
//!         a CronJob's is spec.jobTemplate.spec.template, so the next Job gets it)
//! ```
//! It is sent with field manager `configsync`, forced, so configsync owns exactly these fields and nothing
//! else. Server-side apply removes fields a manager stops sending, so a body that only updates the record
//! still carries the live template hash (dropping it would change the template and roll the pods) and the
//! live `last-rollout` (dropping it would forget the last rollout).
use configsync_crds::annotations::{
    CONFIG_HASH, FIELD_MANAGER, LAST_ROLLOUT, OBSERVED_HASH, OBSERVED_TEMPLATE, RECORD_LABEL,
};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::last_rollout::LastRollout;
use super::{Decision, Live};
use crate::workload::WorkloadRef;

/// The apply body for `decision`, or `None` when nothing is sent (Nothing, Warn). `rollout` is the record of
/// this decision's rollout ([`LastRollout::of`]); without one the live `last-rollout` is kept.
pub fn apply_body(
    workload: &WorkloadRef,
    live: Live<'_>,
    decision: &Decision,
    rollout: Option<&LastRollout>,
) -> Option<Value> {
    let (record, template) = match decision {
        Decision::Roll { hash } => (hash.as_str(), Some(hash.as_str())),
        Decision::Adopt { hash } | Decision::Record { hash } | Decision::Report { hash, .. } => {
            (hash.as_str(), live.template_hash)
        }
        Decision::Nothing | Decision::Warn { .. } => return None,
    };
    let mut body = json!({
        "apiVersion": workload.kind.api_version(),
        "kind": workload.kind.as_str(),
        "metadata": {
            "name": workload.name,
            "namespace": workload.namespace,
            "annotations": {OBSERVED_HASH: record},
            "labels": {RECORD_LABEL: super::short_hash(record)},
        },
    });
    if let Some(fingerprint) = live.template {
        body["metadata"]["annotations"][OBSERVED_TEMPLATE] = json!(fingerprint);
    }
    let last_rollout = rollout.map(LastRollout::to_annotation);
    if let Some(last) = last_rollout.as_deref().or(live.last_rollout) {
        body["metadata"]["annotations"][LAST_ROLLOUT] = json!(last);
    }
    if let Some(template) = template {
        let mut stamp = json!({"metadata": {"annotations": {CONFIG_HASH: template}}});
        for field in workload.kind.template_path().iter().rev() {
            stamp = json!({*field: stamp});
        }
        if let (Some(object), Value::Object(spec)) = (body.as_object_mut(), stamp) {
            object.extend(spec);
        }
    }
    Some(body)
}

/// The decision as a kube apply patch, or `None` when nothing is sent.
pub fn apply_patch(
    workload: &WorkloadRef,
    live: Live<'_>,
    decision: &Decision,
    rollout: Option<&LastRollout>,
) -> Option<Patch<Value>> {
    apply_body(workload, live, decision, rollout).map(Patch::Apply)
}

/// Patch parameters: field manager `configsync`, forced (configsync owns its two annotations).
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

#[cfg(test)]
mod tests {
    use configsync_crds::{Strategy, WorkloadKind};

    use super::*;
    use crate::fixtures::mk_hash;

    fn web(kind: WorkloadKind) -> WorkloadRef {
        WorkloadRef::new(kind, "prod", "web")
    }

    #[test]
    fn roll_touches_only_the_two_annotations() {
        let hash = mk_hash("a");
        let live = Live {
            template_hash: Some("v1:old"),
            observed_hash: Some("v1:old"),
            ..Live::default()
        };
        for kind in [
            WorkloadKind::Deployment,
            WorkloadKind::StatefulSet,
            WorkloadKind::DaemonSet,
        ] {
            let body = apply_body(
                &web(kind),
                live,
                &Decision::Roll { hash: hash.clone() },
                None,
            )
            .unwrap();
            assert_eq!(
                body,
                json!({
                    "apiVersion": "apps/v1", "kind": kind.as_str(),
                    "metadata": {"name": "web", "namespace": "prod",
                        "annotations": {"configsync.dev/observed-hash": hash.as_str()},
                        "labels": {"configsync.dev/observed-hash": hash.short()}},
                    "spec": {"template": {"metadata": {"annotations": {"configsync.dev/config-hash": hash.as_str()}}}},
                })
            );
        }
    }

    #[test]
    fn each_kind_is_stamped_where_its_pod_template_is() {
        let hash = mk_hash("a");
        let roll = Decision::Roll { hash: hash.clone() };
        let stamp = json!({"metadata": {"annotations": {CONFIG_HASH: hash.as_str()}}});
        for (kind, api_version, spec) in [
            (
                WorkloadKind::CronJob,
                "batch/v1",
                json!({"jobTemplate": {"spec": {"template": stamp}}}),
            ),
            (
                WorkloadKind::Rollout,
                "argoproj.io/v1alpha1",
                json!({"template": stamp}),
            ),
        ] {
            let body = apply_body(&web(kind), Live::default(), &roll, None).unwrap();
            assert_eq!(body["apiVersion"], json!(api_version));
            assert_eq!(body["kind"], json!(kind.as_str()));
            assert_eq!(body["spec"], spec, "{kind}");
        }
    }

    #[test]
    fn adoption_writes_the_record_and_no_template() {
        let hash = mk_hash("a");
        let body = apply_body(
            &web(WorkloadKind::Deployment),
            Live::default(),
            &Decision::Adopt { hash: hash.clone() },
            None,
        )
        .unwrap();
        assert_eq!(
            body["metadata"]["annotations"][OBSERVED_HASH],
            json!(hash.as_str())
        );
        assert!(
            body.get("spec").is_none(),
            "adoption must not touch the pod template: {body}"
        );
    }

    #[test]
    fn record_only_bodies_keep_the_live_template_hash() {
        let hash = mk_hash("a");
        let live = Live {
            template_hash: Some("v1:running"),
            observed_hash: Some("v1:old"),
            ..Live::default()
        };
        for decision in [
            Decision::Record { hash: hash.clone() },
            Decision::Report {
                hash: hash.clone(),
                strategy: Strategy::Reload,
            },
            Decision::Adopt { hash: hash.clone() },
        ] {
            let body = apply_body(&web(WorkloadKind::StatefulSet), live, &decision, None).unwrap();
            assert_eq!(
                body["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH],
                json!("v1:running")
            );
            assert_eq!(
                body["metadata"]["annotations"][OBSERVED_HASH],
                json!(hash.as_str())
            );
        }
    }

    #[test]
    fn a_rollout_writes_its_record_and_every_other_body_keeps_the_live_one() {
        let hash = mk_hash("a");
        let at = "2026-12-07T11:00:00Z".parse().unwrap();
        let roll = Decision::Roll { hash: hash.clone() };
        let rollout = LastRollout::of(&roll, &[], at, None).unwrap();
        let live = Live {
            template_hash: Some("v1:old"),
            observed_hash: Some("v1:old"),
            last_rollout: Some("{\"live\":1}"),
            ..Live::default()
        };
        let workload = web(WorkloadKind::Deployment);
        let body = apply_body(&workload, live, &roll, Some(&rollout)).unwrap();
        let written = body["metadata"]["annotations"][LAST_ROLLOUT]
            .as_str()
            .unwrap();
        assert_eq!(LastRollout::parse(written).unwrap(), rollout);
        assert!(
            body["spec"]["template"]["metadata"]["annotations"]
                .get(LAST_ROLLOUT)
                .is_none(),
            "never on the pod template: {body}"
        );
        for decision in [
            Decision::Adopt { hash: hash.clone() },
            Decision::Record { hash },
        ] {
            let body = apply_body(&workload, live, &decision, None).unwrap();
            assert_eq!(
                body["metadata"]["annotations"][LAST_ROLLOUT],
                json!("{\"live\":1}")
            );
        }
        let fresh = Live {
            last_rollout: None,
            ..live
        };
        let body = apply_body(&workload, fresh, &Decision::Nothing, None);
        assert!(body.is_none());
        let adopt = apply_body(
            &workload,
            fresh,
            &Decision::Adopt { hash: mk_hash("b") },
            None,
        );
        assert!(
            adopt.unwrap()["metadata"]["annotations"]
                .get(LAST_ROLLOUT)
                .is_none()
        );
    }

    #[test]
    fn nothing_and_warn_send_nothing() {
        let live = Live::default();
        assert!(
            apply_patch(
                &web(WorkloadKind::Deployment),
                live,
                &Decision::Nothing,
                None
            )
            .is_none()
        );
        assert!(
            apply_patch(
                &web(WorkloadKind::Deployment),
                live,
                &Decision::Warn { missing: vec![] },
                None,
            )
            .is_none()
        );
    }

    #[test]
    fn params_use_the_configsync_field_manager_and_force() {
        let params = apply_params();
        assert_eq!(params.field_manager.as_deref(), Some("configsync"));
        assert!(params.force);
    }
}
