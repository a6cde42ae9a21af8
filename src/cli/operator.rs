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
use configsync_operator::webhook::{self, autocert};

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
    /// The shortest wait after a ConfigMap or Secret change, or someone else's pod-template change, before
    /// deciding: a deploy (Helm, kustomize, Argo CD, Flux) that writes a ConfigMap and its workload one
    /// after the other then gives one rollout, theirs (`0s`: act at once).
    #[arg(long, default_value = "2s", value_parser = parse_duration_flag, env = "CONFIGSYNC_SETTLE")]
    pub settle: Duration,
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
    /// Namespaces to watch, comma-separated (default: all; `-n NS` adds one).
    #[arg(long, value_delimiter = ',', env = "CONFIGSYNC_NAMESPACES")]
    pub namespaces: Vec<String>,
    /// Follow and report, patch nothing: a change that would roll a workload gives a `WouldRollOut` Event
    /// and counts in `configsync_operator_would_roll_out_total`. ConfigSync targets are reported as a real
    /// pass would roll them. No workload and no ConfigSync status is written. For running beside Reloader or
    /// wave before the cutover.
    #[arg(long, env = "CONFIGSYNC_DRY_RUN")]
    pub dry_run: bool,
    #[command(flatten)]
    pub kube: super::kube_args::KubeArgs,
    /// Label selector for Deployments, StatefulSets and DaemonSets.
    #[arg(long, env = "CONFIGSYNC_WORKLOAD_SELECTOR")]
    pub workload_selector: Option<String>,
    /// Label selector for ConfigMaps and Secrets (`--resource-label-selector`, Reloader's name, works too).
    #[arg(
        long,
        alias = "resource-label-selector",
        env = "CONFIGSYNC_SOURCE_SELECTOR"
    )]
    pub source_selector: Option<String>,
    /// Namespaces never watched, comma-separated (Reloader's `--namespaces-to-ignore`).
    #[arg(long, value_delimiter = ',', env = "CONFIGSYNC_NAMESPACES_TO_IGNORE")]
    pub namespaces_to_ignore: Vec<String>,
    /// Watch only the namespaces whose labels match, listed once at start (Reloader's `--namespace-selector`;
    /// needs `list` on namespaces, which the shipped RBAC does not grant; a new namespace needs a restart).
    #[arg(long, env = "CONFIGSYNC_NAMESPACE_SELECTOR")]
    pub namespace_selector: Option<String>,
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
    /// Needs `--webhook-cert` and `--webhook-key`, or `--webhook-cert-auto`.
    #[arg(long, env = "CONFIGSYNC_WEBHOOK_ADDR")]
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
    /// Make the webhook's certificate: a CA and serving certificate kept in `--webhook-cert-secret` (shared by
    /// every replica, rotated before expiry without a restart), and the `caBundle` of every webhook of this
    /// MutatingWebhookConfiguration kept current. Replaces `--webhook-cert`/`--webhook-key`.
    #[arg(long, env = "CONFIGSYNC_WEBHOOK_CERT_AUTO", requires = "webhook_addr", conflicts_with_all = ["webhook_cert", "webhook_key"])]
    pub webhook_cert_auto: Option<String>,
    /// The Secret holding the made certificate (in `--webhook-cert-namespace`).
    #[arg(
        long,
        default_value = "configsync-webhook-cert",
        env = "CONFIGSYNC_WEBHOOK_CERT_SECRET"
    )]
    pub webhook_cert_secret: String,
    /// The made certificate Secret's namespace (the operator's own).
    #[arg(
        long,
        default_value = "configsync-system",
        env = "CONFIGSYNC_WEBHOOK_CERT_NAMESPACE"
    )]
    pub webhook_cert_namespace: String,
    /// Names (DNS or IP) of the made serving certificate, comma-separated (default: the Service
    /// `configsync-webhook` of `--webhook-cert-namespace`, `.svc` and `.svc.cluster.local`).
    #[arg(long, value_delimiter = ',', env = "CONFIGSYNC_WEBHOOK_CERT_HOSTS")]
    pub webhook_cert_hosts: Vec<String>,
    /// Lifetime of a made serving certificate (renewed a third before its end; its CA lives three times as long).
    #[arg(long, default_value = "720h", value_parser = parse_duration_flag, env = "CONFIGSYNC_WEBHOOK_CERT_VALIDITY")]
    pub webhook_cert_validity: Duration,
}

/// The namespaces `--namespace-selector` matches now, within `--namespaces` when given.
async fn selected_namespaces(
    client: &kube::Client,
    selector: &str,
    explicit: &[String],
) -> anyhow::Result<Vec<String>> {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
    let list = api
        .list(&kube::api::ListParams::default().labels(selector))
        .await
        .with_context(|| format!("listing the namespaces of --namespace-selector {selector:?}"))?;
    let matched = list.items.into_iter().filter_map(|ns| ns.metadata.name);
    scope_namespaces(explicit, matched)
        .with_context(|| format!("no namespace matches --namespace-selector {selector:?}"))
}

/// `selected` within `explicit` (all of `selected` when `explicit` is empty); `None` when that leaves none,
/// since an empty list would mean every namespace.
fn scope_namespaces(
    explicit: &[String],
    selected: impl IntoIterator<Item = String>,
) -> Option<Vec<String>> {
    let kept: Vec<String> = selected
        .into_iter()
        .filter(|ns| explicit.is_empty() || explicit.contains(ns))
        .collect();
    (!kept.is_empty()).then_some(kept)
}

pub(crate) fn parse_debounce_flag(text: &str) -> Result<Debounce, String> {
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
            settle,
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
            mut namespaces,
            dry_run,
            kube,
            workload_selector,
            source_selector,
            namespaces_to_ignore,
            namespace_selector,
            no_configsync,
            metrics_addr,
            log,
            webhook_addr,
            webhook_cert,
            webhook_key,
            strict,
            native_sidecars,
            sidecar_image,
            webhook_cert_auto,
            webhook_cert_secret,
            webhook_cert_namespace,
            webhook_cert_hosts,
            webhook_cert_validity,
        } = self;
        log.init()?;
        let identity = identity
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| format!("configsync-{}", std::process::id()));
        if let Some(namespace) = &kube.namespace {
            namespaces.push(namespace.clone());
        }
        if kube.all_namespaces {
            anyhow::ensure!(
                namespaces.is_empty(),
                "-A/--all-namespaces conflicts with --namespaces"
            );
        }
        let mut config = Config {
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
            dry_run,
            settle,
            namespaces_to_ignore,
        };
        let cert_source = match (webhook_addr, webhook_cert, webhook_key, webhook_cert_auto) {
            (None, ..) => None,
            (Some(_), Some(cert), Some(key), None) => Some(CertSource::Files(cert, key)),
            (Some(_), None, None, Some(configuration)) => {
                let hosts = if webhook_cert_hosts.is_empty() {
                    default_cert_hosts(&webhook_cert_namespace)
                } else {
                    webhook_cert_hosts
                };
                Some(CertSource::Auto(autocert::AutoCertConfig {
                    webhook_configuration: configuration,
                    secret: webhook_cert_secret,
                    namespace: webhook_cert_namespace,
                    policy: autocert::Policy {
                        hosts,
                        validity: webhook_cert_validity,
                    },
                    instance: Some(identity.clone()),
                }))
            }
            _ => anyhow::bail!(
                "--webhook-addr needs --webhook-cert and --webhook-key, or --webhook-cert-auto"
            ),
        };
        let config_of_client = kube.config().await?;
        let client = kube::Client::try_from(config_of_client)
            .context("connecting to the Kubernetes API (kubeconfig or in-cluster)")?;
        if let Some(selector) = namespace_selector {
            config.namespaces = selected_namespaces(&client, &selector, &config.namespaces).await?;
        }
        let native_sidecar = check_server_version(&client, native_sidecars).await?;
        let (mut registry, metrics) = Metrics::with_registry();
        configsync_operator::metrics::register_build_info(
            &mut registry,
            env!("CARGO_PKG_VERSION"),
            env!("CONFIGSYNC_GIT_COMMIT"),
        );
        if let (Some(addr), Some(cert_source)) = (webhook_addr, cert_source) {
            let mut policy = configsync_operator::webhook::ReviewPolicy {
                strict,
                inject: configsync_operator::inject::InjectConfig {
                    image: sidecar_image,
                    ..Default::default()
                },
            };
            policy.inject.native_sidecar = native_sidecar;
            let webhook = bind_webhook(addr, cert_source, policy, &client)
                .await?
                .with_metrics(metrics.clone());
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

/// Where the webhook's certificate comes from.
enum CertSource {
    /// `--webhook-cert` and `--webhook-key`, followed when they change.
    Files(std::path::PathBuf, std::path::PathBuf),
    /// `--webhook-cert-auto`: made, kept in a Secret, rotated, with the `caBundle` kept current.
    Auto(autocert::AutoCertConfig),
}

/// The names of the Service `configsync-webhook` in `namespace`.
fn default_cert_hosts(namespace: &str) -> Vec<String> {
    ["svc", "svc.cluster.local"]
        .iter()
        .map(|suffix| format!("configsync-webhook.{namespace}.{suffix}"))
        .collect()
}

/// Bind the webhook; with `--webhook-cert-auto`, make the certificate in the background and keep it current.
async fn bind_webhook(
    addr: SocketAddr,
    source: CertSource,
    policy: webhook::ReviewPolicy,
    client: &kube::Client,
) -> anyhow::Result<webhook::Webhook<kube::Client>> {
    let auto = match source {
        CertSource::Files(cert, key) => {
            let config = webhook::WebhookConfig {
                addr,
                cert,
                key,
                policy,
            };
            return Ok(webhook::Webhook::bind(config, client.clone()).await?);
        }
        CertSource::Auto(auto) => auto,
    };
    let serving = Arc::new(autocert::ServingCert::new());
    let (secret, configuration) = (auto.secret.clone(), auto.webhook_configuration.clone());
    let keeper = autocert::AutoCert::new(client.clone(), auto, serving.clone());
    // Handshakes fail until the first certificate is ready; the health server and the controller do not wait.
    tokio::spawn(async move {
        keeper.first().await;
        println!(
            "configsync operator made its webhook certificate (Secret {secret}, caBundle of {configuration})"
        );
        keeper.run().await;
    });
    Ok(webhook::Webhook::bind_with(addr, policy, serving, client.clone()).await?)
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
        metrics.leader.set(1);
        return Ok(controller::run(client, config, metrics, ready).await?);
    };
    // A standby is healthy and ready as a standby (so the operator's own rollouts can proceed); once it
    // leads, it is ready again only when its watches have listed.
    ready.store(true, Ordering::Release);
    let leadership = leader::acquire(client.clone(), lease).await?;
    metrics.leader.set(1);
    ready.store(false, Ordering::Release);
    let freshness = Some(leadership.freshness());
    // On a lost Lease the controller first refuses every apply it had queued, then returns.
    match controller::run_as_leader(client, config, metrics, ready, freshness).await {
        Err(controller::Error::HoldLease) => {
            anyhow::bail!("lost the leader Lease; exiting so a standby can take over")
        }
        result => Ok(result?),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{OperatorArgs, scope_namespaces};

    #[derive(clap::Parser)]
    struct Command {
        #[command(flatten)]
        args: OperatorArgs,
    }

    /// Reloader's flag names work as they are.
    #[test]
    fn reloader_flag_names_parse() {
        let parsed = Command::try_parse_from([
            "operator",
            "--resource-label-selector",
            "team=a",
            "--namespaces-to-ignore",
            "kube-system,tools",
            "--namespace-selector",
            "env=prod",
        ])
        .expect("Reloader's flag names parse");
        assert_eq!(parsed.args.source_selector.as_deref(), Some("team=a"));
        assert_eq!(parsed.args.namespaces_to_ignore, ["kube-system", "tools"]);
        assert_eq!(parsed.args.namespace_selector.as_deref(), Some("env=prod"));
    }

    #[test]
    fn namespace_selector_scopes_within_namespaces_and_never_widens_to_all() {
        let names = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            scope_namespaces(&[], names(&["a", "b"])),
            Some(names(&["a", "b"]))
        );
        assert_eq!(
            scope_namespaces(&names(&["b", "c"]), names(&["a", "b"])),
            Some(names(&["b"]))
        );
        assert_eq!(
            scope_namespaces(&[], names(&[])),
            None,
            "none matched: not every namespace"
        );
        assert_eq!(scope_namespaces(&names(&["c"]), names(&["a"])), None);
    }
}
