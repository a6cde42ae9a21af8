//! The decision core as table tests: input sequences in, commands out, no API. A fake API answers each
//! apply by writing the body's two annotations onto the workload (a new template hash bumps the generation).
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use configsync_crds::SourceKind;
use configsync_crds::annotations::{AUTO, CONFIG_HASH, DEBOUNCE, OBSERVED_HASH, OBSERVED_TEMPLATE};
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;

use super::*;
use crate::core::observation::observe;
use crate::fixtures::{mk_deployment, mk_pod_spec, mk_view};
use crate::hash::KeyDigests;
use crate::lean::DeploymentView;
use crate::plan::event::reason;

const WATCHES: [&str; 2] = ["configmaps", "deployments"];

struct Harness {
    core: Core,
    start: Instant,
    at: Duration,
    /// What the fake API holds, by workload name.
    api: HashMap<String, Deployment>,
}

fn settings() -> Settings {
    Settings::default()
}

impl Harness {
    fn new(settings: Settings) -> Self {
        let start = Instant::now();
        let watches = WATCHES.iter().map(|w| WatchId::new(w, None));
        let now = Now {
            instant: start,
            wall: jiff::Timestamp::from_second(1_000_000).unwrap(),
        };
        let (_, metrics) = Metrics::with_registry();
        Self {
            core: Core::new(settings, metrics, watches, now).unwrap(),
            start,
            at: Duration::ZERO,
            api: HashMap::new(),
        }
    }

    fn now(&self) -> Now {
        Now {
            instant: self.start + self.at,
            wall: jiff::Timestamp::from_second(1_000_000 + self.at.as_secs() as i64).unwrap(),
        }
    }

    fn feed(&mut self, input: Input) -> Vec<Command> {
        let now = self.now();
        self.core.handle(input, now)
    }

    fn tick_at(&mut self, at: Duration) -> Vec<Command> {
        self.at = at;
        let now = self.now();
        self.core.tick(now)
    }

    fn synced(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        for watch in WATCHES {
            commands.extend(self.feed(Input::Synced(WatchId::new(watch, None))));
        }
        commands
    }

    fn source(&mut self, name: &str, value: &str) -> Vec<Command> {
        let meta = serde_json::from_value(json!({"name": name, "namespace": "prod"})).unwrap();
        let seen = self.now().instant;
        self.feed(Input::Source(SourceInput::Applied {
            kind: SourceKind::ConfigMap,
            meta: Box::new(meta),
            digests: KeyDigests::from_entries([("k", value.as_bytes())]),
            seen,
        }))
    }

    /// A workload reading ConfigMap `app` whole, with `annotations`, as the watch delivers it.
    fn workload(&mut self, name: &str, annotations: &[(&str, &str)]) -> Vec<Command> {
        let mut all = vec![(AUTO, "true")];
        all.extend_from_slice(annotations);
        let mut deployment = mk_deployment("prod", name, &all, mk_pod_spec(&["app"], &[]));
        deployment.metadata.generation = Some(1);
        self.api.insert(name.to_owned(), deployment.clone());
        self.watch(name)
    }

    /// The watch delivers what the fake API holds for `name`.
    fn watch(&mut self, name: &str) -> Vec<Command> {
        let observation = self.observe(name);
        self.feed(Input::Workload(Box::new(observation)))
    }

    fn observe(&self, name: &str) -> Observation {
        observe(&mk_view::<DeploymentView>(&self.api[name]), false)
    }

    /// The fake API applies `command` and the answer goes back in.
    fn answer(&mut self, command: &Command) -> Vec<Command> {
        let Command::Apply { workload, body } = command else {
            panic!("not an apply: {command:?}");
        };
        let deployment = self.api.get_mut(&workload.name).unwrap();
        assert!(body["metadata"]["annotations"][OBSERVED_HASH].is_string());
        let metadata = body["metadata"]["annotations"].as_object().unwrap();
        for (key, value) in metadata {
            deployment
                .metadata
                .annotations
                .get_or_insert_default()
                .insert(key.clone(), value.as_str().unwrap().to_owned());
        }
        for (key, value) in body["metadata"]["labels"].as_object().into_iter().flatten() {
            deployment
                .metadata
                .labels
                .get_or_insert_default()
                .insert(key.clone(), value.as_str().unwrap().to_owned());
        }
        if let Some(hash) =
            body["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH].as_str()
        {
            let template = deployment
                .spec
                .as_mut()
                .unwrap()
                .template
                .metadata
                .get_or_insert_default();
            let annotations = template.annotations.get_or_insert_default();
            if annotations.get(CONFIG_HASH).map(String::as_str) != Some(hash) {
                annotations.insert(CONFIG_HASH.to_owned(), hash.to_owned());
                deployment.metadata.generation = deployment.metadata.generation.map(|g| g + 1);
            }
        }
        let observation = self.observe(&workload.name);
        self.feed(Input::Applied {
            workload: workload.clone(),
            outcome: Ok(Box::new(observation)),
        })
    }

    fn status_of(&self, command: &Command) -> ConfigSyncStatus {
        let Command::WriteStatus { status, .. } = command else {
            panic!("not a status write: {command:?}");
        };
        ConfigSyncStatus::clone(status)
    }

    fn fail(&mut self, command: &Command, permanent: bool) -> Vec<Command> {
        let Command::Apply { workload, .. } = command else {
            panic!("not an apply: {command:?}");
        };
        let category = if permanent { "invalid" } else { "server" };
        self.feed(Input::Applied {
            workload: workload.clone(),
            outcome: Err(Failure {
                category,
                permanent,
                message: "injected".to_owned(),
            }),
        })
    }

    /// The fake API stores the condition of a [`Command::SetCondition`] in the workload's status.
    fn set_condition(&mut self, command: &Command) {
        let Command::SetCondition {
            workload,
            condition,
        } = command
        else {
            panic!("not a condition: {command:?}");
        };
        let body = condition.status_body(workload, "2026-12-07T08:00:00Z");
        let deployment = self.api.get_mut(&workload.name).unwrap();
        deployment.status = serde_json::from_value(body["status"].clone()).unwrap();
    }

    /// The workload's own controller finished rolling out its latest generation.
    fn complete(&mut self, name: &str) -> Vec<Command> {
        let deployment = self.api.get_mut(name).unwrap();
        let generation = deployment.metadata.generation.unwrap_or(0);
        deployment.status = serde_json::from_value(json!({"observedGeneration": generation,
            "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}))
        .unwrap();
        self.watch(name)
    }
}

/// `apply <name> [rolls]`, `event <reason>`, `status <cs>`: commands in a form a table can state.
fn shape(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .map(|command| match command {
            Command::Apply { workload, body } => {
                let rolls =
                    body["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH].is_string();
                format!(
                    "apply {}{}",
                    workload.name,
                    if rolls { " template" } else { "" }
                )
            }
            Command::Publish { text, .. } => format!("event {}", text.reason),
            Command::WriteStatus { key, .. } => format!("status {}", key.name),
            Command::SetCondition {
                workload,
                condition,
            } => format!(
                "condition {} {} {}",
                workload.name, condition.applied, condition.reason
            ),
        })
        .collect()
}

fn adopted(names: &[&str]) -> Harness {
    adopted_with(settings(), names, &[])
}

fn adopted_with(settings: Settings, names: &[&str], annotations: &[(&str, &str)]) -> Harness {
    let mut h = Harness::new(settings);
    h.source("app", "1");
    for name in names {
        h.workload(name, annotations);
    }
    let adoptions = h.synced();
    for adoption in adoptions
        .iter()
        .filter(|c| matches!(c, Command::Apply { .. }))
    {
        h.answer(adoption);
    }
    h
}

#[test]
fn nothing_is_decided_before_every_watch_has_listed_then_each_workload_once() {
    let mut h = Harness::new(settings());
    assert!(h.source("app", "1").is_empty());
    assert!(h.workload("web", &[]).is_empty());
    assert!(
        h.feed(Input::Synced(WatchId::new("configmaps", None)))
            .is_empty()
    );
    assert!(!h.core.is_ready());
    let catch_up = h.feed(Input::Synced(WatchId::new("deployments", None)));
    assert_eq!(
        shape(&catch_up),
        ["apply web"],
        "adoption records, no template"
    );
    assert!(h.core.is_ready());
    assert_eq!(shape(&h.answer(&catch_up[0])), ["event ConfigAdopted"]);
    assert!(h.watch("web").is_empty(), "adopted: nothing more to do");
}

#[test]
fn a_change_rolls_once_and_its_event_follows_the_answer() {
    let mut h = adopted(&["web"]);
    let roll = h.source("app", "2");
    assert_eq!(shape(&roll), ["apply web template"]);
    // The watch delivers the workload again before the answer: one apply is out, nothing more is sent.
    assert!(h.watch("web").is_empty());
    assert_eq!(h.core.applies_in_flight(), 1);
    assert_eq!(
        shape(&h.answer(&roll[0])),
        [format!("event {}", reason::ROLLED)]
    );
    assert_eq!(h.core.applies_in_flight(), 0);
    assert!(h.watch("web").is_empty(), "rolled once");
    assert!(h.complete("web").is_empty());
}

#[test]
fn the_newest_intent_wins_after_the_apply_in_flight() {
    let mut h = adopted(&["web"]);
    let first = h.source("app", "2");
    assert_eq!(shape(&first), ["apply web template"]);
    assert!(
        h.source("app", "3").is_empty(),
        "held while the first is out"
    );
    let next = h.answer(&first[0]);
    let applies: Vec<_> = next
        .iter()
        .filter(|c| matches!(c, Command::Apply { .. }))
        .collect();
    assert_eq!(applies.len(), 1, "{:?}", shape(&next));
    let Command::Apply { body, .. } = applies[0] else {
        unreachable!()
    };
    let Command::Apply { body: old, .. } = &first[0] else {
        unreachable!()
    };
    assert_ne!(
        body, old,
        "the held reconcile sends the newest content's hash"
    );
}

#[test]
fn debounce_collapses_a_burst_into_one_rollout() {
    let mut h = adopted_with(settings(), &["web"], &[(DEBOUNCE, "5s")]);
    for (second, value) in [(10, "2"), (11, "3"), (12, "4")] {
        h.at = Duration::from_secs(second);
        assert!(h.source("app", value).is_empty(), "quiet at {second}s");
    }
    assert_eq!(
        h.core.next_deadline(),
        Some(h.start + Duration::from_secs(17))
    );
    assert!(h.tick_at(Duration::from_secs(16)).is_empty());
    assert_eq!(
        shape(&h.tick_at(Duration::from_secs(17))),
        ["apply web template"]
    );
}

#[test]
fn the_fleet_budget_holds_the_next_rollout_until_one_completes() {
    let budget = Settings {
        max_concurrent_rollouts: NonZeroUsize::new(1),
        ..settings()
    };
    let mut h = adopted_with(budget, &["a", "b"], &[]);
    let first = h.source("app", "2");
    assert_eq!(shape(&first), ["apply a template"], "b waits for a slot");
    h.answer(&first[0]);
    assert!(h.watch("a").is_empty(), "a is still rolling");
    assert_eq!(shape(&h.complete("a")), ["apply b template"]);
}

#[test]
fn a_restart_rolls_what_changed_while_down_once_and_nothing_else() {
    let mut before = adopted(&["changed", "same"]);
    let roll = before.source("app", "2");
    assert_eq!(
        shape(&roll),
        ["apply changed template", "apply same template"]
    );
    // Only `same` saw its apply land before the restart; `changed` keeps the old record.
    before.answer(&roll[1]);
    let mut after = Harness::new(settings());
    after.api = before.api;
    after.source("app", "2");
    after.watch("changed");
    after.watch("same");
    assert_eq!(shape(&after.synced()), ["apply changed template"]);
}

#[test]
fn a_transient_failure_gives_the_slot_back_and_retries_later() {
    let budget = Settings {
        max_concurrent_rollouts: NonZeroUsize::new(1),
        ..settings()
    };
    let mut h = adopted_with(budget, &["a", "b"], &[]);
    let first = h.source("app", "2");
    let after_failure = h.fail(&first[0], false);
    assert_eq!(
        shape(&after_failure),
        ["apply b template"],
        "the slot went to b"
    );
    let retry_at = h.core.next_deadline().unwrap() - h.start;
    assert_eq!(retry_at, RETRY_AFTER_FAILURE);
    h.answer(&after_failure[0]);
    h.complete("b");
    assert_eq!(shape(&h.tick_at(retry_at)), ["apply a template"]);
}

#[test]
fn a_permanent_failure_warns_once_sets_the_condition_and_is_not_retried() {
    let mut h = adopted(&["web"]);
    let roll = h.source("app", "2");
    let refused = h.fail(&roll[0], true);
    assert_eq!(
        shape(&refused),
        [
            format!("event {}", reason::APPLY_FAILED),
            "condition web false ApplyFailed".to_owned()
        ]
    );
    assert_eq!(h.core.next_deadline(), None, "no retry scheduled");
    let again = h.watch("web");
    assert_eq!(
        shape(&h.fail(&again[0], true)),
        ["condition web false ApplyFailed"],
        "status does not show the condition (yet, or any more): set it again, without a second Event"
    );
    h.set_condition(&refused[1]);
    let again = h.watch("web");
    assert_eq!(
        shape(&again),
        ["apply web template"],
        "the next event of the workload tries again"
    );
    assert_eq!(
        shape(&h.fail(&again[0], true)),
        Vec::<String>::new(),
        "the same refusal warns once and sets the condition once"
    );
    let third = h.watch("web");
    let cleared = h.answer(&third[0]);
    assert_eq!(
        shape(&cleared),
        [
            "condition web true Applied",
            &format!("event {}", reason::ROLLED)
        ],
        "an apply that goes through clears the condition"
    );
    h.set_condition(&cleared[0]);
    assert_eq!(shape(&h.watch("web")), Vec::<String>::new());
    let next = h.source("app", "3");
    assert_eq!(
        shape(&h.answer(&next[0])),
        [format!("event {}", reason::ROLLED)],
        "a True condition is not written again"
    );
}

#[test]
fn a_false_condition_left_in_status_is_cleared_once_nothing_is_left_to_apply() {
    let mut h = adopted(&["web"]);
    let left = Command::SetCondition {
        workload: WorkloadRef::new(configsync_crds::WorkloadKind::Deployment, "default", "web"),
        condition: crate::plan::condition::WorkloadCondition::refused(
            "invalid",
            "before a restart",
        ),
    };
    h.set_condition(&left);
    let cleared = h.watch("web");
    assert_eq!(shape(&cleared), ["condition web true Applied"]);
    assert_eq!(
        shape(&h.watch("web")),
        Vec::<String>::new(),
        "not again while the write is out"
    );
    h.set_condition(&cleared[0]);
    assert_eq!(shape(&h.watch("web")), Vec::<String>::new());
}

#[test]
fn a_claimed_workload_is_driven_by_its_configsync_alone() {
    let mut h = adopted(&["web"]);
    let cs: ConfigSync = serde_json::from_value(json!({
        "apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
        "metadata": {"name": "cs", "namespace": "prod", "generation": 1,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"sources": [{"kind": "ConfigMap", "name": "app"}],
                 "targets": [{"kind": "Deployment", "name": "web"}]}}))
    .unwrap();
    let mut younger = cs.clone();
    younger.metadata.name = Some("younger".to_owned());
    younger.metadata.creation_timestamp =
        serde_json::from_value(json!("2026-02-01T00:00:00Z")).unwrap();
    let claim = h.feed(Input::ConfigSync(Box::new(cs)));
    assert_eq!(
        shape(&claim),
        ["status cs"],
        "same sources, same record: nothing sent"
    );
    let written = Box::new(h.status_of(&claim[0]));
    h.feed(Input::StatusWritten {
        key: CsKey {
            namespace: "prod".to_owned(),
            name: "cs".to_owned(),
        },
        outcome: Ok(written),
    });
    let roll = h.source("app", "2");
    assert_eq!(
        shape(&roll),
        ["apply web template"],
        "one writer: the ConfigSync's pass"
    );
    assert_eq!(
        shape(&h.answer(&roll[0])),
        ["event ConfigRolled", "status cs"]
    );
    let lost = h.feed(Input::ConfigSync(Box::new(younger)));
    assert!(
        shape(&lost).contains(&"event TargetClaimed".to_owned()),
        "{:?}",
        shape(&lost)
    );
    assert!(
        !shape(&lost).iter().any(|c| c.starts_with("apply")),
        "{:?}",
        shape(&lost)
    );
}

#[path = "pipeline_tests.rs"]
mod pipelines;

#[path = "dry_run_tests.rs"]
mod dry_run;

#[test]
fn core_has_no_io() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut files = vec![dir];
    let forbidden = [
        "kube::Client",
        "kube::Api",
        "Api<",
        "use tokio",
        "tokio::",
        "crate::controller",
    ];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} names {word}", path.display());
        }
    }
}

#[test]
fn dry_run_reports_each_rollout_once_and_sends_no_write() {
    let dry = Settings {
        dry_run: true,
        ..settings()
    };
    let mut h = Harness::new(dry);
    h.source("app", "1");
    h.workload("web", &[]);
    assert!(h.synced().is_empty(), "adoption is only remembered");
    let changed = h.source("app", "2");
    assert_eq!(shape(&changed), ["event WouldRollOut"]);
    let Command::Publish { text, .. } = &changed[0] else {
        unreachable!()
    };
    assert!(
        text.note.contains("ConfigMap app keys [k] changed"),
        "{}",
        text.note
    );
    // The same content, seen again through a workload event or a timer: nothing new to report.
    assert!(h.watch("web").is_empty());
    assert!(h.tick_at(Duration::from_secs(60)).is_empty());
    assert!(h.source("app", "2").is_empty());
    assert_eq!(shape(&h.source("app", "3")), ["event WouldRollOut"]);
    assert_eq!(h.core.applies_in_flight(), 0);
}
