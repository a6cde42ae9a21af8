//! The opt-in annotations on a workload, parsed into a typed [`WorkloadPolicy`].
//!
//! ```text
//!  auto (both kinds)   configsync.dev/auto · reloader.stakater.com/auto · wave …/update-on-config-change · --auto-all
//!  auto (one kind)     configmap.reloader.stakater.com/auto · secret.reloader.stakater.com/auto
//!  named sources       configsync.dev/{configmaps,secrets} · {configmap,secret}.reloader…/reload · wave …/extra-*
//!                      (wave's entries may be `namespace/name`: the workload's own namespace only;
//!                      Reloader's entries that are not object names are regular expressions, anchored at both
//!                      ends, selecting among the sources the pod template references)
//!  left out of auto    configsync.dev/exclude-{configmaps,secrets} · {configmaps,secrets}.exclude.reloader…/reload
//!  search              reloader.stakater.com/search (no auto set): the referenced sources, counting only those
//!                      with reloader.stakater.com/match: "true" (see `cache::Namespace::for_policy`)
//!  how                 configsync.dev/strategy (restart|reload|none) · configsync.dev/debounce (min[,max])
//! ```
//! `configsync.dev/auto` decides over `reloader.stakater.com/auto`; either set to `"false"` opts the workload
//! out of every form of `auto` (including `--auto-all`) while named sources are still followed.
//!
//! Parsing never panics. Every malformed value is collected into one [`Error::ParsePolicy`] whose text names
//! each annotation and its bad value; it becomes the Warning Event on the workload, and the workload is left
//! alone until it is fixed (a typo in `strategy: none` must not restart anything).
use std::collections::{BTreeMap, BTreeSet};

use configsync_core::names::is_dns_subdomain;
use configsync_core::timing::TimingError;
use configsync_crds::annotations::{self as keys, reloader, wave};
use configsync_crds::{SourceKind, Strategy};

use crate::refs::{ConsumedKeys, SourceId, SourceRef, merge_refs};

/// Longest annotation value quoted in an error message.
const QUOTE_LIMIT: usize = 64;

/// Largest compiled size of one regular expression in a Reloader `reload` annotation (bytes): bounds the
/// memory and matching time a workload's annotation can cost the operator.
const REGEX_SIZE_LIMIT: usize = 64 * 1024;

/// Failures while parsing a workload's annotations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// One or more annotations have malformed values.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    ParsePolicy {
        /// Every malformed annotation, in key order.
        problems: Vec<Problem>,
    },
}

/// One malformed annotation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("annotation {annotation} has invalid value {value:?}: {invalid}")]
pub struct Problem {
    /// The annotation key.
    pub annotation: String,
    /// The value, cut to a readable length.
    pub value: String,
    /// What is wrong with it.
    pub invalid: Invalid,
}

/// What is wrong with an annotation value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    /// Not a boolean.
    #[error("expected \"true\" or \"false\"")]
    Bool,
    /// A list entry is not a valid object name.
    #[error(
        "{0:?} is not a valid object name (lowercase letters, digits, '-' and '.', at most 253)"
    )]
    Name(String),
    /// Not `restart`, `reload` or `none`.
    #[error("expected restart, reload or none")]
    Strategy,
    /// A `namespace/name` entry of another namespace than the workload's.
    #[error(
        "the source is in another namespace than the workload's ({0}); configsync follows sources of the workload's own namespace only"
    )]
    OtherNamespace(String),
    /// A Reloader `reload` entry is neither an object name nor a regular expression (or one too large).
    #[error("{0:?} is not a valid regular expression: {1}")]
    Regex(String, String),
    /// A duration or the `min[,max]` quiet period is malformed.
    #[error(transparent)]
    Timing(#[from] TimingError),
}

/// Which kinds of referenced sources `auto` follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AutoKinds {
    /// Follow every referenced ConfigMap.
    pub config_maps: bool,
    /// Follow every referenced Secret.
    pub secrets: bool,
}

impl AutoKinds {
    /// Whether `auto` covers sources of `kind`.
    pub fn covers(self, kind: SourceKind) -> bool {
        match kind {
            SourceKind::ConfigMap => self.config_maps,
            SourceKind::Secret => self.secrets,
        }
    }
}

/// A regular expression entry of Reloader's `configmap.reloader…/reload` or `secret.reloader…/reload`:
/// it follows every source of `kind` the pod template references whose whole name matches.
#[derive(Clone, Debug)]
pub struct NamePattern {
    /// The kind of sources it selects.
    pub kind: SourceKind,
    /// The entry as written.
    pub source: String,
    /// The entry anchored at both ends (`^(?:entry)$`, as Reloader does).
    regex: regex::Regex,
}

impl NamePattern {
    /// Compile one entry, anchored at both ends, within [`REGEX_SIZE_LIMIT`].
    ///
    /// # Errors
    /// The regex crate's message when the entry is malformed or compiles too large.
    pub fn new(kind: SourceKind, source: &str) -> Result<Self, String> {
        let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                e.to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })?;
        Ok(Self {
            kind,
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether the pattern selects `id`.
    pub fn selects(&self, id: &SourceId) -> bool {
        id.kind == self.kind && self.regex.is_match(&id.name)
    }
}

impl PartialEq for NamePattern {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, &self.source) == (other.kind, &other.source)
    }
}

impl Eq for NamePattern {}

/// consul-template's quiet period: fire `min` after the last change, and no later than `max` after the first
/// (the shared [`Wait`] under the name the operator's annotation gives it).
pub use configsync_core::timing::Wait as Debounce;

/// What configsync does for one workload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadPolicy {
    /// Kinds of referenced sources followed automatically.
    pub auto: AutoKinds,
    /// Sources followed by name, whether or not the pod template references them.
    pub named: BTreeSet<SourceId>,
    /// Sources `auto` leaves out.
    pub excluded: BTreeSet<SourceId>,
    /// What a content change does.
    pub strategy: Strategy,
    /// The workload's quiet period; `None` means the operator's `--debounce` default.
    pub debounce: Option<Debounce>,
    /// wave's `namespace/name` entries: (annotation, namespace, source). [`WorkloadPolicy::resolve_namespaces`]
    /// keeps those of the workload's own namespace and refuses the others.
    pub qualified: Vec<(String, String, SourceId)>,
    /// Reloader's regular expression entries: referenced sources whose name matches are followed.
    pub patterns: Vec<NamePattern>,
    /// Reloader's `search`: only sources with `reloader.stakater.com/match: "true"` count for the hash.
    pub search: bool,
}

impl WorkloadPolicy {
    /// Settle wave's `namespace/name` entries for a workload in `namespace`: those of its own namespace are
    /// followed by name; a source in another namespace is refused (configsync follows a workload's own
    /// namespace only, see the README's wave table).
    ///
    /// # Errors
    /// [`Error::ParsePolicy`] naming each entry of another namespace.
    pub fn resolve_namespaces(mut self, namespace: &str) -> Result<Self, Error> {
        let mut problems = Vec::new();
        for (annotation, source_ns, id) in std::mem::take(&mut self.qualified) {
            if source_ns == namespace {
                self.named.insert(id);
            } else {
                problems.push(Problem {
                    value: format!("{source_ns}/{}", id.name),
                    annotation,
                    invalid: Invalid::OtherNamespace(namespace.to_owned()),
                });
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(Error::ParsePolicy { problems })
        }
    }

    /// The sources this policy follows: referenced ones of an `auto` kind that are not excluded, referenced
    /// ones a [`NamePattern`] selects, plus the named ones (all keys, optional: a named source that does not
    /// exist yet hashes as absent).
    pub fn followed_sources(&self, refs: &[SourceRef]) -> Vec<SourceRef> {
        let auto = refs
            .iter()
            .filter(|r| {
                let auto = self.auto.covers(r.id.kind) && !self.excluded.contains(&r.id);
                auto || self.patterns.iter().any(|p| p.selects(&r.id))
            })
            .cloned();
        let named = self.named.iter().map(|id| SourceRef {
            id: id.clone(),
            keys: ConsumedKeys::All,
            optional: true,
            env_prefixes: BTreeSet::new(),
        });
        merge_refs(auto.chain(named))
    }
}

/// Parse a workload's annotations. `Ok(None)`: the workload is not followed.
///
/// # Errors
/// [`Error::ParsePolicy`] listing every malformed annotation.
pub fn parse_policy(
    annotations: &BTreeMap<String, String>,
    auto_all: bool,
) -> Result<Option<WorkloadPolicy>, Error> {
    let mut p = Parser {
        annotations,
        problems: Vec::new(),
        qualified: Vec::new(),
        patterns: Vec::new(),
    };
    let explicit_auto = p.bool(keys::AUTO).or(p.bool(reloader::AUTO));
    let typed_cm = p.bool(reloader::CONFIGMAP_AUTO).unwrap_or(false);
    let typed_secret = p.bool(reloader::SECRET_AUTO).unwrap_or(false);
    let wave = p.bool(wave::UPDATE_ON_CONFIG_CHANGE).unwrap_or(false);
    let both = wave || explicit_auto.unwrap_or(auto_all);
    let mut auto = match explicit_auto {
        Some(false) => AutoKinds::default(),
        _ => AutoKinds {
            config_maps: both || typed_cm,
            secrets: both || typed_secret,
        },
    };
    // Reloader: `auto` decides over `search` (every referenced source counts then).
    let search = p.bool(reloader::SEARCH) == Some(true) && auto == AutoKinds::default();
    if search {
        auto = AutoKinds {
            config_maps: true,
            secrets: true,
        };
    }
    let config_maps = [
        keys::CONFIGMAPS,
        reloader::CONFIGMAP_RELOAD,
        wave::EXTRA_CONFIGMAPS,
    ];
    let secrets = [keys::SECRETS, reloader::SECRET_RELOAD, wave::EXTRA_SECRETS];
    let mut named = p.names(&config_maps, SourceKind::ConfigMap);
    named.extend(p.names(&secrets, SourceKind::Secret));
    let qualified = p.qualified.split_off(0);
    let patterns = p.patterns.split_off(0);
    let mut excluded = p.names(
        &[keys::EXCLUDE_CONFIGMAPS, reloader::CONFIGMAPS_EXCLUDE],
        SourceKind::ConfigMap,
    );
    excluded.extend(p.names(
        &[keys::EXCLUDE_SECRETS, reloader::SECRETS_EXCLUDE],
        SourceKind::Secret,
    ));
    let strategy = p.strategy();
    let debounce = p.debounce();
    if !p.problems.is_empty() {
        p.problems.sort_by(|a, b| a.annotation.cmp(&b.annotation));
        return Err(Error::ParsePolicy {
            problems: p.problems,
        });
    }
    let followed = auto.config_maps
        || auto.secrets
        || !named.is_empty()
        || !qualified.is_empty()
        || !patterns.is_empty();
    Ok(followed.then_some(WorkloadPolicy {
        auto,
        named,
        excluded,
        strategy,
        debounce,
        qualified,
        patterns,
        search,
    }))
}

/// Whether `key` is one of the policy annotations configsync reads (its own, Reloader's or wave's), as
/// opposed to what it writes (`config-hash`, `observed-*`) or anything else.
pub fn is_policy_key(key: &str) -> bool {
    let written = [
        keys::CONFIG_HASH,
        keys::OBSERVED_HASH,
        keys::OBSERVED_TEMPLATE,
        keys::INJECT,
    ];
    if written.contains(&key) || key.starts_with("configsync.dev/inject") {
        return false;
    }
    let Some((domain, _)) = key.split_once('/') else {
        return false;
    };
    domain == keys::DOMAIN
        || domain == "reloader.stakater.com"
        || domain.ends_with(".reloader.stakater.com")
        || domain == "wave.pusher.com"
}

/// The annotations a workload's policy is parsed from: the policy annotations of its pod template
/// (Reloader reads them there too), overridden by the workload's own.
pub fn policy_annotations(
    workload: &BTreeMap<String, String>,
    template: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut merged: BTreeMap<String, String> = template
        .iter()
        .filter(|(k, _)| is_policy_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    merged.extend(workload.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

/// Whether a ConfigMap or Secret counts for the workloads with `reloader.stakater.com/search`.
pub fn is_matched_source(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(reloader::MATCH)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Whether a ConfigMap or Secret opts out of triggering anything (`configsync.dev/ignore` or Reloader's).
pub fn is_ignored_source(annotations: &BTreeMap<String, String>) -> bool {
    [keys::IGNORE, reloader::IGNORE].iter().any(|k| {
        annotations
            .get(*k)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    })
}

struct Parser<'a> {
    annotations: &'a BTreeMap<String, String>,
    problems: Vec<Problem>,
    /// wave's `namespace/name` entries, settled once the workload's namespace is known.
    qualified: Vec<(String, String, SourceId)>,
    /// Reloader's regular expression entries.
    patterns: Vec<NamePattern>,
}

impl Parser<'_> {
    fn report(&mut self, annotation: &str, value: &str, invalid: Invalid) {
        let value = match value.char_indices().nth(QUOTE_LIMIT) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value.to_owned(),
        };
        self.problems.push(Problem {
            annotation: annotation.to_owned(),
            value,
            invalid,
        });
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        let value = self.annotations.get(key)?;
        match value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.report(key, value, Invalid::Bool);
                None
            }
        }
    }

    fn names(&mut self, keys: &[&str], kind: SourceKind) -> BTreeSet<SourceId> {
        let mut ids = BTreeSet::new();
        for key in keys {
            let Some(value) = self.annotations.get(*key) else {
                continue;
            };
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let wave_key = [wave::EXTRA_CONFIGMAPS, wave::EXTRA_SECRETS].contains(key);
                let regex_key = [reloader::CONFIGMAP_RELOAD, reloader::SECRET_RELOAD].contains(key);
                if let (true, Some((namespace, source))) = (wave_key, name.split_once('/'))
                    && is_dns_subdomain(namespace)
                    && is_dns_subdomain(source)
                {
                    let id = SourceId {
                        kind,
                        name: source.to_owned(),
                    };
                    self.qualified
                        .push(((*key).to_owned(), namespace.to_owned(), id));
                } else if is_dns_subdomain(name) {
                    ids.insert(SourceId {
                        kind,
                        name: name.to_owned(),
                    });
                } else if regex_key {
                    match NamePattern::new(kind, name) {
                        Ok(pattern) => self.patterns.push(pattern),
                        Err(why) => self.report(key, value, Invalid::Regex(name.to_owned(), why)),
                    }
                } else {
                    self.report(key, value, Invalid::Name(name.to_owned()));
                }
            }
        }
        ids
    }

    fn strategy(&mut self) -> Strategy {
        let Some(value) = self.annotations.get(keys::STRATEGY) else {
            return Strategy::default();
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "restart" => Strategy::Restart,
            "reload" => Strategy::Reload,
            "none" => Strategy::None,
            _ => {
                self.report(keys::STRATEGY, value, Invalid::Strategy);
                Strategy::default()
            }
        }
    }

    fn debounce(&mut self) -> Option<Debounce> {
        let value = self.annotations.get(keys::DEBOUNCE)?;
        value
            .parse::<Debounce>()
            .map_err(Invalid::from)
            .map_err(|invalid| self.report(keys::DEBOUNCE, value, invalid))
            .ok()
    }
}

#[cfg(test)]
#[path = "annotations_tests.rs"]
mod tests;
