//! Operator faults, in process: a seeded random run of source updates while the API drops watches, answers
//! 410 Gone to stale resumes, fails 5% of requests with 500 or 429, and has 409 conflict storms. Every
//! workload whose consumed content changed must roll exactly once per settled batch, nothing else may
//! roll, and the final hashes must equal the ones recomputed from scratch (see `invariant/`).
//!
//! The same run again with a managed control plane's round trip added to every request (`api_latency`) and
//! one apply that hangs until the operator's request timeout gives up on it: still exactly once.
//!
//! Reproduce a run with `CONFIGSYNC_FAULT_SEED=<seed printed by the test> cargo test -p configsync-operator
//! --test fault_invariant -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod invariant;
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use configsync_cluster::{Config as ClusterConfig, EmbeddedCluster, FaultSettings};
use configsync_operator::controller::Config;
use invariant::drive::Run;
use invariant::fleet::Fleet;
use prometheus_client::encoding::text::encode;
use support::Operator;

const WORKLOADS: usize = 36;
const BATCHES: usize = 42;
const BATCH_SIZE: usize = 6;
/// Events kept for watch resumption: small, so a watch resumed after a drop often gets 410 Gone.
const HISTORY: usize = 48;
/// The embedded cluster is this test's alone: the run uses its `default` namespace.
const NAMESPACE: &str = "default";

/// The seed from `CONFIGSYNC_FAULT_SEED`, or a fresh one.
fn seed() -> u64 {
    std::env::var("CONFIGSYNC_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// 5% of requests fail (500 or 429) and watches end every 2 seconds; `storm` adds 30% write conflicts.
fn faults(storm: bool) -> FaultSettings {
    FaultSettings {
        error_500_share: 0.025,
        error_429_share: 0.025,
        conflict_409_share: if storm { 0.3 } else { 0.0 },
        close_watches_every_seconds: Some(2),
        ..FaultSettings::default()
    }
}

/// Successful list requests by path, seen through the operator's client: every list after a watch's first
/// one is a relist, which the watcher only does after 410 Gone.
#[derive(Clone, Default)]
struct ListCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl ListCounter {
    fn wrap(&self, inner: kube::Client) -> kube::Client {
        let counts = self.0.clone();
        let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
            let (inner, counts) = (inner.clone(), counts.clone());
            async move {
                let query = request.uri().query().unwrap_or_default();
                let is_list =
                    request.method() == http::Method::GET && !query.contains("watch=true");
                let path = request.uri().path().to_owned();
                let response = inner.send(request).await?;
                if is_list && response.status().is_success() {
                    *counts.lock().unwrap().entry(path).or_default() += 1;
                }
                Ok::<_, kube::Error>(response)
            }
        });
        kube::Client::new(service, "default")
    }

    fn relists(&self) -> u64 {
        self.0.lock().unwrap().values().map(|n| n - 1).sum()
    }
}

/// Holds the first `hangs` workload applies forever (until the caller's timeout drops them).
#[derive(Clone, Default)]
struct Hang(Arc<AtomicU64>);

impl Hang {
    fn wrap(&self, inner: kube::Client, hangs: u64) -> kube::Client {
        let hung = self.0.clone();
        let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
            let (inner, hung) = (inner.clone(), hung.clone());
            async move {
                let is_apply = request.method() == http::Method::PATCH
                    && request.uri().path().starts_with("/apis/apps/");
                if is_apply && hung.fetch_add(1, Ordering::SeqCst) < hangs {
                    std::future::pending::<()>().await;
                }
                inner.send(request).await
            }
        });
        kube::Client::new(service, "default")
    }

    fn hung(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The operator's `configsync_operator_requests_total` for `request` and `outcome`.
fn requests_metric(operator: &Operator, request: &str, outcome: &str) -> u64 {
    let mut text = String::new();
    encode(&mut text, &operator.registry).unwrap();
    let wanted = format!(
        "configsync_operator_requests_total{{request=\"{request}\",outcome=\"{outcome}\"}} "
    );
    text.lines()
        .filter_map(|line| line.strip_prefix(&wanted)?.parse::<u64>().ok())
        .sum()
}

/// The operator's `configsync_operator_rollouts_total`, summed over labels.
fn rollouts_metric(operator: &Operator) -> u64 {
    let mut text = String::new();
    encode(&mut text, &operator.registry).unwrap();
    text.lines()
        .filter(|line| line.starts_with("configsync_operator_rollouts_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// How a run's API and operator are set up.
struct Setup {
    name: &'static str,
    api_latency: Duration,
    /// Applies that hang until the operator's request timeout.
    hangs: u64,
    batches: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollouts_stay_exactly_once_under_api_faults() {
    run_invariant(Setup {
        name: "fault invariant",
        api_latency: Duration::ZERO,
        hangs: 0,
        batches: BATCHES,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollouts_stay_exactly_once_with_latency_and_a_hung_apply() {
    run_invariant(Setup {
        name: "fault invariant (20ms latency, one hung apply)",
        api_latency: Duration::from_millis(20),
        hangs: 1,
        batches: BATCHES / 2,
    })
    .await;
}

async fn run_invariant(setup: Setup) {
    let name = setup.name;
    let started = Instant::now();
    let seed = seed();
    println!("{name}: seed={seed} (rerun with CONFIGSYNC_FAULT_SEED={seed})");
    let cluster = EmbeddedCluster::start(ClusterConfig {
        run_controllers: false,
        history_capacity: HISTORY,
        api_latency: setup.api_latency,
        ..ClusterConfig::default()
    })
    .await;
    let client = cluster.client();
    let mut run = Run::start(&client, NAMESPACE, Fleet::new(seed, WORKLOADS)).await;
    let lists = ListCounter::default();
    let hang = Hang::default();
    let config = Config {
        request_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let operator_client = hang.wrap(lists.wrap(cluster.client()), setup.hangs);
    let operator = Operator::start(operator_client, config).await;
    run.adopted(&client).await;

    let mut updates = 0;
    for batch in 0..setup.batches {
        cluster.faults().set(faults(batch % 4 == 3));
        let before = run.fleet.expected_hashes();
        let writes = run.fleet.next_batch(BATCH_SIZE);
        let cut = (run.fleet.draw() * writes.len() as f64) as usize;
        run.write(&client, &writes[..cut]).await;
        // Mid-batch, like an apiserver restart: every watch ends and resumes (or relists on 410).
        cluster.faults().close_watches();
        run.write(&client, &writes[cut..]).await;
        updates += writes.len();
        run.settle(&client, &before).await;
        if run.stalled {
            break;
        }
    }
    cluster.faults().set(FaultSettings::default());
    let mismatches = run.final_mismatches(&client).await;
    let tally = &run.tally;
    let timeouts = requests_metric(&operator, "apply", "timeout");
    println!(
        "{name}: seed={seed} updates={updates} {tally} relists={} unquiet_settles={} \
         rollouts_metric={} apply_timeouts={timeouts} barrier_rounds={}+1 elapsed={:.1}s",
        lists.relists(),
        run.unquiet_settles,
        rollouts_metric(&operator),
        setup.batches,
        started.elapsed().as_secs_f64()
    );
    assert!(
        updates >= setup.batches * BATCH_SIZE / 2,
        "only {updates} updates"
    );
    assert!(tally.changes > 0, "the run changed nothing");
    assert!(lists.relists() > 0, "no watch ever relisted after 410 Gone");
    if setup.hangs > 0 {
        assert!(hang.hung() > setup.hangs, "no apply was held");
        assert!(timeouts >= setup.hangs, "the hung apply never timed out");
    }
    assert!(
        tally.holds(),
        "seed {seed}: {tally}; (batch, workload) off: {:?}",
        tally.offenders
    );
    assert!(
        !run.stalled,
        "seed {seed}: the operator never settled: {tally}"
    );
    assert!(
        mismatches.is_empty(),
        "seed {seed}: live hashes differ from recomputed: {mismatches:?}"
    );
}
