//! The embedded cluster's request parsing: `path?query \0 body`.
use configsync_cluster::request::{Query, Route, parse_path};
use serde_json::Value;

/// Parse the path, the query parameters the handlers read, and the body as JSON or else YAML (as the
/// cluster's body decoder does for apply patches).
pub fn request(data: &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (
            data.get(..nul).unwrap_or_default(),
            data.get(nul + 1..).unwrap_or_default(),
        ),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let (path, query) = head
        .split_once('?')
        .map_or((&*head, None), |(p, q)| (p, Some(q)));
    if let Route::Resource(target) = parse_path(path) {
        assert!(!target.plural.is_empty(), "resource route without a plural");
    }
    let query = Query::parse(query);
    for key in ["limit", "timeoutSeconds", "gracePeriodSeconds"] {
        let _ = query.number(key);
    }
    let _ = (
        query.flag("watch"),
        query.non_empty("labelSelector"),
        query.non_empty("continue"),
    );
    if serde_json::from_slice::<Value>(body).is_err() {
        let _ = serde_saphyr::from_slice::<Value>(body);
    }
}
