//! The demo's story as data, and everything it prints, as pure functions (no I/O, no cluster).
//!
//! The I/O shell (`demo.rs`, `cluster.rs`) gathers plain views of the cluster ([`ReplicaSetView`],
//! [`DeploymentView`], [`Table`]) and of the demo app's output ([`AppEvent`]); the functions here decide what a
//! rollout's progress line says, when a rollout is finished, and how the ConfigSync table is laid out.
use std::fmt::Write as _;

/// One narrated step: a title and the sentence that says what to watch for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub number: usize,
    pub title: &'static str,
    pub explanation: &'static str,
}

/// Step 1: a ConfigMap read through env vars changes.
pub const EDIT_MYCONFIG: Step = Step {
    number: 1,
    title: "edit ConfigMap myconfig (special.level: info -> debug)",
    explanation: "web reads myconfig through env vars, which never update in a running pod: the operator stamps \
                  a new config hash on its pod template and the Deployment rolls.",
};

/// Step 2: a ConfigMap projected as a file by the sidecar changes.
pub const EDIT_REDIS_CONFIG: Step = Step {
    number: 2,
    title: "edit ConfigMap redis-config (maxmemory 2mb -> 4mb)",
    explanation: "the sidecar rewrites redis.properties atomically and sends SIGHUP: the app reloads in place, \
                  without a restart.",
};

/// Step 3: a Secret is rotated.
pub const ROTATE_MYSECRET: Step = Step {
    number: 3,
    title: "rotate Secret mysecret (new password)",
    explanation: "web mounts mysecret: the operator hashes the new content (never printing it) and restarts web.",
};

/// Step 4: the ConfigSync status as `kubectl get configsync` shows it.
pub const SHOW_CONFIGSYNC: Step = Step {
    number: 4,
    title: "kubectl get configsync",
    explanation: "the ConfigSync status records what was applied to its targets: the source hash, the last \
                  rollout and readiness.",
};

/// Step 5: a pod that asks for the sidecar is created, and the webhook injects it.
pub const SHOW_INJECTED_POD: Step = Step {
    number: 5,
    title: "create pod redis-injected (annotated configsync.dev/inject: \"true\")",
    explanation: "the operator's admission webhook adds the sync sidecar when the pod is created: no hand-written \
                  container spec.",
};

/// The step's heading, as printed.
pub fn heading(step: &Step) -> String {
    format!(
        "\n==> Step {}: {}\n    {}",
        step.number, step.title, step.explanation
    )
}

/// What the demo needs to know about one ReplicaSet of a Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSetView {
    pub name: String,
    /// `deployment.kubernetes.io/revision`, 0 when absent.
    pub revision: u64,
    pub replicas: i32,
    pub ready: i32,
}

/// What the demo needs to know about a Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentView {
    pub name: String,
    pub generation: i64,
    pub observed_generation: i64,
    pub replicas: i32,
    pub updated: i32,
    pub available: i32,
    /// Pods of the Deployment in any ReplicaSet (`status.replicas`).
    pub total: i32,
}

/// The ReplicaSet with the highest revision: the one the Deployment is rolling towards.
pub fn newest(sets: &[ReplicaSetView]) -> Option<&ReplicaSetView> {
    sets.iter().max_by_key(|set| set.revision)
}

/// Whether the Deployment has finished rolling to a ReplicaSet other than `before`.
pub fn rolled_past(deploy: &DeploymentView, sets: &[ReplicaSetView], before: Option<&str>) -> bool {
    let Some(new) = newest(sets) else {
        return false;
    };
    Some(new.name.as_str()) != before && is_complete(deploy, new, sets)
}

/// Whether the Deployment's rollout is complete: every replica updated and available, old sets scaled to zero.
pub fn is_complete(deploy: &DeploymentView, new: &ReplicaSetView, sets: &[ReplicaSetView]) -> bool {
    let old_left: i32 = sets
        .iter()
        .filter(|set| set.name != new.name)
        .map(|set| set.replicas)
        .sum();
    deploy.observed_generation >= deploy.generation
        && deploy.updated == deploy.replicas
        && deploy.available == deploy.replicas
        && deploy.total == deploy.replicas
        && new.ready == deploy.replicas
        && old_left == 0
}

/// One progress line: the new ReplicaSet's ready count against the target, then the old sets still running.
pub fn progress_line(deploy: &DeploymentView, sets: &[ReplicaSetView]) -> String {
    let mut line = format!("    {}:", deploy.name);
    let Some(new) = newest(sets) else {
        line.push_str(" no ReplicaSet yet");
        return line;
    };
    let target = deploy.replicas.max(0);
    let bar: String = (0..target)
        .map(|i| if i < new.ready { '#' } else { '.' })
        .collect();
    let _ = write!(
        line,
        " [{bar}] new {} {}/{target} ready",
        new.name, new.ready
    );
    for old in sets
        .iter()
        .filter(|set| set.name != new.name && set.replicas > 0)
    {
        let _ = write!(line, ", old {} {} left", old.name, old.replicas);
    }
    line
}

/// The closing line of a finished rollout (`from` is `None` for a Deployment's first rollout).
pub fn rollout_done(deploy: &DeploymentView, from: Option<&str>, to: &str) -> String {
    let (name, available, replicas) = (&deploy.name, deploy.available, deploy.replicas);
    match from {
        Some(from) => format!(
            "    rollout finished: deployment/{name} moved from ReplicaSet {from} to {to}, {available}/{replicas} available"
        ),
        None => format!(
            "    deployment/{name} is ready: ReplicaSet {to}, {available}/{replicas} available"
        ),
    }
}

/// Why the demo app printed its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Start,
    Sighup,
}

/// A header line of the demo app: `[demo-app pid 42] start: ...` or `[demo-app pid 42] SIGHUP: ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppEvent {
    pub pid: u32,
    pub cause: Cause,
}

const APP_PREFIX: &str = "[demo-app pid ";

/// The header the demo app prints before listing its configuration files.
pub fn app_header(event: AppEvent, dir: &str) -> String {
    let cause = match event.cause {
        Cause::Start => "start: loading config from",
        Cause::Sighup => "SIGHUP: reloading config from",
    };
    format!("{APP_PREFIX}{}] {cause} {dir}", event.pid)
}

/// Parse a header line printed by [`app_header`]; other lines give `None`.
pub fn parse_app_header(line: &str) -> Option<AppEvent> {
    let rest = line.trim_start().strip_prefix(APP_PREFIX)?;
    let (pid, rest) = rest.split_once("] ")?;
    let cause = if rest.starts_with("start:") {
        Cause::Start
    } else if rest.starts_with("SIGHUP:") {
        Cause::Sighup
    } else {
        return None;
    };
    Some(AppEvent {
        pid: pid.parse().ok()?,
        cause,
    })
}

/// The line that reports the reload, comparing the app's PID before and after.
pub fn reload_verdict(started: u32, reloaded: u32) -> String {
    if started == reloaded {
        format!("    the app reloaded in place: same PID {reloaded}, no restart")
    } else {
        format!("    the app was restarted: PID {started} became {reloaded}")
    }
}

/// The injected `configsync` init container, reduced to what the demo reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SidecarView {
    pub restart_policy: Option<String>,
    pub run_as_non_root: bool,
    pub read_only_root_filesystem: bool,
    pub drops_all_capabilities: bool,
}

/// What the webhook put into a pod, reduced to what the demo reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InjectedPodView {
    pub name: String,
    pub ready: bool,
    pub sidecar: Option<SidecarView>,
    /// The data volume is an `emptyDir` with `medium: Memory`.
    pub memory_volume: bool,
    /// `(container, mountPath)` of each mount of the data volume.
    pub mounts: Vec<(String, String)>,
    pub share_process_namespace: bool,
    pub config_hash: Option<String>,
}

/// The lines that show what was injected, or why the pod does not carry the sidecar.
pub fn injection_report(pod: &InjectedPodView) -> Result<Vec<String>, String> {
    let name = &pod.name;
    let Some(sidecar) = &pod.sidecar else {
        return Err(format!(
            "pod/{name} has no configsync sidecar: the webhook did not inject it"
        ));
    };
    if !pod.memory_volume || pod.mounts.is_empty() {
        return Err(format!(
            "pod/{name} lacks the in-memory data volume or its mounts"
        ));
    }
    let kind = match sidecar.restart_policy.as_deref() {
        Some("Always") => "native sidecar (init container, restartPolicy: Always)",
        _ => "regular container",
    };
    let flags = [
        (sidecar.run_as_non_root, "runAsNonRoot"),
        (sidecar.read_only_root_filesystem, "readOnlyRootFilesystem"),
        (sidecar.drops_all_capabilities, "capabilities drop ALL"),
    ];
    let security: Vec<String> = flags
        .iter()
        .map(|(set, flag)| {
            if *set {
                (*flag).to_owned()
            } else {
                format!("NOT {flag}")
            }
        })
        .collect();
    let mounts: Vec<String> = pod
        .mounts
        .iter()
        .map(|(c, path)| format!("{path} in {c}"))
        .collect();
    let state = if pod.ready { "Ready" } else { "not Ready" };
    let mut lines = vec![
        format!("    pod/{name} is {state}, with what the webhook injected:"),
        format!("      configsync: {kind}; {}", security.join(", ")),
        format!(
            "      volume configsync-data: emptyDir, medium Memory, mounted at {}",
            mounts.join(", ")
        ),
    ];
    if pod.share_process_namespace {
        lines.push(
            "      shareProcessNamespace: true, so the sidecar can signal the app".to_owned(),
        );
    }
    if let Some(hash) = &pod.config_hash {
        lines.push(format!(
            "      configsync.dev/config-hash: {hash} (set at admission: no extra rollout later)"
        ));
    }
    Ok(lines)
}

/// A `meta.k8s.io/v1` Table reduced to what is printed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Lay a table out the way `kubectl get` does: upper-case headers, columns padded to their widest cell.
pub fn render_table(table: &Table) -> String {
    let header: Vec<String> = table.columns.iter().map(|c| c.to_uppercase()).collect();
    let lines: Vec<&Vec<String>> = std::iter::once(&header).chain(&table.rows).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|col| {
            let cells = lines.iter().filter_map(|line| line.get(col));
            cells.map(|cell| cell.chars().count()).max().unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"));
        let text = cells.collect::<Vec<_>>().join("   ");
        let _ = writeln!(out, "    {}", text.trim_end());
    }
    out
}

/// The cell of `column` (case-insensitive) in the first row.
pub fn first_row_cell<'a>(table: &'a Table, column: &str) -> Option<&'a str> {
    let index = table
        .columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case(column))?;
    table.rows.first()?.get(index).map(String::as_str)
}

#[cfg(test)]
#[path = "story_tests.rs"]
mod tests;
