//! Sidecar injection as one pure decision: a pod (or pod template) in, a JSON patch out.
//!
//! # Theory of operation
//! ```text
//!  pod annotations + namespace labels ──opt_in──► skip? (not opted in, "false", already injected)
//!        │ annotations::parse (every problem at once)           └─► empty patch
//!        ▼
//!  InjectSpec + InjectConfig (image, native sidecar or not) + SourceData (looked-up digests, optional)
//!        │ patch::build: parents first, keys escaped as pointer tokens
//!        ▼
//!  InjectOutcome { patch, warnings }
//! ```
//! The webhook and `configsync inject` call the same [`inject`]; only how they find [`SourceData`] differs (the
//! webhook reads the cluster, the CLI reads the ConfigMaps and Secrets in its input). Either the whole patch or
//! an error comes back: never a partial injection.
//!
//! # Guarantees
//! - Idempotent: the patch sets [`annotations::INJECTED`]; a pod carrying it, or a container named
//!   [`SIDECAR_NAME`], gets an empty patch.
//! - The app containers start only after the first full sync is on disk: a native sidecar carries a startup
//!   probe on the sidecar's `/readyz` (503 until the first sync), which holds back the kubelet; a classic sidecar
//!   and init mode are preceded by a render-once init container. A named source that does not exist holds that
//!   first sync (as a ConfigMap volume holds its pod) unless [`annotations::OPTIONAL`] lists it.
//! - Every `add` targets an existing parent: missing `metadata`, `annotations`, `initContainers`, `volumes`,
//!   `env` or `volumeMounts` are added first as empty values.
//! - The `configsync.dev/config-hash` annotation is the operator's [`crate::hash::workload_hash`] over the
//!   pod's own references merged with the injected sources (all keys, optional): what the operator computes for a
//!   workload that follows them, so a pod created this way triggers no extra rollout (wave #111).
mod patch;

pub mod annotations;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::PodTemplateSpec;

pub use annotations::{InjectSpec, Mode, Reload};

use crate::hash::{ConfigHash, KeyDigests, workload_hash};
use crate::refs::{ConsumedKeys, SourceId, SourceRef, merge_refs, source_refs};

/// Name of the injected sidecar (or init) container.
pub const SIDECAR_NAME: &str = "configsync";
/// Name of the render-once init container that precedes a classic (regular-container) sidecar.
pub const INIT_NAME: &str = "configsync-init";
/// The sidecar's health port (`CONFIGSYNC_HEALTH_ADDR=0.0.0.0:9533`, the sidecar's default).
pub const HEALTH_PORT: i32 = 9533;
/// The sidecar's readiness path: 503 until the first full sync is published, then 200.
pub const READY_PATH: &str = "/readyz";
/// How long (seconds, probed every second) a native sidecar may take to publish its first sync before the
/// kubelet restarts it; the app containers wait all that time.
pub const STARTUP_TIMEOUT_SECONDS: i32 = 300;
/// Name of the init container that copies the binary in exec mode.
pub const INSTALL_NAME: &str = "configsync-install";
/// Name of the in-memory volume holding the rendered files.
pub const DATA_VOLUME: &str = "configsync-data";
/// Name of the volume holding the binary in exec mode.
pub const BIN_VOLUME: &str = "configsync-bin";
/// Where the binary is copied to in exec mode.
pub const BIN_DIR: &str = "/configsync/bin";
/// The image injected by default: this build's own version (never a floating tag); the operator's `--sidecar-image`
/// and `configsync inject --image` override it.
pub const DEFAULT_IMAGE: &str =
    concat!("ghcr.io/configsync/configsync:", env!("CARGO_PKG_VERSION"));

/// How the injector builds containers (the operator's flags, not the pod's annotations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectConfig {
    /// The configsync image.
    pub image: String,
    /// The path of the sidecar binary inside the image: `configsync-sidecar` (the sidecar alone, a smaller
    /// resident set), or `configsync`; both take `sidecar …` and `sidecar exec …`.
    pub binary_path: String,
    /// A native sidecar (init container with `restartPolicy: Always` and a startup probe, Kubernetes 1.29+);
    /// `false` adds a classic one: a render-once init container, then a regular container. A pod's
    /// [`annotations::NATIVE_SIDECAR`] overrides it.
    pub native_sidecar: bool,
}

impl Default for InjectConfig {
    fn default() -> Self {
        Self {
            image: DEFAULT_IMAGE.to_owned(),
            binary_path: "/usr/local/bin/configsync-sidecar".to_owned(),
            native_sidecar: true,
        }
    }
}

/// What the caller looked up about the sources, for the initial config hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceData {
    /// Key digests of every existing source the pod or the sidecar uses (absent = does not exist).
    pub digests: BTreeMap<SourceId, KeyDigests>,
    /// The sources the selector matched.
    pub selected: BTreeSet<SourceId>,
}

/// The patch and anything the user should hear about.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InjectOutcome {
    /// The JSON patch; empty when nothing is to be injected.
    pub patch: json_patch::Patch,
    /// Human-readable warnings (AdmissionResponse `warnings`).
    pub warnings: Vec<String>,
}

/// Why a pod cannot be injected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InjectError {
    /// The injection annotations are malformed.
    #[error("invalid configsync injection annotations: {}", .problems.join("; "))]
    ParseAnnotations {
        /// One `annotation: value: why` per problem.
        problems: Vec<String>,
    },
    /// The annotations name containers the pod does not have.
    #[error("{}: no container named {}", annotations::CONTAINERS, .missing.join(", "))]
    SelectContainers {
        /// The missing names.
        missing: Vec<String>,
    },
    /// Exec mode needs the container's command to wrap it.
    #[error(
        "{}: exec mode needs an explicit `command` on container {container:?} to wrap",
        annotations::MODE
    )]
    WrapCommand {
        /// The container without a command.
        container: String,
    },
}

/// Whether the pod asks for injection, and how. `Ok(None)`: nothing to inject (not opted in, opted out, or
/// already injected).
///
/// # Errors
/// [`InjectError::ParseAnnotations`] when the pod opts in with malformed annotations.
pub fn requested(
    pod: &PodTemplateSpec,
    ns_labels: &BTreeMap<String, String>,
) -> Result<Option<InjectSpec>, InjectError> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    let annotations = pod
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .unwrap_or(&EMPTY);
    if annotations.contains_key(annotations::INJECTED) || has_sidecar(pod) {
        return Ok(None);
    }
    let opted_in = match annotations.get(annotations::INJECT).map(|v| v.trim()) {
        Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(InjectError::ParseAnnotations {
                problems: vec![format!(
                    "{}: {other:?}: expected \"true\" or \"false\"",
                    annotations::INJECT
                )],
            });
        }
        None => ns_labels
            .get(annotations::NAMESPACE_LABEL)
            .is_some_and(|v| v == annotations::NAMESPACE_ENABLED),
    };
    if !opted_in {
        return Ok(None);
    }
    annotations::parse(annotations)
        .map(Some)
        .map_err(|problems| InjectError::ParseAnnotations { problems })
}

fn has_sidecar(pod: &PodTemplateSpec) -> bool {
    pod.spec.as_ref().is_some_and(|spec| {
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .any(|c| c.name == SIDECAR_NAME)
    })
}

/// The sources the sidecar projects plus those the pod references: what to look up for [`SourceData`].
pub fn sources_to_look_up(pod: &PodTemplateSpec, spec: &InjectSpec) -> BTreeSet<SourceId> {
    let own = pod.spec.as_ref().map(source_refs).unwrap_or_default();
    own.into_iter()
        .map(|r| r.id)
        .chain(spec.configmaps.iter().map(SourceId::config_map))
        .chain(spec.secrets.iter().map(SourceId::secret))
        .collect()
}

/// The patch that injects the sidecar into `pod`, as the annotations and `ns_labels` ask.
/// `sources` is `None` when the caller could not look sources up: the config hash is then left out, with a warning.
///
/// # Errors
/// [`InjectError`] for malformed annotations or a pod the annotations do not fit; nothing is injected then.
pub fn inject(
    pod: &PodTemplateSpec,
    ns_labels: &BTreeMap<String, String>,
    config: &InjectConfig,
    sources: Option<&SourceData>,
) -> Result<InjectOutcome, InjectError> {
    let Some(spec) = requested(pod, ns_labels)? else {
        return Ok(InjectOutcome::default());
    };
    let mut warnings = Vec::new();
    let hash = match sources {
        Some(sources) => config_hash(pod, &spec, sources)
            .map_err(|error| warnings.push(format!("config hash not set: {error}")))
            .ok(),
        None => {
            warnings.push("config hash not set: sources could not be looked up".to_owned());
            None
        }
    };
    if spec.mode == Mode::Init && spec.reload.is_some() {
        warnings.push("init mode renders once: the reload annotation has no effect".to_owned());
    }
    let patch = patch::build(pod, &spec, config, hash.as_ref())?;
    Ok(InjectOutcome { patch, warnings })
}

fn config_hash(
    pod: &PodTemplateSpec,
    spec: &InjectSpec,
    sources: &SourceData,
) -> Result<ConfigHash, crate::hash::Error> {
    let own = pod.spec.as_ref().map(source_refs).unwrap_or_default();
    let injected = spec
        .configmaps
        .iter()
        .map(SourceId::config_map)
        .chain(spec.secrets.iter().map(SourceId::secret))
        .chain(sources.selected.iter().cloned())
        .map(|id| SourceRef {
            id,
            keys: ConsumedKeys::All,
            optional: true,
            env_prefixes: BTreeSet::new(),
        });
    workload_hash(
        &merge_refs(own.into_iter().chain(injected)),
        &sources.digests,
    )
}

#[cfg(test)]
mod tests;
