//! `configsync operator`: the rollout operator, with health and metrics endpoints and optional leader
//! election. Every flag can also be set through its `CONFIGSYNC_…` environment variable.
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use configsync_core::log::LogOptions;
use configsync_core::timing::parse_duration;
use configsync_operator::annotations::Debounce;
use configsync_operator::controller::health::{self, HealthState};
use configsync_operator::controller::leader::{self, LeaseConfig};
use configsync_operator::controller::{self, Config, Metrics};
use configsync_operator::server_version;

/// Which sidecar the webhook injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NativeSidecars {
    /// Native sidecars from Kubernetes 1.29 (the server's `/version`), classic ones below.
    Auto,
    /// Native sidecars: an init container with `restartPolicy: Always` and a startup probe.
    True,
    /// Classic sidecars: a render-once init container, then a regular container.
    False,
}

/// Run the rollout operator.
#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// Follow every workload; `configsync.dev/auto: "false"` opts one out.
    #[arg(long, env = "CONFIGSYNC_AUTO_ALL")]
    pub auto_all: bool,
    /// Default quiet period `min[,max]` (e.g. `5s,30s`) for workloads that set no `configsync.dev/debounce`.
    #[arg(long, env = "CONFIGSYNC_DEBOUNCE", value_parser = parse_debounce_flag)]
    pub debounce: Option<Debounce>,
    /// Rollouts in progress at once across the fleet (0: unlimited).
    #[arg(long, default_value_t = 0, env = "CONFIGSYNC_MAX_CONCURRENT_ROLLOUTS")]
    pub max_concurrent_rollouts: usize,
    /// Rollouts started per second across the fleet (unset: unlimited).
    #[arg(long, env = "CONFIGSYNC_ROLLOUTS_PER_SECOND")]
    pub rollouts_per_second: Option<f64>,
    /// Server-side applies and status writes in flight at once. Retries wait outside the decision
    /// loop, so a slow or failing workload never delays another.
    #[arg(long, default_value_t = controller::DEFAULT_MAX_INFLIGHT, env = "CONFIGSYNC_MAX_INFLIGHT")]
    pub max_inflight: NonZeroUsize,
    /// How long one API request (apply, status write, Event) may take before it counts as failed and
    /// is retried (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = parse_duration_flag, env = "CONFIGSYNC_REQUEST_TIMEOUT")]
    pub request_timeout: Duration,
    /// Elect a leader on a coordination.k8s.io Lease; only the leader acts.
    #[arg(long, env = "CONFIGSYNC_LEADER_ELECT")]
    pub leader_elect: bool,
    /// The Lease name.
    #[arg(
        long,
        default_value = "configsync-operator",
        env = "CONFIGSYNC_LEASE_NAME"
    )]
    pub lease_name: String,
    /// The Lease namespace.
    #[arg(
        long,
        default_value = "configsync-system",
        env = "CONFIGSYNC_LEASE_NAMESPACE"
    )]
    pub lease_namespace: String,
    /// How long a Lease is valid without a renew.
    #[arg(long, default_value = "15s", env = "CONFIGSYNC_LEASE_DURATION", value_parser = parse_duration_flag)]
    pub lease_duration: Duration,
    /// How long the leader retries renewing before it steps down.
    #[arg(long, default_value = "10s", env = "CONFIGSYNC_RENEW_DEADLINE", value_parser = parse_duration_flag)]
    pub renew_deadline: Duration,
    /// How often candidates retry and the leader renews.
    #[arg(long, default_value = "2s", env = "CONFIGSYNC_RETRY_PERIOD", value_parser = parse_duration_flag)]
    pub retry_period: Duration,
    /// This replica's identity in the Lease and Events (defaults to $HOSTNAME, the pod name).
    #[arg(long, env = "CONFIGSYNC_IDENTITY")]
    pub identity: Option<String>,
    /// Namespaces to watch, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', env = "CONFIGSYNC_NAMESPACES")]
    pub namespaces: Vec<String>,
    /// Label selector for Deployments, StatefulSets and DaemonSets.
    #[arg(long, env = "CONFIGSYNC_WORKLOAD_SELECTOR")]
    pub workload_selector: Option<String>,
    /// Label selector for ConfigMaps and Secrets.
    #[arg(long, env = "CONFIGSYNC_SOURCE_SELECTOR")]
    pub source_selector: Option<String>,
    /// Leave `ConfigSync` resources alone: only workload annotations drive rollouts. By default both
    /// do, and a workload a ConfigSync names is driven by that ConfigSync alone.
    #[arg(long, env = "CONFIGSYNC_NO_CONFIGSYNC")]
    pub no_configsync: bool,
    /// Address for /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080", env = "CONFIGSYNC_METRICS_ADDR")]
    pub metrics_addr: SocketAddr,
    #[command(flatten)]
    pub log: LogOptions,
    /// Serve the sidecar injection webhook (AdmissionReview v1 over HTTPS) on this address.
    #[arg(long, env = "CONFIGSYNC_WEBHOOK_ADDR", requires_all = ["webhook_cert", "webhook_key"])]
    pub webhook_addr: Option<std::net::SocketAddr>,
    /// The webhook's PEM certificate chain (reloaded when it changes).
    #[arg(long, env = "CONFIGSYNC_WEBHOOK_CERT")]
    pub webhook_cert: Option<std::path::PathBuf>,
    /// The webhook's PEM private key (reloaded when it changes).
    #[arg(long, env = "CONFIGSYNC_WEBHOOK_KEY")]
    pub webhook_key: Option<std::path::PathBuf>,
    /// Deny pods with bad injection annotations instead of admitting them with a warning.
    #[arg(long, env = "CONFIGSYNC_WEBHOOK_STRICT")]
    pub strict: bool,
    /// Inject native sidecars or classic ones (a pod's `configsync.dev/inject-native-sidecar` overrides it).
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        env = "CONFIGSYNC_NATIVE_SIDECARS"
    )]
    pub native_sidecars: NativeSidecars,
    /// The image of the containers the webhook injects (default: this operator's own version).
    #[arg(long, default_value = configsync_operator::inject::DEFAULT_IMAGE, env = "CONFIGSYNC_SIDECAR_IMAGE")]
    pub sidecar_image: String,
}

fn parse_debounce_flag(text: &str) -> Result<Debounce, String> {
    text.parse::<Debounce>()
        .map_err(|invalid| invalid.to_string())
}

pub(crate) fn parse_duration_flag(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|invalid| invalid.to_string())
}

impl OperatorArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let Self {
            auto_all,
            debounce,
            max_concurrent_rollouts,
            rollouts_per_second,
            max_inflight,
            request_timeout,
            leader_elect,
            lease_name,
            lease_namespace,
            lease_duration,
            renew_deadline,
            retry_period,
            identity,
            namespaces,
            workload_selector,
            source_selector,
            no_configsync,
            metrics_addr,
            log,
            webhook_addr,
            webhook_cert,
            webhook_key,
            strict,
            native_sidecars,
            sidecar_image,
        } = self;
        log.init()?;
        let identity = identity
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| format!("configsync-{}", std::process::id()));
        let config = Config {
            auto_all,
            debounce,
            max_concurrent_rollouts: NonZeroUsize::new(max_concurrent_rollouts),
            rollouts_per_second,
            namespaces,
            workload_selector,
            source_selector,
            instance: Some(identity.clone()),
            no_configsync,
            max_inflight,
            request_timeout,
        };
        let client = kube::Client::try_default()
            .await
            .context("connecting to the Kubernetes API (kubeconfig or in-cluster)")?;
        let native_sidecar = check_server_version(&client, native_sidecars).await?;
        if let (Some(addr), Some(cert), Some(key)) = (webhook_addr, webhook_cert, webhook_key) {
            let mut policy = configsync_operator::webhook::ReviewPolicy {
                strict,
                inject: configsync_operator::inject::InjectConfig {
                    image: sidecar_image,
                    ..Default::default()
                },
            };
            policy.inject.native_sidecar = native_sidecar;
            let webhook = configsync_operator::webhook::WebhookConfig {
                addr,
                cert,
                key,
                policy,
            };
            let webhook =
                configsync_operator::webhook::Webhook::bind(webhook, client.clone()).await?;
            println!(
                "configsync operator serving the injection webhook on https://{}",
                webhook.local_addr()?
            );
            tokio::spawn(async move {
                if let Err(error) = webhook.run().await {
                    tracing::error!(%error, "the injection webhook stopped");
                }
            });
        }
        let (registry, metrics) = Metrics::with_registry();
        let ready = Arc::new(AtomicBool::new(false));
        let state = HealthState {
            ready: ready.clone(),
            registry: Arc::new(registry),
        };
        let bound = health::serve(metrics_addr, state).await?;
        println!("configsync operator serving health and metrics on http://{bound}");
        let lease = leader_elect.then_some(LeaseConfig {
            name: lease_name,
            namespace: lease_namespace,
            identity,
            lease_duration,
            renew_deadline,
            retry_period,
        });
        tokio::select! {
            result = lead_and_run(client, config, metrics, ready, lease) => result,
            result = configsync::shutdown::wait_for_shutdown() => {
                tracing::info!("shutting down");
                Ok(result.map(drop)?)
            }
        }
    }
}

/// Refuse a server older than [`server_version::MINIMUM`]; returns whether to inject native sidecars.
async fn check_server_version(
    client: &kube::Client,
    choice: NativeSidecars,
) -> anyhow::Result<bool> {
    let info = client
        .apiserver_version()
        .await
        .context("reading the Kubernetes version (GET /version)")?;
    let version = server_version::check(&info)?;
    let native = match choice {
        NativeSidecars::Auto => server_version::has_native_sidecars(version),
        NativeSidecars::True => true,
        NativeSidecars::False => false,
    };
    let kind = if native { "native" } else { "classic" };
    println!("configsync operator on Kubernetes {version}: injecting {kind} sidecars");
    Ok(native)
}

/// Wait for the Lease (when electing), then run the controller until it fails or leadership is lost.
async fn lead_and_run(
    client: kube::Client,
    config: Config,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
    lease: Option<LeaseConfig>,
) -> anyhow::Result<()> {
    let Some(lease) = lease else {
        return Ok(controller::run(client, config, metrics, ready).await?);
    };
    // A standby is healthy and ready as a standby (so the operator's own rollouts can proceed); once it
    // leads, it is ready again only when its watches have listed.
    ready.store(true, Ordering::Release);
    let mut leadership = leader::acquire(client.clone(), lease).await?;
    ready.store(false, Ordering::Release);
    let freshness = Some(leadership.freshness());
    tokio::select! {
        result = controller::run_as_leader(client, config, metrics, ready, freshness) => Ok(result?),
        () = leadership.lost() => anyhow::bail!("lost the leader Lease; exiting so a standby can take over"),
    }
}
