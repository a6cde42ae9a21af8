//! Operator faults with processes: `configsync operator` against the test's API server (`configsync cluster`,
//! or the real control plane that `CONFIGSYNC_REAL_K8S` names; see `tests/support`), killed with
//! SIGKILL in the middle of a fan-out, a leader killed mid fan-out so the standby takes over, and a leader
//! frozen (SIGSTOP) mid fan-out that wakes up after a successor moved the content on. The same
//! invariant as `operator/tests/fault_invariant.rs` (whose `invariant/` module this includes): every
//! workload whose consumed content changed rolls exactly once, nothing else rolls, and the final hashes
//! equal the ones recomputed from scratch.
//!
//! The operators reach the API through a delaying proxy (`support::proxy`) that holds every request for a
//! while, so a fan-out takes seconds and the kill lands inside it; the test asserts it did (some workloads
//! rolled, some not yet). The test's own client goes direct. The same proxy serves both backends (the
//! embedded server's own latency fault is covered in `platform/cluster/tests/in_process.rs`), so both runs time the
//! kill the same way. With `CONFIGSYNC_REAL_K8S` the run is confined to the test's namespace: the fleet, the
//! Lease and the operators' `--namespaces`. Reproduce with `CONFIGSYNC_FAULT_SEED`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../operator/tests/invariant/mod.rs"]
mod invariant;
mod support;

use std::time::{Duration, Instant};

use invariant::drive::{self, Run, Snapshot};
use invariant::fleet::{Fleet, fan_out_source};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use support::Cluster;
use support::proxy::DelayedApi;

const WORKLOADS: usize = 16;
/// Added to every request of the operators, so a fan-out of ~12 rollouts (a patch and an Event each) takes
/// seconds.
const LATENCY_MS: u64 = 40;
const LEASE_NAME: &str = "configsync-operator";

/// The cluster, the test's direct client, and the operators' delayed way in.
struct Env {
    cluster: Cluster,
    client: kube::Client,
    api: DelayedApi,
}

impl Env {
    fn ns(&self) -> &str {
        &self.cluster.namespace
    }

    fn set_latency(&self, ms: u64) {
        self.api.proxy.set_latency(ms);
    }
}

/// A running `configsync operator`; SIGKILLed on drop.
struct OperatorProcess {
    operator: support::Operator,
    identity: String,
}

impl OperatorProcess {
    /// Start one through the delaying proxy and wait until `/readyz` answers (a standby is ready as a
    /// standby).
    fn start(env: &Env, identity: &str, leader_elect: bool) -> Self {
        // One request in flight: the fan-out goes out one apply at a time, so the kill or freeze lands
        // inside it, and a frozen leader wakes with applies still queued in its executor.
        let mut args = vec!["--log-level", "warn", "--identity", identity];
        args.extend(["--max-inflight", "1"]);
        if leader_elect {
            args.extend(["--leader-elect", "--lease-namespace", env.ns()]);
            args.extend(["--lease-duration", "3s", "--renew-deadline", "2s"]);
            args.extend(["--retry-period", "500ms"]);
        }
        Self {
            operator: support::start_operator_with(&env.cluster, &env.api.kubeconfig, &args),
            identity: identity.to_owned(),
        }
    }

    /// Send `signal` (SIGSTOP freezes the process as a long GC pause or a descheduled node would).
    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.operator.child.id()).expect("a pid"));
        nix::sys::signal::kill(pid, signal).expect("signal the operator");
    }

    /// Wait until the process has exited on its own.
    fn wait_for_exit(&mut self) {
        support::wait_until("the operator exits", || {
            self.operator
                .child
                .try_wait()
                .expect("poll the operator")
                .is_some()
        });
    }

    /// SIGKILL: no shutdown path runs.
    fn kill(mut self) {
        self.operator.child.kill().expect("SIGKILL the operator");
        self.operator.child.wait().expect("reap the operator");
    }
}

async fn client_for(cluster: &Cluster) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Poll until some but not all of `names` have rolled past `generations`; panic if the fan-out completes
/// (or never starts) first. Returns how many had rolled.
async fn wait_mid_fan_out(env: &Env, generations: &Snapshot, names: &[String]) -> usize {
    let deadline = Instant::now() + drive::DEADLINE;
    while Instant::now() < deadline {
        if let Ok(now) = drive::snapshot(&env.client, env.ns()).await {
            let rolled = names
                .iter()
                .filter(|n| now[n.as_str()].generation > generations[n.as_str()].generation)
                .count();
            assert!(rolled < names.len(), "the fan-out finished before the kill");
            if rolled > 0 {
                return rolled;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the fan-out never started");
}

/// Update the fan-out key, wait until the fan-out is under way, and run `fault` then; returns how many
/// workloads had rolled at that moment, out of how many owed a rollout.
async fn fan_out_with<F: FnOnce()>(env: &Env, run: &mut Run, fault: F) -> (usize, usize) {
    let client = &env.client;
    let before = run.fleet.expected_hashes();
    let update = run.fleet.update(&fan_out_source(), "a");
    let after = run.fleet.expected_hashes();
    let owed: Vec<String> = after
        .iter()
        .filter(|(n, h)| before.get(*n) != Some(h))
        .map(|(n, _)| n.clone())
        .collect();
    let generations = run.snapshot(client).await;
    run.write(client, &[update]).await;
    let rolled = wait_mid_fan_out(env, &generations, &owed).await;
    fault();
    run.settle(client, &before).await;
    (rolled, owed.len())
}

async fn lease_holder(env: &Env) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(env.client.clone(), env.ns());
    api.get_opt(LEASE_NAME).await.ok()??.spec?.holder_identity
}

async fn wait_for_holder(env: &Env, not: Option<&str>) -> String {
    let deadline = Instant::now() + drive::DEADLINE;
    loop {
        if let Some(holder) = lease_holder(env).await
            && Some(holder.as_str()) != not
        {
            return holder;
        }
        assert!(Instant::now() < deadline, "no new leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A few random batches between the faults, so the invariant covers ordinary traffic too.
async fn random_batches(client: &kube::Client, run: &mut Run, batches: usize) {
    for _ in 0..batches {
        let before = run.fleet.expected_hashes();
        let writes = run.fleet.next_batch(5);
        run.write(client, &writes).await;
        run.settle(client, &before).await;
    }
}

/// SIGKILL the only operator mid fan-out; a fresh process catches up.
async fn sigkill_mid_fan_out(env: &Env, run: &mut Run) {
    let first = OperatorProcess::start(env, "solo-1", false);
    run.adopted(&env.client).await;
    random_batches(&env.client, run, 1).await;
    env.set_latency(LATENCY_MS);
    let mut restarted = None;
    let (killed_at, owed) = fan_out_with(env, run, || {
        first.kill();
        restarted = Some(OperatorProcess::start(env, "solo-2", false));
    })
    .await;
    env.set_latency(0);
    println!("SIGKILL after {killed_at} of {owed} fan-out rollouts; the restart caught up");
}

/// Two candidates; the leader is SIGKILLed mid fan-out and the standby takes over. Returns the survivor.
async fn leader_killed_mid_fan_out(env: &Env, run: &mut Run) -> OperatorProcess {
    let [a, b] = [
        OperatorProcess::start(env, "candidate-a", true),
        OperatorProcess::start(env, "candidate-b", true),
    ];
    let leader = wait_for_holder(env, None).await;
    run.adopted(&env.client).await;
    env.set_latency(LATENCY_MS);
    let (doomed, standby) = if a.identity == leader { (a, b) } else { (b, a) };
    let (killed_at, owed) = fan_out_with(env, run, || doomed.kill()).await;
    let successor = wait_for_holder(env, Some(&leader)).await;
    assert_eq!(successor, standby.identity);
    env.set_latency(0);
    random_batches(&env.client, run, 1).await;
    println!("leader {leader} SIGKILLed after {killed_at} of {owed}; {successor} took over");
    standby
}

/// The leader freezes (SIGSTOP) mid fan-out; a third candidate takes over and the content moves on while
/// the old leader sleeps. When it wakes (SIGCONT) with a stale cache it must roll nothing: its executor
/// refuses the applies still queued because its Lease is no longer fresh by its own clock (the log says
/// so), and it finds the Lease lost and exits.
async fn leader_frozen_mid_fan_out(env: &Env, run: &mut Run, mut leader: OperatorProcess) {
    let client = &env.client;
    let third = OperatorProcess::start(env, "candidate-c", true);
    env.set_latency(LATENCY_MS);
    let (frozen_at, owed) = fan_out_with(env, run, || leader.signal(Signal::SIGSTOP)).await;
    let successor = wait_for_holder(env, Some(&leader.identity)).await;
    assert_eq!(successor, third.identity);
    env.set_latency(0);
    let before = run.fleet.expected_hashes();
    let update = run.fleet.update(&fan_out_source(), "a");
    run.write(client, &[update]).await;
    run.settle(client, &before).await;
    leader.signal(Signal::SIGCONT);
    leader.wait_for_exit();
    assert!(
        leader
            .operator
            .logged("refusing to apply: the leader Lease is not fresh"),
        "the woken leader sent its queued applies on a stale Lease"
    );
    run.adopted(client).await;
    println!(
        "leader {} frozen after {frozen_at} of {owed}; {successor} took over; the old leader woke and exited",
        leader.identity
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_leader_change_and_frozen_leader_roll_exactly_once() {
    let Some(cluster) = support::start() else {
        return;
    };
    let started = Instant::now();
    let seed = std::env::var("CONFIGSYNC_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("operator faults e2e: seed={seed} (rerun with CONFIGSYNC_FAULT_SEED={seed})");
    let client = client_for(&cluster).await;
    let api = cluster.delayed_api();
    let env = Env {
        cluster,
        client,
        api,
    };
    let mut run = Run::start(&env.client, env.ns(), Fleet::new(seed, WORKLOADS)).await;
    sigkill_mid_fan_out(&env, &mut run).await;
    let leader = leader_killed_mid_fan_out(&env, &mut run).await;
    leader_frozen_mid_fan_out(&env, &mut run, leader).await;

    let mismatches = run.final_mismatches(&env.client).await;
    let tally = &run.tally;
    let backend = if env.cluster.is_real() {
        "real"
    } else {
        "embedded"
    };
    println!(
        "operator faults e2e: backend={backend} seed={seed} {tally} unquiet_settles={} elapsed={:.1}s",
        run.unquiet_settles,
        started.elapsed().as_secs_f64()
    );
    assert!(
        tally.holds(),
        "seed {seed}: {tally}; off: {:?}",
        tally.offenders
    );
    assert!(mismatches.is_empty(), "seed {seed}: {mismatches:?}");
}

/// The proxy the operators go through holds what a client sends for the latency set, passes the answer back
/// unchanged, and at 0 is a plain forwarder.
#[test]
fn the_delay_proxy_holds_requests_for_the_latency_set() {
    use std::io::{Read, Write};
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut stream in upstream.incoming().flatten() {
            let mut reader = stream.try_clone().unwrap();
            std::thread::spawn(move || std::io::copy(&mut reader, &mut stream));
        }
    });
    let proxy = support::proxy::DelayProxy::start(&upstream_addr);
    let round_trip = || {
        let started = Instant::now();
        let mut stream = std::net::TcpStream::connect(proxy.addr()).unwrap();
        stream.write_all(b"ping").unwrap();
        let mut echoed = [0u8; 4];
        stream.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"ping");
        started.elapsed()
    };
    let latency = Duration::from_millis(500);
    proxy.set_latency(500);
    let held = round_trip();
    assert!(held >= latency, "held only {held:?}");
    proxy.set_latency(0);
    let plain = round_trip();
    assert!(plain < latency, "a plain forward took {plain:?}");
}
