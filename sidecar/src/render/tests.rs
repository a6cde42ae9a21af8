use super::*;

/// [`super::render`] of `sources`, each in its own `Arc`.
fn render(sources: &[SourceData], layout: &Layout) -> Result<Rendered, RenderError> {
    super::render(&crate::source::snapshot(sources.iter().cloned()), layout)
}

pub(crate) fn mk_source(kind: SourceKind, name: &str, pairs: &[(&str, &[u8])]) -> SourceData {
    SourceData {
        kind,
        namespace: "default".into(),
        name: name.into(),
        data: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(v.to_vec())))
            .collect(),
    }
}

fn paths(rendered: &Rendered) -> Vec<(String, u32)> {
    rendered
        .files()
        .iter()
        .map(|(p, f)| (p.to_string(), f.mode))
        .collect()
}

#[test]
fn per_source_layout_uses_default_modes() {
    let cm = mk_source(
        SourceKind::ConfigMap,
        "redis-config",
        &[("redis.properties", b"maxmemory 2mb")],
    );
    let secret = mk_source(
        SourceKind::Secret,
        "db",
        &[("password", b"s3cret"), ("blob", &[0, 255, 1])],
    );
    let rendered = render(&[cm, secret], &Layout::default()).expect("renders");
    assert_eq!(
        paths(&rendered),
        vec![
            ("db/blob".into(), 0o400),
            ("db/password".into(), 0o400),
            ("redis-config/redis.properties".into(), 0o644)
        ]
    );
    let blob = rendered
        .files()
        .get(&RelPath::new("db/blob").expect("valid"))
        .map(|f| f.bytes.as_bytes().to_vec());
    assert_eq!(
        blob,
        Some(vec![0, 255, 1]),
        "binary data is written as raw bytes"
    );
    assert!(rendered.env.is_empty());
}

#[test]
fn flat_layout_with_items_and_custom_modes() {
    let cm = mk_source(
        SourceKind::ConfigMap,
        "app",
        &[("a", b"1"), ("b", b"2"), ("c", b"3")],
    );
    let layout = Layout {
        dirs: DirLayout::Flat,
        configmap_mode: 0o600,
        items: BTreeMap::from([(
            "app".to_string(),
            vec![
                Item {
                    key: "a".into(),
                    path: "conf/a.ini".into(),
                    mode: Some(0o755),
                },
                Item {
                    key: "b".into(),
                    path: "b.txt".into(),
                    mode: None,
                },
            ],
        )]),
        ..Layout::default()
    };
    let rendered = render(&[cm], &layout).expect("renders");
    assert_eq!(
        paths(&rendered),
        vec![("b.txt".into(), 0o600), ("conf/a.ini".into(), 0o755)]
    );
}

#[test]
fn traversal_keys_are_rejected_naming_source_and_key() {
    let evil = mk_source(
        SourceKind::Secret,
        "evil",
        &[("../../etc/cron.d/x", b"TOPSECRET")],
    );
    for dirs in [DirLayout::Flat, DirLayout::PerSource] {
        let error = render(
            std::slice::from_ref(&evil),
            &Layout {
                dirs,
                ..Layout::default()
            },
        );
        let error = error.expect_err("rejected");
        assert!(
            matches!(
                error,
                RenderError::InvalidPath {
                    error: PathError::ParentElement(_),
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("secret/default/evil") && message.contains("../../etc/cron.d/x"),
            "{message}"
        );
        assert!(!message.contains("TOPSECRET"), "{message}");
    }
    let reserved = mk_source(SourceKind::ConfigMap, "c", &[("..data", b"x")]);
    let error = render(
        &[reserved],
        &Layout {
            dirs: DirLayout::Flat,
            ..Layout::default()
        },
    )
    .err();
    assert!(
        matches!(
            error,
            Some(RenderError::InvalidPath {
                error: PathError::ReservedPrefix(_),
                ..
            })
        ),
        "{error:?}"
    );
    let absolute_item = mk_source(SourceKind::ConfigMap, "c", &[("k", b"x")]);
    let layout = Layout {
        items: BTreeMap::from([(
            "c".into(),
            vec![Item {
                key: "k".into(),
                path: "/etc/k".into(),
                mode: None,
            }],
        )]),
        ..Layout::default()
    };
    let error = render(&[absolute_item], &layout).err();
    assert!(
        matches!(
            error,
            Some(RenderError::InvalidPath {
                error: PathError::Absolute(_),
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn missing_item_key_and_duplicate_paths_are_errors() {
    let cm = mk_source(SourceKind::ConfigMap, "app", &[("a", b"1")]);
    let layout = Layout {
        items: BTreeMap::from([(
            "app".into(),
            vec![Item {
                key: "zzz".into(),
                path: "z".into(),
                mode: None,
            }],
        )]),
        ..Layout::default()
    };
    let error = render(std::slice::from_ref(&cm), &layout).err();
    assert_eq!(
        error,
        Some(RenderError::MissingKey {
            source_name: "configmap/default/app".into(),
            key: "zzz".into()
        })
    );
    let other = mk_source(SourceKind::Secret, "other", &[("a", b"2")]);
    let error = render(
        &[cm, other],
        &Layout {
            dirs: DirLayout::Flat,
            ..Layout::default()
        },
    )
    .err();
    assert_eq!(
        error,
        Some(RenderError::DuplicatePath {
            path: "a".into(),
            first: "configmap/default/app key \"a\"".into(),
            second: "secret/default/other key \"a\"".into(),
        })
    );
}

#[test]
fn env_is_rendered_from_every_source_with_warnings() {
    let cm = mk_source(SourceKind::ConfigMap, "app", &[("log.level", b"debug")]);
    let secret = mk_source(SourceKind::Secret, "db", &[("PASSWORD", b"pw")]);
    let layout = Layout {
        env: Some(EnvRules {
            prefix: "APP_".into(),
            upper_case: true,
        }),
        ..Layout::default()
    };
    let rendered = render(&[cm, secret], &layout).expect("renders");
    let env: Vec<(String, Vec<u8>)> = rendered
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    assert_eq!(
        env,
        vec![
            ("APP_LOG_LEVEL".into(), b"debug".to_vec()),
            ("APP_PASSWORD".into(), b"pw".to_vec())
        ]
    );
    assert_eq!(rendered.warnings.len(), 1, "{:?}", rendered.warnings);
    assert!(rendered.warnings[0].contains("log.level"));
    let binary = mk_source(SourceKind::Secret, "bin", &[("k", &[0xc3, 0x28])]);
    let error = render(&[binary], &layout).err();
    assert!(
        matches!(error, Some(RenderError::Env(EnvError::Binary { .. }))),
        "{error:?}"
    );
}

#[test]
fn env_can_come_from_selected_sources_only() {
    let files = mk_source(SourceKind::ConfigMap, "files", &[("app.conf", b"x")]);
    let creds = mk_source(SourceKind::Secret, "creds", &[("TOKEN", b"t")]);
    let layout = Layout {
        env: Some(EnvRules::default()),
        env_sources: Some(["creds".to_string()].into()),
        ..Layout::default()
    };
    let rendered = render(&[files, creds], &layout).expect("renders");
    assert_eq!(rendered.env.keys().collect::<Vec<_>>(), vec!["TOKEN"]);
    assert_eq!(
        rendered.files().len(),
        2,
        "files still come from every source"
    );
}
