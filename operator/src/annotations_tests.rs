use std::time::Duration;

use super::*;

fn mk(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn policy(pairs: &[(&str, &str)]) -> Option<WorkloadPolicy> {
    parse_policy(&mk(pairs), false).unwrap()
}

fn problems(pairs: &[(&str, &str)]) -> Vec<Problem> {
    match parse_policy(&mk(pairs), false) {
        Err(Error::ParsePolicy { problems }) => problems,
        other => panic!("expected an error, got {other:?}"),
    }
}

const BOTH: AutoKinds = AutoKinds {
    config_maps: true,
    secrets: true,
};

fn r(id: SourceId) -> SourceRef {
    SourceRef {
        id,
        keys: ConsumedKeys::one("k"),
        optional: false,
        env_prefixes: BTreeSet::new(),
    }
}

#[test]
fn no_opt_in_means_not_followed() {
    assert_eq!(policy(&[]), None);
    assert_eq!(policy(&[("app", "x"), (keys::STRATEGY, "none")]), None);
}

#[test]
fn configsync_auto_follows_both_kinds() {
    let p = policy(&[(keys::AUTO, "true")]).unwrap();
    assert_eq!(p.auto, BOTH);
    assert_eq!(p.strategy, Strategy::Restart);
    assert_eq!(p.debounce, None);
}

#[test]
fn reloader_annotations_keep_working() {
    assert_eq!(policy(&[(reloader::AUTO, "true")]).unwrap().auto, BOTH);
    let cm_only = policy(&[(reloader::CONFIGMAP_AUTO, "true")]).unwrap();
    assert_eq!(
        cm_only.auto,
        AutoKinds {
            config_maps: true,
            secrets: false
        }
    );
    let secret_only = policy(&[(reloader::SECRET_AUTO, "true")]).unwrap();
    assert_eq!(
        secret_only.auto,
        AutoKinds {
            config_maps: false,
            secrets: true
        }
    );
    let named = policy(&[
        (reloader::CONFIGMAP_RELOAD, "a, b"),
        (reloader::SECRET_RELOAD, "c"),
    ])
    .unwrap();
    assert_eq!(named.auto, AutoKinds::default());
    assert_eq!(
        named.named,
        BTreeSet::from([
            SourceId::config_map("a"),
            SourceId::config_map("b"),
            SourceId::secret("c")
        ])
    );
    let excluded = policy(&[
        (reloader::AUTO, "true"),
        (reloader::SECRETS_EXCLUDE, "noisy"),
    ])
    .unwrap();
    assert_eq!(
        excluded.excluded,
        BTreeSet::from([SourceId::secret("noisy")])
    );
}

#[test]
fn wave_annotations_keep_working() {
    let p = policy(&[
        (wave::UPDATE_ON_CONFIG_CHANGE, "true"),
        (wave::EXTRA_CONFIGMAPS, "extra-cm"),
        (wave::EXTRA_SECRETS, "extra-s"),
    ])
    .unwrap();
    assert_eq!(p.auto, BOTH);
    assert_eq!(
        p.named,
        BTreeSet::from([
            SourceId::config_map("extra-cm"),
            SourceId::secret("extra-s")
        ])
    );
}

#[test]
fn configsync_named_and_excluded_lists() {
    let p = policy(&[
        (keys::CONFIGMAPS, "a,,b ,"),
        (keys::SECRETS, "s"),
        (keys::EXCLUDE_CONFIGMAPS, "x"),
        (keys::EXCLUDE_SECRETS, "y"),
    ])
    .unwrap();
    assert_eq!(
        p.auto,
        AutoKinds::default(),
        "named lists alone do not turn on auto"
    );
    assert_eq!(p.named.len(), 3);
    assert_eq!(
        p.excluded,
        BTreeSet::from([SourceId::config_map("x"), SourceId::secret("y")])
    );
}

#[test]
fn auto_all_with_opt_out() {
    let on = parse_policy(&mk(&[]), true).unwrap().unwrap();
    assert_eq!(on.auto, BOTH);
    assert_eq!(
        parse_policy(&mk(&[(keys::AUTO, "false")]), true).unwrap(),
        None
    );
    assert_eq!(
        parse_policy(&mk(&[(reloader::AUTO, "false")]), true).unwrap(),
        None
    );
    // Opting out of auto keeps explicitly named sources.
    let named = parse_policy(&mk(&[(keys::AUTO, "false"), (keys::SECRETS, "s")]), true)
        .unwrap()
        .unwrap();
    assert_eq!(named.auto, AutoKinds::default());
    assert_eq!(named.named, BTreeSet::from([SourceId::secret("s")]));
}

#[test]
fn configsync_auto_decides_over_reloader_auto() {
    assert_eq!(
        policy(&[(keys::AUTO, "false"), (reloader::AUTO, "true")]),
        None
    );
    assert_eq!(
        policy(&[(keys::AUTO, "TRUE"), (reloader::AUTO, "false")])
            .unwrap()
            .auto,
        BOTH
    );
}

#[test]
fn strategy_and_debounce() {
    let p = policy(&[
        (keys::AUTO, "true"),
        (keys::STRATEGY, "reload"),
        (keys::DEBOUNCE, "5s"),
    ])
    .unwrap();
    assert_eq!(p.strategy, Strategy::Reload);
    assert_eq!(
        p.debounce,
        Some(Debounce {
            min: Duration::from_secs(5),
            max: Duration::from_secs(20)
        })
    );
    let p = policy(&[
        (keys::AUTO, "true"),
        (keys::STRATEGY, "none"),
        (keys::DEBOUNCE, "500ms, 1m"),
    ])
    .unwrap();
    assert_eq!(p.strategy, Strategy::None);
    assert_eq!(
        p.debounce,
        Some(Debounce {
            min: Duration::from_millis(500),
            max: Duration::from_secs(60)
        })
    );
}

#[test]
fn malformed_values_are_all_reported_with_key_and_value() {
    let found = problems(&[
        (keys::AUTO, "yes"),
        (keys::STRATEGY, "rolling"),
        (keys::DEBOUNCE, "10s,5s"),
        (keys::CONFIGMAPS, "good,Bad_Name"),
    ]);
    let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            r#"annotation configsync.dev/auto has invalid value "yes": expected "true" or "false""#,
            r#"annotation configsync.dev/configmaps has invalid value "good,Bad_Name": "Bad_Name" is not a valid object name (lowercase letters, digits, '-' and '.', at most 253)"#,
            r#"annotation configsync.dev/debounce has invalid value "10s,5s": max "5s" is below min "10s""#,
            r#"annotation configsync.dev/strategy has invalid value "rolling": expected restart, reload or none"#,
        ]
    );
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(500);
    let found = problems(&[(keys::STRATEGY, &long)]);
    assert_eq!(found[0].value.chars().count(), QUOTE_LIMIT + 1);
    assert!(found[0].value.ends_with('…'));
}

#[test]
fn multibyte_values_do_not_panic() {
    let found = problems(&[(keys::DEBOUNCE, &"é".repeat(100)), (keys::AUTO, "ü")]);
    assert_eq!(found.len(), 2);
}

#[test]
fn followed_sources_honour_auto_kinds_excludes_and_names() {
    let refs = [
        r(SourceId::config_map("app")),
        r(SourceId::config_map("skip-me")),
        r(SourceId::secret("db")),
        r(SourceId::config_map("named-and-used")),
    ];
    let p = WorkloadPolicy {
        auto: AutoKinds {
            config_maps: true,
            secrets: false,
        },
        named: BTreeSet::from([
            SourceId::config_map("named-and-used"),
            SourceId::secret("extra"),
        ]),
        excluded: BTreeSet::from([SourceId::config_map("skip-me")]),
        ..WorkloadPolicy::default()
    };
    let followed = p.followed_sources(&refs);
    let summary: Vec<_> = followed
        .iter()
        .map(|r| (r.id.clone(), r.keys.clone(), r.optional))
        .collect();
    assert_eq!(
        summary,
        [
            (SourceId::config_map("app"), ConsumedKeys::one("k"), false),
            (
                SourceId::config_map("named-and-used"),
                ConsumedKeys::All,
                false
            ),
            (SourceId::secret("extra"), ConsumedKeys::All, true),
        ]
    );
}

#[test]
fn ignore_annotation_on_sources() {
    assert!(is_ignored_source(&mk(&[(keys::IGNORE, "true")])));
    assert!(is_ignored_source(&mk(&[(reloader::IGNORE, "True")])));
    assert!(!is_ignored_source(&mk(&[(keys::IGNORE, "false")])));
    assert!(!is_ignored_source(&mk(&[])));
}

#[test]
fn policy_keys_are_the_read_ones_of_the_three_vocabularies() {
    for (key, read) in [
        ("configsync.dev/auto", true),
        ("configsync.dev/strategy", true),
        ("reloader.stakater.com/auto", true),
        ("configmap.reloader.stakater.com/reload", true),
        ("secrets.exclude.reloader.stakater.com/reload", true),
        ("wave.pusher.com/update-on-config-change", true),
        ("configsync.dev/config-hash", false),
        ("configsync.dev/observed-hash", false),
        ("configsync.dev/observed-template", false),
        ("configsync.dev/inject", false),
        ("configsync.dev/inject-native-sidecar", false),
        ("checksum/config", false),
        ("notareloader.stakater.com.evil/auto", false),
        ("auto", false),
    ] {
        assert_eq!(is_policy_key(key), read, "{key}");
    }
}

/// Reloader reads its annotations on the pod template too; the workload's own win.
#[test]
fn template_policy_annotations_count_and_the_workloads_win() {
    let map = mk;
    let template = map(&[
        ("reloader.stakater.com/auto", "true"),
        ("configsync.dev/strategy", "none"),
        ("checksum/config", "abc"),
        ("configsync.dev/config-hash", "v1:aa"),
    ]);
    let workload = map(&[("configsync.dev/strategy", "restart")]);
    let merged = policy_annotations(&workload, &template);
    assert_eq!(
        merged,
        map(&[
            ("reloader.stakater.com/auto", "true"),
            ("configsync.dev/strategy", "restart"),
        ])
    );
    let policy = parse_policy(&merged, false).unwrap().unwrap();
    assert!(policy.auto.config_maps && policy.auto.secrets);
    assert_eq!(policy.strategy, Strategy::Restart);
    assert_eq!(
        parse_policy(&policy_annotations(&workload, &BTreeMap::new()), false),
        Ok(None)
    );
}

/// wave's `namespace/name` entries: the workload's own namespace is followed by name, another is refused.
#[test]
fn wave_namespace_forms() {
    let parsed = policy(&[(
        "wave.pusher.com/extra-configmaps",
        "prod/app, shared,other/db",
    )])
    .unwrap();
    assert_eq!(parsed.named.len(), 1, "plain names stay named");
    assert_eq!(parsed.qualified.len(), 2);
    let refused = parsed.clone().resolve_namespaces("prod").unwrap_err();
    let Error::ParsePolicy { problems } = refused;
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].value, "other/db");
    assert!(
        problems[0].to_string().contains("own namespace only"),
        "{}",
        problems[0]
    );
    let same = policy(&[("wave.pusher.com/extra-secrets", "prod/tls")]).unwrap();
    let resolved = same.resolve_namespaces("prod").unwrap();
    assert!(resolved.qualified.is_empty());
    assert_eq!(
        resolved.named.into_iter().collect::<Vec<_>>(),
        [SourceId::secret("tls")]
    );
    // The form is wave's only: Reloader's and configsync's own keys still want plain names.
    assert_eq!(problems_of("configsync.dev/configmaps", "prod/app"), 1);
    assert_eq!(
        problems_of("wave.pusher.com/extra-configmaps", "Bad/app"),
        1
    );
}

fn problems_of(key: &str, value: &str) -> usize {
    problems(&[(key, value)]).len()
}

type Pairs<'a> = &'a [(&'a str, &'a str)];

#[test]
fn reloader_reload_entries_are_anchored_regular_expressions_over_referenced_sources() {
    let refs = [
        r(SourceId::config_map("app-config")),
        r(SourceId::config_map("app-config-old")),
        r(SourceId::config_map("my-app-config")),
        r(SourceId::config_map("other")),
        r(SourceId::secret("db-password")),
        r(SourceId::secret("app-config")),
    ];
    let followed = |pairs: &[(&str, &str)]| -> Vec<String> {
        let p = policy(pairs).expect("followed");
        p.followed_sources(&refs)
            .into_iter()
            .map(|s| format!("{:?}/{}", s.id.kind, s.id.name))
            .collect()
    };
    let cases: [(Pairs<'_>, &[&str]); 6] = [
        // Anchored at both ends: no prefix or suffix match.
        (
            &[(reloader::CONFIGMAP_RELOAD, "app-.*")],
            &["ConfigMap/app-config", "ConfigMap/app-config-old"],
        ),
        (
            &[(reloader::CONFIGMAP_RELOAD, "app-config$|x")],
            &["ConfigMap/app-config"],
        ),
        // Alternation stays inside the anchors (`^(?:a|b)$`).
        (
            &[(reloader::CONFIGMAP_RELOAD, "other|.*-config")],
            &[
                "ConfigMap/app-config",
                "ConfigMap/my-app-config",
                "ConfigMap/other",
            ],
        ),
        // A Secret pattern selects Secrets only; a plain name is still followed unreferenced.
        (
            &[(reloader::SECRET_RELOAD, "db-.+")],
            &["Secret/db-password"],
        ),
        (
            &[(reloader::SECRET_RELOAD, "db-.+,not-referenced")],
            &["Secret/db-password", "Secret/not-referenced"],
        ),
        // Patterns and plain names mix in one list.
        (
            &[(reloader::CONFIGMAP_RELOAD, "other, [a-z]+-config-old")],
            &["ConfigMap/app-config-old", "ConfigMap/other"],
        ),
    ];
    for (pairs, want) in cases {
        assert_eq!(followed(pairs), want, "{pairs:?}");
    }
}

#[test]
fn malformed_or_oversized_reload_regexes_are_reported_not_panicked() {
    for (value, why) in [
        ("app-[", "unclosed character class"),
        ("(a", "unclosed group"),
        ("a{1000}{1000}", "size limit"),
    ] {
        let found = problems(&[(reloader::CONFIGMAP_RELOAD, value)]);
        assert_eq!(found.len(), 1, "{value}");
        assert_eq!(found[0].annotation, reloader::CONFIGMAP_RELOAD);
        let message = found[0].to_string();
        assert!(
            message.contains("is not a valid regular expression") && message.contains(why),
            "{message}"
        );
    }
    // Only Reloader's reload keys take regular expressions.
    assert!(matches!(
        problems(&[(keys::CONFIGMAPS, "app-.*")])[0].invalid,
        Invalid::Name(_)
    ));
}

#[test]
fn reloader_search_follows_referenced_sources_unless_auto_decides() {
    let search = policy(&[(reloader::SEARCH, "true")]).expect("followed");
    assert!(search.search);
    assert_eq!(search.auto, BOTH);
    assert_eq!(policy(&[(reloader::SEARCH, "false")]), None);
    for auto in [reloader::AUTO, keys::AUTO] {
        let both = policy(&[(reloader::SEARCH, "true"), (auto, "true")]).expect("followed");
        assert!(!both.search, "{auto} decides over search");
    }
    // `auto: "false"` only turns auto off: search still applies.
    assert_eq!(
        policy(&[(reloader::SEARCH, "true"), (reloader::AUTO, "false")]).map(|p| p.search),
        Some(true)
    );
    assert!(is_matched_source(&mk(&[(reloader::MATCH, " True ")])));
    assert!(!is_matched_source(&mk(&[(reloader::MATCH, "no")])));
    assert_eq!(problems(&[(reloader::SEARCH, "yes")]).len(), 1);
}
