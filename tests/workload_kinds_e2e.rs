//! CronJobs and Argo Rollouts end to end, on either backend (`CONFIGSYNC_REAL_K8S` chooses):
//! - a CronJob's `spec.jobTemplate.spec.template` is stamped when a source it reads changes, so the next Job
//!   starts with the new content; a Job created from it before is not touched;
//! - an Argo Rollout (`argoproj.io/v1alpha1`, its CRD installed from `tests/workload_kinds/rollout-crd.yaml`)
//!   has its `spec.template` stamped like a Deployment's;
//! - without the Rollout CRD the operator says so in one log line and works for every other kind.
mod support;

use serde_json::{Value, json};
use support::{Cluster, start, start_operator, wait_until};

const OBSERVED: &str = "/metadata/annotations/configsync.dev~1observed-hash";

fn text(object: &Value, pointer: &str) -> Option<String> {
    object.pointer(pointer)?.as_str().map(str::to_owned)
}

fn pod_template(config_map: &str, restart: &str) -> Value {
    json!({"metadata": {"labels": {"app": "kinds"}},
        "spec": {"restartPolicy": restart, "containers": [{"name": "app", "image": "registry.invalid/app:1",
            "envFrom": [{"configMapRef": {"name": config_map}}]}]}})
}

/// Wait until `resource` is adopted, change the ConfigMap `cfg`, and wait until the pod template at
/// `stamp` carries the new record; return that record.
fn change_and_wait_for_stamp(cluster: &Cluster, resource: &str, stamp: &str) -> String {
    let mut adopted = None;
    wait_until(&format!("{resource} is adopted"), || {
        adopted = text(&cluster.json(&["get", resource]), OBSERVED);
        adopted.is_some()
    });
    cluster.merge_patch("configmap", "cfg", r#"{"data":{"greeting":"bye"}}"#);
    let mut stamped = None;
    wait_until(&format!("{resource}'s pod template is stamped"), || {
        let object = cluster.json(&["get", resource]);
        let record = text(&object, OBSERVED);
        stamped = text(&object, stamp);
        record != adopted && stamped.is_some() && stamped == record
    });
    stamped.unwrap_or_default()
}

#[test]
fn a_cronjobs_job_template_is_stamped_and_its_jobs_are_left_alone() {
    let Some(cluster) = start() else { return };
    cluster.apply_json(
        "cfg.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
            "data": {"greeting": "hello"}}),
    );
    // Suspended and yearly: kube-controller-manager creates no Job of its own during the test.
    cluster.apply_json(
        "cronjob.json",
        &json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "nightly", "annotations": {"configsync.dev/auto": "true"}},
            "spec": {"schedule": "0 0 1 1 *", "suspend": true,
                "jobTemplate": {"spec": {"template": pod_template("cfg", "Never")}}}}),
    );
    cluster.ok(&["create", "job", "manual", "--from=cronjob/nightly"]);
    let job_template = |cluster: &Cluster| {
        cluster.json(&["get", "job", "manual"])["spec"]["template"]["metadata"]["annotations"]
            .clone()
    };
    let job_before = job_template(&cluster);
    let operator = start_operator(&cluster, &[]);
    let stamp = "/spec/jobTemplate/spec/template/metadata/annotations/configsync.dev~1config-hash";
    let stamped = change_and_wait_for_stamp(&cluster, "cronjob/nightly", stamp);
    assert!(stamped.starts_with("v1:"), "{stamped}");
    assert_eq!(
        job_template(&cluster),
        job_before,
        "the Job made before is not touched"
    );
    if !cluster.is_real() {
        // Each embedded server is the test's own: no Rollout CRD here.
        assert!(operator.logged("argoproj.io Rollouts are not served"));
    }
}

#[test]
fn an_argo_rollouts_pod_template_is_stamped() {
    let Some(cluster) = start() else { return };
    support::install_rollout_crd(&cluster);
    cluster.apply_json(
        "cfg.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
            "data": {"greeting": "hello"}}),
    );
    cluster.apply_json(
        "rollout.json",
        &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "canary", "annotations": {"configsync.dev/auto": "true"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "kinds"}},
                "strategy": {"canary": {"steps": [{"setWeight": 20}]}},
                "template": pod_template("cfg", "Always")}}),
    );
    let _operator = start_operator(&cluster, &[]);
    let stamp = "/spec/template/metadata/annotations/configsync.dev~1config-hash";
    let stamped = change_and_wait_for_stamp(&cluster, "rollout.argoproj.io/canary", stamp);
    assert!(stamped.starts_with("v1:"), "{stamped}");
}
