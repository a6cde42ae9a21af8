//! One scale run: create the fleet, verify it, then (when available) measure the operator.
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::{
    Counts, Endpoint, Params, ScaleReport, config_maps, deployments, expected_counts, load,
    operator, secrets,
};
use crate::procfs;

/// Failures of a scale run before the operator step (the operator step reports its own).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Load(#[from] load::Error),
}

/// Run the scale benchmark against `endpoint`; the operator step uses the `configsync` binary given, or reports
/// why there is none (see [`super::process::operator_help`]).
pub async fn run(
    params: &Params,
    endpoint: &Endpoint,
    configsync: Result<&Path, String>,
) -> Result<ScaleReport, Error> {
    let client = load::client(&endpoint.kubeconfig).await?;
    load::ensure_namespace(&client, &params.namespace).await?;
    let ns = params.namespace.as_str();
    let mut create_time = Duration::ZERO;
    create_time += load::create_all(&client, ns, config_maps(params), params.concurrency).await?;
    create_time += load::create_all(&client, ns, secrets(params), params.concurrency).await?;
    create_time += load::create_all(&client, ns, deployments(params), params.concurrency).await?;
    let listed = Counts {
        config_maps: load::count::<ConfigMap>(&client, ns).await?,
        secrets: load::count::<Secret>(&client, ns).await?,
        deployments: load::count::<Deployment>(&client, ns).await?,
    };
    let created = expected_counts(params);
    let raw_bytes = ((created.config_maps + created.secrets) * params.size) as u64;
    let server_memory = endpoint.server_pid.and_then(|pid| procfs::memory(pid).ok());
    let operator = match configsync {
        Err(reason) => Err(reason),
        Ok(bin) => operator::measure(params, endpoint, bin, &client, raw_bytes)
            .await
            .map_err(|error| format!("operator step failed: {error}")),
    };
    Ok(ScaleReport {
        cluster: endpoint.description.clone(),
        created,
        listed,
        raw_bytes,
        create_seconds: create_time.as_secs_f64(),
        server_memory,
        operator,
    })
}
