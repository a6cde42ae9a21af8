//! The ConfigSync reconciler: a kube-runtime `Controller` over ConfigSyncs, woken by any ConfigMap,
//! Secret or workload change in a ConfigSync's namespace.
//!
//! ```text
//!  reconcile(cs) = dereference (list sources + workloads → SourceCache, catalogs)
//!                → validate   (resolve_sources/targets, claim_winners: oldest wins, Warning Event)
//!                → build      (hash::workload_hash over CS sources ∪ the workload's annotation sources,
//!                              plan::decide against the workload's observed-hash record)
//!                → apply      (controller::apply, gated by suspend / maxConcurrent / pause)
//!                → status     (merge patch of the status subresource, only when it changed)
//! ```
//! The workload's `configsync.dev/observed-hash` and the status are the "last applied" record, so a
//! restarted operator rolls only what changed while it was down. Nothing is written to users' objects
//! but the two annotations the apply path owns: no finalizers, no ownerReferences.
use std::sync::Arc;
use std::time::Duration;

use configsync_crds::{ConfigSync, ConfigSyncStatus, SourceStatus, TargetState, TargetStatus};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;

use super::Access;
use super::apply;
use super::events::Events;
use super::workloads::{Observation, Watched, observe};
use crate::cache::SourceCache;
use crate::configsync::{Claim, Labels, claim_winners, resolve_sources, resolve_targets};
use crate::hash::{source_hash, workload_hash};
use crate::plan::apply::apply_body;
use crate::plan::event::{EventText, EventType};
use crate::plan::{Live, decide};
use crate::refs::merge_refs;
use crate::workload::{Workload, WorkloadRef};

pub mod plan;

use plan::{Findings, Gate, Step};

/// What the reconciler uses from the API.
pub const ACCESS: &[Access] = &[
    Access::new("configsync.dev", "configsyncs", &["list", "watch"]),
    Access::new("configsync.dev", "configsyncs/status", &["patch"]),
];

/// How soon a ConfigSync with rollouts in flight is looked at again (workload watches usually come first).
const RECHECK: Duration = Duration::from_secs(2);

/// Failures of one reconcile (retried by the controller).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing sources or workloads failed.
    #[error("listing {what} failed")]
    ListObjects {
        /// The resource listed.
        what: &'static str,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The spec could not be resolved.
    #[error("resolving the spec failed")]
    ResolveSpec(#[source] crate::configsync::Error),
    /// Writing status failed.
    #[error("patching the status failed")]
    PatchStatus(#[source] kube::Error),
}

struct Context {
    client: Client,
    auto_all: bool,
    events: Events,
    store: Store<ConfigSync>,
}

/// Run the ConfigSync controller until its stream ends.
pub async fn run(client: Client, auto_all: bool, instance: Option<String>) {
    let controller = Controller::new(
        Api::<ConfigSync>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let wake = |store: Store<ConfigSync>| {
        move |namespace: Option<String>| -> Vec<ObjectRef<ConfigSync>> {
            store
                .state()
                .iter()
                .filter(|cs| cs.namespace() == namespace)
                .map(|cs| ObjectRef::from_obj(cs.as_ref()))
                .collect()
        }
    };
    let (w1, w2, w3, w4, w5) = (
        wake(store.clone()),
        wake(store.clone()),
        wake(store.clone()),
        wake(store.clone()),
        wake(store.clone()),
    );
    let wc = watcher::Config::default;
    let context = Arc::new(Context {
        events: Events::new(client.clone(), instance),
        client: client.clone(),
        auto_all,
        store,
    });
    controller
        .watches(Api::<ConfigMap>::all(client.clone()), wc(), move |o| {
            w1(o.namespace())
        })
        .watches(Api::<Secret>::all(client.clone()), wc(), move |o| {
            w2(o.namespace())
        })
        .watches(Api::<Deployment>::all(client.clone()), wc(), move |o| {
            w3(o.namespace())
        })
        .watches(Api::<StatefulSet>::all(client.clone()), wc(), move |o| {
            w4(o.namespace())
        })
        .watches(Api::<DaemonSet>::all(client), wc(), move |o| {
            w5(o.namespace())
        })
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "configsync reconcile");
            }
        })
        .await;
}

fn error_policy(cs: Arc<ConfigSync>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(configsync = %cs.name_any(), %error, "configsync reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

/// Everything listed in one namespace.
struct Listed {
    cache: SourceCache,
    workloads: Vec<(Observation, Labels)>,
}

async fn list_namespace(client: &Client, ns: &str, auto_all: bool) -> Result<Listed, Error> {
    let lp = ListParams::default();
    let list_err = |what| move |source| Error::ListObjects { what, source };
    let mut cache = SourceCache::default();
    for cm in Api::<ConfigMap>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(list_err("configmaps"))?
    {
        cache.apply_config_map(&cm);
    }
    for secret in Api::<Secret>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(list_err("secrets"))?
    {
        cache.apply_secret(&secret);
    }
    let mut workloads = Vec::new();
    list_kind::<Deployment>(client, ns, auto_all, &mut workloads).await?;
    list_kind::<StatefulSet>(client, ns, auto_all, &mut workloads).await?;
    list_kind::<DaemonSet>(client, ns, auto_all, &mut workloads).await?;
    Ok(Listed { cache, workloads })
}

async fn list_kind<W>(
    client: &Client,
    ns: &str,
    auto_all: bool,
    out: &mut Vec<(Observation, Labels)>,
) -> Result<(), Error>
where
    W: Watched
        + Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api = Api::<W>::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::ListObjects {
            what: "workloads",
            source,
        })?;
    out.extend(list.into_iter().map(|w| {
        (
            observe(&w, auto_all),
            Workload::meta(&w).labels.clone().unwrap_or_default(),
        )
    }));
    Ok(())
}

/// The targets this ConfigSync wins, and the ones another (older) ConfigSync holds.
fn settle_claims(
    cs: &ConfigSync,
    found: &std::collections::BTreeSet<WorkloadRef>,
    others: &[Arc<ConfigSync>],
    ns: &str,
    catalog: &[(WorkloadRef, Labels)],
) -> (Vec<WorkloadRef>, Vec<(WorkloadRef, String)>) {
    let me = cs.name_any();
    let mut claims = vec![Claim {
        name: me.clone(),
        created: cs.meta().creation_timestamp.clone(),
        targets: found.clone(),
    }];
    for other in others
        .iter()
        .filter(|o| o.namespace().as_deref() == Some(ns) && o.name_any() != me)
    {
        let catalog = catalog.iter().map(|(w, l)| (w, l));
        if let Ok(targets) = resolve_targets(&other.spec, ns, catalog) {
            claims.push(Claim {
                name: other.name_any(),
                created: other.meta().creation_timestamp.clone(),
                targets: targets.found,
            });
        }
    }
    let settled = claim_winners(&claims);
    let mine = settled
        .winners
        .iter()
        .filter(|(_, n)| **n == me)
        .map(|(w, _)| w.clone())
        .collect();
    let lost = found
        .iter()
        .filter_map(|w| {
            settled
                .winners
                .get(w)
                .filter(|n| **n != me)
                .map(|n| (w.clone(), n.clone()))
        })
        .collect();
    (mine, lost)
}

async fn reconcile(cs: Arc<ConfigSync>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = cs.namespace().unwrap_or_default();
    let now = Time(jiff::Timestamp::now());
    let listed = list_namespace(&ctx.client, &ns, ctx.auto_all).await?;
    let lookup = listed.cache.namespace(&ns);
    let refs = resolve_sources(&cs.spec, lookup.catalog()).map_err(Error::ResolveSpec)?;
    let catalog: Vec<(WorkloadRef, Labels)> = listed
        .workloads
        .iter()
        .map(|(o, l)| (o.workload.clone(), l.clone()))
        .collect();
    let targets = resolve_targets(&cs.spec, &ns, catalog.iter().map(|(w, l)| (w, l)))
        .map_err(Error::ResolveSpec)?;
    let (mine, lost) = settle_claims(&cs, &targets.found, &ctx.store.state(), &ns, &catalog);
    for (workload, winner) in &lost {
        let text = EventText {
            type_: EventType::Warning,
            reason: configsync_crds::configsync::condition::TARGET_CLAIMED,
            note: format!(
                "{workload} is also claimed by the older ConfigSync {winner}, which drives it"
            ),
        };
        let _ = ctx.events.publish(&text, &cs_reference(&cs)).await;
    }
    let old = cs.status.clone();
    let mut status = ConfigSyncStatus {
        observed_generation: cs.meta().generation,
        conditions: old
            .as_ref()
            .map(|s| s.conditions.clone())
            .unwrap_or_default(),
        last_rollout_time: old.as_ref().and_then(|s| s.last_rollout_time.clone()),
        ..ConfigSyncStatus::default()
    };
    let mut findings = Findings {
        suspended: cs.spec.suspend,
        missing_targets: targets.missing.iter().map(ToString::to_string).collect(),
        ..Findings::default()
    };
    match workload_hash(&refs, &lookup) {
        Ok(hash) => {
            status.short_hash = Some(hash.short().to_owned());
            status.source_hash = Some(hash.as_str().to_owned());
        }
        Err(crate::hash::Error::HashWorkload { missing }) => {
            findings.missing_sources = missing
                .iter()
                .map(|id| format!("{}/{}", id.kind, id.name))
                .collect();
        }
    }
    for r in &refs {
        let entry = listed.cache.get(&ns, &r.id);
        status.sources.push(SourceStatus {
            kind: r.id.kind,
            name: r.id.name.clone(),
            hash: entry.map(|e| {
                source_hash(&r.id, &r.keys, Some(&e.digests))
                    .as_str()
                    .to_owned()
            }),
            resource_version: entry.and_then(|e| e.resource_version.clone()),
        });
    }
    let mut gate = Gate {
        suspended: cs.spec.suspend,
        max_concurrent: cs
            .spec
            .rollout
            .as_ref()
            .and_then(|r| r.max_concurrent)
            .and_then(|m| usize::try_from(m).ok()),
        in_flight: 0,
        pausing: pausing(&cs, old.as_ref(), &now),
    };
    for workload in &mine {
        let Some((observation, _)) = listed
            .workloads
            .iter()
            .find(|(o, _)| o.workload == *workload)
        else {
            continue;
        };
        let target = roll_target(
            &ctx,
            &cs,
            &refs,
            observation,
            &lookup,
            &mut gate,
            &mut findings,
            old.as_ref(),
            &now,
        )
        .await;
        if target.last_rollout_time.as_ref() == Some(&now) {
            status.last_rollout_time = Some(now.clone());
        }
        status.targets.push(target);
    }
    for workload in &targets.missing {
        status.targets.push(TargetStatus {
            kind: workload.kind,
            name: workload.name.clone(),
            applied_hash: None,
            last_rollout_time: None,
            state: TargetState::Missing,
        });
    }
    status.source_count = i32::try_from(status.sources.len()).ok();
    status.target_count = i32::try_from(mine.len()).ok();
    plan::set_conditions(&mut status, &findings, cs.meta().generation, &now);
    if old.as_ref() != Some(&status) {
        let api = Api::<ConfigSync>::namespaced(ctx.client.clone(), &ns);
        let patch = Patch::Merge(json!({"status": status}));
        api.patch_status(&cs.name_any(), &PatchParams::default(), &patch)
            .await
            .map_err(Error::PatchStatus)?;
    }
    let busy = status
        .targets
        .iter()
        .any(|t| matches!(t.state, TargetState::RollingOut | TargetState::Pending));
    Ok(if busy {
        Action::requeue(RECHECK)
    } else {
        Action::await_change()
    })
}

/// Whether `spec.rollout.pause` has not elapsed since the last rollout.
fn pausing(cs: &ConfigSync, old: Option<&ConfigSyncStatus>, now: &Time) -> bool {
    let pause = cs
        .spec
        .rollout
        .as_ref()
        .and_then(|r| r.pause.as_deref())
        .and_then(|p| crate::annotations::parse_duration(p).ok());
    let last = old.and_then(|s| s.last_rollout_time.as_ref());
    match (pause, last) {
        (Some(pause), Some(last)) => {
            let elapsed = now.0.duration_since(last.0).unsigned_abs();
            elapsed < pause
        }
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
async fn roll_target(
    ctx: &Context,
    cs: &ConfigSync,
    refs: &[crate::refs::SourceRef],
    observation: &Observation,
    lookup: &impl crate::hash::DigestLookup,
    gate: &mut Gate,
    findings: &mut Findings,
    old: Option<&ConfigSyncStatus>,
    now: &Time,
) -> TargetStatus {
    let workload = &observation.workload;
    let mut all = refs.to_vec();
    if let Ok(Some(followed)) = &observation.follow {
        all.extend(followed.sources.iter().cloned());
    }
    let computed = workload_hash(&merge_refs(all), lookup);
    let live = Live {
        template_hash: observation.template_hash.as_deref(),
        observed_hash: observation.observed_hash.as_deref(),
    };
    let decision = decide(cs.spec.strategy, live, computed);
    let progress = observation.progress;
    let rolling = !progress.is_complete_for(progress.generation);
    let mut target = TargetStatus {
        kind: workload.kind,
        name: workload.name.clone(),
        applied_hash: observation.observed_hash.clone(),
        last_rollout_time: None,
        state: TargetState::Available,
    };
    target.last_rollout_time =
        plan::previous(old, &target).and_then(|t| t.last_rollout_time.clone());
    match gate.step(&decision, rolling) {
        Step::Hold(state) => target.state = state,
        Step::Apply => {
            let Some(body) = apply_body(workload, live, &decision) else {
                return target;
            };
            match apply::apply(&ctx.client, workload, &body, ctx.auto_all).await {
                Ok(applied) => {
                    target.applied_hash = applied.observed_hash.clone();
                    if decision.is_rollout() {
                        tracing::info!(%workload, configsync = %cs.name_any(), "rolled out new config");
                        target.state = TargetState::RollingOut;
                        target.last_rollout_time = Some(now.clone());
                    } else if rolling {
                        target.state = TargetState::RollingOut;
                    }
                }
                Err(error) => {
                    tracing::warn!(%workload, %error, "configsync apply failed");
                    findings.failed_targets.push(workload.to_string());
                    target.state = TargetState::Failed;
                }
            }
        }
    }
    target
}

fn cs_reference(cs: &ConfigSync) -> k8s_openapi::api::core::v1::ObjectReference {
    let mut reference = cs.object_ref(&());
    reference.api_version = Some("configsync.dev/v1alpha1".to_owned());
    reference
}
