//! The last rollout kept on the workload, and `--dry-run` through the core: a reconcile with nothing new
//! decides nothing, and ConfigSync-driven workloads are reported as a real pass would roll them, with no
//! write at all (no apply, no status).
use configsync_crds::annotations::LAST_ROLLOUT;

use super::*;
use crate::plan::last_rollout::LastRollout;

fn dry() -> Settings {
    Settings {
        dry_run: true,
        ..settings()
    }
}

fn key(name: &str) -> CsKey {
    CsKey {
        namespace: "prod".to_owned(),
        name: name.to_owned(),
    }
}

/// A ConfigSync over ConfigMap `app` driving `targets`, with `rollout` as its `spec.rollout`.
fn configsync(targets: &[&str], rollout: serde_json::Value) -> ConfigSync {
    let targets: Vec<serde_json::Value> = targets
        .iter()
        .map(|name| json!({"kind": "Deployment", "name": name}))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
        "metadata": {"name": "cs", "namespace": "prod", "generation": 1,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"sources": [{"kind": "ConfigMap", "name": "app"}], "targets": targets,
                 "rollout": rollout}}))
    .unwrap()
}

impl Harness {
    /// What the next reconcile of `name` would decide, without running it.
    fn decision(&mut self, name: &str) -> Option<Decision> {
        let workload = WorkloadRef::new(configsync_crds::WorkloadKind::Deployment, "prod", name);
        self.core.build(&workload).map(|plan| plan.decision)
    }

    fn last_rollout(&self, name: &str) -> Option<LastRollout> {
        let annotations = self.api[name].metadata.annotations.as_ref()?;
        annotations
            .get(LAST_ROLLOUT)
            .map(|value| LastRollout::parse(value).unwrap())
    }
}

#[test]
fn a_rollout_keeps_its_time_and_cause_on_the_workload_and_later_applies_carry_it() {
    let mut h = adopted(&["web"]);
    assert_eq!(h.last_rollout("web"), None, "adoption is no rollout");
    h.at = Duration::from_secs(7);
    let roll = h.source("app", "2");
    assert_eq!(shape(&roll), ["apply web template"]);
    let Command::Apply { body, .. } = &roll[0] else {
        unreachable!()
    };
    assert!(
        body["spec"]["template"]["metadata"]["annotations"]
            .get(LAST_ROLLOUT)
            .is_none(),
        "never on the pod template: {body}"
    );
    h.answer(&roll[0]);
    let last = h.last_rollout("web").expect("written with the rollout");
    assert_eq!(last.reason, reason::ROLLED);
    assert_eq!(last.time.as_second(), 1_000_007);
    assert_eq!(last.cause(), "ConfigMap app keys [k] changed");
    // Someone else's template change is recorded; the body carries the record on unchanged.
    let mut deployment = h.api["web"].clone();
    let template = deployment.spec.as_mut().unwrap().template.metadata.as_mut();
    let annotations = template.unwrap().annotations.get_or_insert_default();
    annotations.insert("checksum/config".to_owned(), "new".to_owned());
    deployment.metadata.generation = Some(3);
    h.api.insert("web".to_owned(), deployment);
    let record = h.watch("web");
    assert_eq!(record.len(), 1, "{:?}", shape(&record));
    let Command::Apply { body, .. } = &record[0] else {
        unreachable!()
    };
    let carried = body["metadata"]["annotations"][LAST_ROLLOUT].as_str();
    assert_eq!(carried.map(|v| LastRollout::parse(v).unwrap()), Some(last));
    h.answer(&record[0]);
    assert_eq!(
        h.api["web"].metadata.generation,
        Some(3),
        "recorded, not rolled"
    );
}

/// `kubectl rollout undo` restores the older revision's annotations, its `last-rollout` included: the
/// record label still tells the undo apart, and the restored record is carried on.
#[test]
fn rollout_undo_is_told_apart_whatever_last_rollout_says() {
    let mut h = adopted(&["web"]);
    let roll = h.source("app", "2");
    h.answer(&roll[0]);
    let revision_two = h.api["web"].clone();
    let roll = h.source("app", "3");
    h.answer(&roll[0]);
    assert_eq!(h.api["web"].metadata.generation, Some(3));
    let deployment = h.api.get_mut("web").unwrap();
    deployment.spec.as_mut().unwrap().template = revision_two.spec.unwrap().template;
    deployment.metadata.annotations = revision_two.metadata.annotations.clone();
    deployment.metadata.generation = Some(4);
    let adopt = h.watch("web");
    assert_eq!(adopt.len(), 1, "{:?}", shape(&adopt));
    let Command::Apply { body, .. } = &adopt[0] else {
        unreachable!()
    };
    let restored = revision_two.metadata.annotations.unwrap()[LAST_ROLLOUT].clone();
    assert_eq!(
        body["metadata"]["annotations"][LAST_ROLLOUT],
        json!(restored)
    );
    h.answer(&adopt[0]);
    assert_eq!(
        h.api["web"].metadata.generation,
        Some(4),
        "recorded, not rolled forward"
    );
    assert!(h.watch("web").is_empty());
}

#[test]
fn a_dry_run_reconcile_with_nothing_new_decides_nothing() {
    let mut h = Harness::new(dry());
    h.source("app", "1");
    h.workload("web", &[]);
    assert!(h.synced().is_empty(), "the adoption is only remembered");
    for _ in 0..3 {
        assert!(h.watch("web").is_empty());
        assert_eq!(h.decision("web"), Some(Decision::Nothing), "nothing new");
    }
    assert_eq!(shape(&h.source("app", "2")), ["event WouldRollOut"]);
    assert!(h.watch("web").is_empty());
    assert_eq!(h.decision("web"), Some(Decision::Nothing));
}

#[test]
fn a_dry_run_reports_configsync_targets_in_max_concurrent_order_and_writes_nothing() {
    let mut h = adopted_with(dry(), &["one", "two"], &[]);
    h.complete("one");
    h.complete("two");
    let claim = h.feed(Input::ConfigSync(Box::new(configsync(
        &["one", "two"],
        json!({"maxConcurrent": 1}),
    ))));
    assert!(claim.is_empty(), "no status write: {:?}", shape(&claim));
    let change = h.source("app", "2");
    assert_eq!(
        shape(&change),
        ["event WouldRollOut", "event WouldRollOut"],
        "one, then the next once the first counts as done"
    );
    let names: Vec<&str> = change
        .iter()
        .filter_map(|c| match c {
            Command::Publish {
                regarding: Regarding::Workload { workload, .. },
                ..
            } => Some(workload.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["one", "two"]);
    assert!(h.source("app", "2").is_empty(), "reported once");
    assert!(h.watch("one").is_empty());
    let (cs, _) = h.core.configsyncs.get(&key("cs")).unwrap();
    let status = cs.status.as_ref().expect("the would-be status, in memory");
    assert!(status.last_rollout_time.is_some());
}

#[test]
fn a_dry_run_spaces_configsync_targets_by_its_pause_and_respects_suspend() {
    let mut h = adopted_with(dry(), &["one", "two"], &[]);
    h.complete("one");
    h.complete("two");
    let cs = configsync(&["one", "two"], json!({"pause": "30s"}));
    assert!(h.feed(Input::ConfigSync(Box::new(cs.clone()))).is_empty());
    assert_eq!(shape(&h.source("app", "2")), ["event WouldRollOut"]);
    assert!(h.tick_at(Duration::from_secs(10)).is_empty(), "pausing");
    assert_eq!(
        shape(&h.tick_at(Duration::from_secs(30))),
        ["event WouldRollOut"]
    );
    let mut suspended = cs;
    suspended.metadata.generation = Some(2);
    suspended.spec.suspend = true;
    assert!(h.feed(Input::ConfigSync(Box::new(suspended))).is_empty());
    assert!(
        h.source("app", "3").is_empty(),
        "suspended: nothing would roll"
    );
    assert_eq!(h.core.applies_in_flight(), 0);
}

#[test]
fn a_configsync_rollout_keeps_its_configsync_and_changed_sources_on_the_workload() {
    let mut h = adopted(&["web"]);
    let claim = h.feed(Input::ConfigSync(Box::new(configsync(&["web"], json!({})))));
    assert_eq!(shape(&claim), ["status cs"]);
    let written = Box::new(h.status_of(&claim[0]));
    h.feed(Input::StatusWritten {
        key: key("cs"),
        outcome: Ok(written),
    });
    let roll = h.source("app", "2");
    assert_eq!(shape(&roll), ["apply web template"]);
    h.answer(&roll[0]);
    let last = h.last_rollout("web").expect("written with the rollout");
    assert_eq!(last.config_sync.as_deref(), Some("cs"));
    assert_eq!(last.cause(), "ConfigSync cs: ConfigMap app changed");
}
