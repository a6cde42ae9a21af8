//! The operator's Prometheus metrics (prometheus-client), registered under the `configsync_operator` prefix.
//!
//! Every label comes from a bounded set: workload kind, Event reason, error category, webhook outcome. No
//! names, no keys. [`register_build_info`] adds `configsync_build_info{version,commit} 1`.
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// `kind` and `reason` of a rollout (or record-only change).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RolloutLabels {
    /// Deployment, StatefulSet or DaemonSet.
    pub kind: String,
    /// `ConfigRolled` or `ConfigChanged` (strategy reload/none).
    pub reason: String,
}

/// A bounded error category.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// One of a fixed set, e.g. `conflict`, `transport`, `watch`, `event`, `annotation`, `source_missing`.
    pub category: String,
}

/// What one request of the executor came to.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `apply`, `status` or `event`.
    pub request: String,
    /// `ok`, or a failure category (`conflict`, `throttled`, `server`, `timeout`, `transport`,
    /// `forbidden`, `not_found`, `invalid`, `rejected`, `client`, `api`), or `dropped` for an Event
    /// the full queue could not take, or `stale_lease` for an apply refused because the leader's Lease
    /// was not fresh.
    pub outcome: String,
}

/// The operator's metrics.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Rollouts started (and record-only changes), by kind and reason.
    pub rollouts: Family<RolloutLabels, Counter>,
    /// Seconds from the source watch event to the patch that acted on it.
    pub event_to_patch: Histogram,
    /// Workloads in the reverse index.
    pub followed_workloads: Gauge,
    /// Distinct sources the followed workloads reference.
    pub followed_sources: Gauge,
    /// Errors, by bounded category.
    pub errors: Family<ErrorLabels, Counter>,
    /// Requests of the executor (each attempt), by request and outcome.
    pub requests: Family<RequestLabels, Counter>,
    /// Applies and status writes in flight.
    pub in_flight: Gauge,
    /// `--dry-run`: rollouts that would have started, by kind.
    pub would_roll_out: Family<KindLabels, Counter>,
    /// 1 while this replica leads (or runs without `--leader-elect`), 0 while it stands by.
    pub leader: Gauge,
    /// Admission reviews answered by the injection webhook, by outcome.
    pub webhook_requests: Family<WebhookLabels, Counter>,
    /// Seconds the webhook took to answer a review.
    pub webhook_latency: Histogram,
}

/// How the webhook answered one request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `allowed`, `denied`, or `error` (an unreadable request or a failed answer).
    pub outcome: String,
}

/// The kind of a workload.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Deployment, StatefulSet or DaemonSet.
    pub kind: String,
}

impl Metrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            rollouts: Family::default(),
            event_to_patch: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            followed_workloads: Gauge::default(),
            followed_sources: Gauge::default(),
            errors: Family::default(),
            requests: Family::default(),
            in_flight: Gauge::default(),
            would_roll_out: Family::default(),
            leader: Gauge::default(),
            webhook_requests: Family::default(),
            webhook_latency: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        };
        let registry = registry.sub_registry_with_prefix("configsync_operator");
        registry.register(
            "rollouts",
            "Rollouts started (and record-only changes), by workload kind and reason",
            metrics.rollouts.clone(),
        );
        registry.register(
            "event_to_patch_seconds",
            "Latency from a source watch event to the patch acting on it",
            metrics.event_to_patch.clone(),
        );
        registry.register(
            "followed_workloads",
            "Workloads configsync follows",
            metrics.followed_workloads.clone(),
        );
        registry.register(
            "followed_sources",
            "ConfigMaps and Secrets the followed workloads reference",
            metrics.followed_sources.clone(),
        );
        registry.register("errors", "Errors, by category", metrics.errors.clone());
        registry.register(
            "requests",
            "Requests of the executor (every attempt), by request and outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Applies and status writes in flight",
            metrics.in_flight.clone(),
        );
        registry.register(
            "would_roll_out",
            "--dry-run: rollouts that would have started (nothing was patched), by workload kind",
            metrics.would_roll_out.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica leads (or runs without --leader-elect), 0 while it stands by",
            metrics.leader.clone(),
        );
        registry.register(
            "webhook_requests",
            "Admission reviews answered by the injection webhook, by outcome (allowed, denied, error)",
            metrics.webhook_requests.clone(),
        );
        registry.register(
            "webhook_request_duration_seconds",
            "Seconds the injection webhook took to answer a review",
            metrics.webhook_latency.clone(),
        );
        metrics
    }

    /// Count one webhook answer of `outcome` (`allowed`, `denied`, `error`) that took `seconds`.
    pub fn webhook_request(&self, outcome: &'static str, seconds: f64) {
        self.webhook_requests
            .get_or_create(&WebhookLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
        self.webhook_latency.observe(seconds);
    }

    /// A fresh registry holding only these metrics.
    pub fn with_registry() -> (Registry, Self) {
        let mut registry = Registry::default();
        let metrics = Self::register(&mut registry);
        (registry, metrics)
    }

    /// Count an error of `category`.
    pub fn error(&self, category: &'static str) {
        self.errors
            .get_or_create(&ErrorLabels {
                category: category.to_owned(),
            })
            .inc();
    }

    /// Count one request of `request` (`apply`, `status`, `event`) that came to `outcome`.
    pub fn request(&self, request: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels {
                request: request.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Count a rollout `--dry-run` did not make.
    pub fn would_roll_out(&self, kind: &'static str) {
        self.would_roll_out
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Count a rollout (or record-only change) of `kind` for `reason`.
    pub fn rollout(&self, kind: &'static str, reason: &'static str) {
        self.rollouts
            .get_or_create(&RolloutLabels {
                kind: kind.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }
}

/// Register `configsync_build_info{version,commit} 1` (no prefix: one series per binary).
pub fn register_build_info(registry: &mut Registry, version: &str, commit: &str) {
    let labels = vec![
        ("version".to_owned(), version.to_owned()),
        ("commit".to_owned(), commit.to_owned()),
    ];
    registry.register(
        "configsync_build",
        "The version and git commit of this binary",
        Info::new(labels),
    );
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn exports_bounded_series() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        metrics.rollout("Deployment", "ConfigRolled");
        metrics.error("conflict");
        metrics.followed_workloads.set(3);
        metrics.event_to_patch.observe(0.02);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            "configsync_operator_rollouts_total{kind=\"Deployment\",reason=\"ConfigRolled\"} 1"
        ));
        assert!(text.contains("configsync_operator_errors_total{category=\"conflict\"} 1"));
        assert!(text.contains("configsync_operator_followed_workloads 3"));
        assert!(text.contains("configsync_operator_event_to_patch_seconds_count 1"));
    }

    #[test]
    fn exports_build_info_leader_and_webhook_outcomes() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        register_build_info(&mut registry, "0.2.0", "abc123");
        metrics.leader.set(1);
        metrics.webhook_request("denied", 0.001);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("configsync_build_info{version=\"0.2.0\",commit=\"abc123\"} 1"),
            "{text}"
        );
        assert!(text.contains("configsync_operator_leader 1"));
        assert!(text.contains("configsync_operator_webhook_requests_total{outcome=\"denied\"} 1"));
        assert!(text.contains("configsync_operator_webhook_request_duration_seconds_count 1"));
    }
}
