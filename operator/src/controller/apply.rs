//! Server-side apply of the body [`crate::plan::apply`] builds, as field manager `configsync`: one attempt
//! with a timeout, and the classification of its failure. Retries are the executor's
//! ([`super::executor`]), in the request's own task, so a failing workload never delays another.
//!
//! The body only carries the two annotations configsync owns, so a retry re-sends the same intent; it is
//! never a read-modify-write and cannot clobber anyone else's fields.
use std::time::Duration;

use configsync_crds::WorkloadKind;
use kube::api::Patch;
use kube::{Api, Client};
use serde_json::Value;

use crate::core::Failure;
use crate::lean::{CronJobView, DaemonSetView, DeploymentView, RolloutView, StatefulSetView};
use crate::plan::apply::apply_params;
use crate::workload::WorkloadRef;

use super::workloads::{Observation, Watched, observe};

/// Failures of one request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error, or the connection failed.
    #[error("server-side apply of {workload} failed: {source}")]
    PatchWorkload {
        /// The workload.
        workload: WorkloadRef,
        /// The error.
        #[source]
        source: kube::Error,
    },
    /// The API refused configsync's condition in the workload's status, or the connection failed.
    #[error("server-side apply of the ConfigSyncApplied condition of {workload} failed: {source}")]
    PatchStatus {
        /// The workload.
        workload: WorkloadRef,
        /// The error.
        #[source]
        source: kube::Error,
    },
    /// No answer within the request timeout.
    #[error("server-side apply of {workload} timed out after {after:?}")]
    TimeOut {
        /// The workload.
        workload: WorkloadRef,
        /// The timeout.
        after: Duration,
    },
}

impl Error {
    /// The bounded category and whether retrying can help.
    pub fn failure(&self) -> Failure {
        let (category, permanent) = match self {
            Self::PatchWorkload { source, .. } | Self::PatchStatus { source, .. } => {
                classify(source)
            }
            Self::TimeOut { .. } => ("timeout", false),
        };
        Failure {
            category,
            permanent,
            message: self.to_string(),
        }
    }
}

/// A bounded category for `error`, and whether it is permanent: 403, 404, 422 (and any other 4xx but
/// 409 and 429) will not change by retrying; 409, 429, 5xx and transport failures may.
pub fn classify(error: &kube::Error) -> (&'static str, bool) {
    match error {
        kube::Error::Api(status) => match status.code {
            403 => ("forbidden", true),
            404 => ("not_found", true),
            422 => ("invalid", true),
            409 => ("conflict", false),
            429 => ("throttled", false),
            500..=599 => ("server", false),
            400..=499 => ("rejected", true),
            _ => ("api", false),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => ("transport", false),
        _ => ("client", true),
    }
}

/// Apply `body` to `workload` once, within `timeout`, and return what the API now holds.
///
/// # Errors
/// [`Error::PatchWorkload`] for an error answer, [`Error::TimeOut`] for none in time.
pub async fn apply(
    client: &Client,
    workload: &WorkloadRef,
    body: &Value,
    auto_all: bool,
    timeout: Duration,
) -> Result<Observation, Error> {
    let attempt = async {
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
            WorkloadKind::CronJob => {
                apply_kind::<CronJobView>(client, workload, body, auto_all).await
            }
            WorkloadKind::Rollout => {
                apply_kind::<RolloutView>(client, workload, body, auto_all).await
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result.map_err(|source| Error::PatchWorkload {
            workload: workload.clone(),
            source,
        }),
        Err(_) => Err(Error::TimeOut {
            workload: workload.clone(),
            after: timeout,
        }),
    }
}

async fn apply_kind<W>(
    client: &Client,
    workload: &WorkloadRef,
    body: &Value,
    auto_all: bool,
) -> Result<Observation, kube::Error>
where
    W: Watched
        + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: Api<W> = Api::namespaced(client.clone(), &workload.namespace);
    let object = api
        .patch(&workload.name, &apply_params(), &Patch::Apply(body))
        .await?;
    Ok(observe(&object, auto_all))
}

/// Server-side apply `body` (built by [`crate::plan::condition`]) to `workload`'s status subresource once,
/// within `timeout`, as field manager `configsync`, forced: configsync owns its one condition.
///
/// # Errors
/// [`Error::PatchStatus`] for an error answer, [`Error::TimeOut`] for none in time.
pub async fn set_condition(
    client: &Client,
    workload: &WorkloadRef,
    body: &Value,
    timeout: Duration,
) -> Result<(), Error> {
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
    use kube::core::{ApiResource, DynamicObject};
    let resource = match workload.kind {
        WorkloadKind::Deployment => ApiResource::erase::<Deployment>(&()),
        WorkloadKind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        WorkloadKind::DaemonSet => ApiResource::erase::<DaemonSet>(&()),
        // The core sends none for these (`WorkloadCondition::is_written_for`).
        WorkloadKind::CronJob | WorkloadKind::Rollout => return Ok(()),
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &workload.namespace, &resource);
    let (params, patch) = (apply_params(), Patch::Apply(body));
    let attempt = api.patch_status(&workload.name, &params, &patch);
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result.map(drop).map_err(|source| Error::PatchStatus {
            workload: workload.clone(),
            source,
        }),
        Err(_) => Err(Error::TimeOut {
            workload: workload.clone(),
            after: timeout,
        }),
    }
}

/// The object reference Events point at.
pub fn object_reference(
    workload: &WorkloadRef,
    uid: Option<&str>,
) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(workload.kind.api_version().to_owned()),
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
            let (_, permanent) = classify(&api_error(code));
            assert!(!permanent, "{code}");
        }
        for code in [400, 403, 404, 422] {
            let (_, permanent) = classify(&api_error(code));
            assert!(permanent, "{code}");
        }
    }

    #[test]
    fn failures_carry_bounded_categories() {
        let workload = WorkloadRef {
            kind: WorkloadKind::Deployment,
            namespace: "prod".to_owned(),
            name: "web".to_owned(),
        };
        let refused = Error::PatchWorkload {
            workload: workload.clone(),
            source: api_error(422),
        };
        assert_eq!(
            (refused.failure().category, refused.failure().permanent),
            ("invalid", true)
        );
        let slow = Error::TimeOut {
            workload,
            after: Duration::from_secs(1),
        };
        assert_eq!(
            (slow.failure().category, slow.failure().permanent),
            ("timeout", false)
        );
    }
}
