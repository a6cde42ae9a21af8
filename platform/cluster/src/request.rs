//! URL parsing: which endpoint a request path names, and the query parameters of the Kubernetes REST API.
//!
//! ```text
//! /api/v1[/watch][/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
//! /apis/<group>/<version>[/watch][/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
//! /api/v1/namespaces/<name>[/status|/finalize]     (the namespace object itself)
//! ```
use std::collections::HashMap;

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    ResourceList { group: String, version: String },
    /// `/healthz`, `/livez`, `/readyz`.
    Health,
    /// `/openapi/v2`.
    OpenApiV2,
    /// The fault-injection admin endpoint (`/configsync.dev/faults[/close-watches]`).
    Faults { close_watches: bool },
    /// The request counts by client and verb (`/configsync.dev/requests`).
    Requests,
    /// A resource or object.
    Resource(Target),
    /// Anything else.
    Unknown,
}

/// A resource path, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// API group, empty for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource (`status`, `scale`), if any.
    pub subresource: Option<String>,
    /// The legacy `/watch/` prefix was used.
    pub watch_prefix: bool,
}

/// Parse a request path.
pub fn parse_path(path: &str) -> Route {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["openapi", "v2"] => Route::OpenApiV2,
        ["configsync.dev", "faults"] => Route::Faults {
            close_watches: false,
        },
        ["configsync.dev", "faults", "close-watches"] => Route::Faults {
            close_watches: true,
        },
        ["configsync.dev", "requests"] => Route::Requests,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group((*group).to_owned()),
        ["api", version] => Route::ResourceList {
            group: String::new(),
            version: (*version).to_owned(),
        },
        ["apis", group, version] => Route::ResourceList {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        },
        ["api", version, rest @ ..] => parse_target("", version, rest),
        ["apis", group, version, rest @ ..] => parse_target(group, version, rest),
        _ => Route::Unknown,
    }
}

fn parse_target(group: &str, version: &str, rest: &[&str]) -> Route {
    let (watch_prefix, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let owned = |s: &&str| (*s).to_owned();
    let (namespace, tail): (Option<String>, &[&str]) = match rest {
        // `/namespaces/<ns>/status` addresses the namespace object's subresource, not a resource named `status`.
        ["namespaces", _, "status" | "finalize"] => (None, rest),
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some((*ns).to_owned()), tail),
        _ => (None, rest),
    };
    let (plural, name, subresource) = match tail {
        [plural] => (owned(plural), None, None),
        [plural, name] => (owned(plural), Some(owned(name)), None),
        [plural, name, sub] => (owned(plural), Some(owned(name)), Some(owned(sub))),
        _ => return Route::Unknown,
    };
    Route::Resource(Target {
        group: group.to_owned(),
        version: version.to_owned(),
        plural,
        namespace,
        name,
        subresource,
        watch_prefix,
    })
}

/// Decoded query parameters (first value wins for repeated keys).
#[derive(Clone, Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parse a raw query string (`a=b&c=d`, percent-encoded).
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            map.entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(map)
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A non-empty parameter's value.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|value| !value.is_empty())
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    /// An integer parameter; `Err` carries the bad text.
    pub fn number(&self, key: &str) -> Result<Option<i64>, String> {
        match self.non_empty(key) {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| format!("invalid value for {key}: {text:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match parse_path(path) {
            Route::Resource(target) => target,
            other => panic!("{path} parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_namespaced_and_cluster_paths() {
        let t = target("/apis/apps/v1/namespaces/ns1/deployments/web/status");
        assert_eq!(
            (t.group.as_str(), t.plural.as_str()),
            ("apps", "deployments")
        );
        assert_eq!(t.namespace.as_deref(), Some("ns1"));
        assert_eq!(t.name.as_deref(), Some("web"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let all = target("/api/v1/pods");
        assert_eq!((all.namespace, all.name), (None, None));
        let watch = target("/api/v1/watch/namespaces/a/configmaps");
        assert!(watch.watch_prefix);
        assert_eq!(watch.namespace.as_deref(), Some("a"));
    }

    #[test]
    fn namespace_object_paths_are_cluster_scoped() {
        let ns = target("/api/v1/namespaces/team");
        assert_eq!(
            (ns.plural.as_str(), ns.name.as_deref(), ns.namespace),
            ("namespaces", Some("team"), None)
        );
        let status = target("/api/v1/namespaces/team/status");
        assert_eq!(status.plural, "namespaces");
        assert_eq!(status.subresource.as_deref(), Some("status"));
        assert_eq!(target("/api/v1/namespaces").plural, "namespaces");
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(parse_path("/api"), Route::CoreVersions);
        assert_eq!(
            parse_path("/apis/apps/v1"),
            Route::ResourceList {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(parse_path("/nope/x"), Route::Unknown);
        assert_eq!(parse_path("/api/v1/a/b/c/d"), Route::Unknown);
    }

    #[test]
    fn query_decodes_percent_encoding() {
        let query = Query::parse(Some(
            "labelSelector=app%3Dweb%2Ctier+in+(a)&watch=1&limit=x",
        ));
        assert_eq!(query.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(query.flag("watch"));
        assert!(query.number("limit").is_err());
    }
}
