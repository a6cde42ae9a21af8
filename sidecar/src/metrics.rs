//! Prometheus metrics of the sidecar (prometheus-client), registered under the `configsync_sidecar` prefix.
//!
//! Every label comes from a bounded set: reload `method` (`signal`, `http`, `command`, `restart`), `result`
//! (`success`, `failure`; for `.url` downloads [`DownloadResult`]) and error `category` ([`ErrorCategory`]). No
//! label ever holds a name, path, URL or value.
//! `event_to_swap_seconds` is a histogram without labels: from a change's arrival at the sync loop (the watch
//! event decoded into a snapshot) to the `..data` rename that makes it visible. Its buckets ([`latency_buckets`])
//! run from 0.1 ms to 8 s in ten steps per decade (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8), so a quantile read as
//! a bucket bound is within 25% and the 2 ms and 10 ms targets are bounds.
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Where an error happened, for the `errors_total` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    /// A source failed or went silent and was restarted.
    Source,
    /// Rendering refused the data (bad key, binary env value).
    Render,
    /// Publishing files or the env file failed.
    Write,
    /// Telling the app failed.
    Reload,
}

impl ErrorCategory {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Render => "render",
            Self::Write => "write",
            Self::Reload => "reload",
        }
    }
}

/// How one `.url` key download ended (after its retries), for the `url_downloads_total` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadResult {
    /// The content was downloaded.
    Ok,
    /// The server answered a status that is not content (4xx, or 5xx without `--url-keys-accept-5xx`).
    BadStatus,
    /// No usable answer: an invalid URL, a failed connection, a timeout, a body over the limit.
    Error,
}

impl DownloadResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadStatus => "bad_status",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    method: String,
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    category: String,
}

/// Histogram bounds in seconds: 0.1 ms to 8 s, ten steps per decade (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8).
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    const STEPS: [f64; 10] = [1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0];
    // step × 10^k / 10^4 s: both factors are exact, so each bound prints as written (0.000125, not 0.00012500001).
    (0..5).flat_map(|k| STEPS.map(|step| step * 10f64.powi(k) / 10_000.0))
}

/// The sidecar's counters; cheap to clone (shared handles).
#[derive(Debug, Clone)]
pub struct Metrics {
    syncs: Counter,
    publishes: Counter,
    reloads: Family<ReloadLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    source_restarts: Counter,
    last_sync: Gauge,
    serving_cache: Gauge,
    cache_loads: Family<OutcomeLabels, Counter>,
    cache_saves: Family<OutcomeLabels, Counter>,
    event_to_swap: Histogram,
    url_downloads: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            syncs: Counter::default(),
            publishes: Counter::default(),
            reloads: Family::default(),
            errors: Family::default(),
            source_restarts: Counter::default(),
            last_sync: Gauge::default(),
            serving_cache: Gauge::default(),
            cache_loads: Family::default(),
            cache_saves: Family::default(),
            event_to_swap: Histogram::new(latency_buckets()),
            url_downloads: Family::default(),
        }
    }
}

impl Metrics {
    /// Create the metrics and register them in `registry` under `configsync_sidecar_`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let sub = registry.sub_registry_with_prefix("configsync_sidecar");
        sub.register(
            "syncs",
            "Renders of the current data (changed or not)",
            metrics.syncs.clone(),
        );
        sub.register(
            "publishes",
            "New versions published (content changed)",
            metrics.publishes.clone(),
        );
        sub.register(
            "reloads",
            "Notices sent to the app, by method and result",
            metrics.reloads.clone(),
        );
        sub.register("errors", "Errors by category", metrics.errors.clone());
        sub.register(
            "source_restarts",
            "Sources restarted after failing or going silent",
            metrics.source_restarts.clone(),
        );
        sub.register(
            "last_sync_timestamp_seconds",
            "Unix time of the last successful sync",
            metrics.last_sync.clone(),
        );
        sub.register(
            "serving_cache",
            "1 while the published files come from the encrypted cache (API unreachable at start)",
            metrics.serving_cache.clone(),
        );
        sub.register(
            "cache_loads",
            "Cached items loaded, by outcome (loaded, corrupt, tampered, unknown_key, unreadable)",
            metrics.cache_loads.clone(),
        );
        sub.register(
            "cache_saves",
            "Cache saves after a live sync, by outcome (success, failure)",
            metrics.cache_saves.clone(),
        );
        sub.register(
            "event_to_swap_seconds",
            "From a change's arrival at the sync loop to the ..data rename that makes it visible",
            metrics.event_to_swap.clone(),
        );
        sub.register(
            "url_downloads",
            "Downloads of .url keys (k8s-sidecar mode, --url-keys), after their retries, by result (ok, bad_status, error)",
            metrics.url_downloads.clone(),
        );
        metrics
    }

    /// A `.url` key download ended with `result`.
    pub fn url_download(&self, result: DownloadResult) {
        self.url_downloads
            .get_or_create(&Self::download_labels(result))
            .inc();
    }

    /// `.url` key downloads so far that ended with `result` (for tests and logs).
    pub fn url_downloads(&self, result: DownloadResult) -> u64 {
        self.url_downloads
            .get_or_create(&Self::download_labels(result))
            .get()
    }

    fn download_labels(result: DownloadResult) -> ResultLabels {
        ResultLabels {
            result: result.as_str().into(),
        }
    }

    /// A change became visible `elapsed` after it arrived.
    pub fn event_to_swap(&self, elapsed: std::time::Duration) {
        self.event_to_swap.observe(elapsed.as_secs_f64());
    }

    /// Whether the published files come from the cache.
    pub fn serving_cache(&self, serving: bool) {
        self.serving_cache.set(i64::from(serving));
    }

    /// One cached item was loaded with this outcome (a bounded label).
    pub fn cache_load(&self, outcome: &'static str) {
        let labels = OutcomeLabels {
            outcome: outcome.into(),
        };
        self.cache_loads.get_or_create(&labels).inc();
    }

    /// Cached items loaded so far with this outcome (for tests).
    pub fn cache_loads(&self, outcome: &'static str) -> u64 {
        let labels = OutcomeLabels {
            outcome: outcome.into(),
        };
        self.cache_loads.get_or_create(&labels).get()
    }

    /// A cache save finished.
    pub fn cache_save(&self, success: bool) {
        let outcome = if success { "success" } else { "failure" };
        let labels = OutcomeLabels {
            outcome: outcome.into(),
        };
        self.cache_saves.get_or_create(&labels).inc();
    }

    /// A sync finished; `published` when it wrote a new version.
    pub fn sync(&self, published: bool) {
        self.syncs.inc();
        if published {
            self.publishes.inc();
        }
        let now = jiff::Timestamp::now().as_second();
        self.last_sync.set(now);
    }

    /// A reload attempt finished.
    pub fn reload(&self, method: &'static str, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ReloadLabels {
                method: method.into(),
                result: result.into(),
            })
            .inc();
    }

    /// An error of `category` happened.
    pub fn error(&self, category: ErrorCategory) {
        self.errors
            .get_or_create(&ErrorLabels {
                category: category.as_str().into(),
            })
            .inc();
    }

    /// A source was restarted.
    pub fn source_restart(&self) {
        self.source_restarts.inc();
        self.error(ErrorCategory::Source);
    }

    /// Reload attempts so far with this method and result (for tests and logs).
    pub fn reloads(&self, method: &'static str, success: bool) -> u64 {
        let result = if success { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ReloadLabels {
                method: method.into(),
                result: result.into(),
            })
            .get()
    }

    /// Errors of `category` so far (for tests and logs).
    pub fn errors(&self, category: ErrorCategory) -> u64 {
        self.errors
            .get_or_create(&ErrorLabels {
                category: category.as_str().into(),
            })
            .get()
    }

    /// Syncs so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.get()
    }

    /// Source restarts so far.
    pub fn source_restarts(&self) -> u64 {
        self.source_restarts.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_bounded_labels() {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        metrics.sync(true);
        metrics.reload("signal", true);
        metrics.reload("http", false);
        metrics.error(ErrorCategory::Render);
        metrics.event_to_swap(std::time::Duration::from_micros(700));
        metrics.url_download(DownloadResult::Ok);
        metrics.url_download(DownloadResult::BadStatus);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        for line in [
            "configsync_sidecar_syncs_total 1",
            "configsync_sidecar_publishes_total 1",
            r#"configsync_sidecar_reloads_total{method="signal",result="success"} 1"#,
            r#"configsync_sidecar_reloads_total{method="http",result="failure"} 1"#,
            r#"configsync_sidecar_errors_total{category="render"} 1"#,
            r#"configsync_sidecar_event_to_swap_seconds_bucket{le="0.0006"} 0"#,
            r#"configsync_sidecar_event_to_swap_seconds_bucket{le="0.0008"} 1"#,
            r#"configsync_sidecar_event_to_swap_seconds_bucket{le="0.000125"} 0"#,
            r#"configsync_sidecar_event_to_swap_seconds_bucket{le="0.002"} 1"#,
            r#"configsync_sidecar_event_to_swap_seconds_bucket{le="0.01"} 1"#,
            r#"configsync_sidecar_event_to_swap_seconds_bucket{le="8.0"} 1"#,
            "configsync_sidecar_event_to_swap_seconds_count 1",
            r#"configsync_sidecar_url_downloads_total{result="ok"} 1"#,
            r#"configsync_sidecar_url_downloads_total{result="bad_status"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert_eq!(metrics.reloads("http", false), 1);
    }

    #[test]
    fn latency_buckets_rise_in_steps_of_at_most_a_third_up_to_eight_seconds() {
        let bounds: Vec<f64> = latency_buckets().collect();
        assert_eq!(bounds.len(), 50);
        assert_eq!(bounds.first(), Some(&0.000_1));
        assert_eq!(bounds.last(), Some(&8.0));
        for pair in bounds.windows(2) {
            let ratio = pair[1] / pair[0];
            assert!(ratio > 1.0 && ratio <= 1.34, "{pair:?}");
        }
    }
}
