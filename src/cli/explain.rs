//! `configsync explain KIND/NAME`: which sources a workload consumes, the current hash against the recorded one,
//! whether the next change rolls it and why, and its last rollout. The answer is
//! `configsync_operator::explain::explain`; this module fetches its inputs and prints it.
//!
//! ```text
//!  get workload (typed) ─► observe (lean view: the operator's follow) + refs_via (pod spec)
//!  list ConfigMaps, Secrets ─► SourceCache (digests only)      ConfigSyncs ─► settle_namespace ─► claim
//!  explain(Input) ─► Explanation (the last rollout from the workload's configsync.dev/last-rollout)
//!                 ─► without it, the newest ConfigRolled/ConfigChanged/ConfigAdopted Event ─► text | json | yaml
//! ```
use std::io::Write as _;

use anyhow::Context as _;
use configsync_crds::{ConfigSync, WorkloadKind};
use configsync_operator::annotations::Debounce;
use configsync_operator::cache::SourceCache;
use configsync_operator::configsync::{Claimant, settle_namespace};
use configsync_operator::controller::events::REPORTER;
use configsync_operator::controller::workloads::{Observation, Watched, observe};
use configsync_operator::explain::{
    self, Claim, Explanation, Input, LastRollout, OperatorView, RecordedIn,
};
use configsync_operator::lean::{
    CronJobView, DaemonSetView, DeploymentView, RolloutView, StatefulSetView,
};
use configsync_operator::plan::event::reason;
use configsync_operator::refs::{SourceRef, Via, refs_via};
use configsync_operator::workload::WorkloadRef;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client};

use super::kube_args::{KubeArgs, Scope};

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// What the operator is run with: explain and preflight answer for these settings.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OperatorFlags {
    /// Answer as for an operator run with --auto-all.
    #[arg(long)]
    pub auto_all: bool,
    /// Answer as for an operator run with this --debounce `min[,max]`.
    #[arg(long, value_parser = super::operator::parse_debounce_flag)]
    pub debounce: Option<Debounce>,
    /// Answer as for an operator run with this --max-concurrent-rollouts (0: unlimited); followed workloads whose
    /// rollout has not completed count against it.
    #[arg(long, default_value_t = 0)]
    pub max_concurrent_rollouts: usize,
}

/// Explain why a workload would or would not roll on the next config change.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The workload, as kubectl names it: deploy/web, sts/db, ds/agent, deployment/web, …
    workload: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    output: Output,
    #[command(flatten)]
    operator: OperatorFlags,
    #[command(flatten)]
    kube: KubeArgs,
}

impl ExplainArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let (kind, name) = parse_workload(&self.workload)?;
        let (client, scope) = self.kube.connect().await?;
        let Scope::Namespace(namespace) = scope else {
            anyhow::bail!("explain works on one workload: give -n NAMESPACE, not -A");
        };
        let workload = WorkloadRef::new(kind, namespace, name);
        let fetched = get_workload(&client, &workload, self.operator.auto_all).await?;
        let world = World::fetch(&client, Some(&workload.namespace), &self.operator).await?;
        let mut explanation = world.explain(&fetched);
        if explanation.last_rollout.is_none() {
            explanation.last_rollout = last_rollout(&client, &workload).await?;
        }
        print(&explanation, self.output, print_text)
    }
}

/// `KIND/NAME` with any kubectl spelling of a kind configsync rolls.
fn parse_workload(text: &str) -> anyhow::Result<(WorkloadKind, String)> {
    let kinds = || {
        WorkloadKind::ALL
            .iter()
            .map(|k| k.names()[0])
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((kind, name)) = text.split_once('/') else {
        anyhow::bail!("expected KIND/NAME such as deploy/web, got {text:?}");
    };
    let Some(kind) = WorkloadKind::from_name(kind) else {
        anyhow::bail!("configsync does not roll {kind:?}; it rolls {}", kinds());
    };
    anyhow::ensure!(!name.is_empty(), "expected KIND/NAME, the name is empty");
    Ok((kind, name.to_owned()))
}

/// A workload as explain reads it: what the operator observes, and each reference with its field.
pub(crate) struct Fetched {
    pub observation: Observation,
    pub uses: Vec<(Via, SourceRef)>,
    /// Every annotation key, of the workload and of its pod template.
    pub annotation_keys: Vec<String>,
}

/// A workload kind's pod spec.
trait PodTemplate {
    fn pod_template(&self) -> Option<&k8s_openapi::api::core::v1::PodTemplateSpec>;
}

macro_rules! pod_template_of_spec {
    ($($kind:ident),*) => {$(
        impl PodTemplate for $kind {
            fn pod_template(&self) -> Option<&k8s_openapi::api::core::v1::PodTemplateSpec> {
                self.spec.as_ref().map(|s| &s.template)
            }
        }
    )*};
}

pod_template_of_spec!(Deployment, StatefulSet, DaemonSet, Rollout);

impl PodTemplate for CronJob {
    fn pod_template(&self) -> Option<&k8s_openapi::api::core::v1::PodTemplateSpec> {
        let job = self.spec.as_ref()?.job_template.spec.as_ref()?;
        Some(&job.template)
    }
}

/// An Argo Rollout (`argoproj.io/v1alpha1`) as explain reads it: no typed client exists, and explain needs only
/// its metadata and pod template (what the operator's [`RolloutView`] reduces).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Rollout {
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<RolloutSpec>,
}

/// The part of a Rollout's spec explain reads.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct RolloutSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replicas: Option<i32>,
    template: k8s_openapi::api::core::v1::PodTemplateSpec,
}

impl kube::Resource for Rollout {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> std::borrow::Cow<'_, str> {
        RolloutView::kind(&())
    }
    fn group(_: &()) -> std::borrow::Cow<'_, str> {
        RolloutView::group(&())
    }
    fn version(_: &()) -> std::borrow::Cow<'_, str> {
        RolloutView::version(&())
    }
    fn plural(_: &()) -> std::borrow::Cow<'_, str> {
        RolloutView::plural(&())
    }
    fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &mut self.metadata
    }
}

/// Reduce `object` as the operator does (through its lean view `V`), and keep its references' fields.
fn fetched<K, V>(object: &K, auto_all: bool) -> anyhow::Result<Fetched>
where
    K: PodTemplate + serde::Serialize + kube::Resource,
    V: Watched + serde::de::DeserializeOwned,
{
    let view: V = serde_json::from_value(serde_json::to_value(object)?)
        .context("decoding the workload as the operator does")?;
    let template = object.pod_template();
    let spec: Option<&PodSpec> = template.and_then(|t| t.spec.as_ref());
    let template_keys = template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .into_iter()
        .flat_map(|a| a.keys());
    let annotation_keys = object
        .meta()
        .annotations
        .iter()
        .flat_map(|a| a.keys())
        .chain(template_keys)
        .cloned()
        .collect();
    Ok(Fetched {
        observation: observe(&view, auto_all),
        uses: spec.map(refs_via).unwrap_or_default(),
        annotation_keys,
    })
}

/// Calls `$f::<Kind, View>(args…)` for `$kind`; every kind configsync rolls has an arm.
macro_rules! per_kind {
    ($kind:expr, $f:ident($($arg:expr),*)) => {
        match $kind {
            WorkloadKind::Deployment => $f::<Deployment, DeploymentView>($($arg),*).await,
            WorkloadKind::StatefulSet => $f::<StatefulSet, StatefulSetView>($($arg),*).await,
            WorkloadKind::DaemonSet => $f::<DaemonSet, DaemonSetView>($($arg),*).await,
            WorkloadKind::CronJob => $f::<CronJob, CronJobView>($($arg),*).await,
            WorkloadKind::Rollout => $f::<Rollout, RolloutView>($($arg),*).await,
        }
    };
}

async fn get_workload(
    client: &Client,
    workload: &WorkloadRef,
    auto_all: bool,
) -> anyhow::Result<Fetched> {
    per_kind!(workload.kind, get_one(client, workload, auto_all))
}

async fn get_one<K, V>(
    client: &Client,
    workload: &WorkloadRef,
    auto_all: bool,
) -> anyhow::Result<Fetched>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + PodTemplate
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
    V: Watched + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), &workload.namespace);
    let object = api
        .get(&workload.name)
        .await
        .with_context(|| format!("getting {workload}"))?;
    fetched::<K, V>(&object, auto_all)
}

/// Every workload of `kind` in `namespace` (or all namespaces).
pub(crate) async fn list_workloads(
    client: &Client,
    kind: WorkloadKind,
    namespace: Option<&str>,
    auto_all: bool,
) -> anyhow::Result<Vec<Fetched>> {
    per_kind!(kind, list_kind(client, namespace, auto_all))
}

async fn list_kind<K, V>(
    client: &Client,
    namespace: Option<&str>,
    auto_all: bool,
) -> anyhow::Result<Vec<Fetched>>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + PodTemplate
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
    V: Watched + serde::de::DeserializeOwned,
{
    list::<K>(client, namespace)
        .await?
        .iter()
        .map(|object| fetched::<K, V>(object, auto_all))
        .collect()
}

/// Every `K` in `namespace` (or all namespaces); none when the server does not serve `K`.
async fn list<K>(client: &Client, namespace: Option<&str>) -> anyhow::Result<Vec<K>>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    match api::<K>(client, namespace)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => Ok(list.items),
        // A kind the server does not serve (Argo Rollouts without their CRD) has no objects.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
        Err(error) => Err(error).with_context(|| format!("listing {}", K::plural(&()))),
    }
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The sources, ConfigSyncs and fleet budget a namespace's (or every namespace's) workloads are explained against.
pub(crate) struct World {
    sources: SourceCache,
    configsyncs: Vec<ConfigSync>,
    operator: OperatorView,
}

impl World {
    /// Fetch the sources and ConfigSyncs of `namespace` (all when `None`) and count the rollouts in progress.
    pub async fn fetch(
        client: &Client,
        namespace: Option<&str>,
        flags: &OperatorFlags,
    ) -> anyhow::Result<Self> {
        let mut sources = SourceCache::default();
        for cm in list::<ConfigMap>(client, namespace).await? {
            sources.apply_config_map(&cm);
        }
        for secret in list::<Secret>(client, namespace).await? {
            sources.apply_secret(&secret);
        }
        let configsyncs: Api<ConfigSync> = api(client, namespace);
        let configsyncs = match configsyncs.list(&ListParams::default()).await {
            Ok(list) => list.items,
            // Without the CRD nothing can claim a workload.
            Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
            Err(error) => return Err(error).context("listing ConfigSyncs"),
        };
        let max = std::num::NonZeroUsize::new(flags.max_concurrent_rollouts).map(usize::from);
        let rolling = match max {
            Some(_) => rolling(client, flags.auto_all).await?,
            None => 0,
        };
        Ok(Self {
            sources,
            configsyncs,
            operator: OperatorView {
                debounce: flags.debounce,
                max_concurrent_rollouts: max,
                rolling,
            },
        })
    }

    /// The explanation of one fetched workload.
    pub fn explain(&self, fetched: &Fetched) -> Explanation {
        let observation = &fetched.observation;
        let workload = &observation.workload;
        let claimants: Vec<Claimant<'_>> = self
            .configsyncs
            .iter()
            .filter(|cs| cs.metadata.namespace.as_deref() == Some(workload.namespace.as_str()))
            .map(Claimant::of)
            .collect();
        let (_, owners) = settle_namespace(
            &workload.namespace,
            &claimants,
            [(workload, &observation.labels)],
        );
        let claim = owners.get(workload).and_then(|owner| {
            claimants.iter().find(|c| c.name == owner).map(|c| Claim {
                name: c.name,
                strategy: c.spec.strategy,
                suspended: c.spec.suspend,
            })
        });
        explain::explain(&Input {
            workload,
            follow: &observation.follow,
            uses: &fetched.uses,
            live: observation.live(),
            sources: self.sources.namespace(&workload.namespace),
            claim,
            operator: self.operator,
        })
    }
}

/// Followed workloads, fleet-wide, whose rollout has not completed (what holds the operator's budget).
async fn rolling(client: &Client, auto_all: bool) -> anyhow::Result<usize> {
    let mut count = 0;
    for kind in WorkloadKind::ALL {
        let workloads = list_workloads(client, kind, None, auto_all).await?;
        count += workloads
            .iter()
            .map(|w| &w.observation)
            .filter(|o| matches!(o.follow, Ok(Some(_))))
            .filter(|o| !o.progress.is_complete_for(o.progress.generation))
            .count();
    }
    Ok(count)
}

/// The newest rollout Event the operator published on `workload`.
async fn last_rollout(
    client: &Client,
    workload: &WorkloadRef,
) -> anyhow::Result<Option<LastRollout>> {
    let events = list::<Event>(client, Some(&workload.namespace)).await?;
    let rollouts = [reason::ROLLED, reason::CHANGED, reason::ADOPTED];
    let newest = events
        .into_iter()
        .filter(|e| e.reporting_controller.as_deref() == Some(REPORTER))
        .filter(|e| e.reason.as_deref().is_some_and(|r| rollouts.contains(&r)))
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some(workload.kind.as_str())
                    && r.name.as_deref() == Some(workload.name.as_str())
            })
        })
        .filter_map(|e| Some((event_time(&e)?, e)))
        .max_by_key(|(time, _)| *time);
    Ok(newest.map(|(time, event)| LastRollout {
        time: time.to_string(),
        reason: event.reason.unwrap_or_default(),
        cause: event.note.unwrap_or_default(),
        from: RecordedIn::Event,
    }))
}

fn event_time(event: &Event) -> Option<jiff::Timestamp> {
    let series = event.series.as_ref().map(|s| s.last_observed_time.0);
    series
        .or(event.event_time.as_ref().map(|t| t.0))
        .or(event.deprecated_last_timestamp.as_ref().map(|t| t.0))
        .or(event.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Print `value` as JSON, YAML, or with `text`.
pub(crate) fn print<T: serde::Serialize>(
    value: &T,
    output: Output,
    text: fn(&T, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, value)?;
            out.write_all(b"\n")?;
        }
        Output::Yaml => out.write_all(serde_saphyr::to_string(value)?.as_bytes())?,
        Output::Text => text(value, &mut out)?,
    }
    Ok(())
}

fn print_text(e: &Explanation, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let w = &e.workload;
    writeln!(out, "{} {}/{}", w.kind, w.namespace, w.name)?;
    writeln!(out, "Sources:")?;
    if e.sources.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for s in &e.sources {
        let keys = s
            .keys
            .as_ref()
            .map_or("all keys".to_owned(), |k| k.join(","));
        let missing = if s.exists { "" } else { " (missing)" };
        writeln!(
            out,
            "  {} {}{missing}: {keys} via {} — {}",
            s.kind,
            s.name,
            s.via.join(", "),
            state_text(s.state)
        )?;
    }
    writeln!(out, "Hash:")?;
    let none = || "-".to_owned();
    writeln!(
        out,
        "  current   {}",
        e.hash.current.clone().unwrap_or_else(none)
    )?;
    writeln!(
        out,
        "  recorded  {}",
        e.hash.recorded.clone().unwrap_or_else(none)
    )?;
    writeln!(
        out,
        "  template  {}",
        e.hash.template.clone().unwrap_or_else(none)
    )?;
    let verdict = if e.next_change.rolls {
        "rolls it"
    } else {
        "does not roll it"
    };
    writeln!(out, "Next change: {verdict}")?;
    for finding in &e.next_change.reasons {
        writeln!(out, "  {:?}: {}", finding.reason, finding.message)?;
    }
    if let Some(problem) = &e.last_rollout_problem {
        writeln!(out, "Warning: {problem}")?;
    }
    match &e.last_rollout {
        Some(last) => {
            let from = match last.from {
                RecordedIn::Workload => "from the workload's configsync.dev/last-rollout",
                RecordedIn::Event => "from an Event",
            };
            writeln!(
                out,
                "Last rollout: {} {}: {} ({from})",
                last.time, last.reason, last.cause
            )
        }
        None => writeln!(
            out,
            "Last rollout: none recorded on the workload, and no rollout Event found (Events expire after the \
             API server's --event-ttl, 1h by default)"
        ),
    }
}

fn state_text(state: explain::SourceState) -> &'static str {
    use explain::SourceState;
    match state {
        SourceState::Followed => "followed",
        SourceState::Excluded => "excluded",
        SourceState::NotCovered => "not covered by the opt-in",
        SourceState::Ignored => "ignored",
        SourceState::NotFollowed => "not followed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_take_every_kubectl_spelling() {
        let (kind, name) = parse_workload("deploy/web").expect("deploy/web");
        assert_eq!((kind, name.as_str()), (WorkloadKind::Deployment, "web"));
        assert_eq!(
            parse_workload("sts/db").expect("sts/db").0,
            WorkloadKind::StatefulSet
        );
        assert_eq!(
            parse_workload("DaemonSet/agent")
                .expect("DaemonSet/agent")
                .0,
            WorkloadKind::DaemonSet
        );
        let error = parse_workload("pod/web")
            .expect_err("pods are not rolled")
            .to_string();
        assert!(error.contains("deploy, sts, ds"), "{error}");
        assert!(parse_workload("web").is_err());
        assert!(parse_workload("deploy/").is_err());
    }
}
