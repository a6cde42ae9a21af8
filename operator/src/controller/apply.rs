//! Server-side apply of the body [`crate::plan::apply`] builds, as field manager `configsync`, with
//! retries and exponential backoff on conflicts and transient errors.
//!
//! The body only carries the two annotations configsync owns, so a retry re-sends the same intent; it is
//! never a read-modify-write and cannot clobber anyone else's fields.
use std::time::Duration;

use configsync_crds::WorkloadKind;
use kube::api::Patch;
use kube::{Api, Client};
use serde_json::Value;

use crate::lean::{DaemonSetView, DeploymentView, StatefulSetView};
use crate::plan::apply::apply_params;
use crate::workload::WorkloadRef;

use super::workloads::{Observation, Watched, observe};

/// Attempts before giving up on one apply.
const ATTEMPTS: u32 = 5;
/// First backoff; doubled after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Failures while applying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The apply failed for good (or after every retry).
    #[error("server-side apply of {workload} failed after {attempts} attempt(s): {source}")]
    PatchWorkload {
        /// The workload.
        workload: WorkloadRef,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// A bounded label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::PatchWorkload { source, .. } => match source {
                kube::Error::Api(status) if status.code == 409 => "conflict",
                kube::Error::Api(status) if status.code == 404 => "not_found",
                kube::Error::Api(status) if status.code == 403 => "forbidden",
                kube::Error::Api(_) => "api",
                _ => "transport",
            },
        }
    }
}

/// Whether a failed apply is worth retrying: conflicts, throttling, server errors and transport failures.
pub fn is_retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500..=599),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Apply `body` to `workload` and return what the API now holds.
///
/// # Errors
/// [`Error::PatchWorkload`] when the error is permanent or every retry failed.
pub async fn apply(
    client: &Client,
    workload: &WorkloadRef,
    body: &Value,
    auto_all: bool,
) -> Result<Observation, Error> {
    match workload.kind {
        WorkloadKind::Deployment => {
            apply_kind::<DeploymentView>(client, workload, body, auto_all).await
        }
        WorkloadKind::StatefulSet => {
            apply_kind::<StatefulSetView>(client, workload, body, auto_all).await
        }
        WorkloadKind::DaemonSet => {
            apply_kind::<DaemonSetView>(client, workload, body, auto_all).await
        }
    }
}

async fn apply_kind<W>(
    client: &Client,
    workload: &WorkloadRef,
    body: &Value,
    auto_all: bool,
) -> Result<Observation, Error>
where
    W: Watched
        + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: Api<W> = Api::namespaced(client.clone(), &workload.namespace);
    let params = apply_params();
    let patch = Patch::Apply(body);
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match api.patch(&workload.name, &params, &patch).await {
            Ok(object) => return Ok(observe(&object, auto_all)),
            Err(source) if attempt < ATTEMPTS && is_retryable(&source) => {
                tracing::debug!(%workload, attempt, error = %source, "apply failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
                attempt += 1;
            }
            Err(source) => {
                return Err(Error::PatchWorkload {
                    workload: workload.clone(),
                    attempts: attempt,
                    source,
                });
            }
        }
    }
}

/// The object reference Events point at.
pub fn object_reference(
    workload: &WorkloadRef,
    uid: Option<&str>,
) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("apps/v1".to_owned()),
        kind: Some(workload.kind.as_str().to_owned()),
        namespace: Some(workload.namespace.clone()),
        name: Some(workload.name.clone()),
        uid: uid.map(str::to_owned),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure("x", "y").with_code(code)))
    }

    #[test]
    fn retries_conflicts_throttling_and_server_errors_only() {
        for code in [409, 429, 500, 503] {
            assert!(is_retryable(&api_error(code)), "{code}");
        }
        for code in [400, 403, 404, 422] {
            assert!(!is_retryable(&api_error(code)), "{code}");
        }
    }
}
