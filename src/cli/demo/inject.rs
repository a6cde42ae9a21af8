//! The demo's injection webhook, as I/O: a development CA and serving certificate in the temp dir, the
//! operator child serving the webhook with them, its registration (`deploy/webhook.yaml` pointed at the child's
//! URL, trusting the demo's CA), and the step that creates an annotated pod and reports what was injected.
//!
//! The API server (embedded, or an existing cluster's kube-apiserver on this machine) calls the webhook over HTTPS
//! on pod CREATE; the injected sidecar is shown, not run (step 2 runs the real one).
use super::story::{self, InjectedPodView, SidecarView};
use super::{Demo, api, manifests};
use configsync_crds::annotations::CONFIG_HASH;
use configsync_operator::inject::{DATA_VOLUME, SIDECAR_NAME};
use configsync_operator::webhook::certs::{CA_CERT_FILE, CERT_FILE, DevCerts, KEY_FILE};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, DynamicObject, PostParams};
use std::path::Path;

/// Where the certificates go, under the demo's temp dir.
const TLS_DIR: &str = "webhook-tls";
/// What the operator prints before the webhook's address.
const WEBHOOK_LINE: &str = "serving the injection webhook on https://";
/// The pod of `examples/demo/injected-pod.yaml`.
const INJECTED_POD: &str = "redis-injected";

/// The operator's webhook flags, after writing a fresh certificate for 127.0.0.1 under `dir`.
pub fn webhook_args(dir: &Path) -> anyhow::Result<Vec<String>> {
    let tls = dir.join(TLS_DIR);
    DevCerts::generate(&["127.0.0.1".to_owned()])?.write(&tls)?;
    let path = |file: &str| tls.join(file).display().to_string();
    Ok(vec![
        "--webhook-addr".into(),
        "127.0.0.1:0".into(),
        "--webhook-cert".into(),
        path(CERT_FILE),
        "--webhook-key".into(),
        path(KEY_FILE),
    ])
}

/// Wait until the operator child (logging to `operator_log`) serves the webhook, then register it (on an
/// existing cluster: for the demo's namespace only, under a name of its own, deleted on exit).
pub async fn register_webhook(demo: &mut Demo, operator_log: &Path) -> anyhow::Result<()> {
    let addr = api::wait_for(
        "the operator serves the injection webhook",
        demo.deadline(),
        || async {
            let log = std::fs::read_to_string(operator_log).ok()?;
            log.lines()
                .find_map(|line| Some(line.split_once(WEBHOOK_LINE)?.1.trim().to_owned()))
        },
    )
    .await?;
    let url = format!("https://{addr}/mutate");
    let ca = std::fs::read_to_string(demo.dir.join(TLS_DIR).join(CA_CERT_FILE))?;
    let scope = demo.existing.then_some(demo.namespace.as_str());
    let config = manifests::webhook_registration(&url, &ca, scope).map_err(anyhow::Error::msg)?;
    let object: DynamicObject = serde_json::from_value(config)?;
    let name = object.metadata.name.clone();
    api::apply_object(&demo.client, manifests::WEBHOOK.path, object).await?;
    demo.webhook = name;
    println!(
        "    applied {} (calling the operator's webhook at {url}, trusting the demo's CA)",
        manifests::WEBHOOK.path
    );
    Ok(())
}

/// Create the annotated pod (a POST, as `kubectl create -f` sends: the embedded cluster admits creates, not
/// server-side applies), wait until it is Ready, and report what the webhook injected.
pub async fn show_injected_pod(demo: &mut Demo) -> anyhow::Result<()> {
    let manifest = manifests::INJECTED_POD;
    let pod: Pod = serde_saphyr::from_str(manifest.yaml)
        .map_err(|e| anyhow::anyhow!("{} is not a Pod: {e}", manifest.path))?;
    let pods: Api<Pod> = Api::default_namespaced(demo.client.clone());
    pods.create(&PostParams::default(), &pod)
        .await
        .map_err(|e| anyhow::anyhow!("creating {} failed: {e}", manifest.path))?;
    println!("    created {}", manifest.path);
    let what = format!("pod/{INJECTED_POD} is Ready");
    let pod = api::wait_for(&what, demo.deadline(), || async {
        let pod = pods.get(INJECTED_POD).await.ok()?;
        is_ready(&pod).then_some(pod)
    })
    .await?;
    for line in story::injection_report(&pod_view(&pod)).map_err(anyhow::Error::msg)? {
        println!("{line}");
    }
    Ok(())
}

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The plain view of what the webhook put into `pod`.
fn pod_view(pod: &Pod) -> InjectedPodView {
    let spec = pod.spec.clone().unwrap_or_default();
    let init = spec.init_containers.unwrap_or_default();
    let sidecar = init
        .iter()
        .chain(&spec.containers)
        .find(|c| c.name == SIDECAR_NAME);
    let memory_volume = spec.volumes.unwrap_or_default().iter().any(|v| {
        v.name == DATA_VOLUME
            && v.empty_dir.as_ref().and_then(|e| e.medium.as_deref()) == Some("Memory")
    });
    let mounts = spec
        .containers
        .iter()
        .filter(|c| c.name != SIDECAR_NAME)
        .flat_map(|c| {
            let mounts = c.volume_mounts.iter().flatten();
            let data = mounts.filter(|m| m.name == DATA_VOLUME);
            data.map(|m| (c.name.clone(), m.mount_path.clone()))
        })
        .collect();
    let annotations = pod.metadata.annotations.as_ref();
    InjectedPodView {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready: is_ready(pod),
        sidecar: sidecar.map(sidecar_view),
        memory_volume,
        mounts,
        share_process_namespace: spec.share_process_namespace == Some(true),
        config_hash: annotations.and_then(|a| a.get(CONFIG_HASH)).cloned(),
    }
}

fn sidecar_view(container: &Container) -> SidecarView {
    let security = container.security_context.clone().unwrap_or_default();
    let dropped = security
        .capabilities
        .and_then(|c| c.drop)
        .unwrap_or_default();
    SidecarView {
        restart_policy: container.restart_policy.clone(),
        run_as_non_root: security.run_as_non_root == Some(true),
        read_only_root_filesystem: security.read_only_root_filesystem == Some(true),
        drops_all_capabilities: dropped.iter().any(|c| c == "ALL"),
    }
}
