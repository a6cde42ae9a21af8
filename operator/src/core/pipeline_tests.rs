//! Deploy pipelines through the core: a tool that writes a ConfigMap and changes the pod template in one
//! deploy gives exactly one rollout (theirs), in either order of writes, and `kubectl rollout undo` sticks.
//! The fake API bumps `metadata.generation` on every template change, as the API server does, so the
//! generation counts rollouts.
use super::*;

const SETTLE: Duration = Duration::from_secs(2);

fn settled() -> Settings {
    Settings {
        settle: SETTLE,
        ..Settings::default()
    }
}

impl Harness {
    /// A deploy tool changes the pod template of `name` (Helm's `checksum/config`, a new kustomize
    /// ConfigMap name, a new image): the generation grows and the watch delivers it.
    fn user_template_change(&mut self, name: &str, annotation: &str) -> Vec<Command> {
        let deployment = self.api.get_mut(name).unwrap();
        let template = &mut deployment.spec.as_mut().unwrap().template;
        let annotations = template
            .metadata
            .get_or_insert_default()
            .annotations
            .get_or_insert_default();
        annotations.insert("checksum/config".to_owned(), annotation.to_owned());
        deployment.metadata.generation = deployment.metadata.generation.map(|g| g + 1);
        self.watch(name)
    }

    fn generation(&self, name: &str) -> i64 {
        self.api[name].metadata.generation.unwrap_or(0)
    }

    fn annotation(&self, name: &str, key: &str) -> Option<String> {
        let annotations = self.api[name].metadata.annotations.as_ref()?;
        annotations.get(key).cloned()
    }

    /// Answer every apply in `commands` and those they lead to; the shapes of the applies, in order.
    fn answer_all(&mut self, commands: Vec<Command>) -> Vec<String> {
        let mut shapes = Vec::new();
        let mut queue = commands;
        while let Some(command) = queue.pop() {
            if matches!(command, Command::Apply { .. }) {
                shapes.extend(shape(std::slice::from_ref(&command)));
                queue.extend(self.answer(&command));
            }
        }
        shapes
    }
}

/// Each order of a deploy's two writes, then the settle window: one rollout, and the record adopted.
#[test]
fn a_deploy_that_writes_config_and_template_gives_one_rollout_in_either_order() {
    for config_first in [true, false] {
        let mut h = adopted_with(settled(), &["web"], &[]);
        assert_eq!(h.generation("web"), 1);
        let before = h.annotation("web", OBSERVED_HASH);
        h.at = Duration::from_secs(10);
        let mut writes = Vec::new();
        if config_first {
            writes.extend(h.source("app", "2"));
            h.at += Duration::from_millis(50);
            writes.extend(h.user_template_change("web", "v2"));
        } else {
            writes.extend(h.user_template_change("web", "v2"));
            h.at += Duration::from_millis(50);
            writes.extend(h.source("app", "2"));
        }
        assert!(writes.is_empty(), "nothing before the settle window ends");
        let due = h.tick_at(Duration::from_millis(10_050) + SETTLE);
        assert_eq!(
            h.answer_all(due).len(),
            1,
            "one record (config first: {config_first})"
        );
        assert_eq!(
            h.generation("web"),
            2,
            "theirs only (config first: {config_first})"
        );
        assert_ne!(
            h.annotation("web", OBSERVED_HASH),
            before,
            "the new content is recorded"
        );
        assert!(h.watch("web").is_empty(), "settled");
        // The next real change rolls exactly once.
        h.at = Duration::from_secs(30);
        assert!(h.source("app", "3").is_empty());
        let due = h.tick_at(Duration::from_secs(30) + SETTLE);
        h.answer_all(due);
        assert_eq!(h.generation("web"), 3, "config first: {config_first}");
        assert!(h.watch("web").is_empty());
    }
}

#[test]
fn a_template_change_alone_records_its_fingerprint_and_rolls_nothing() {
    let mut h = adopted_with(settled(), &["web"], &[]);
    let fingerprint = h.annotation("web", OBSERVED_TEMPLATE);
    assert!(fingerprint.is_some(), "adoption records the template");
    h.at = Duration::from_secs(10);
    assert!(h.user_template_change("web", "v2").is_empty());
    let due = h.tick_at(Duration::from_secs(10) + SETTLE);
    assert_eq!(h.answer_all(due).len(), 1);
    assert_eq!(h.generation("web"), 2);
    assert_ne!(h.annotation("web", OBSERVED_TEMPLATE), fingerprint);
    // A content change afterwards is configsync's to roll: once.
    h.at = Duration::from_secs(20);
    assert!(h.source("app", "2").is_empty());
    let due = h.tick_at(Duration::from_secs(20) + SETTLE);
    h.answer_all(due);
    assert_eq!(h.generation("web"), 3);
}

/// `kubectl rollout undo` as kubectl does it: the older ReplicaSet's template (stamp included) replaces the
/// Deployment's, and its copy of the Deployment's annotations (the record of back then) replaces them.
/// Labels stay.
#[test]
fn rollout_undo_of_configsyncs_rollout_sticks() {
    let mut h = adopted(&["web"]);
    let revision_one = h.api["web"].clone();
    let roll = h.source("app", "2");
    h.answer_all(roll);
    assert_eq!(h.generation("web"), 2);
    let record = h.annotation("web", OBSERVED_HASH);
    let deployment = h.api.get_mut("web").unwrap();
    deployment.spec.as_mut().unwrap().template = revision_one.spec.unwrap().template;
    deployment.metadata.annotations = revision_one.metadata.annotations;
    deployment.metadata.generation = Some(3);
    let adopt = h.watch("web");
    assert_eq!(h.answer_all(adopt).len(), 1, "the undo is recorded");
    assert_eq!(h.generation("web"), 3, "and not rolled forward again");
    assert_eq!(h.annotation("web", OBSERVED_HASH), record);
    assert!(h.watch("web").is_empty());
    let roll = h.source("app", "3");
    h.answer_all(roll);
    assert_eq!(h.generation("web"), 4, "the next change rolls once");
}

#[test]
fn without_settle_a_config_first_deploy_rolls_twice() {
    // The reason `--settle` exists: acting at once stamps the template before the tool's own write.
    let mut h = adopted(&["web"]);
    let roll = h.source("app", "2");
    h.answer_all(roll);
    let user = h.user_template_change("web", "v2");
    h.answer_all(user);
    assert_eq!(h.generation("web"), 3);
}
