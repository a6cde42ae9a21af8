//! The `ConfigSync` custom resource (`configsync.dev/v1alpha1`, short name `csync`; `cs` is ComponentStatus on a real cluster).
//!
//! ```text
//!  spec.sources[]  ──(content hash)──►  spec.targets[]       status: what was applied, per source and target
//!  ConfigMap/Secret                     Deployment/StatefulSet/DaemonSet
//!  by name | selector, keys?            by name | selector
//! ```
//!
//! The spec is validated by the API server from the schema alone: enums, patterns, bounds, and CEL rules
//! (`x-kubernetes-validations`) for the rules that span fields ("exactly one of name or selector",
//! "debounce max >= min"). The status is the persisted "last applied" record the operator compares against
//! after a restart, so that it rolls what changed while it was down, once, and nothing else.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Go-style duration accepted by `debounce` and `rollout.pause`: one or more `<digits><unit>` groups with the
/// unit `ms`, `s`, `m` or `h` (`500ms`, `5s`, `1m30s`). CEL's `duration()` parses every string it matches.
pub const DURATION_PATTERN: &str = "^([0-9]+(ms|s|m|h))+$";

/// Declares which ConfigMaps and Secrets drive which workloads, and how.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "configsync.dev",
    version = "v1alpha1",
    kind = "ConfigSync",
    plural = "configsyncs",
    shortname = "csync",
    namespaced,
    doc = "Which ConfigMaps and Secrets drive which workloads, and the record of what was applied.",
    status = "ConfigSyncStatus",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Sources","type":"integer","description":"Sources followed","jsonPath":".status.sourceCount"}"#,
    printcolumn = r#"{"name":"Targets","type":"integer","description":"Targets driven","jsonPath":".status.targetCount"}"#,
    printcolumn = r#"{"name":"Hash","type":"string","description":"Short combined source hash","jsonPath":".status.shortHash"}"#,
    printcolumn = r#"{"name":"Last Rollout","type":"date","description":"Time of the last rollout","jsonPath":".status.lastRolloutTime"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","description":"Ready condition","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Strategy","type":"string","priority":1,"jsonPath":".spec.strategy"}"#,
    printcolumn = r#"{"name":"Suspended","type":"boolean","priority":1,"jsonPath":".spec.suspend"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","priority":1,"description":"Ready condition reason","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSyncSpec {
    /// ConfigMaps and Secrets whose content drives the targets.
    #[schemars(length(min = 1, max = 64))]
    pub sources: Vec<SourceSelector>,
    /// Workloads rolled (or told) when the content of the sources changes.
    #[schemars(length(min = 1, max = 256))]
    pub targets: Vec<TargetSelector>,
    /// What a content change does to the targets.
    #[serde(default)]
    pub strategy: Strategy,
    /// Quiet period: changes inside it collapse into one rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<Debounce>,
    /// How many targets roll at once, and the pause between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutPolicy>,
    /// `true` stops rollouts (reported as `Suspended`); resuming applies what changed meanwhile, once.
    #[serde(default)]
    pub suspend: bool,
}

/// The kind of a config source.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum SourceKind {
    /// A core/v1 ConfigMap.
    ConfigMap,
    /// A core/v1 Secret.
    Secret,
}

impl SourceKind {
    /// The kind as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigMap => "ConfigMap",
            Self::Secret => "Secret",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a workload configsync rolls.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// batch/v1 CronJob: its `jobTemplate`'s pod template is stamped, so the next Job starts with the new
    /// content; running Jobs are left alone.
    CronJob,
    /// argoproj.io/v1alpha1 Rollout (Argo Rollouts), followed when its CRD is installed.
    Rollout,
}

impl WorkloadKind {
    /// Every kind configsync follows: the one list the watches, RBAC, `explain` and the docs read.
    pub const ALL: [Self; 5] = [
        Self::Deployment,
        Self::StatefulSet,
        Self::DaemonSet,
        Self::CronJob,
        Self::Rollout,
    ];

    /// The names kubectl accepts for the kind (`deploy`, `deployment`, `deployments`, …), lowercase.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Self::Deployment => &["deploy", "deployment", "deployments"],
            Self::StatefulSet => &["sts", "statefulset", "statefulsets"],
            Self::DaemonSet => &["ds", "daemonset", "daemonsets"],
            Self::CronJob => &["cj", "cronjob", "cronjobs"],
            Self::Rollout => &["ro", "rollout", "rollouts"],
        }
    }

    /// The kind named `name` as kubectl spells it (short, singular or plural, any case; `Deployment.apps` too).
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let bare = lower
            .split_once('.')
            .map_or(lower.as_str(), |(kind, _group)| kind);
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.names().contains(&bare))
    }

    /// The kind as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::CronJob => "CronJob",
            Self::Rollout => "Rollout",
        }
    }

    /// The API group (`apps`, `batch`, `argoproj.io`).
    pub fn group(self) -> &'static str {
        match self {
            Self::Deployment | Self::StatefulSet | Self::DaemonSet => "apps",
            Self::CronJob => "batch",
            Self::Rollout => "argoproj.io",
        }
    }

    /// The `apiVersion` configsync reads and applies.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::Deployment | Self::StatefulSet | Self::DaemonSet => "apps/v1",
            Self::CronJob => "batch/v1",
            Self::Rollout => "argoproj.io/v1alpha1",
        }
    }

    /// The plural resource name (for URLs and RBAC).
    pub fn plural(self) -> &'static str {
        match self {
            Self::Deployment => "deployments",
            Self::StatefulSet => "statefulsets",
            Self::DaemonSet => "daemonsets",
            Self::CronJob => "cronjobs",
            Self::Rollout => "rollouts",
        }
    }

    /// Where the pod template sits in the object, from `spec` down.
    pub fn template_path(self) -> &'static [&'static str] {
        match self {
            Self::CronJob => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        }
    }

    /// Served only when a CRD defines it: watched only when the API serves it.
    pub fn needs_crd(self) -> bool {
        self == Self::Rollout
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ConfigMap or Secret, by name or by label selector (exactly one), optionally limited to some keys.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = kube::core::Rule::new("has(self.name) != has(self.selector)")
    .message("exactly one of name or selector must be set"))]
#[serde(rename_all = "camelCase")]
pub struct SourceSelector {
    /// `ConfigMap` or `Secret`.
    pub kind: SourceKind,
    /// The name of the source, in the ConfigSync's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// Every source of this kind whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Only these keys count; all keys when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256), inner(length(min = 1, max = 253)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub keys: Option<Vec<String>>,
    /// A missing optional source hashes as absent; a missing required one is reported as `SourceMissing`.
    #[serde(default)]
    pub optional: bool,
}

/// A workload, by kind and name or by kind and label selector (exactly one of name or selector).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = kube::core::Rule::new("has(self.name) != has(self.selector)")
    .message("exactly one of name or selector must be set"))]
#[serde(rename_all = "camelCase")]
pub struct TargetSelector {
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `CronJob` or `Rollout` (Argo Rollouts).
    pub kind: WorkloadKind,
    /// The name of the workload, in the ConfigSync's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// Every workload of this kind whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// What a content change does: `restart` rolls the workload (default), `reload` records the hash and lets the
/// sidecar reload the app in place, `none` only reports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Patch the pod template so the workload's own rolling update restarts it.
    #[default]
    Restart,
    /// Record the hash and emit an Event; the sidecar reloads the app.
    Reload,
    /// Report only.
    None,
}

impl Strategy {
    /// The strategy as written in annotations and specs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Reload => "reload",
            Self::None => "none",
        }
    }
}

/// consul-template's quiet period: fire `min` after the last change, but no later than `max` after the first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = kube::core::Rule::new("!has(self.max) || duration(self.max) >= duration(self.min)")
    .message("debounce max must be >= min"))]
pub struct Debounce {
    /// Quiet time after the last change (`500ms`, `5s`, `1m`).
    #[schemars(pattern(DURATION_PATTERN), length(max = 32))]
    pub min: String,
    /// Longest wait after the first change; 4 × min when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN), length(max = 32))]
    pub max: Option<String>,
}

/// How targets roll: at most `maxConcurrent` at once, each waiting for the previous to become available.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPolicy {
    /// Targets rolling at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent: Option<i32>,
    /// Least time between the starts of two targets' rollouts (`30s`); with `maxConcurrent` each also waits
    /// for the previous ones to become available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN), length(max = 32))]
    pub pause: Option<String>,
}

/// The persisted "last applied" record.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSyncStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The combined content hash of all sources (`v1:<hex>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hash: Option<String>,
    /// The first hex digits of `sourceHash`, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_hash: Option<String>,
    /// How many sources are followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_count: Option<i32>,
    /// How many targets are driven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<i32>,
    /// Per source: its hash and resourceVersion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind", "name"]))]
    pub sources: Vec<SourceStatus>,
    /// Per target: the applied hash, the last rollout and its state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind", "name"]))]
    pub targets: Vec<TargetStatus>,
    /// When the last target rollout started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollout_time: Option<Time>,
    /// `Ready`, `Progressing` and `Degraded`, in the standard `metav1.Condition` shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The observed state of one source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// `ConfigMap` or `Secret`.
    pub kind: SourceKind,
    /// The source's name.
    pub name: String,
    /// Content hash of the counted keys (`v1:<hex>`); unset when the source is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The resourceVersion the hash was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// The applied state of one target.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// The workload kind.
    pub kind: WorkloadKind,
    /// The workload's name.
    pub name: String,
    /// The hash last applied to this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_hash: Option<String>,
    /// When this target's last rollout started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollout_time: Option<Time>,
    /// Where this target's rollout stands.
    pub state: TargetState,
}

/// Where one target's rollout stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TargetState {
    /// Waiting for a rollout slot, the debounce window or the pause.
    Pending,
    /// Patched; new pods are rolling out.
    RollingOut,
    /// The applied hash is live and available.
    Available,
    /// The target does not exist.
    Missing,
    /// The patch failed.
    Failed,
    /// `suspend: true`.
    Suspended,
}

/// Condition types and reasons used in `status.conditions`.
pub mod condition {
    /// Every target runs the current content.
    pub const READY: &str = "Ready";
    /// A rollout is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// Something keeps the spec from being applied.
    pub const DEGRADED: &str = "Degraded";

    /// Reason: every target is applied and available.
    pub const APPLIED: &str = "Applied";
    /// Reason: a required source does not exist.
    pub const SOURCE_MISSING: &str = "SourceMissing";
    /// Reason: a named target does not exist.
    pub const TARGET_MISSING: &str = "TargetMissing";
    /// Reason: patching a target failed.
    pub const PATCH_FAILED: &str = "PatchFailed";
    /// Reason: `suspend: true`.
    pub const SUSPENDED: &str = "Suspended";
    /// Reason: targets are rolling out.
    pub const ROLLOUT_IN_PROGRESS: &str = "RolloutInProgress";
    /// Reason: another, older ConfigSync already drives the target.
    pub const TARGET_CLAIMED: &str = "TargetClaimed";
}

#[cfg(test)]
mod tests {
    use kube::CustomResourceExt;
    use serde_json::{Value, json};

    use super::*;

    fn spec_schema() -> Value {
        let crd = serde_json::to_value(ConfigSync::crd()).unwrap();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
    }

    fn rules(schema: &Value) -> Vec<String> {
        schema["x-kubernetes-validations"]
            .as_array()
            .map(|rules| {
                rules
                    .iter()
                    .map(|r| r["rule"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn names_and_scope_match_the_api_contract() {
        let crd = ConfigSync::crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("configsyncs.configsync.dev")
        );
        assert_eq!(crd.spec.group, "configsync.dev");
        assert_eq!(crd.spec.names.kind, "ConfigSync");
        assert_eq!(crd.spec.names.short_names, Some(vec!["csync".to_owned()]));
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.versions[0].name, "v1alpha1");
    }

    #[test]
    fn printer_columns_are_the_documented_ones() {
        let crd = ConfigSync::crd();
        let columns = crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap();
        let default_view: Vec<_> = columns
            .iter()
            .filter(|c| c.priority.is_none())
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            default_view,
            ["Sources", "Targets", "Hash", "Last Rollout", "Ready", "Age"]
        );
    }

    #[test]
    fn cross_field_rules_are_cel_validations() {
        let spec = spec_schema();
        let exactly_one = "has(self.name) != has(self.selector)";
        assert_eq!(
            rules(&spec["properties"]["sources"]["items"]),
            [exactly_one]
        );
        assert_eq!(
            rules(&spec["properties"]["targets"]["items"]),
            [exactly_one]
        );
        assert_eq!(
            rules(&spec["properties"]["debounce"]),
            ["!has(self.max) || duration(self.max) >= duration(self.min)"]
        );
    }

    #[test]
    fn enums_and_patterns_are_in_the_schema() {
        let spec = spec_schema();
        assert_eq!(
            spec["properties"]["strategy"]["enum"],
            json!(["restart", "reload", "none"])
        );
        assert_eq!(
            spec["properties"]["sources"]["items"]["properties"]["kind"]["enum"],
            json!(["ConfigMap", "Secret"])
        );
        assert_eq!(
            spec["properties"]["debounce"]["properties"]["min"]["pattern"],
            json!(DURATION_PATTERN)
        );
        assert_eq!(spec["required"], json!(["sources", "targets"]));
    }

    #[test]
    fn minimal_spec_gets_defaults() {
        let spec: ConfigSyncSpec = serde_json::from_value(json!({
            "sources": [{"kind": "ConfigMap", "name": "redis-config"}],
            "targets": [{"kind": "Deployment", "name": "redis"}],
        }))
        .unwrap();
        assert_eq!(spec.strategy, Strategy::Restart);
        assert!(!spec.suspend);
        assert!(!spec.sources[0].optional);
        assert_eq!(spec.sources[0].keys, None);
    }

    #[test]
    fn unknown_strategy_is_rejected() {
        let bad = serde_json::from_value::<ConfigSyncSpec>(json!({
            "sources": [{"kind": "ConfigMap", "name": "a"}],
            "targets": [{"kind": "Deployment", "name": "b"}],
            "strategy": "Restart",
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn a_realistic_manifest_parses() {
        let yaml = r#"
apiVersion: configsync.dev/v1alpha1
kind: ConfigSync
metadata: {name: redis, namespace: default}
spec:
  sources:
    - {kind: ConfigMap, name: redis-config, keys: [redis.properties]}
    - {kind: ConfigMap, name: myconfig}
  targets:
    - {kind: Deployment, name: redis}
  debounce: {min: 5s, max: 1m}
  rollout: {maxConcurrent: 1, pause: 10s}
"#;
        let cs: ConfigSync = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(
            cs.spec.sources[0].keys.as_deref(),
            Some(&["redis.properties".to_owned()][..])
        );
        assert_eq!(cs.spec.targets[0].kind, WorkloadKind::Deployment);
        assert_eq!(cs.spec.rollout.and_then(|r| r.max_concurrent), Some(1));
        assert_eq!(cs.spec.debounce.map(|d| d.min), Some("5s".to_owned()));
        assert_eq!(cs.status, None);
    }

    #[test]
    fn workload_kinds_resolve_from_every_kubectl_name() {
        for kind in WorkloadKind::ALL {
            for name in kind.names() {
                assert_eq!(WorkloadKind::from_name(name), Some(kind), "{name}");
            }
            assert_eq!(WorkloadKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(
            WorkloadKind::from_name("Deployment.apps"),
            Some(WorkloadKind::Deployment)
        );
        assert_eq!(WorkloadKind::from_name("pod"), None);
    }
}
