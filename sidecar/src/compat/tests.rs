use std::collections::BTreeMap;
use std::ffi::OsString;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn detected(args: &[&str], pairs: &[(&str, &str)]) -> Option<Vec<String>> {
    let env = env(pairs);
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    detect(&args, &|name| env.get(name).cloned()).map(|argv| {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    })
}

#[test]
fn k8s_sidecar_is_detected_from_its_environment_with_no_arguments() {
    let grafana = [
        ("LABEL", "grafana_dashboard"),
        ("FOLDER", "/tmp/dashboards"),
    ];
    let rewritten = Some(vec![
        "configsync".to_string(),
        "sidecar".into(),
        "compat".into(),
        "k8s-sidecar".into(),
    ]);
    assert_eq!(detected(&["configsync"], &grafana), rewritten);
    assert_eq!(
        detected(&["configsync", "--help"], &grafana),
        rewritten,
        "the image's default CMD"
    );
    assert_eq!(
        detected(&["configsync", "--req-password-file", "/p"], &grafana).map(|a| a[4..].to_vec()),
        Some(vec!["--req-password-file".to_string(), "/p".into()]),
        "k8s-sidecar's own flags are passed on"
    );
    // Anything else is the sidecar's own command line.
    assert_eq!(
        detected(&["configsync", "sidecar", "--dir", "/x"], &grafana),
        None
    );
    assert_eq!(
        detected(&["configsync"], &[("LABEL", "x")]),
        None,
        "FOLDER is required"
    );
    assert_eq!(
        detected(&["configsync"], &[("FOLDER", "/x"), ("LABEL", "")]),
        None
    );
    assert_eq!(
        detected(&["configsync"], &[("FOLDER", "/x"), ("RESOURCE_NAME", "a")]).map(|a| a.len()),
        Some(4)
    );
}

#[test]
fn configmap_reload_is_detected_from_its_first_flag() {
    for first in [
        "--volume-dir=/etc/config",
        "-volume-dir",
        "--webhook-url",
        "-web.listen-address=:1",
    ] {
        let argv = detected(&["configmap-reload", first, "x"], &[]).expect(first);
        assert_eq!(
            argv[1..4],
            ["sidecar", "compat", "configmap-reload"],
            "{first}"
        );
        assert_eq!(argv[4], first);
    }
    assert_eq!(detected(&["configsync", "--volume"], &[]), None);
    assert_eq!(detected(&["configsync", "operator"], &[]), None);
}

fn k8s(pairs: &[(&str, &str)]) -> Result<Translation, CompatError> {
    let env = env(pairs);
    translate(Compat::K8sSidecar, &[], &|name| env.get(name).cloned())
}

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn k8s_sidecar_environments_translate_to_these_flags() {
    let base = "--dir /tmp/dashboards --flat --publish files --wait 0s --folder-annotation k8s-sidecar-target-directory \
                --url-keys";
    let http = "--reload-attempts 6 --reload-backoff 1100ms --reload-backoff-max 120s --reload-timeout 10000ms";
    let logs = "--log-timezone local --log-format json";
    let tail = "--configmap-mode 0644 --secret-mode 0644 --health-addr 0.0.0.0:8080";
    let cases: &[(&[(&str, &str)], String)] = &[
        (
            &[
                ("LABEL", "grafana_dashboard"),
                ("FOLDER", "/tmp/dashboards"),
            ],
            format!(
                "{base} --selector grafana_dashboard --selector-kind configmap {http} {logs} {tail}"
            ),
        ),
        (
            &[
                ("LABEL", "grafana_dashboard"),
                ("LABEL_VALUE", "1"),
                ("FOLDER", "/tmp/dashboards"),
                ("FOLDER_ANNOTATION", "grafana_folder"),
                ("RESOURCE", "both"),
                ("NAMESPACE", "ALL"),
                ("UNIQUE_FILENAMES", "true"),
            ],
            format!(
                "--dir /tmp/dashboards --flat --publish files --wait 0s --folder-annotation grafana_folder --url-keys \
                 --selector grafana_dashboard=1 --selector-kind both --all-namespaces {http} {logs} --unique-filenames {tail}"
            ),
        ),
        (
            &[
                ("LABEL", "l"),
                ("FOLDER", "/tmp/dashboards"),
                ("NAMESPACE", "a, b"),
                ("METHOD", "SLEEP"),
                ("SLEEP_TIME", "90"),
                ("DEFAULT_FILE_MODE", "440"),
                ("HEALTH_PORT", "9090"),
            ],
            format!(
                "{base} --selector l --selector-kind configmap --namespace a --namespace b --poll-interval 90s \
                 --stale-after 270s {http} {logs} --configmap-mode 0440 --secret-mode 0440 --health-addr 0.0.0.0:9090"
            ),
        ),
        (
            &[
                ("LABEL", "l"),
                ("FOLDER", "/tmp/dashboards"),
                ("METHOD", "LIST"),
            ],
            format!("{base} --selector l --selector-kind configmap --once {http} {logs} {tail}"),
        ),
        (
            &[
                ("LABEL", "l"),
                ("FOLDER", "/tmp/dashboards"),
                (
                    "REQ_URL",
                    "http://localhost:3000/api/admin/provisioning/dashboards/reload",
                ),
                ("REQ_METHOD", "post"),
                ("REQ_PAYLOAD", "{}"),
                ("REQ_USERNAME", "admin"),
                ("REQ_PASSWORD", "hunter2"),
                ("REQ_RETRY_TOTAL", "2"),
                ("REQ_RETRY_BACKOFF_FACTOR", "0.5"),
                ("REQ_TIMEOUT", "3"),
            ],
            format!(
                "{base} --selector l --selector-kind configmap \
                 --http-url http://localhost:3000/api/admin/provisioning/dashboards/reload --http-method POST \
                 --http-body {{}} --notify-on-start --reload-attempts 3 --reload-backoff 500ms \
                 --reload-backoff-max 120s --reload-timeout 3000ms {logs} {tail} --http-username admin \
                 --http-password-env REQ_PASSWORD"
            ),
        ),
        (
            &[
                ("RESOURCE_NAME", "dashboards,secret/creds,configmap/other"),
                ("RESOURCE", "both"),
                ("FOLDER", "/tmp/dashboards"),
                ("REQ_URL", "http://app/reload"),
                ("REQ_SKIP_INIT", "true"),
            ],
            format!(
                "{base} --configmap dashboards --optional dashboards --secret dashboards --optional dashboards \
                 --secret creds --optional creds --configmap other --optional other \
                 --http-url http://app/reload --http-method GET {http} {logs} {tail}"
            ),
        ),
        (
            &[
                ("RESOURCE_NAME", "team-a/configmap/dash,secret/creds"),
                ("RESOURCE", "both"),
                ("NAMESPACE", "team-a,team-b"),
                ("FOLDER", "/tmp/dashboards"),
                ("LOG_LEVEL", "warning"),
                ("LOG_FORMAT", "LOGFMT"),
                ("LOG_TZ", "utc"),
                ("SKIP_TLS_VERIFY", "true"),
                ("REQ_SKIP_TLS_VERIFY", "true"),
                ("ENABLE_5XX", "true"),
            ],
            format!(
                "{base} --url-keys-accept-5xx --insecure-skip-tls-verify --configmap team-a/dash \
                 --optional team-a/dash --secret creds --optional creds --namespace team-a --namespace team-b \
                 {http} --http-insecure-skip-tls-verify --log-level warn --log-timezone utc --log-format text {tail}"
            ),
        ),
    ];
    for (pairs, expected) in cases {
        let translation = k8s(pairs).expect("valid");
        assert_eq!(translation.args, args(expected), "{pairs:?}");
        let warned: Vec<&str> = pairs
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| {
                k8s_sidecar::VARIABLES
                    .iter()
                    .any(|v| v.name == *name && v.support != k8s_sidecar::Support::Supported)
            })
            .collect();
        assert_eq!(
            translation.warnings.len(),
            warned.len(),
            "{:?}",
            translation.warnings
        );
        let printed = format!("{translation:?}");
        assert!(
            !printed.contains("hunter2"),
            "the password stays in the environment"
        );
    }
}

#[test]
fn resource_names_take_k8s_sidecar_forms_and_skip_other_namespaces() {
    use k8s_sidecar::{ResourceName, resource_name};
    assert_eq!(
        resource_name("ns/secret/db"),
        Some(ResourceName {
            namespace: Some("ns"),
            kind: Some("secret"),
            name: "db"
        })
    );
    assert_eq!(
        resource_name("configmap/x"),
        Some(ResourceName {
            namespace: None,
            kind: Some("configmap"),
            name: "x"
        })
    );
    for bad in [
        "pod/x",
        "a/b/c/d",
        "configmap/",
        "/configmap/x",
        "ns/deployment/x",
    ] {
        assert_eq!(resource_name(bad), None, "{bad}");
    }
    let skipped = k8s(&[
        ("FOLDER", "/f"),
        ("RESOURCE_NAME", "other/configmap/x,y"),
        ("NAMESPACE", "mine"),
    ])
    .expect("valid");
    assert!(
        !skipped.args.iter().any(|a| a == "x" || a == "other/x"),
        "{:?}",
        skipped.args
    );
    assert!(skipped.args.windows(2).any(|w| w == ["--configmap", "y"]));
    assert!(
        skipped
            .warnings
            .iter()
            .any(|w| w.contains("other/configmap/x is skipped")),
        "{:?}",
        skipped.warnings
    );
}

#[test]
fn configsync_variables_the_readme_offers_are_not_overridden() {
    let plain = k8s(&[("LABEL", "l"), ("FOLDER", "/f")]).expect("valid");
    assert!(plain.args.windows(2).any(|w| w == ["--publish", "files"]));
    assert!(plain.args.windows(2).any(|w| w == ["--log-format", "json"]));
    let chosen = k8s(&[
        ("LABEL", "l"),
        ("FOLDER", "/f"),
        ("CONFIGSYNC_PUBLISH", "swap"),
        ("CONFIGSYNC_LOG_FORMAT", "text"),
        ("CONFIGSYNC_LOG_TIMEZONE", "utc"),
    ])
    .expect("valid");
    assert!(
        !chosen
            .args
            .iter()
            .any(|a| a == "--publish" || a == "--log-format" || a == "--log-timezone"),
        "{:?}",
        chosen.args
    );
}

#[test]
fn an_unknown_log_tz_is_local_with_a_warning_as_k8s_sidecar_takes_it() {
    let mars = k8s(&[("LABEL", "l"), ("FOLDER", "/f"), ("LOG_TZ", "Mars/Olympus")]).expect("valid");
    assert!(
        mars.args
            .windows(2)
            .any(|w| w == ["--log-timezone", "local"]),
        "{:?}",
        mars.args
    );
    assert_eq!(
        mars.warnings,
        ["LOG_TZ: expected LOCAL or UTC; LOCAL is used, as k8s-sidecar does"]
    );
}

#[test]
fn tls_verification_is_skipped_only_for_exactly_true() {
    for value in ["TRUE", "yes", "1", "false"] {
        let translation = k8s(&[
            ("LABEL", "l"),
            ("FOLDER", "/f"),
            ("SKIP_TLS_VERIFY", value),
            ("REQ_SKIP_TLS_VERIFY", value),
        ])
        .expect("valid");
        assert!(
            !translation.args.iter().any(|a| a.contains("insecure")),
            "{value}: {:?}",
            translation.args
        );
    }
}

#[test]
fn basic_auth_is_sent_only_with_a_user_and_a_password() {
    let user_only = k8s(&[
        ("LABEL", "l"),
        ("FOLDER", "/f"),
        ("REQ_URL", "http://app/"),
        ("REQ_USERNAME", "admin"),
    ])
    .expect("valid");
    assert!(
        !user_only.args.iter().any(|a| a.starts_with("--http-user")),
        "{:?}",
        user_only.args
    );
    assert!(user_only.warnings[0].starts_with("basic auth needs"));
    let env = env(&[("LABEL", "l"), ("FOLDER", "/f"), ("REQ_USERNAME", "admin")]);
    let from_files = translate(
        Compat::K8sSidecar,
        &args("--req-username-file /u --req-password-file=/p"),
        &|n| env.get(n).cloned(),
    )
    .expect("valid");
    let auth: Vec<&String> = from_files
        .args
        .iter()
        .skip_while(|a| !a.starts_with("--http-"))
        .collect();
    assert_eq!(
        auth,
        ["--http-username-file", "/u", "--http-password-file", "/p"],
        "a file wins over REQ_USERNAME"
    );
}

#[test]
fn scripts_run_with_sh_unless_executable_and_quotes_survive() {
    let translation = k8s(&[
        ("LABEL", "l"),
        ("FOLDER", "/f"),
        ("SCRIPT", "/scripts/it's.sh"),
    ])
    .expect("valid");
    let command = translation
        .args
        .iter()
        .position(|a| a == "--command")
        .expect("--command");
    assert_eq!(
        translation.args[command + 1],
        r"if [ -x '/scripts/it'\''s.sh' ]; then exec '/scripts/it'\''s.sh'; else exec sh '/scripts/it'\''s.sh'; fi"
    );
    assert!(translation.args.contains(&"--notify-on-start".to_string()));
}

#[test]
fn bad_k8s_sidecar_settings_are_refused_by_name() {
    let with = |extra: (&str, &str)| k8s(&[("LABEL", "l"), ("FOLDER", "/f"), extra]);
    for (name, value) in [
        ("RESOURCE", "pods"),
        ("SLEEP_TIME", "soon"),
        ("DEFAULT_FILE_MODE", "rw"),
        ("HEALTH_PORT", "99999"),
        ("RESOURCE_NAME", "a/configmap/x/y"),
        ("RESOURCE_NAME", "pod/x"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
    ] {
        let extra = if name == "SLEEP_TIME" {
            ("METHOD", "SLEEP")
        } else {
            ("X", "")
        };
        let env = env(&[("LABEL", "l"), ("FOLDER", "/f"), (name, value), extra]);
        let error = translate(Compat::K8sSidecar, &[], &|n| env.get(n).cloned()).expect_err(name);
        assert!(error.to_string().contains(name), "{error}");
    }
    assert!(matches!(
        k8s(&[("LABEL", "l")]),
        Err(CompatError::Missing {
            setting: "FOLDER",
            ..
        })
    ));
    assert!(matches!(
        k8s(&[("FOLDER", "/f")]),
        Err(CompatError::Missing {
            setting: "LABEL",
            ..
        })
    ));
    let warned = with(("LOG_CONFIG", "/etc/log.yaml")).expect("valid");
    assert_eq!(warned.warnings.len(), 1);
    assert!(
        warned.warnings[0].starts_with("LOG_CONFIG is not supported"),
        "{:?}",
        warned.warnings
    );
}

#[test]
fn configmap_reload_flags_translate_to_these_flags() {
    let cases = [
        (
            "--volume-dir=/etc/config --webhook-url=http://localhost:9090/-/reload",
            "--watch-dir /etc/config --http-url http://localhost:9090/-/reload --health-addr 0.0.0.0:9533 \
             --reload-attempts 1",
        ),
        (
            "-volume-dir /a -volume-dir /b -webhook-url http://x/ -webhook-method GET -webhook-status-code 204 \
             -webhook-retries 3 -web.listen-address 127.0.0.1:9999 -web.telemetry-path /metrics",
            "--watch-dir /a --watch-dir /b --http-url http://x/ --http-method GET --http-status 204 \
             --metrics-path /metrics --health-addr 127.0.0.1:9999 --reload-attempts 3",
        ),
        (
            "--volume-dir /a --webhook-url http://x/ --web.telemetry-path=/prometheus/metrics",
            "--watch-dir /a --http-url http://x/ --metrics-path /prometheus/metrics --health-addr 0.0.0.0:9533 \
             --reload-attempts 1",
        ),
        (
            "--volume-dir /a --webhook-url http://x/ --webhook-url=http://u:p@y/ -webhook-retries 0",
            "--watch-dir /a --http-url http://x/ --http-url http://u:p@y/ --health-addr 0.0.0.0:9533 \
             --reload-attempts 1",
        ),
    ];
    for (given, expected) in cases {
        let translation = translate(Compat::ConfigmapReload, &args(given), &|_| None).expect(given);
        assert_eq!(translation.args, args(expected), "{given}");
    }
    for bad in [
        "--webhook-url http://x/",
        "--volume-dir /a",
        "--volume-dir /a --webhook-url http://x/ --web.telemetry-path /readyz",
        "--volume-dir /a --webhook-url http://x/ --unknown 1",
        "--volume-dir /a --webhook-url",
        "--volume-dir /a --webhook-url http://x/ --webhook-retries many",
    ] {
        assert!(
            translate(Compat::ConfigmapReload, &args(bad), &|_| None).is_err(),
            "{bad}"
        );
    }
    let relative = args("--volume-dir /a --webhook-url http://x/ --web.telemetry-path metrics");
    let error = translate(Compat::ConfigmapReload, &relative, &|_| None).expect_err("relative");
    assert_eq!(
        error.to_string(),
        r#"configmap-reload: web.telemetry-path: "metrics" must start with /"#
    );
}
