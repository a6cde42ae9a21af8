//! The demo's thin I/O shell over the Kubernetes API (a client whose default namespace is the demo's): apply
//! manifests, edit ConfigMaps and Secrets, and wait on conditions with deadlines, reading plain views for the
//! pure functions of [`super::story`].
use super::manifests::Manifest;
use super::story::{self, DeploymentView, ReplicaSetView, Table};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use std::io::{IsTerminal, Write};
use std::time::Duration;
use tokio::time::Instant;

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(100);
/// The field manager of everything the demo applies and edits.
const MANAGER: &str = "configsync-demo";

/// Why a demo operation on the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{path} is not a valid manifest: {reason}")]
    ParseManifest { path: String, reason: String },
    #[error("applying {path} failed: {source}")]
    ApplyManifest { path: String, source: kube::Error },
    #[error("editing {what} failed: {source}")]
    Edit { what: String, source: kube::Error },
    #[error("reading {what} failed: {source}")]
    Read { what: String, source: kube::Error },
    #[error("timed out after {seconds}s waiting until {what}")]
    Timeout { what: String, seconds: u64 },
}

/// Server-side apply one manifest (in the client's default namespace when namespaced), discovering its
/// resource by kind.
pub async fn apply(client: &kube::Client, manifest: &Manifest) -> Result<(), ApiError> {
    let object: DynamicObject =
        serde_saphyr::from_str(manifest.yaml).map_err(|e| ApiError::ParseManifest {
            path: manifest.path.to_owned(),
            reason: e.to_string(),
        })?;
    apply_object(client, manifest.path, object).await
}

/// Server-side apply one object (in the client's default namespace when namespaced); `path` names it in
/// errors.
pub async fn apply_object(
    client: &kube::Client,
    path: &str,
    object: DynamicObject,
) -> Result<(), ApiError> {
    let parse = |reason: String| ApiError::ParseManifest {
        path: path.to_owned(),
        reason,
    };
    let types = object
        .types
        .clone()
        .ok_or_else(|| parse("no apiVersion/kind".into()))?;
    let gvk = GroupVersionKind::try_from(&types).map_err(|e| parse(e.to_string()))?;
    let name = object
        .metadata
        .name
        .clone()
        .ok_or_else(|| parse("no metadata.name".into()))?;
    let failed = |source| ApiError::ApplyManifest {
        path: path.to_owned(),
        source,
    };
    let (resource, caps) = discovery::pinned_kind(client, &gvk).await.map_err(failed)?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Cluster => Api::all_with(client.clone(), &resource),
        Scope::Namespaced => Api::default_namespaced_with(client.clone(), &resource),
    };
    let params = PatchParams::apply(MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(&object))
        .await
        .map_err(failed)?;
    Ok(())
}

/// Poll `check` until it gives `Some`, or fail at `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Instant, mut check: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let seconds = deadline.saturating_duration_since(Instant::now()).as_secs();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(ApiError::Timeout {
                what: what.to_owned(),
                seconds,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Wait until the API server serves `kind` of `api_version` (a CRD just applied becomes established).
pub async fn wait_for_kind(
    client: &kube::Client,
    gvk: &GroupVersionKind,
    deadline: Instant,
) -> Result<(), ApiError> {
    let what = format!("the API serves {}", gvk.kind);
    wait_for(&what, deadline, || async {
        discovery::pinned_kind(client, gvk).await.ok().map(|_| ())
    })
    .await
}

/// Merge-patch one key of a ConfigMap's `data` or a Secret's `stringData`.
pub async fn set_key(
    client: &kube::Client,
    kind: &str,
    name: &str,
    key: &str,
    value: &str,
) -> Result<(), ApiError> {
    let what = format!("{kind} {name}");
    let edit = |source| ApiError::Edit {
        what: what.clone(),
        source,
    };
    let field = if kind == "Secret" {
        "stringData"
    } else {
        "data"
    };
    let patch = serde_json::json!({ field: { key: value } });
    let params = PatchParams::default();
    if kind == "Secret" {
        let api: Api<k8s_openapi::api::core::v1::Secret> = Api::default_namespaced(client.clone());
        api.patch(name, &params, &Patch::Merge(&patch))
            .await
            .map_err(edit)?;
    } else {
        let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::default_namespaced(client.clone());
        api.patch(name, &params, &Patch::Merge(&patch))
            .await
            .map_err(edit)?;
    }
    Ok(())
}

/// The Deployment and its ReplicaSets (selected by its `app` label), as views.
pub async fn snapshot(
    client: &kube::Client,
    name: &str,
) -> Result<(DeploymentView, Vec<ReplicaSetView>), ApiError> {
    let read = |source| ApiError::Read {
        what: format!("deployment/{name}"),
        source,
    };
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let deployment = deployments.get(name).await.map_err(read)?;
    let sets: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    let list = sets
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .map_err(read)?;
    let views = list.items.iter().map(replica_set_view).collect();
    Ok((deployment_view(name, &deployment), views))
}

fn deployment_view(name: &str, deployment: &Deployment) -> DeploymentView {
    let status = deployment.status.clone().unwrap_or_default();
    DeploymentView {
        name: name.to_owned(),
        generation: deployment.metadata.generation.unwrap_or_default(),
        observed_generation: status.observed_generation.unwrap_or_default(),
        replicas: deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1),
        updated: status.updated_replicas.unwrap_or_default(),
        available: status.available_replicas.unwrap_or_default(),
        total: status.replicas.unwrap_or_default(),
    }
}

fn replica_set_view(set: &ReplicaSet) -> ReplicaSetView {
    let annotations = set.metadata.annotations.as_ref();
    let revision = annotations.and_then(|a| a.get("deployment.kubernetes.io/revision"));
    ReplicaSetView {
        name: set.metadata.name.clone().unwrap_or_default(),
        revision: revision.and_then(|r| r.parse().ok()).unwrap_or_default(),
        replicas: set
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or_default(),
        ready: set
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or_default(),
    }
}

/// One metadata annotation of a Deployment.
pub async fn annotation(
    client: &kube::Client,
    name: &str,
    key: &str,
) -> Result<Option<String>, ApiError> {
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let deployment = deployments
        .get(name)
        .await
        .map_err(|source| ApiError::Read {
            what: format!("deployment/{name}"),
            source,
        })?;
    Ok(deployment
        .metadata
        .annotations
        .and_then(|mut a| a.remove(key)))
}

/// The ReplicaSet the Deployment currently runs (the newest), if any.
pub async fn current_replica_set(
    client: &kube::Client,
    name: &str,
) -> Result<Option<String>, ApiError> {
    let (_, sets) = snapshot(client, name).await?;
    Ok(story::newest(&sets).map(|set| set.name.clone()))
}

/// Follow a Deployment until it has finished rolling past `before`, printing its progress line on every
/// change (rewritten in place on a terminal); returns the closing line.
pub async fn follow_rollout(
    client: &kube::Client,
    name: &str,
    before: Option<&str>,
    deadline: Instant,
) -> Result<String, ApiError> {
    let live = std::io::stdout().is_terminal();
    let mut last = String::new();
    let seconds = deadline.saturating_duration_since(Instant::now()).as_secs();
    let outcome = loop {
        if let Ok((deploy, sets)) = snapshot(client, name).await {
            let line = story::progress_line(&deploy, &sets);
            if line != last {
                show_progress(&line, live);
                last = line;
            }
            if let Some(new) =
                story::newest(&sets).filter(|_| story::rolled_past(&deploy, &sets, before))
            {
                break Ok(story::rollout_done(&deploy, before, &new.name));
            }
        }
        if Instant::now() >= deadline {
            break Err(ApiError::Timeout {
                what: format!(
                    "deployment/{name} rolls past ReplicaSet {}",
                    before.unwrap_or("(none)")
                ),
                seconds,
            });
        }
        tokio::time::sleep(POLL).await;
    };
    if live {
        println!();
    }
    outcome
}

fn show_progress(line: &str, live: bool) {
    let mut stdout = std::io::stdout().lock();
    let _ = if live {
        write!(stdout, "\r\x1b[K{line}")
    } else {
        writeln!(stdout, "{line}")
    };
    let _ = stdout.flush();
}

/// `GET` a list as the server's `meta.k8s.io/v1` Table (what `kubectl get` prints).
pub async fn get_table(client: &kube::Client, path: &str) -> Result<Table, ApiError> {
    let read = |source| ApiError::Read {
        what: path.to_owned(),
        source,
    };
    let request = http::Request::get(path)
        .header(
            http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .body(Vec::new())
        .map_err(|e| read(kube::Error::HttpError(e)))?;
    let table: serde_json::Value = client.request(request).await.map_err(read)?;
    Ok(table_view(&table))
}

/// The columns `kubectl get` shows by default (priority 0; `-o wide` adds the others) and their cells.
fn table_view(table: &serde_json::Value) -> Table {
    let columns: Vec<&serde_json::Value> = table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let shown: Vec<bool> = columns
        .iter()
        .map(|c| c["priority"].as_i64().unwrap_or(0) == 0)
        .collect();
    let cell = |value: &serde_json::Value| match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "<none>".to_owned(),
        other => other.to_string(),
    };
    let keep = |index: usize| shown.get(index).copied().unwrap_or(false);
    let rows = table["rows"].as_array().into_iter().flatten().map(|row| {
        let cells = row["cells"].as_array().into_iter().flatten().enumerate();
        cells
            .filter(|(index, _)| keep(*index))
            .map(|(_, value)| cell(value))
            .collect()
    });
    Table {
        columns: columns
            .iter()
            .enumerate()
            .filter(|(index, _)| keep(*index))
            .map(|(_, c)| c["name"].as_str().unwrap_or_default().to_owned())
            .collect(),
        rows: rows.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_view_keeps_the_default_columns_and_their_cells() {
        let table = serde_json::json!({
            "kind": "Table",
            "columnDefinitions": [
                {"name": "Name", "priority": 0},
                {"name": "Ready"},
                {"name": "Strategy", "priority": 1},
                {"name": "Replicas", "priority": 0},
            ],
            "rows": [{"cells": ["redis", "True", "reload", 3]}, {"cells": ["web", null, "restart", 1]}],
        });
        let view = table_view(&table);
        assert_eq!(view.columns, ["Name", "Ready", "Replicas"]);
        assert_eq!(view.rows, [["redis", "True", "3"], ["web", "<none>", "1"]]);
    }
}
