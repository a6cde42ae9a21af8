//! The fleet rollout budget: `--max-concurrent-rollouts` and `--rollouts-per-second`, with explicit time.
//!
//! ```text
//!  try_start(w, now) ─► slot free? ──no──► WaitForSlot        (retry when a rollout finishes)
//!                          │yes
//!                          ▼
//!                       token?   ──no──► WaitUntil(instant)   (token bucket refills at `rate`/s)
//!                          │yes
//!                          ▼
//!                        Start (w is in flight until finish(w))
//! ```
//! A ConfigMap shared by 1,000 workloads thus restarts at most `max_concurrent` at a time, no faster than
//! `rate` per second, and the rest follow as rollouts complete. No clock is read here.
use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

/// Longest wait [`TokenBucket`] reports, so absurdly low rates cannot overflow an `Instant`.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Failures while building a budget.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The rate is not a finite number above zero.
    #[error("rollouts per second must be a finite number above 0, got {rate}")]
    NewTokenBucket {
        /// The rejected rate.
        rate: f64,
    },
}

/// A token bucket: `burst` tokens at most, refilled at `rate` per second.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`; `burst` defaults to `max(1, rate)`.
    ///
    /// # Errors
    /// [`Error::NewTokenBucket`] when `rate` is not finite and above zero.
    pub fn new(rate: f64, burst: Option<u32>, now: Instant) -> Result<Self, Error> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Error::NewTokenBucket { rate });
        }
        let burst = burst.map_or(rate.max(1.0).floor(), |b| f64::from(b.max(1)));
        Ok(Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        })
    }

    /// Take one token at `now`, or say when the next one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate)
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        Err(self.last.checked_add(wait).unwrap_or(self.last))
    }

    fn refill(&mut self, now: Instant) {
        if now > self.last {
            let elapsed = now.duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
            self.last = now;
        }
    }
}

/// Whether a rollout may start now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Admission {
    /// Go: the rollout now counts as in flight.
    Start,
    /// Every slot is taken; retry when a rollout finishes.
    WaitForSlot,
    /// The rate limit applies; retry at this instant.
    WaitUntil(Instant),
}

/// Concurrency slots plus an optional rate limit, shared by every workload.
#[derive(Debug)]
pub struct RolloutBudget<K> {
    max_concurrent: Option<NonZeroUsize>,
    bucket: Option<TokenBucket>,
    in_flight: BTreeSet<K>,
}

impl<K: Ord + Clone> RolloutBudget<K> {
    /// A budget; `None` means unlimited for either dimension.
    pub fn new(max_concurrent: Option<NonZeroUsize>, bucket: Option<TokenBucket>) -> Self {
        Self {
            max_concurrent,
            bucket,
            in_flight: BTreeSet::new(),
        }
    }

    /// Ask to start `key`'s rollout at `now`. A key already in flight is admitted again without a new slot
    /// or token (its rollout is simply re-targeted).
    pub fn try_start(&mut self, key: &K, now: Instant) -> Admission {
        if self.in_flight.contains(key) {
            return Admission::Start;
        }
        if self
            .max_concurrent
            .is_some_and(|max| self.in_flight.len() >= max.get())
        {
            return Admission::WaitForSlot;
        }
        if let Some(bucket) = &mut self.bucket
            && let Err(at) = bucket.try_take(now)
        {
            return Admission::WaitUntil(at);
        }
        self.in_flight.insert(key.clone());
        Admission::Start
    }

    /// `key`'s rollout completed (or its workload is gone): free its slot.
    pub fn finish(&mut self, key: &K) {
        self.in_flight.remove(key);
    }

    /// Rollouts in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(n: usize) -> Option<NonZeroUsize> {
        NonZeroUsize::new(n)
    }

    #[test]
    fn concurrency_is_capped_and_the_rest_follow_as_rollouts_finish() {
        let now = Instant::now();
        let mut budget = RolloutBudget::new(slots(2), None);
        let workloads: Vec<u32> = (0..5).collect();
        let admitted: Vec<_> = workloads.iter().map(|w| budget.try_start(w, now)).collect();
        assert_eq!(
            admitted,
            [
                Admission::Start,
                Admission::Start,
                Admission::WaitForSlot,
                Admission::WaitForSlot,
                Admission::WaitForSlot
            ]
        );
        assert_eq!(budget.in_flight(), 2);
        assert_eq!(
            budget.try_start(&0, now),
            Admission::Start,
            "a rollout in flight is re-admitted"
        );
        budget.finish(&0);
        assert_eq!(budget.try_start(&2, now), Admission::Start);
        assert_eq!(budget.try_start(&3, now), Admission::WaitForSlot);
        budget.finish(&1);
        budget.finish(&2);
        assert_eq!(budget.try_start(&3, now), Admission::Start);
        assert_eq!(budget.try_start(&4, now), Admission::Start);
        assert_eq!(budget.in_flight(), 2);
    }

    #[test]
    fn rate_limit_spaces_rollouts() {
        let t0 = Instant::now();
        let bucket = TokenBucket::new(2.0, Some(1), t0).unwrap();
        let mut budget = RolloutBudget::new(None, Some(bucket));
        assert_eq!(budget.try_start(&"a", t0), Admission::Start);
        assert_eq!(
            budget.try_start(&"b", t0),
            Admission::WaitUntil(t0 + Duration::from_millis(500))
        );
        assert_eq!(
            budget.try_start(&"b", t0 + Duration::from_millis(499)),
            Admission::WaitUntil(t0 + Duration::from_millis(500))
        );
        assert_eq!(
            budget.try_start(&"b", t0 + Duration::from_millis(500)),
            Admission::Start
        );
    }

    #[test]
    fn a_thousand_workloads_respect_both_limits() {
        let t0 = Instant::now();
        let bucket = TokenBucket::new(10.0, None, t0).unwrap();
        let mut budget = RolloutBudget::new(slots(25), Some(bucket));
        let mut started_at = Vec::new();
        let mut pending: Vec<u32> = (0..1000).collect();
        // Simulate 10 s in 10 ms steps; each rollout takes 1 s to complete.
        for step in 0..1000u64 {
            let now = t0 + Duration::from_millis(step * 10);
            started_at.retain(|(w, at): &(u32, Instant)| {
                let done = now.duration_since(*at) >= Duration::from_secs(1);
                if done {
                    budget.finish(w);
                }
                !done
            });
            pending.retain(|w| match budget.try_start(w, now) {
                Admission::Start => {
                    started_at.push((*w, now));
                    false
                }
                _ => true,
            });
            assert!(budget.in_flight() <= 25);
        }
        let started = 1000 - pending.len();
        // 10 tokens up front (burst) plus 10/s over ~10 s.
        assert!((100..=111).contains(&started), "started {started}");
    }

    #[test]
    fn bad_rates_are_rejected_and_tiny_rates_do_not_overflow() {
        let now = Instant::now();
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(TokenBucket::new(rate, None, now).is_err(), "{rate}");
        }
        let mut slow = TokenBucket::new(1e-300, Some(1), now).unwrap();
        assert_eq!(slow.try_take(now), Ok(()));
        assert_eq!(slow.try_take(now), Err(now + MAX_WAIT));
    }
}
