//! The annotation vocabulary: every key configsync reads or writes, in one place.
//!
//! ```text
//!  workload metadata            pod template metadata          ConfigMap / Secret metadata
//!  ─────────────────            ─────────────────────          ───────────────────────────
//!  configsync.dev/auto          configsync.dev/config-hash     configsync.dev/ignore
//!  configsync.dev/configmaps      (written: triggers the         (read: never trigger)
//!  configsync.dev/secrets          rolling update)
//!  configsync.dev/exclude-*
//!  configsync.dev/strategy
//!  configsync.dev/debounce
//!  configsync.dev/observed-hash (written: the record, no rollout)
//!  configsync.dev/observed-template (written: the template the record saw)
//!  label configsync.dev/observed-hash (written: the record's short form, survives `rollout undo`)
//!  configsync.dev/last-rollout (written: time and cause of the last rollout, names only)
//!  configsync.dev/inject        (read by the sidecar webhook)
//! ```
//!
//! The [`reloader`] and [`wave`] modules hold the keys of the tools configsync replaces, so that users can
//! switch without editing their manifests.

/// The annotation domain of configsync.
pub const DOMAIN: &str = "configsync.dev";

/// The field manager of every server-side apply configsync sends.
pub const FIELD_MANAGER: &str = "configsync";

/// Workload: `"true"` follows every ConfigMap and Secret the pod template references; `"false"` opts out of
/// `--auto-all`.
pub const AUTO: &str = "configsync.dev/auto";

/// Workload: comma-separated ConfigMap names to follow, whether or not the pod template references them.
pub const CONFIGMAPS: &str = "configsync.dev/configmaps";

/// Workload: comma-separated Secret names to follow, whether or not the pod template references them.
pub const SECRETS: &str = "configsync.dev/secrets";

/// Workload: comma-separated ConfigMap names that `auto` leaves out.
pub const EXCLUDE_CONFIGMAPS: &str = "configsync.dev/exclude-configmaps";

/// Workload: comma-separated Secret names that `auto` leaves out.
pub const EXCLUDE_SECRETS: &str = "configsync.dev/exclude-secrets";

/// ConfigMap or Secret: `"true"` means a change to this source never triggers anything.
pub const IGNORE: &str = "configsync.dev/ignore";

/// Workload: quiet period `min[,max]` (durations such as `500ms`, `5s`, `1m`).
pub const DEBOUNCE: &str = "configsync.dev/debounce";

/// Workload: what a content change does, `restart` (default), `reload` or `none`.
pub const STRATEGY: &str = "configsync.dev/strategy";

/// Pod template: the content hash of the consumed config; changing it rolls the workload.
pub const CONFIG_HASH: &str = "configsync.dev/config-hash";

/// Workload metadata: the content hash last observed and acted on; changing it rolls nothing.
pub const OBSERVED_HASH: &str = "configsync.dev/observed-hash";

/// Workload metadata: the fingerprint of the pod template (without `config-hash`) when the record was
/// written. A template that no longer matches it was changed by someone else (a deploy, `kubectl rollout
/// restart` or `undo`): that rollout already brings the current content, so it is adopted, not rolled again.
pub const OBSERVED_TEMPLATE: &str = "configsync.dev/observed-template";

/// Workload metadata **label**: the first 12 hex digits of the record (`observed-hash`), written with it.
/// `kubectl rollout undo` replaces a Deployment's annotations with those of the older ReplicaSet (the record
/// of back then) but leaves its labels alone, so a label that disagrees with the record says the annotations
/// were rolled back: the undo is adopted, not rolled forward again.
pub const RECORD_LABEL: &str = "configsync.dev/observed-hash";

/// Workload metadata: the time and cause (source kinds and names, changed key names, never a value) of
/// the last rollout configsync made, as compact JSON of at most 1 KiB; written in the rollout's own apply,
/// so `configsync explain` can tell it after the rollout's Event has expired.
pub const LAST_ROLLOUT: &str = "configsync.dev/last-rollout";

/// Pod (template): asks the webhook to inject the sync sidecar.
pub const INJECT: &str = "configsync.dev/inject";

/// stakater/Reloader annotations, honoured unchanged.
pub mod reloader {
    /// Workload: follow every referenced ConfigMap and Secret; `"false"` opts out.
    pub const AUTO: &str = "reloader.stakater.com/auto";
    /// Workload: follow every referenced ConfigMap.
    pub const CONFIGMAP_AUTO: &str = "configmap.reloader.stakater.com/auto";
    /// Workload: follow every referenced Secret.
    pub const SECRET_AUTO: &str = "secret.reloader.stakater.com/auto";
    /// Workload: comma-separated ConfigMap names to follow.
    pub const CONFIGMAP_RELOAD: &str = "configmap.reloader.stakater.com/reload";
    /// Workload: comma-separated Secret names to follow.
    pub const SECRET_RELOAD: &str = "secret.reloader.stakater.com/reload";
    /// Workload: comma-separated ConfigMap names that `auto` leaves out.
    pub const CONFIGMAPS_EXCLUDE: &str = "configmaps.exclude.reloader.stakater.com/reload";
    /// Workload: comma-separated Secret names that `auto` leaves out.
    pub const SECRETS_EXCLUDE: &str = "secrets.exclude.reloader.stakater.com/reload";
    /// ConfigMap or Secret: never triggers anything.
    pub const IGNORE: &str = "reloader.stakater.com/ignore";
    /// Workload: follow the referenced sources that carry [`MATCH`] (when no `auto` is set).
    pub const SEARCH: &str = "reloader.stakater.com/search";
    /// ConfigMap or Secret: counts for the workloads with [`SEARCH`].
    pub const MATCH: &str = "reloader.stakater.com/match";
}

/// wave (pusher/wave) annotations, honoured unchanged.
pub mod wave {
    /// Workload: follow every referenced ConfigMap and Secret.
    pub const UPDATE_ON_CONFIG_CHANGE: &str = "wave.pusher.com/update-on-config-change";
    /// Workload: comma-separated extra ConfigMap names to follow.
    pub const EXTRA_CONFIGMAPS: &str = "wave.pusher.com/extra-configmaps";
    /// Workload: comma-separated extra Secret names to follow.
    pub const EXTRA_SECRETS: &str = "wave.pusher.com/extra-secrets";
}
