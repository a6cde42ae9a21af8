//! The executor: runs the decision core's commands against the API, beside the core, never inside it.
//!
//! ```text
//!  Command::Apply / WriteStatus ─► task per command ─► semaphore (--max-inflight) ─► attempt with
//!                                  --request-timeout ─► retry 409/429/5xx/timeout/transport with backoff
//!                                  (100, 200, 400, 800 ms) ─► answer on the results channel ─► core
//!  Command::SetCondition        ─► the same, on the workload's status subresource (no answer)
//!  Command::Publish             ─► Event queue of its lane ─► one publisher task, change lane first
//!                                  (a full queue drops and counts)
//! ```
//! Events never hold an apply: they take no `--max-inflight` slot and go out one at a time. They wait in two
//! bounded queues ([`Lane`]): an Event about a change (a rollout, a warning) is always published before any
//! bulk `ConfigAdopted` Event, so an update right after a start or failover does not wait behind the
//! thousands of adoption Events it publishes. And an Event waits while any apply is out (at most
//! [`EVENT_DEFER`]), so the Events of one update never compete with the applies of the next.
//! A slow or failing workload holds only its own task: the core keeps deciding, other applies keep going.
//! [`Executor::close`] stops it without losing track of an apply: each one not yet sent is refused (by the
//! Lease check when the Lease is lost, which logs so), and it returns once every apply out has its answer.
//! The core sends at most one apply per workload at a time (it holds a workload's next reconcile until the
//! answer is in), so the newest intent is always what goes out next. Every attempt is counted in
//! `configsync_operator_requests_total{request, outcome}` (bounded labels).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use tokio::sync::{Semaphore, mpsc, watch};

use super::configsync::{cs_reference, write_status};
use super::events::Events;
use super::leader::Freshness;
use super::{Metrics, apply};
use crate::core::{Command, Failure, Input, Regarding};
use crate::plan::event::{EventText, Lane};

/// Attempts before a retryable failure goes back to the core.
pub const ATTEMPTS: u32 = 5;
/// First backoff; doubled after each failed attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Events waiting to be published in each lane before new ones are dropped (and counted).
const EVENT_QUEUE: usize = 4096;

/// Longest an Event waits for the applies out to answer before it is published anyway.
const EVENT_DEFER: Duration = Duration::from_secs(1);

/// One Event waiting to be published, and when it was queued.
type Queued = (Regarding, EventText, tokio::time::Instant);

/// Runs commands; answers come back on the channel given to [`Executor::new`].
#[derive(Clone)]
pub struct Executor {
    client: Client,
    metrics: Metrics,
    auto_all: bool,
    timeout: Duration,
    slots: Arc<Semaphore>,
    answers: mpsc::UnboundedSender<Input>,
    events: Lanes<mpsc::Sender<Queued>>,
    applies: AppliesOut,
    freshness: Option<Freshness>,
    dry_run: bool,
    closed: Arc<AtomicBool>,
}

impl Executor {
    /// An executor with at most `max_inflight` requests out, each given `timeout`, answering on
    /// `answers`; it starts the Event publisher task. With `freshness`, an apply is sent only while the
    /// leader's Lease is fresh.
    pub fn new(
        client: Client,
        config: &super::Config,
        metrics: Metrics,
        answers: mpsc::UnboundedSender<Input>,
        freshness: Option<Freshness>,
    ) -> Self {
        let (change_tx, change_rx) = mpsc::channel(EVENT_QUEUE);
        let (bulk_tx, bulk_rx) = mpsc::channel(EVENT_QUEUE);
        let publisher = Events::new(client.clone(), config.instance.clone());
        let queues = Lanes {
            change: change_rx,
            bulk: bulk_rx,
        };
        let applies = AppliesOut::default();
        tokio::spawn(publish_events(
            publisher,
            queues,
            applies.clone(),
            metrics.clone(),
            config.request_timeout,
        ));
        Self {
            client,
            metrics,
            auto_all: config.auto_all,
            timeout: config.request_timeout,
            slots: Arc::new(Semaphore::new(config.max_inflight.get())),
            answers,
            events: Lanes {
                change: change_tx,
                bulk: bulk_tx,
            },
            applies,
            freshness,
            dry_run: config.dry_run,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Send no further apply, and return once every apply out (queued, waiting for a slot or a retry, or
    /// sent) has been answered. An apply not yet sent is refused: by the Lease check first, so a leader that
    /// lost its Lease logs each refusal, else as the executor shutting down. A request already sent is
    /// waited for (at most its `--request-timeout`).
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.applies.idle().await;
    }

    /// Start running `command` (returns at once).
    pub fn run(&self, command: Command) {
        if self.dry_run && !matches!(command, Command::Publish { .. }) {
            // The core sends no write in a dry run; this guard keeps it so whatever changes there.
            tracing::error!(?command, "dry run: refusing to send a write");
            self.metrics.request("apply", "dry_run");
            return;
        }
        match command {
            Command::Apply { workload, body } => {
                let this = self.clone();
                let out = self.applies.start();
                tokio::spawn(async move {
                    let _out = out;
                    let outcome = this.apply(&workload, &body).await.map(Box::new);
                    let _ = this.answers.send(Input::Applied { workload, outcome });
                });
            }
            Command::WriteStatus { key, status } => {
                let this = self.clone();
                tokio::spawn(async move {
                    let outcome = this
                        .with_retries("status", || async {
                            this.may_send("status", "write the ConfigSync status", &key)?;
                            match tokio::time::timeout(
                                this.timeout,
                                write_status(&this.client, &key, &status),
                            )
                            .await
                            {
                                Ok(Ok(())) => Ok(()),
                                Ok(Err(error)) => Err(failure_of(&error)),
                                Err(_) => Err(timed_out(this.timeout)),
                            }
                        })
                        .await
                        .map(|()| status);
                    let _ = this.answers.send(Input::StatusWritten { key, outcome });
                });
            }
            Command::SetCondition {
                workload,
                condition,
            } => {
                let this = self.clone();
                tokio::spawn(async move {
                    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
                    let body = condition.status_body(&workload, &now.to_string());
                    let outcome = this
                        .with_retries("condition", || async {
                            this.may_send(
                                "condition",
                                "set the ConfigSyncApplied condition",
                                &workload,
                            )?;
                            apply::set_condition(&this.client, &workload, &body, this.timeout)
                                .await
                                .map_err(|error| error.failure())
                        })
                        .await;
                    if let Err(failure) = outcome {
                        this.metrics.error("condition");
                        tracing::warn!(%workload, error = %failure.message,
                            "could not set the ConfigSyncApplied condition");
                    }
                });
            }
            Command::Publish { regarding, text } => {
                let queue = match text.lane() {
                    Lane::Change => &self.events.change,
                    Lane::Bulk => &self.events.bulk,
                };
                let queued = (regarding, text, tokio::time::Instant::now());
                if queue.try_send(queued).is_err() {
                    self.metrics.request("event", "dropped");
                }
            }
        }
    }

    async fn apply(
        &self,
        workload: &crate::workload::WorkloadRef,
        body: &serde_json::Value,
    ) -> Result<super::workloads::Observation, Failure> {
        self.with_retries("apply", || async {
            self.may_send("apply", "apply", workload)?;
            apply::apply(&self.client, workload, body, self.auto_all, self.timeout)
                .await
                .map_err(|error| error.failure())
        })
        .await
    }

    /// Whether a write may go out now: every write (apply, ConfigSync status, condition) checks that the leader
    /// Lease is fresh right before it is sent, so a leader woken after a freeze never acts on its stale cache; and
    /// nothing is sent once the executor is closed.
    fn may_send(
        &self,
        request: &'static str,
        verb: &'static str,
        subject: &dyn std::fmt::Display,
    ) -> Result<(), Failure> {
        if let Some(freshness) = &self.freshness
            && let Err(failure) = freshness.check()
        {
            self.metrics.request(request, "stale_lease");
            tracing::warn!(%subject, "refusing to {verb}: the leader Lease is not fresh");
            return Err(failure);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        Ok(())
    }

    /// Run `attempt` in a slot until it succeeds, fails for good, or [`ATTEMPTS`] are spent; count each.
    async fn with_retries<T, F, Fut>(&self, request: &'static str, attempt: F) -> Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 1;
        loop {
            let result = {
                let Ok(_slot) = self.slots.acquire().await else {
                    return Err(closed());
                };
                self.metrics.in_flight.inc();
                // Boxed, so that a task waiting for its slot holds a pointer, not the request future itself
                // (kilobytes): a fan-out of thousands then waits in small tasks, and the peak does not stay
                // behind as heap the allocator cannot return (BENCHMARKS.md, "Operator at API latency").
                let result = Box::pin(attempt()).await;
                self.metrics.in_flight.dec();
                result
            };
            match result {
                Ok(value) => {
                    self.metrics.request(request, "ok");
                    return Ok(value);
                }
                Err(failure) => {
                    if failure.category != "stale_lease" {
                        self.metrics.request(request, failure.category);
                    }
                    if failure.permanent || tries >= ATTEMPTS {
                        return Err(failure);
                    }
                    tracing::debug!(request, tries, error = %failure.message, "request failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    tries += 1;
                }
            }
        }
    }
}

fn failure_of(error: &kube::Error) -> Failure {
    let (category, permanent) = apply::classify(error);
    Failure {
        category,
        permanent,
        message: error.to_string(),
    }
}

fn timed_out(after: Duration) -> Failure {
    Failure {
        category: "timeout",
        permanent: false,
        message: format!("no answer within {after:?}"),
    }
}

fn closed() -> Failure {
    Failure {
        category: "client",
        permanent: true,
        message: "the executor is shutting down".to_owned(),
    }
}

/// The two Event queues (senders in the executor, receivers in the publisher).
#[derive(Clone)]
struct Lanes<T> {
    change: T,
    bulk: T,
}

impl Lanes<mpsc::Receiver<Queued>> {
    /// The next Event to publish: a change Event whenever one waits, else a bulk one; `None` once both
    /// queues are closed and empty.
    async fn next(&mut self) -> Option<Queued> {
        tokio::select! {
            biased;
            Some(queued) = self.change.recv() => Some(queued),
            Some(queued) = self.bulk.recv() => Some(queued),
            else => None,
        }
    }
}

/// How many applies are out (waiting for a slot or sent, until their answer): the Event publisher waits
/// for none, so an Event request never competes with a rollout's apply.
#[derive(Clone)]
struct AppliesOut(Arc<watch::Sender<usize>>);

impl Default for AppliesOut {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl AppliesOut {
    /// Count one apply out until the guard is dropped.
    fn start(&self) -> ApplyOut {
        self.0.send_modify(|n| *n += 1);
        ApplyOut(self.0.clone())
    }

    /// Return once no apply is out.
    async fn idle(&self) {
        let mut out = self.0.subscribe();
        let _ = out.wait_for(|n| *n == 0).await;
    }

    /// Return once no apply is out, or at `deadline`.
    async fn idle_or(&self, deadline: tokio::time::Instant) {
        if deadline <= tokio::time::Instant::now() {
            return;
        }
        let mut out = self.0.subscribe();
        let _ = tokio::time::timeout_at(deadline, out.wait_for(|n| *n == 0)).await;
    }
}

/// One apply out (see [`AppliesOut::start`]).
struct ApplyOut(Arc<watch::Sender<usize>>);

impl Drop for ApplyOut {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Publish queued Events one after the other (change lane first), each once no apply is out (or after
/// [`EVENT_DEFER`] in the queue) and within `timeout`; a failure is counted, not retried.
async fn publish_events(
    events: Events,
    mut queues: Lanes<mpsc::Receiver<Queued>>,
    applies: AppliesOut,
    metrics: Metrics,
    timeout: Duration,
) {
    while let Some((regarding, text, queued_at)) = queues.next().await {
        applies.idle_or(queued_at + EVENT_DEFER).await;
        let reference = match &regarding {
            Regarding::Workload { workload, uid } => {
                apply::object_reference(workload, uid.as_deref())
            }
            Regarding::ConfigSync(cs) => cs_reference(cs),
        };
        let outcome = match tokio::time::timeout(timeout, events.publish(&text, &reference)).await {
            Ok(Ok(())) => "ok",
            Ok(Err(error)) => apply::classify(&error).0,
            Err(_) => "timeout",
        };
        metrics.request("event", outcome);
        if outcome != "ok" {
            metrics.error("event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::event::{EventType, reason};
    use crate::workload::WorkloadRef;
    use configsync_crds::WorkloadKind;

    fn queued(name: &str, reason: &'static str) -> Queued {
        let workload = WorkloadRef::new(WorkloadKind::Deployment, "prod", name);
        let text = EventText {
            type_: EventType::Normal,
            reason,
            note: String::new(),
        };
        (
            Regarding::Workload {
                workload,
                uid: None,
            },
            text,
            tokio::time::Instant::now(),
        )
    }

    fn name(queued: &Queued) -> String {
        match &queued.0 {
            Regarding::Workload { workload, .. } => workload.name.clone(),
            Regarding::ConfigSync(_) => String::new(),
        }
    }

    #[tokio::test]
    async fn a_change_event_goes_out_before_every_waiting_adoption_event() {
        let (change_tx, change) = mpsc::channel(EVENT_QUEUE);
        let (bulk_tx, bulk) = mpsc::channel(EVENT_QUEUE);
        let mut lanes = Lanes { change, bulk };
        let send = |queued: Queued| {
            let sent = match queued.1.lane() {
                Lane::Change => change_tx.try_send(queued),
                Lane::Bulk => bulk_tx.try_send(queued),
            };
            sent.is_ok().then_some(()).ok_or("queue full")
        };
        for i in 0..1100 {
            send(queued(&format!("adopted-{i}"), reason::ADOPTED)).unwrap();
        }
        send(queued("rolled", reason::ROLLED)).unwrap();
        assert_eq!(name(&lanes.next().await.unwrap()), "rolled");
        assert_eq!(name(&lanes.next().await.unwrap()), "adopted-0");
        send(queued("warned", reason::APPLY_FAILED)).unwrap();
        assert_eq!(name(&lanes.next().await.unwrap()), "warned");
        assert_eq!(name(&lanes.next().await.unwrap()), "adopted-1");
        drop((change_tx, bulk_tx));
        let mut rest = 0;
        while lanes.next().await.is_some() {
            rest += 1;
        }
        assert_eq!(
            rest, 1098,
            "every adoption Event is still published, in order"
        );
    }

    #[tokio::test]
    async fn events_wait_while_an_apply_is_out_and_go_once_it_answered() {
        use futures::FutureExt as _;
        let applies = AppliesOut::default();
        let later = tokio::time::Instant::now() + Duration::from_secs(60);
        assert!(applies.idle_or(later).now_or_never().is_some(), "none out");
        let first = applies.start();
        let second = applies.start();
        assert!(applies.idle_or(later).now_or_never().is_none(), "two out");
        drop(first);
        assert!(applies.idle_or(later).now_or_never().is_none(), "one out");
        let waiting = tokio::spawn({
            let applies = applies.clone();
            async move { applies.idle_or(later).await }
        });
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the Event goes once the last apply answered")
            .unwrap();
        let _stuck = applies.start();
        let past = tokio::time::Instant::now();
        assert!(
            applies.idle_or(past).now_or_never().is_some(),
            "an Event queued longer than EVENT_DEFER goes anyway"
        );
    }

    /// A request the fake API server holds: its path, and where to send its answer.
    type Held = (String, tokio::sync::oneshot::Sender<http::Response<String>>);

    /// A client whose every request waits on the returned channel for the test to answer it.
    fn held_client() -> (Client, mpsc::UnboundedReceiver<Held>) {
        let (held_tx, held_rx) = mpsc::unbounded_channel();
        let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
            let held_tx: mpsc::UnboundedSender<Held> = held_tx.clone();
            async move {
                let (answer_tx, answer_rx) = tokio::sync::oneshot::channel();
                let _ = held_tx.send((request.uri().path().to_owned(), answer_tx));
                let answer = answer_rx.await.unwrap_or_default();
                Ok::<_, std::convert::Infallible>(
                    answer.map(|body| http_body_util::Full::new(bytes::Bytes::from(body))),
                )
            }
        });
        (Client::new(service, "default"), held_rx)
    }

    fn not_found() -> http::Response<String> {
        let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"gone","reason":"NotFound","code":404}"#;
        let mut response = http::Response::new(status.to_owned());
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        response
    }

    /// A leader's executor with `slots` (`--max-inflight`), its Lease freshness, and the fake API server's
    /// held requests.
    struct Leader {
        executor: Executor,
        freshness: Freshness,
        held: mpsc::UnboundedReceiver<Held>,
        answers: mpsc::UnboundedReceiver<Input>,
        registry: prometheus_client::registry::Registry,
    }

    impl Leader {
        fn with_slots(max_inflight: std::num::NonZeroUsize) -> Self {
            let (client, held) = held_client();
            let config = super::super::Config {
                max_inflight,
                ..super::super::Config::default()
            };
            let (registry, metrics) = Metrics::with_registry();
            let (answers_tx, answers) = mpsc::unbounded_channel();
            let freshness = Freshness::new(std::time::Instant::now(), Duration::from_secs(3600));
            let executor = Executor::new(
                client,
                &config,
                metrics,
                answers_tx,
                Some(freshness.clone()),
            );
            Self {
                executor,
                freshness,
                held,
                answers,
                registry,
            }
        }
    }

    /// The Lease handoff of a woken leader: its renew task finds the Lease lost while one apply is out and
    /// two wait for the only slot. Closing the executor then refuses both queued applies with the stale-lease
    /// refusal (logged, counted) without sending them, and returns only once the apply out has answered.
    #[tokio::test]
    async fn closing_after_the_lease_is_lost_refuses_every_queued_apply_before_returning() {
        let leader = Leader::with_slots(std::num::NonZeroUsize::MIN);
        let (executor, freshness, mut held, mut answers) = (
            leader.executor,
            leader.freshness,
            leader.held,
            leader.answers,
        );
        let names = ["sent", "queued-1", "queued-2"];
        for name in names {
            let workload = WorkloadRef::new(WorkloadKind::Deployment, "prod", name);
            let body = serde_json::json!({});
            executor.run(Command::Apply { workload, body });
        }
        let (path, answer) = held.recv().await.expect("the first apply is sent");
        assert!(path.ends_with("/deployments/sent"), "{path}");

        freshness.lose();
        let mut close = Box::pin(executor.close());
        assert!(
            futures::poll!(&mut close).is_pending(),
            "close waits for the apply out"
        );
        answer
            .send(not_found())
            .expect("the client waits for its answer");
        tokio::time::timeout(Duration::from_secs(10), close)
            .await
            .expect("close returns once every apply is answered");

        let mut refused = Vec::new();
        while let Ok(Input::Applied { workload, outcome }) = answers.try_recv() {
            let failure = outcome.expect_err("no apply went through");
            refused.push((workload.name, failure.category, failure.permanent));
        }
        refused.sort();
        assert_eq!(
            refused,
            [
                ("queued-1".to_owned(), "stale_lease", true),
                ("queued-2".to_owned(), "stale_lease", true),
                ("sent".to_owned(), "not_found", true),
            ],
            "every apply answered before close returned: the queued ones refused, not sent"
        );
        assert!(held.try_recv().is_err(), "nothing was sent after the loss");
    }

    /// Every write checks the Lease, not only applies: once it is lost, a ConfigSync status write is answered
    /// as refused and a condition write is counted as refused, and neither reaches the API.
    #[tokio::test]
    async fn a_lost_lease_refuses_status_and_condition_writes_too() {
        let leader = Leader::with_slots(super::super::Config::default().max_inflight);
        let (executor, freshness, registry) = (leader.executor, leader.freshness, leader.registry);
        let (mut held, mut answers) = (leader.held, leader.answers);
        freshness.lose();

        let key = crate::core::configsync::CsKey {
            namespace: "prod".to_owned(),
            name: "sync".to_owned(),
        };
        let status = Box::default();
        executor.run(Command::WriteStatus { key, status });
        let answer = tokio::time::timeout(Duration::from_secs(10), answers.recv())
            .await
            .expect("the status write is answered")
            .expect("the executor is alive");
        let Input::StatusWritten { outcome, .. } = answer else {
            panic!("expected the status write's answer, got {answer:?}");
        };
        assert_eq!(outcome.expect_err("refused").category, "stale_lease");

        let workload = WorkloadRef::new(WorkloadKind::Deployment, "prod", "web");
        let condition = crate::plan::condition::WorkloadCondition::applied();
        executor.run(Command::SetCondition {
            workload,
            condition,
        });
        let refused = r#"request="condition",outcome="stale_lease""#;
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let mut text = String::new();
                prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
                if text.contains(refused) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the condition write is counted as refused");
        assert!(held.try_recv().is_err(), "no write reached the API");
    }
}
