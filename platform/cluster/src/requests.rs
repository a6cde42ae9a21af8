//! Request counts by client and verb, for benchmarks: what each update costs in API requests.
//!
//! Every resource request is counted once, after routing and before faults, under its client (the
//! `User-Agent`'s first path segment, `unknown` when absent) and its Kubernetes verb (`get`, `list`,
//! `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`). Discovery, health and admin
//! requests are not counted.
//!
//! Over HTTP, outside the Kubernetes API: `GET /configsync.dev/requests` answers
//! `{"byClient": {"<client>": {"<verb>": n}}}`. Counts only grow; a benchmark reads them before and
//! after a step and takes the difference.
use crate::handler::respond::{self, Response};
use crate::status::ApiError;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Counts per client, then per verb.
pub type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// A shared request counter.
#[derive(Clone, Debug, Default)]
pub struct RequestCounts {
    counts: Arc<Mutex<Counts>>,
}

/// The Kubernetes verb of a resource request.
pub fn verb(method: &http::Method, named: bool, watching: bool) -> &'static str {
    match (method.as_str(), named) {
        ("GET", _) if watching => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "other",
    }
}

/// The client name of a `User-Agent`: its first path segment.
pub fn client(user_agent: &str) -> &str {
    let prefix = user_agent.split('/').next().unwrap_or("").trim();
    if prefix.is_empty() { "unknown" } else { prefix }
}

impl RequestCounts {
    /// Count one request.
    pub fn record(&self, user_agent: &str, verb: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts
            .entry(client(user_agent).to_owned())
            .or_default()
            .entry(verb.to_owned())
            .or_default() += 1;
    }

    /// A copy of the counts so far.
    pub fn snapshot(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Serve the admin endpoint.
    pub(crate) fn admin(&self, method: &http::Method) -> Response {
        if method == http::Method::GET {
            respond::json(200, &json!({"byClient": self.snapshot()}))
        } else {
            respond::error(&ApiError::method_not_allowed("use GET"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_kubernetes_names() {
        let get = http::Method::GET;
        assert_eq!(verb(&get, false, true), "watch");
        assert_eq!(verb(&get, false, false), "list");
        assert_eq!(verb(&get, true, false), "get");
        assert_eq!(verb(&http::Method::PATCH, true, false), "patch");
        assert_eq!(
            verb(&http::Method::DELETE, false, false),
            "deletecollection"
        );
    }

    #[test]
    fn counts_group_by_client_and_verb() {
        let counts = RequestCounts::default();
        counts.record("configsync-bench/0.1", "create");
        counts.record("configsync-bench", "create");
        counts.record("", "patch");
        let snapshot = counts.snapshot();
        assert_eq!(snapshot["configsync-bench"]["create"], 2);
        assert_eq!(snapshot["unknown"]["patch"], 1);
        assert_eq!(counts.admin(&http::Method::PUT).status(), 405);
    }
}
