//! The demo's steps as I/O: set-up, each narrated step, and the interactive loop. Each wait has a deadline
//! (`--step-timeout`); what is printed comes from [`super::story`].
use super::story::{self, AppEvent, Cause, Step};
use super::{Demo, api, inject, manifests};
use configsync_crds::annotations::OBSERVED_HASH;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Event;
use kube::core::GroupVersionKind;
use kube::runtime::{WatchStreamExt as _, watcher};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// A component the story needs, landed in this build or not; a step whose components have not landed is
/// left out, never faked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    /// The simulated Deployment/ReplicaSet/Pod controllers of the embedded cluster.
    Controllers,
    /// `configsync operator` (rollouts and the ConfigSync controller).
    Operator,
    /// `configsync sidecar`.
    Sidecar,
    /// The operator's ConfigSync controller, which fills in the ConfigSync status.
    ConfigSyncStatus,
}

const fn landed(component: Component) -> bool {
    match component {
        Component::Controllers
        | Component::Sidecar
        | Component::Operator
        | Component::ConfigSyncStatus => true,
    }
}

/// What each step needs.
fn needs(step: &Step) -> &'static [Component] {
    match step.number {
        2 => &[Component::Sidecar],
        4 => &[Component::Operator],
        _ => &[Component::Controllers, Component::Operator],
    }
}

/// The steps whose components have landed, in order.
pub fn available() -> Vec<Step> {
    [
        story::EDIT_MYCONFIG,
        story::EDIT_REDIS_CONFIG,
        story::ROTATE_MYSECRET,
        story::SHOW_CONFIGSYNC,
        story::SHOW_INJECTED_POD,
    ]
    .into_iter()
    .filter(|step| needs(step).iter().all(|c| landed(*c)))
    .collect()
}

/// The demo app as the story sees it: its PID at start, its header lines, the directory the sidecar writes.
pub struct AppHandle {
    pid: u32,
    events_rx: mpsc::UnboundedReceiver<AppEvent>,
    config_dir: PathBuf,
}

/// Apply the CRD and the examples, start the components, and wait until the workloads are ready.
pub async fn set_up(demo: &mut Demo) -> anyhow::Result<()> {
    println!("\n==> Setting up");
    api::apply(&demo.client, &manifests::CRD).await?;
    let configsync = GroupVersionKind::gvk("configsync.dev", "v1alpha1", "ConfigSync");
    api::wait_for_kind(&demo.client, &configsync, demo.deadline()).await?;
    println!("    applied {}", manifests::CRD.path);
    for manifest in manifests::EXAMPLES {
        api::apply(&demo.client, manifest).await?;
        println!("    applied {}", manifest.path);
    }
    if landed(Component::Operator) {
        start_operator(demo).await?;
    }
    if landed(Component::Controllers) {
        for deployment in ["web", "redis"] {
            let done = api::follow_rollout(&demo.client, deployment, None, demo.deadline()).await?;
            println!("{done}");
        }
    }
    if landed(Component::Operator) {
        wait_for_adoption(demo).await?;
    }
    if landed(Component::Sidecar) {
        start_sidecar_and_app(demo).await?;
    }
    Ok(())
}

/// Start `configsync operator` against the cluster (its health and metrics on a free local port) with the
/// injection webhook, and register the webhook.
async fn start_operator(demo: &mut Demo) -> anyhow::Result<()> {
    let mut args = ["operator", "--metrics-addr", "127.0.0.1:0"]
        .map(String::from)
        .to_vec();
    if demo.existing {
        // Other users' workloads on a shared cluster are not the demo's to roll.
        args.extend(["--namespaces".to_owned(), demo.namespace.clone()]);
    }
    args.extend(inject::webhook_args(&demo.dir)?);
    demo.children.spawn_logged("operator", &args)?;
    let log = demo.children.log_file("operator");
    inject::register_webhook(demo, &log).await
}

/// Wait until the operator has adopted web: it records the hash it observed, without restarting anything.
/// Editing a source before that would be adopted as the baseline instead of rolling.
async fn wait_for_adoption(demo: &mut Demo) -> anyhow::Result<()> {
    let client = &demo.client;
    let hash = api::wait_for(
        "the operator adopts deployment/web",
        demo.deadline(),
        || async {
            api::annotation(client, "web", OBSERVED_HASH)
                .await
                .ok()
                .flatten()
        },
    )
    .await?;
    println!(
        "    the operator adopted deployment/web without restarting it ({OBSERVED_HASH}: {hash})"
    );
    Ok(())
}

/// Start `configsync sidecar` projecting redis-config, wait for its first sync, then start the demo app it
/// signals (by PID file) and wait for the app's start.
async fn start_sidecar_and_app(demo: &mut Demo) -> anyhow::Result<()> {
    let config_dir = demo.dir.join("app-config");
    let pid_file = demo.dir.join("app.pid");
    let path = |p: &Path| p.display().to_string();
    let sidecar = [
        "sidecar",
        "--configmap",
        "redis-config",
        "--namespace",
        &demo.namespace,
        "--dir",
        &path(&config_dir),
        "--pid-file",
        &path(&pid_file),
        "--wait",
        "200ms",
        "--health-addr",
        "127.0.0.1:0",
    ];
    demo.children
        .spawn_logged("sidecar", &sidecar.map(String::from))?;
    api::wait_for(
        "the sidecar writes redis.properties",
        demo.deadline(),
        || async { find_file(&config_dir, "redis.properties") },
    )
    .await?;
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let app_args = [
        "demo",
        "app",
        "--config-dir",
        &path(&config_dir),
        "--pid-file",
        &path(&pid_file),
    ];
    demo.children
        .spawn_app(&app_args.map(String::from), events_tx)?;
    let mut app = AppHandle {
        pid: 0,
        events_rx,
        config_dir,
    };
    app.pid = wait_for_app(&mut app, Cause::Start, demo.deadline())
        .await?
        .pid;
    demo.app = Some(app);
    Ok(())
}

/// Run one step.
pub async fn run(step: Step, demo: &mut Demo) -> anyhow::Result<()> {
    match step.number {
        1 => roll_on_change(demo, "ConfigMap", "myconfig", "special.level", "debug").await,
        2 => reload_in_place(demo).await,
        3 => roll_on_change(demo, "Secret", "mysecret", "password", &rotated_password()).await,
        4 => show_configsync(demo).await,
        _ => inject::show_injected_pod(demo).await,
    }
}

/// Edit one key that `web` consumes and follow the rollout it causes.
async fn roll_on_change(
    demo: &mut Demo,
    kind: &str,
    name: &str,
    key: &str,
    value: &str,
) -> anyhow::Result<()> {
    let before = api::current_replica_set(&demo.client, "web").await?;
    api::set_key(&demo.client, kind, name, key, value).await?;
    println!("    edited {kind} {name} (key {key}); watching deployment/web");
    let done = api::follow_rollout(&demo.client, "web", before.as_deref(), demo.deadline()).await?;
    println!("{done}");
    if kind == "Secret" {
        println!(
            "    secret-driven restart: web picked up the rotated {name} (its value is never printed)"
        );
    }
    Ok(())
}

/// A new password that differs on every run; it is written to the Secret and never printed.
fn rotated_password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}

/// Edit redis-config: the sidecar rewrites the file and the app reloads with the same PID.
async fn reload_in_place(demo: &mut Demo) -> anyhow::Result<()> {
    let deadline = demo.deadline();
    let app = demo
        .app
        .as_mut()
        .ok_or_else(|| anyhow::anyhow!("the demo app is not running"))?;
    let file = find_file(&app.config_dir, "redis.properties")
        .ok_or_else(|| anyhow::anyhow!("the sidecar has not written redis.properties"))?;
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    let new = old.replace("maxmemory 2mb", "maxmemory 4mb");
    api::set_key(
        &demo.client,
        "ConfigMap",
        "redis-config",
        "redis.properties",
        &new,
    )
    .await?;
    println!(
        "    edited ConfigMap redis-config; watching {}",
        file.display()
    );
    api::wait_for(
        "the sidecar rewrites redis.properties",
        deadline,
        || async { (std::fs::read_to_string(&file).ok()? == new).then_some(()) },
    )
    .await?;
    println!(
        "    the sidecar rewrote redis.properties: \"maxmemory 2mb\" is now \"maxmemory 4mb\""
    );
    let reloaded = wait_for_app(app, Cause::Sighup, deadline).await?;
    println!("{}", story::reload_verdict(app.pid, reloaded.pid));
    Ok(())
}

/// Wait for the app's next header line of `cause`.
async fn wait_for_app(
    app: &mut AppHandle,
    cause: Cause,
    deadline: tokio::time::Instant,
) -> anyhow::Result<AppEvent> {
    loop {
        let event = tokio::time::timeout_at(deadline, app.events_rx.recv())
            .await
            .map_err(|_| anyhow::anyhow!("timed out waiting for the demo app to print its config"))?
            .ok_or_else(|| anyhow::anyhow!("the demo app stopped"))?;
        if event.cause == cause {
            return Ok(event);
        }
    }
}

/// The first file named `name` under `dir` (the sidecar's layout decides the sub-directory).
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    paths.iter().find_map(|path| {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".."));
        if hidden {
            None
        } else if path.is_dir() {
            find_file(path, name)
        } else {
            (path.file_name()? == name).then(|| path.clone())
        }
    })
}

/// Show the ConfigSync table, once its status says READY True when the ConfigSync controller has landed.
async fn show_configsync(demo: &mut Demo) -> anyhow::Result<()> {
    let path = format!(
        "/apis/configsync.dev/v1alpha1/namespaces/{}/configsyncs",
        demo.namespace
    );
    let path = path.as_str();
    let client = &demo.client;
    let table = if landed(Component::ConfigSyncStatus) {
        api::wait_for("ConfigSync redis is READY", demo.deadline(), || async {
            let table = api::get_table(client, path).await.ok()?;
            (story::first_row_cell(&table, "ready") == Some("True")).then_some(table)
        })
        .await?
    } else {
        api::get_table(client, path).await?
    };
    print!("{}", story::render_table(&table));
    if !landed(Component::ConfigSyncStatus) {
        println!(
            "    (this build's operator does not run the ConfigSync controller yet: the status columns stay empty)"
        );
    }
    Ok(())
}

/// Show Events as they happen until the demo is stopped.
pub async fn interactive(demo: &mut Demo) -> anyhow::Result<()> {
    println!(
        "\n==> Your turn: change things with kubectl (export KUBECONFIG as printed above), for example"
    );
    let ns = if demo.namespace == "default" {
        String::new()
    } else {
        format!(" -n {}", demo.namespace)
    };
    println!(
        "    kubectl{ns} patch configmap myconfig -p '{{\"data\":{{\"special.level\":\"warn\"}}}}'"
    );
    println!("    kubectl{ns} get configsync");
    println!(
        "    kubectl{ns} apply -f {}   # the webhook injects the sidecar",
        manifests::INJECTED_POD.path
    );
    println!("Waiting for your changes; Events appear below. Press Ctrl-C to stop.");
    let events: kube::Api<Event> = kube::Api::default_namespaced(demo.client.clone());
    let mut stream = std::pin::pin!(watcher(events, watcher::Config::default()).applied_objects());
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => println!("{}", event_line(&event)),
            Err(error) => println!("    (event watch interrupted: {error}; retrying)"),
        }
    }
    Ok(())
}

fn event_line(event: &Event) -> String {
    let object = &event.involved_object;
    format!(
        "    EVENT {} {} {}/{}: {}",
        event.type_.as_deref().unwrap_or("Normal"),
        event.reason.as_deref().unwrap_or_default(),
        object.kind.as_deref().unwrap_or_default().to_lowercase(),
        object.name.as_deref().unwrap_or_default(),
        event.message.as_deref().unwrap_or_default(),
    )
}

/// After a failure: the last lines of every component's log.
pub fn print_logs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.extension().is_some_and(|ext| ext == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            println!("--- last lines of {}", path.display());
            for line in &lines[lines.len().saturating_sub(20)..] {
                println!("    {line}");
            }
        }
    }
}
