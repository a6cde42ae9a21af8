//! Latency statistics: nearest-rank percentiles and a log-scale histogram.
use std::time::Duration;

/// Summary of a sample of latencies (serialized in milliseconds).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Sample size.
    pub count: usize,
    /// Median.
    #[serde(serialize_with = "as_ms", rename = "p50Ms")]
    pub p50: Duration,
    /// 99th percentile.
    #[serde(serialize_with = "as_ms", rename = "p99Ms")]
    pub p99: Duration,
    /// Largest.
    #[serde(serialize_with = "as_ms", rename = "maxMs")]
    pub max: Duration,
}

fn as_ms<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

/// Nearest-rank percentile `p` (0..=100) of sorted samples; `None` when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Summarize samples; `None` when empty.
pub fn summarize(samples: &[Duration]) -> Option<Summary> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    Some(Summary {
        count: sorted.len(),
        p50: percentile(&sorted, 50.0)?,
        p99: percentile(&sorted, 99.0)?,
        max: *sorted.last()?,
    })
}

/// Histogram buckets: upper bounds in milliseconds, doubling from 1 ms; the last bucket is open.
pub const BUCKETS_MS: [u64; 12] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

/// Counts per bucket of [`BUCKETS_MS`], plus one overflow bucket at the end.
pub fn histogram(samples: &[Duration]) -> Vec<usize> {
    let mut counts = vec![0; BUCKETS_MS.len() + 1];
    for sample in samples {
        let bucket = BUCKETS_MS
            .iter()
            .position(|bound| sample.as_secs_f64() * 1000.0 <= *bound as f64)
            .unwrap_or(BUCKETS_MS.len());
        if let Some(count) = counts.get_mut(bucket) {
            *count += 1;
        }
    }
    counts
}

/// Bucket labels (`≤1ms`, …, `>2048ms`) next to [`histogram`] counts.
pub fn histogram_labels() -> Vec<String> {
    let mut labels: Vec<String> = BUCKETS_MS.iter().map(|b| format!("≤{b}ms")).collect();
    labels.push(format!(">{}ms", BUCKETS_MS[BUCKETS_MS.len() - 1]));
    labels
}

/// Milliseconds with two decimals.
pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=100).collect();
        let summary = summarize(&ms_list(&samples)).unwrap();
        assert_eq!(summary.p50, Duration::from_millis(50));
        assert_eq!(summary.p99, Duration::from_millis(99));
        assert_eq!(summary.max, Duration::from_millis(100));
        assert_eq!(summarize(&[]), None);
        let one = summarize(&ms_list(&[7])).unwrap();
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_millis(7), Duration::from_millis(7))
        );
    }

    #[test]
    fn histogram_buckets_by_upper_bound() {
        let counts = histogram(&ms_list(&[0, 1, 3, 5000]));
        assert_eq!(counts[0], 2, "0 ms and 1 ms");
        assert_eq!(counts[2], 1, "3 ms is ≤4ms");
        assert_eq!(counts[BUCKETS_MS.len()], 1, "overflow");
        assert_eq!(histogram_labels().len(), counts.len());
    }
}
