//! One `pub fn <name>(data: &[u8])` per fuzz target, and [`TARGETS`], the table the driver and the regression
//! replay iterate.
//!
//! Input conventions, shared by the structure-aware strategies in `tests/fuzz.rs`:
//! - text targets read the bytes as UTF-8, replacing invalid sequences (the HTTP layer hands them `&str`);
//! - two-document targets (patches, apply) split the bytes at the first NUL: `object \0 patch`; when there is
//!   no NUL, the whole input is the patch and a fixed Deployment is the object.
use serde_json::{Value, json};

mod cluster;
mod envelope;
mod machinery;
mod operator;
mod sidecar;
mod webhook;

pub use cluster::request;
pub use envelope::{AAD, envelope_open, envelope_round_trip, fixed_ring, keyring_document};
pub use machinery::{
    crd_registry, field_selector, json_patch, label_selector, merge_patch, protobuf_decode,
    server_side_apply, strategic_merge_patch, table, validation,
};
pub use operator::annotations;
pub use sidecar::{env_file, projected_path};
pub use webhook::admission_review;

/// A named fuzz target.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The name, also the directory under `regressions/`.
    pub name: &'static str,
    /// The function; panics only on a finding.
    pub run: fn(&[u8]),
}

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    Target {
        name: "envelope_open",
        run: envelope_open,
    },
    Target {
        name: "envelope_round_trip",
        run: envelope_round_trip,
    },
    Target {
        name: "keyring_document",
        run: keyring_document,
    },
    Target {
        name: "protobuf_decode",
        run: protobuf_decode,
    },
    Target {
        name: "label_selector",
        run: label_selector,
    },
    Target {
        name: "field_selector",
        run: field_selector,
    },
    Target {
        name: "json_patch",
        run: json_patch,
    },
    Target {
        name: "merge_patch",
        run: merge_patch,
    },
    Target {
        name: "strategic_merge_patch",
        run: strategic_merge_patch,
    },
    Target {
        name: "server_side_apply",
        run: server_side_apply,
    },
    Target {
        name: "table",
        run: table,
    },
    Target {
        name: "crd_registry",
        run: crd_registry,
    },
    Target {
        name: "validation",
        run: validation,
    },
    Target {
        name: "request",
        run: request,
    },
    Target {
        name: "annotations",
        run: annotations,
    },
    Target {
        name: "env_file",
        run: env_file,
    },
    Target {
        name: "projected_path",
        run: projected_path,
    },
    Target {
        name: "admission_review",
        run: admission_review,
    },
];

/// The target called `name`.
pub fn find(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// The input as text, invalid UTF-8 replaced.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `object \0 patch` as two JSON documents; without a NUL, a fixed Deployment and the whole input.
fn json_pair(data: &[u8]) -> Option<(Value, Value)> {
    match data.iter().position(|&b| b == 0) {
        Some(nul) => {
            let (object, patch) = data.split_at(nul);
            let patch = patch.get(1..).unwrap_or_default();
            Some((
                serde_json::from_slice(object).ok()?,
                serde_json::from_slice(patch).ok()?,
            ))
        }
        None => Some((mk_deployment(), serde_json::from_slice(data).ok()?)),
    }
}

/// A small but realistic Deployment: the default object the patch targets modify.
pub fn mk_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "annotations": {"configsync.dev/auto": "true"}, "finalizers": ["a", "b"]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "app", "image": "nginx:1.27",
                                    "env": [{"name": "A", "value": "1"}],
                                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]}],
                    "volumes": [{"name": "cfg", "configMap": {"name": "app-config"}}]
                }
            }
        }
    })
}

/// A fixed, valid RFC 3339 time, so targets are deterministic.
const NOW: &str = "2026-11-27T01:00:00Z";

fn now() -> jiff::Timestamp {
    NOW.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
