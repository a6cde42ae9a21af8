use super::*;

fn rs(name: &str, revision: u64, replicas: i32, ready: i32) -> ReplicaSetView {
    ReplicaSetView {
        name: name.into(),
        revision,
        replicas,
        ready,
    }
}

fn deploy(updated: i32, available: i32, total: i32) -> DeploymentView {
    DeploymentView {
        name: "web".into(),
        generation: 2,
        observed_generation: 2,
        replicas: 3,
        updated,
        available,
        total,
    }
}

#[test]
fn progress_line_shows_new_and_old_sets() {
    let sets = [rs("web-old", 1, 2, 2), rs("web-new", 2, 2, 1)];
    assert_eq!(
        progress_line(&deploy(2, 3, 4), &sets),
        "    web: [#..] new web-new 1/3 ready, old web-old 2 left"
    );
    assert_eq!(
        progress_line(&deploy(0, 0, 0), &[]),
        "    web: no ReplicaSet yet"
    );
}

#[test]
fn a_rollout_is_done_only_past_the_old_set_with_everything_ready() {
    let midway = [rs("web-old", 1, 1, 1), rs("web-new", 2, 3, 3)];
    assert!(!rolled_past(&deploy(3, 3, 4), &midway, Some("web-old")));
    let done = [rs("web-old", 1, 0, 0), rs("web-new", 2, 3, 3)];
    assert!(rolled_past(&deploy(3, 3, 3), &done, Some("web-old")));
    assert!(
        !rolled_past(&deploy(3, 3, 3), &done, Some("web-new")),
        "still on the set it started from"
    );
    let mut stale = deploy(3, 3, 3);
    stale.observed_generation = 1;
    assert!(!rolled_past(&stale, &done, Some("web-old")));
}

#[test]
fn app_headers_round_trip_and_other_lines_are_ignored() {
    for cause in [Cause::Start, Cause::Sighup] {
        let event = AppEvent { pid: 4242, cause };
        assert_eq!(parse_app_header(&app_header(event, "/tmp/x")), Some(event));
    }
    assert_eq!(parse_app_header("maxmemory 2mb"), None);
    assert_eq!(parse_app_header("[demo-app pid x] start: y"), None);
    assert_eq!(parse_app_header("[demo-app pid 7] exit"), None);
}

#[test]
fn reload_verdict_compares_pids() {
    assert!(reload_verdict(7, 7).contains("same PID 7"));
    assert!(reload_verdict(7, 8).contains("restarted"));
}

#[test]
fn tables_are_padded_like_kubectl() {
    let table = Table {
        columns: vec!["Name".into(), "Hash".into(), "Ready".into()],
        rows: vec![vec!["redis".into(), "sha256:ab".into(), "True".into()]],
    };
    assert_eq!(
        render_table(&table),
        "    NAME    HASH        READY\n    redis   sha256:ab   True\n"
    );
    assert_eq!(first_row_cell(&table, "ready"), Some("True"));
    assert_eq!(first_row_cell(&table, "age"), None);
}

#[test]
fn headings_number_the_steps() {
    assert!(heading(&EDIT_MYCONFIG).starts_with("\n==> Step 1: edit ConfigMap myconfig"));
    assert!(heading(&SHOW_CONFIGSYNC).contains("Step 4"));
}

#[test]
fn rollout_done_names_both_sets_or_the_first() {
    let deploy = deploy(3, 3, 3);
    assert_eq!(
        rollout_done(&deploy, Some("web-a"), "web-b"),
        "    rollout finished: deployment/web moved from ReplicaSet web-a to web-b, 3/3 available"
    );
    assert_eq!(
        rollout_done(&deploy, None, "web-a"),
        "    deployment/web is ready: ReplicaSet web-a, 3/3 available"
    );
}

fn injected() -> InjectedPodView {
    InjectedPodView {
        name: "redis-injected".into(),
        ready: true,
        sidecar: Some(SidecarView {
            restart_policy: Some("Always".into()),
            run_as_non_root: true,
            read_only_root_filesystem: true,
            drops_all_capabilities: true,
        }),
        memory_volume: true,
        mounts: vec![("redis".into(), "/etc/config".into())],
        share_process_namespace: true,
        config_hash: Some("v1:ab".into()),
    }
}

#[test]
fn injection_report_lists_what_the_webhook_added() {
    let lines = injection_report(&injected()).expect("injected");
    assert_eq!(
        lines,
        [
            "    pod/redis-injected is Ready, with what the webhook injected:",
            "      configsync: native sidecar (init container, restartPolicy: Always); runAsNonRoot, \
             readOnlyRootFilesystem, capabilities drop ALL",
            "      volume configsync-data: emptyDir, medium Memory, mounted at /etc/config in redis",
            "      shareProcessNamespace: true, so the sidecar can signal the app",
            "      configsync.dev/config-hash: v1:ab (set at admission: no extra rollout later)",
        ]
    );
}

#[test]
fn injection_report_never_hides_a_missing_or_weakened_sidecar() {
    let mut pod = injected();
    pod.sidecar
        .as_mut()
        .expect("sidecar")
        .read_only_root_filesystem = false;
    let lines = injection_report(&pod).expect("still injected");
    assert!(lines[1].contains("NOT readOnlyRootFilesystem"), "{lines:?}");
    pod.mounts.clear();
    assert!(injection_report(&pod).is_err());
    pod.sidecar = None;
    let error = injection_report(&pod).expect_err("not injected");
    assert!(error.contains("did not inject"), "{error}");
}
