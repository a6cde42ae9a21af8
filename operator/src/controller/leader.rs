//! Leader election on a `coordination.k8s.io/v1` Lease (`--leader-elect`).
//!
//! ```text
//!  acquire: loop { get Lease → next_lease(spec, me, now) → create/replace (resourceVersion-guarded) }
//!           until we hold it, then a renew task every retry period
//!  lost:    no successful renew for the renew deadline → Freshness::lose(): every later check refuses for
//!           good and Freshness::lost() resolves; the controller closes its executor (each apply not yet
//!           sent is refused, each one out answers) and only then returns, so the process exits
//! ```
//! **Freshness.** Before each apply the executor asks [`Freshness::check`]: the last successful renew
//! must have started within the lease duration, by this process's monotonic clock (which keeps running
//! while the process is stopped). A leader frozen with SIGSTOP and woken after a standby took over would
//! otherwise act on its stale cache before its renew task noticed the loss; its applies are refused instead
//! (`configsync_operator_requests_total{request="apply",outcome="stale_lease"}` and a log line). Once the
//! renew task gives the Lease up, the refusal is permanent, and the controller stops only after every
//! queued apply has been refused that way: a woken leader never exits with applies it neither sent nor refused.
//!
//! The optimistic concurrency of `replace` (resourceVersion) makes the take-over race safe: of two
//! candidates that see an expired Lease, one write wins and the other gets 409 and stays standby. A new
//! leader needs no handover state: its catch-up pass compares live content with each workload's
//! `observed-hash` record, so it rolls what changed during the election, once, and nothing else.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;

use super::Access;

/// What leader election needs from the API.
pub const ACCESS: &[Access] = &[Access::new(
    "coordination.k8s.io",
    "leases",
    &["get", "create", "update"],
)];

/// Lease name, namespace, identity and timings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// The Lease name.
    pub name: String,
    /// The Lease namespace.
    pub namespace: String,
    /// This candidate's identity (the pod name).
    pub identity: String,
    /// How long a Lease stays valid without a renew (whole seconds in the Lease).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up.
    pub renew_deadline: Duration,
    /// How often candidates retry and the leader renews.
    pub retry_period: Duration,
}

/// Failures of leader election.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Timings that could produce two leaders.
    #[error(
        "leader election needs retry period < renew deadline < lease duration, and a lease of at least 1s"
    )]
    ValidateTimings,
}

/// Holding the Lease. Dropping it stops renewing (the Lease then expires).
#[derive(Debug)]
pub struct Leadership {
    renew: tokio::task::JoinHandle<()>,
    freshness: Freshness,
}

/// When the Lease was last renewed, and whether it is lost for good, to tell whether acting now is safe.
#[derive(Clone, Debug)]
pub struct Freshness {
    renewed: Arc<Mutex<Instant>>,
    lease_duration: Duration,
    lost: Arc<watch::Sender<bool>>,
}

impl Freshness {
    /// Fresh as of `renewed`, for `lease_duration`.
    pub fn new(renewed: Instant, lease_duration: Duration) -> Self {
        Self {
            renewed: Arc::new(Mutex::new(renewed)),
            lease_duration,
            lost: Arc::new(watch::Sender::new(false)),
        }
    }

    /// The Lease is lost for good (the renew deadline passed): every later [`Freshness::check`] refuses,
    /// permanently, and [`Freshness::lost`] resolves.
    pub fn lose(&self) {
        self.lost.send_replace(true);
    }

    /// Resolves once [`Freshness::lose`] was called.
    pub async fn lost(&self) {
        let mut lost = self.lost.subscribe();
        let _ = lost.wait_for(|lost| *lost).await;
    }

    /// A renew that started at `at` succeeded.
    pub fn renewed(&self, at: Instant) {
        let mut renewed = self
            .renewed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *renewed = (*renewed).max(at);
    }

    /// Whether the Lease is still ours by our own clock at `now`.
    pub fn is_fresh_at(&self, now: Instant) -> bool {
        let renewed = *self
            .renewed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        now.saturating_duration_since(renewed) < self.lease_duration
    }

    /// `Ok` while the Lease is fresh; a `stale_lease` failure otherwise: retryable while a renew may still
    /// succeed, permanent once the Lease is lost.
    ///
    /// # Errors
    /// The failure the executor reports for a refused apply.
    pub fn check(&self) -> Result<(), crate::core::Failure> {
        let lost = *self.lost.borrow();
        if !lost && self.is_fresh_at(Instant::now()) {
            return Ok(());
        }
        let message = if lost {
            "the leader Lease is lost".to_owned()
        } else {
            format!(
                "the leader Lease was not renewed within {:?}",
                self.lease_duration
            )
        };
        Err(crate::core::Failure {
            category: "stale_lease",
            permanent: lost,
            message,
        })
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renew.abort();
    }
}

impl Leadership {
    /// When the Lease was last renewed (checked before each apply).
    pub fn freshness(&self) -> Freshness {
        self.freshness.clone()
    }
}

/// The Lease spec to write, or `None` when another holder's Lease is still valid.
pub fn next_lease(
    current: Option<&LeaseSpec>,
    identity: &str,
    now: Timestamp,
    duration: Duration,
) -> Option<LeaseSpec> {
    let seconds = i32::try_from(duration.as_secs()).unwrap_or(i32::MAX).max(1);
    let fresh = LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(seconds),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    };
    let Some(current) = current else {
        return Some(fresh);
    };
    let transitions = current.lease_transitions.unwrap_or(0);
    if current.holder_identity.as_deref() == Some(identity) {
        return Some(LeaseSpec {
            renew_time: Some(MicroTime(now)),
            lease_duration_seconds: Some(seconds),
            ..current.clone()
        });
    }
    let held_for = i64::from(current.lease_duration_seconds.unwrap_or(seconds));
    let expired = match (&current.holder_identity, &current.renew_time) {
        (None, _) | (_, None) => true,
        (Some(_), Some(MicroTime(renewed))) => {
            now.as_second() >= renewed.as_second().saturating_add(held_for)
        }
    };
    expired.then(|| LeaseSpec {
        lease_transitions: Some(transitions.saturating_add(1)),
        ..fresh
    })
}

/// Wait until this candidate holds the Lease, then keep renewing it in the background.
///
/// # Errors
/// [`Error::ValidateTimings`] for timings that could elect two leaders.
pub async fn acquire(client: Client, config: LeaseConfig) -> Result<Leadership, Error> {
    let valid = config.retry_period < config.renew_deadline
        && config.renew_deadline < config.lease_duration
        && config.lease_duration >= Duration::from_secs(1);
    if !valid {
        return Err(Error::ValidateTimings);
    }
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let mut started = Instant::now();
    while !try_acquire_or_renew(&api, &config).await {
        tokio::time::sleep(config.retry_period).await;
        started = Instant::now();
    }
    tracing::info!(lease = %config.name, identity = %config.identity, "became the leader");
    let freshness = Freshness::new(started, config.lease_duration);
    let renew = tokio::spawn(renew(api, config, freshness.clone()));
    Ok(Leadership { renew, freshness })
}

async fn renew(api: Api<Lease>, config: LeaseConfig, freshness: Freshness) {
    let mut last_renew = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(config.retry_period).await;
        let started = Instant::now();
        if try_acquire_or_renew(&api, &config).await {
            last_renew = tokio::time::Instant::now();
            freshness.renewed(started);
        } else if last_renew.elapsed() >= config.renew_deadline {
            tracing::error!(lease = %config.name, "lost the Lease");
            freshness.lose();
            return;
        }
    }
}

/// One attempt; true when this candidate holds the Lease afterwards.
async fn try_acquire_or_renew(api: &Api<Lease>, config: &LeaseConfig) -> bool {
    let current = match api.get_opt(&config.name).await {
        Ok(current) => current,
        Err(error) => {
            tracing::warn!(%error, "reading the Lease failed");
            return false;
        }
    };
    let spec = current.as_ref().and_then(|lease| lease.spec.as_ref());
    let Some(next) = next_lease(
        spec,
        &config.identity,
        Timestamp::now(),
        config.lease_duration,
    ) else {
        return false;
    };
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(config.name.clone()),
            namespace: Some(config.namespace.clone()),
            resource_version: current.and_then(|lease| lease.metadata.resource_version),
            ..ObjectMeta::default()
        },
        spec: Some(next),
    };
    let written = match lease.metadata.resource_version {
        Some(_) => {
            api.replace(&config.name, &PostParams::default(), &lease)
                .await
        }
        None => api.create(&PostParams::default(), &lease).await,
    };
    written
        .inspect_err(|error| tracing::debug!(%error, "writing the Lease failed"))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn a_lease_is_fresh_for_its_duration_after_the_last_renew() {
        let start = Instant::now();
        let freshness = Freshness::new(start, Duration::from_secs(15));
        assert!(freshness.is_fresh_at(start + Duration::from_secs(14)));
        assert!(!freshness.is_fresh_at(start + Duration::from_secs(15)));
        freshness.renewed(start + Duration::from_secs(10));
        assert!(freshness.is_fresh_at(start + Duration::from_secs(24)));
        // An older renew finishing late does not move it back.
        freshness.renewed(start + Duration::from_secs(1));
        assert!(freshness.is_fresh_at(start + Duration::from_secs(24)));
    }

    #[test]
    fn a_lost_lease_refuses_for_good_and_wakes_whoever_waits_for_it() {
        use futures::FutureExt as _;
        let freshness = Freshness::new(Instant::now(), Duration::from_secs(60));
        assert!(freshness.check().is_ok());
        let waiter = freshness.clone();
        let mut lost = Box::pin(waiter.lost());
        assert!((&mut lost).now_or_never().is_none(), "not lost yet");
        freshness.lose();
        assert!(lost.now_or_never().is_some(), "the loss wakes the waiter");
        freshness.renewed(Instant::now());
        let refused = freshness
            .check()
            .expect_err("lost, though renewed just now");
        assert_eq!(refused.category, "stale_lease");
        assert!(refused.permanent, "no retry can bring a lost Lease back");
    }

    #[test]
    fn takes_a_missing_lease_and_renews_its_own() {
        let mine = next_lease(None, "a", at(100), LEASE).unwrap();
        assert_eq!(mine.holder_identity.as_deref(), Some("a"));
        assert_eq!(mine.lease_duration_seconds, Some(15));
        let renewed = next_lease(Some(&mine), "a", at(110), LEASE).unwrap();
        assert_eq!(renewed.renew_time, Some(MicroTime(at(110))));
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(100))));
        assert_eq!(renewed.lease_transitions, Some(0));
    }

    #[test]
    fn waits_for_another_holder_to_expire() {
        let theirs = next_lease(None, "a", at(100), LEASE).unwrap();
        assert_eq!(next_lease(Some(&theirs), "b", at(114), LEASE), None);
        let taken = next_lease(Some(&theirs), "b", at(115), LEASE).unwrap();
        assert_eq!(taken.holder_identity.as_deref(), Some("b"));
        assert_eq!(taken.lease_transitions, Some(1));
    }
}
