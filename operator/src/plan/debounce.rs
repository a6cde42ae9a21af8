//! consul-template's `wait {min, max}` quiet period, per workload, driven by explicit `now` values.
//!
//! ```text
//!  change ─┬─ opens a window: first = last = now
//!  change ─┴─ extends it:     last = now
//!  due when now >= min(last + min, first + max)     → one reconcile for all changes in the window
//! ```
//! `min` collapses a burst (a Helm upgrade touching three sources) into one rollout; `max` bounds the wait
//! when changes never stop. The caller sleeps until [`Debouncer::next_deadline`] and then takes
//! [`Debouncer::due`]. No clock is read here.
use std::collections::BTreeMap;
use std::time::Instant;

use crate::annotations::Debounce;

#[derive(Clone, Copy, Debug)]
struct Window {
    first: Instant,
    last: Instant,
    debounce: Debounce,
}

impl Window {
    fn deadline(&self) -> Instant {
        let quiet = self
            .last
            .checked_add(self.debounce.min)
            .unwrap_or(self.last);
        let cap = self
            .first
            .checked_add(self.debounce.max)
            .unwrap_or(self.first);
        quiet.min(cap)
    }
}

/// Open quiet-period windows, one per key (a workload).
#[derive(Debug)]
pub struct Debouncer<K> {
    windows: BTreeMap<K, Window>,
}

impl<K> Default for Debouncer<K> {
    fn default() -> Self {
        Self {
            windows: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Debouncer<K> {
    /// A change for `key` at `now`; opens or extends its window. The latest `debounce` applies.
    pub fn record(&mut self, key: K, debounce: Debounce, now: Instant) {
        let window = self.windows.entry(key).or_insert(Window {
            first: now,
            last: now,
            debounce,
        });
        window.last = window.last.max(now);
        window.debounce = debounce;
    }

    /// Remove and return the keys whose window has closed at `now`, in key order.
    pub fn due(&mut self, now: Instant) -> Vec<K> {
        let due: Vec<K> = self
            .windows
            .iter()
            .filter(|(_, w)| w.deadline() <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &due {
            self.windows.remove(key);
        }
        due
    }

    /// The earliest moment a window closes, to sleep until.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.windows.values().map(Window::deadline).min()
    }

    /// Drop `key`'s window (the workload was deleted).
    pub fn cancel(&mut self, key: &K) {
        self.windows.remove(key);
    }

    /// Whether `key` has an open window.
    pub fn is_pending(&self, key: &K) -> bool {
        self.windows.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn window(min: u64, max: u64) -> Debounce {
        Debounce {
            min: secs(min),
            max: secs(max),
        }
    }

    #[test]
    fn several_changes_inside_the_window_fire_once() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        d.record("web", window(5, 20), t0);
        d.record("web", window(5, 20), t0 + secs(2));
        d.record("web", window(5, 20), t0 + secs(4));
        assert!(
            d.due(t0 + secs(8)).is_empty(),
            "quiet period restarts with each change"
        );
        assert_eq!(d.next_deadline(), Some(t0 + secs(9)));
        assert_eq!(d.due(t0 + secs(9)), ["web"]);
        assert!(d.due(t0 + secs(100)).is_empty(), "fires exactly once");
        assert!(!d.is_pending(&"web"));
    }

    #[test]
    fn max_caps_the_wait_when_changes_never_stop() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        let mut fired = Vec::new();
        for s in 0..30 {
            let now = t0 + secs(s);
            d.record("busy", window(5, 12), now);
            fired.extend(d.due(now).into_iter().map(|_| s));
        }
        assert_eq!(
            fired,
            [12, 25],
            "fires at first+max, then a new window opens"
        );
    }

    #[test]
    fn zero_min_fires_at_once_and_keys_are_independent() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        d.record("now", window(0, 0), t0);
        d.record("later", window(10, 40), t0);
        assert_eq!(d.due(t0), ["now"]);
        assert_eq!(d.next_deadline(), Some(t0 + secs(10)));
        d.cancel(&"later");
        assert_eq!(d.next_deadline(), None);
        assert!(d.due(t0 + secs(60)).is_empty());
    }

    #[test]
    fn out_of_order_times_do_not_shorten_the_window() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        d.record("web", window(5, 60), t0 + secs(10));
        d.record("web", window(5, 60), t0 + secs(3));
        assert_eq!(d.next_deadline(), Some(t0 + secs(15)));
    }
}
