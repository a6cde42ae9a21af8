//! The JSON patch: containers, volumes, mounts, env and annotations, parents first, keys as escaped tokens.
use std::collections::BTreeMap;

use configsync_core::env;
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, HTTPGetAction, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::{Value, json};

use super::annotations::{INJECTED, InjectSpec, Mode, Reload};
use super::{
    BIN_DIR, BIN_VOLUME, DATA_VOLUME, HEALTH_PORT, INIT_NAME, INSTALL_NAME, InjectConfig,
    InjectError, READY_PATH, SIDECAR_NAME, STARTUP_TIMEOUT_SECONDS,
};
use crate::hash::ConfigHash;

/// Accumulates operations; array and object parents are created once, before their first child.
struct Ops(Vec<PatchOperation>);

impl Ops {
    fn add<'t>(&mut self, tokens: impl IntoIterator<Item = &'t str>, value: Value) {
        self.0.push(PatchOperation::Add(AddOperation {
            path: PointerBuf::from_tokens(tokens),
            value,
        }));
    }

    /// Append `items` to the array at `tokens`, creating it when `exists` is false.
    fn append<'t>(
        &mut self,
        tokens: impl IntoIterator<Item = &'t str> + Clone,
        exists: bool,
        items: Vec<Value>,
    ) {
        if items.is_empty() {
            return;
        }
        if !exists {
            self.add(tokens, Value::Array(items));
            return;
        }
        for item in items {
            self.add(tokens.clone().into_iter().chain(["-"]), item);
        }
    }
}

fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The full patch for `pod`.
pub(super) fn build(
    pod: &PodTemplateSpec,
    spec: &InjectSpec,
    config: &InjectConfig,
    hash: Option<&ConfigHash>,
) -> Result<Patch, InjectError> {
    let empty = PodSpec::default();
    let pod_spec = pod.spec.as_ref().unwrap_or(&empty);
    let chosen = chosen_containers(pod_spec, spec)?;
    let mut ops = Ops(Vec::new());
    annotate(&mut ops, pod, hash);
    if pod.spec.is_none() {
        ops.add(["spec"], json!({"containers": []}));
    }
    match spec.mode {
        Mode::Sidecar | Mode::Init => {
            let kind = container_kind(spec, config);
            add_sidecar(&mut ops, pod_spec, &sidecar_containers(spec, config, kind));
            mount_into(&mut ops, pod_spec, &chosen, &[data_mount(spec, true)]);
        }
        Mode::Exec => {
            let env = sidecar_env(spec, Mode::Exec);
            wrap_commands(&mut ops, pod_spec, &chosen, &env)?;
            let install = install_container(config);
            ops.append(
                ["spec", "initContainers"],
                pod_spec.init_containers.is_some(),
                vec![to_value(install)],
            );
            let mounts = [data_mount(spec, false), bin_mount()];
            mount_into(&mut ops, pod_spec, &chosen, &mounts);
        }
    }
    let mut volumes = vec![to_value(memory_volume(DATA_VOLUME, true))];
    if spec.mode == Mode::Exec {
        volumes.push(to_value(memory_volume(BIN_VOLUME, false)));
    }
    ops.append(["spec", "volumes"], pod_spec.volumes.is_some(), volumes);
    if spec.mode == Mode::Sidecar && matches!(spec.reload, Some(Reload::Signal { .. })) {
        ops.add(["spec", "shareProcessNamespace"], json!(true));
    }
    Ok(Patch(ops.0))
}

fn annotate(ops: &mut Ops, pod: &PodTemplateSpec, hash: Option<&ConfigHash>) {
    let meta = pod.metadata.as_ref();
    if meta.is_none() {
        ops.add(["metadata"], json!({}));
    }
    if meta.and_then(|m| m.annotations.as_ref()).is_none() {
        ops.add(["metadata", "annotations"], json!({}));
    }
    ops.add(["metadata", "annotations", INJECTED], json!("true"));
    if let Some(hash) = hash {
        let key = configsync_crds::annotations::CONFIG_HASH;
        ops.add(["metadata", "annotations", key], json!(hash.as_str()));
    }
}

/// Indexes of the app containers that get the mount.
fn chosen_containers(pod_spec: &PodSpec, spec: &InjectSpec) -> Result<Vec<usize>, InjectError> {
    let Some(wanted) = &spec.containers else {
        return Ok((0..pod_spec.containers.len()).collect());
    };
    let missing: Vec<String> = wanted
        .iter()
        .filter(|name| !pod_spec.containers.iter().any(|c| &c.name == *name))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(InjectError::SelectContainers { missing });
    }
    Ok(pod_spec
        .containers
        .iter()
        .enumerate()
        .filter(|(_, c)| wanted.contains(&c.name))
        .map(|(i, _)| i)
        .collect())
}

/// How the sync container runs in sidecar and init modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Init mode: render once, before the app.
    RenderOnce,
    /// An init container with `restartPolicy: Always` and a startup probe on the first full sync (1.29+).
    Native,
    /// A render-once init container, then a regular container beside the app (any Kubernetes).
    Classic,
}

fn container_kind(spec: &InjectSpec, config: &InjectConfig) -> Kind {
    match spec.mode {
        Mode::Sidecar if spec.native_sidecar.unwrap_or(config.native_sidecar) => Kind::Native,
        Mode::Sidecar => Kind::Classic,
        Mode::Init | Mode::Exec => Kind::RenderOnce,
    }
}

/// The injected sync containers: `(init containers, regular containers)`. Either way the app containers start
/// only once the first full sync is on disk: a render-once init container has exited, or the native
/// sidecar's startup probe (`/readyz`, 503 until the first sync) has passed.
fn sidecar_containers(
    spec: &InjectSpec,
    config: &InjectConfig,
    kind: Kind,
) -> (Vec<Container>, Vec<Container>) {
    let once = || sync_container(INIT_NAME, spec, config, Mode::Init);
    match kind {
        Kind::RenderOnce => (
            vec![sync_container(SIDECAR_NAME, spec, config, Mode::Init)],
            vec![],
        ),
        Kind::Native => {
            let mut sidecar = sync_container(SIDECAR_NAME, spec, config, Mode::Sidecar);
            sidecar.restart_policy = Some("Always".to_owned());
            sidecar.startup_probe = Some(startup_probe());
            (vec![sidecar], vec![])
        }
        Kind::Classic => (
            vec![once()],
            vec![sync_container(SIDECAR_NAME, spec, config, Mode::Sidecar)],
        ),
    }
}

fn add_sidecar(
    ops: &mut Ops,
    pod_spec: &PodSpec,
    (init, regular): &(Vec<Container>, Vec<Container>),
) {
    // Init containers go first, so the data is in place before the pod's own init containers run.
    if pod_spec.init_containers.is_some() {
        for (index, container) in init.iter().enumerate() {
            let index = index.to_string();
            ops.add(
                ["spec", "initContainers", index.as_str()],
                to_value(container),
            );
        }
    } else if !init.is_empty() {
        ops.add(
            ["spec", "initContainers"],
            Value::Array(init.iter().map(to_value).collect()),
        );
    }
    for container in regular {
        ops.add(["spec", "containers", "-"], to_value(container));
    }
}

/// Probes the sidecar's readiness endpoint: 503 until the first full sync is published, then 200. Until it
/// passes, the kubelet starts no further init container and no app container.
fn startup_probe() -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(READY_PATH.to_owned()),
            port: IntOrString::Int(HEALTH_PORT),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(1),
        failure_threshold: Some(STARTUP_TIMEOUT_SECONDS),
        timeout_seconds: Some(1),
        ..Probe::default()
    }
}

fn mount_into(ops: &mut Ops, pod_spec: &PodSpec, chosen: &[usize], mounts: &[VolumeMount]) {
    for &index in chosen {
        let Some(container) = pod_spec.containers.get(index) else {
            continue;
        };
        let index = index.to_string();
        let items = mounts.iter().map(to_value).collect();
        let tokens = ["spec", "containers", index.as_str(), "volumeMounts"];
        ops.append(tokens, container.volume_mounts.is_some(), items);
    }
}

fn wrap_commands(
    ops: &mut Ops,
    pod_spec: &PodSpec,
    chosen: &[usize],
    env: &[EnvVar],
) -> Result<(), InjectError> {
    for &index in chosen {
        let Some(container) = pod_spec.containers.get(index) else {
            continue;
        };
        let Some(command) = container.command.as_ref().filter(|c| !c.is_empty()) else {
            return Err(InjectError::WrapCommand {
                container: container.name.clone(),
            });
        };
        let binary = format!("{BIN_DIR}/configsync");
        let wrapped: Vec<String> = [binary.as_str(), "sidecar", "exec", "--"]
            .into_iter()
            .map(str::to_owned)
            .chain(command.iter().cloned())
            .chain(container.args.iter().flatten().cloned())
            .collect();
        let index = index.to_string();
        ops.add(
            ["spec", "containers", index.as_str(), "command"],
            to_value(wrapped),
        );
        if container.args.is_some() {
            let path = PointerBuf::from_tokens(["spec", "containers", index.as_str(), "args"]);
            ops.0.push(PatchOperation::Remove(RemoveOperation { path }));
        }
        let items = env.iter().map(to_value).collect();
        let tokens = ["spec", "containers", index.as_str(), "env"];
        ops.append(tokens, container.env.is_some(), items);
    }
    Ok(())
}

fn env_var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// The `CONFIGSYNC_*` variables the sidecar CLI reads, for a container running in `mode`.
fn sidecar_env(spec: &InjectSpec, mode: Mode) -> Vec<EnvVar> {
    let join = |names: &std::collections::BTreeSet<String>| {
        names.iter().cloned().collect::<Vec<_>>().join(",")
    };
    let mut env = Vec::new();
    if !spec.configmaps.is_empty() {
        env.push(env_var(env::CONFIGMAP, join(&spec.configmaps)));
    }
    if !spec.secrets.is_empty() {
        env.push(env_var(env::SECRET, join(&spec.secrets)));
    }
    if !spec.optional.is_empty() {
        env.push(env_var("CONFIGSYNC_OPTIONAL", join(&spec.optional)));
    }
    if let Some(selector) = &spec.selector {
        env.push(env_var(env::SELECTOR, selector.as_str()));
    }
    env.push(env_var(env::DIR, spec.mount_path.as_str()));
    match mode {
        Mode::Init => env.push(env_var(env::ONCE, "true")),
        Mode::Sidecar => {
            let addr = format!("0.0.0.0:{HEALTH_PORT}");
            env.push(env_var(env::HEALTH_ADDR, addr));
        }
        Mode::Exec => {}
    }
    if let Some(wait) = &spec.wait {
        env.push(env_var(env::WAIT, wait.as_str()));
    }
    match (&spec.reload, mode) {
        (_, Mode::Init) | (None, _) => {}
        (Some(Reload::Signal { signal, process }), mode) => {
            env.push(env_var(env::SIGNAL, signal.as_str()));
            if let (Some(process), Mode::Sidecar) = (process, mode) {
                env.push(env_var(env::PROCESS_NAME, process.as_str()));
            }
        }
        (Some(Reload::Http(url)), _) => env.push(env_var(env::HTTP_URL, url.as_str())),
        (Some(Reload::Command(command)), _) => {
            env.push(env_var(env::COMMAND, command.as_str()));
        }
    }
    env
}

fn restricted(run_as_user: i64) -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(run_as_user),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: None,
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
    }
}

fn quantities(map: &BTreeMap<String, String>) -> Option<BTreeMap<String, Quantity>> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, v)| (k.clone(), Quantity(v.clone())))
            .collect()
    })
}

fn resources(spec: &InjectSpec) -> ResourceRequirements {
    let mut requests = BTreeMap::from([
        ("cpu".to_owned(), "10m".to_owned()),
        ("memory".to_owned(), "32Mi".to_owned()),
    ]);
    let mut limits = BTreeMap::from([("memory".to_owned(), "64Mi".to_owned())]);
    requests.extend(spec.resources.0.clone());
    limits.extend(spec.resources.1.clone());
    ResourceRequirements {
        requests: quantities(&requests),
        limits: quantities(&limits),
        ..ResourceRequirements::default()
    }
}

fn sync_container(name: &str, spec: &InjectSpec, config: &InjectConfig, mode: Mode) -> Container {
    Container {
        name: name.to_owned(),
        image: Some(config.image.clone()),
        command: Some(vec![config.binary_path.clone(), "sidecar".to_owned()]),
        env: Some(sidecar_env(spec, mode)),
        volume_mounts: Some(vec![data_mount(spec, false)]),
        resources: Some(resources(spec)),
        security_context: Some(restricted(spec.run_as_user)),
        ..Container::default()
    }
}

/// Exec mode's init container: the binary copies itself (`install DIR`, atomic, 0755) to `{BIN_DIR}/configsync`,
/// so the image needs no `cp` or shell.
fn install_container(config: &InjectConfig) -> Container {
    Container {
        name: INSTALL_NAME.to_owned(),
        image: Some(config.image.clone()),
        command: Some(vec![
            config.binary_path.clone(),
            "install".to_owned(),
            BIN_DIR.to_owned(),
        ]),
        volume_mounts: Some(vec![bin_mount_rw()]),
        security_context: Some(restricted(super::annotations::DEFAULT_RUN_AS_USER)),
        ..Container::default()
    }
}

fn data_mount(spec: &InjectSpec, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: DATA_VOLUME.to_owned(),
        mount_path: spec.mount_path.clone(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn bin_mount() -> VolumeMount {
    VolumeMount {
        read_only: Some(true),
        ..bin_mount_rw()
    }
}

fn bin_mount_rw() -> VolumeMount {
    VolumeMount {
        name: BIN_VOLUME.to_owned(),
        mount_path: BIN_DIR.to_owned(),
        ..VolumeMount::default()
    }
}

fn memory_volume(name: &str, memory: bool) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: memory.then(|| "Memory".to_owned()),
            size_limit: None,
        }),
        ..Volume::default()
    }
}
