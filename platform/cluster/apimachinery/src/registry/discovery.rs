//! The discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`), shaped exactly as
//! kube-apiserver v1.33 serves them.
use super::builtin;
use crate::ResourceType;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;

/// `/version` of a v1.33 server: every field `version.Info` has. There is no upstream commit behind this build, so
/// `gitCommit` is all zeros; `buildDate` and `goVersion` are those of upstream v1.33.0.
pub(super) fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.0-configsync",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T13:04:54Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api` naming the address clients should use (`host:port`).
pub fn core_api_versions_at(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

/// kube-apiserver's `storageVersionHash`: base64 of the first 8 bytes of sha256(`group/version/kind`) of the
/// version the resource is stored as. Known for built-in resources only; `None` for custom resources, whose
/// storage version a `ResourceType` does not record (kube-apiserver would hash the CRD's storage version).
pub fn storage_version_hash(resource: &ResourceType) -> Option<String> {
    let (group, version, kind) = builtin::storage_gvk(resource)?;
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(&digest[..8]))
}

/// Split `v2beta1` into (major, stability rank, minor); `None` for versions that are not Kubernetes-style.
fn parse_kube_version(version: &str) -> Option<(u64, u8, u64)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major: u64 = rest.get(..digits)?.parse().ok()?;
    let tail = rest.get(digits..)?;
    if tail.is_empty() {
        return Some((major, 2, 0));
    }
    let (rank, minor) = if let Some(m) = tail.strip_prefix("beta") {
        (1, m)
    } else {
        (0, tail.strip_prefix("alpha")?)
    };
    Some((major, rank, minor.parse().ok()?))
}

/// The order kube-apiserver lists versions in: GA before beta before alpha, higher numbers first, then versions
/// that are not Kubernetes-style alphabetically. The first version is a group's preferred version.
pub fn kube_aware_version_order(a: &str, b: &str) -> Ordering {
    match (parse_kube_version(a), parse_kube_version(b)) {
        (Some((ma, ra, na)), Some((mb, rb, nb))) => rb.cmp(&ra).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Built-in groups first in kube-apiserver's priority order, then custom groups alphabetically.
fn group_rank(group: &str, builtin_groups: &[String]) -> (usize, String) {
    let rank = builtin_groups
        .iter()
        .position(|g| g == group)
        .unwrap_or(usize::MAX);
    (rank, group.to_owned())
}

/// `/apis`: an `APIGroupList` with every non-core group among `resources`.
pub(super) fn api_group_list(resources: &[ResourceType]) -> Value {
    let mut builtin_groups: Vec<String> = Vec::new();
    for r in builtin::resources() {
        if !builtin_groups.contains(&r.group) {
            builtin_groups.push(r.group);
        }
    }
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version.as_str()) => {
                versions.push(&r.version)
            }
            Some(_) => {}
            None => groups.push((&r.group, vec![&r.version])),
        }
    }
    groups.sort_by_key(|(g, _)| group_rank(g, &builtin_groups));
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, mut versions)| {
            versions.sort_by(|a, b| kube_aware_version_order(a, b));
            let entries: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            let preferred = entries.first().cloned().unwrap_or(Value::Null);
            json!({"name": group, "versions": entries, "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// The `APIResource` entry of a resource itself.
fn main_entry(r: &ResourceType) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(r.plural));
    entry.insert("singularName".into(), json!(r.singular));
    entry.insert("namespaced".into(), json!(r.namespaced));
    entry.insert("kind".into(), json!(r.kind));
    entry.insert("verbs".into(), strings(&r.verbs));
    if !r.short_names.is_empty() {
        entry.insert("shortNames".into(), strings(&r.short_names));
    }
    if !r.categories.is_empty() {
        entry.insert("categories".into(), strings(&r.categories));
    }
    if let Some(hash) = storage_version_hash(r) {
        entry.insert("storageVersionHash".into(), json!(hash));
    }
    Value::Object(entry)
}

/// The `x/status` and `x/scale` entries of a resource.
fn subresource_entries(r: &ResourceType) -> Vec<Value> {
    let verbs = json!(["get", "patch", "update"]);
    let mut entries = Vec::new();
    if r.has_scale {
        entries.push(json!({
            "name": format!("{}/scale", r.plural), "singularName": "", "namespaced": r.namespaced,
            "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": verbs
        }));
    }
    if r.has_status {
        entries.push(json!({
            "name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
            "kind": r.kind, "verbs": verbs
        }));
    }
    entries
}

/// `/api/v1` or `/apis/<group>/<version>`: resources and subresources sorted by name, as kube-apiserver lists them.
pub(super) fn api_resource_list(group: &str, version: &str, resources: &[ResourceType]) -> Value {
    let mut entries: Vec<Value> = Vec::new();
    for r in resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        entries.push(main_entry(r));
        entries.extend(subresource_entries(r));
    }
    entries.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries})
}

/// The `responseKind` kube-apiserver writes: built-in kinds leave group and version empty.
fn response_kind(r: &ResourceType) -> Value {
    if storage_version_hash(r).is_some() {
        json!({"group": "", "version": "", "kind": r.kind})
    } else {
        json!({"group": r.group, "version": r.version, "kind": r.kind})
    }
}

/// One resource of an `APIVersionDiscovery`, with its subresources nested.
fn aggregated_resource(r: &ResourceType) -> Value {
    let verbs = json!(["get", "patch", "update"]);
    let mut subresources = Vec::new();
    if r.has_scale {
        subresources.push(json!({"subresource": "scale", "verbs": verbs,
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}}));
    }
    if r.has_status {
        subresources.push(
            json!({"subresource": "status", "verbs": verbs, "responseKind": response_kind(r)}),
        );
    }
    let mut entry = Map::new();
    entry.insert("resource".into(), json!(r.plural));
    entry.insert("responseKind".into(), response_kind(r));
    entry.insert(
        "scope".into(),
        json!(if r.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    entry.insert("singularResource".into(), json!(r.singular));
    entry.insert("verbs".into(), strings(&r.verbs));
    if !r.short_names.is_empty() {
        entry.insert("shortNames".into(), strings(&r.short_names));
    }
    if !r.categories.is_empty() {
        entry.insert("categories".into(), strings(&r.categories));
    }
    if !subresources.is_empty() {
        entry.insert("subresources".into(), Value::Array(subresources));
    }
    Value::Object(entry)
}

/// One `APIGroupDiscovery`: the group's versions in preference order, resources sorted by name.
fn aggregated_group(group: &str, resources: &[ResourceType]) -> Value {
    let mut versions: Vec<&str> = Vec::new();
    for r in resources.iter().filter(|r| r.group == group) {
        if !versions.contains(&r.version.as_str()) {
            versions.push(&r.version);
        }
    }
    versions.sort_by(|a, b| kube_aware_version_order(a, b));
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|version| {
            let mut in_version: Vec<&ResourceType> = resources
                .iter()
                .filter(|r| r.group == group && r.version == version)
                .collect();
            in_version.sort_by(|a, b| a.plural.cmp(&b.plural));
            let entries: Vec<Value> = in_version.into_iter().map(aggregated_resource).collect();
            json!({"version": version, "resources": entries, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
}

/// Aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`), which kubectl and client-go ask for
/// first (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`). `core` selects the
/// `/api` document (the core group only); otherwise the `/apis` document (every other group, `/apis` order).
pub fn aggregated_discovery(resources: &[ResourceType], core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group("", resources)]
    } else {
        let list = api_group_list(resources);
        let groups = list["groups"].as_array().cloned().unwrap_or_default();
        groups
            .iter()
            .filter_map(|g| g["name"].as_str())
            .map(|group| aggregated_group(group, resources))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
