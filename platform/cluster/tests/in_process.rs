//! kube-rs clients and kube-runtime against the in-process cluster: CRUD semantics, watches (resumption,
//! bookmarks, 410 Gone, streaming lists), a `Controller` that sees patches, paging and fault injection.
use configsync_cluster::{Config, EmbeddedCluster, FaultSettings};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn mk_cluster(config: Config) -> EmbeddedCluster {
    EmbeddedCluster::start(Config {
        run_controllers: false,
        ..config
    })
    .await
}

fn mk_configmap(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "data": {"key": value},
    }))
    .expect("valid ConfigMap")
}

fn merge(value: &str) -> Patch<serde_json::Value> {
    Patch::Merge(json!({"data": {"key": value}}))
}

#[tokio::test]
async fn crud_conflicts_and_status_errors() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    let created = api
        .create(&PostParams::default(), &mk_configmap("a", "1"))
        .await
        .expect("create");
    assert!(created.metadata.uid.is_some());
    let duplicate = api
        .create(&PostParams::default(), &mk_configmap("a", "1"))
        .await
        .expect_err("duplicate");
    assert!(
        matches!(duplicate, kube::Error::Api(ref status) if status.code == 409 && status.reason == "AlreadyExists"),
        "{duplicate:?}"
    );
    api.patch("a", &PatchParams::default(), &merge("2"))
        .await
        .expect("patch");
    let stale = api
        .replace("a", &PostParams::default(), &created)
        .await
        .expect_err("stale");
    assert!(
        matches!(stale, kube::Error::Api(ref status) if status.code == 409 && status.reason == "Conflict"),
        "{stale:?}"
    );
    let fetched = api.get("a").await.expect("get");
    assert_eq!(fetched.data.expect("data")["key"], "2");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let missing = api.get("a").await.expect_err("gone");
    assert!(
        matches!(missing, kube::Error::Api(ref status) if status.code == 404),
        "{missing:?}"
    );
}

#[tokio::test]
async fn watcher_sees_patches() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    api.create(&PostParams::default(), &mk_configmap("watched", "1"))
        .await
        .expect("create");
    let mut events = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    let saw_value = |event: &watcher::Event<ConfigMap>, wanted: &str| match event {
        watcher::Event::Apply(cm) | watcher::Event::InitApply(cm) => {
            cm.data
                .as_ref()
                .and_then(|data| data.get("key"))
                .map(String::as_str)
                == Some(wanted)
        }
        _ => false,
    };
    timeout(WAIT, async {
        while let Some(event) = events.try_next().await.expect("watch") {
            if saw_value(&event, "1") {
                break;
            }
        }
    })
    .await
    .expect("initial object");
    api.patch("watched", &PatchParams::default(), &merge("2"))
        .await
        .expect("patch");
    timeout(WAIT, async {
        while let Some(event) = events.try_next().await.expect("watch") {
            if saw_value(&event, "2") {
                break;
            }
        }
    })
    .await
    .expect("patched object seen through the watch");
}

#[tokio::test]
async fn controller_reconciles_after_patches() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    api.create(&PostParams::default(), &mk_configmap("reconciled", "1"))
        .await
        .expect("create");
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let reconcile = |cm: Arc<ConfigMap>,
                     seen_tx: Arc<tokio::sync::mpsc::UnboundedSender<String>>| async move {
        let value = cm
            .data
            .as_ref()
            .and_then(|data| data.get("key"))
            .cloned()
            .unwrap_or_default();
        let _ = seen_tx.send(value);
        Ok::<_, kube::Error>(Action::await_change())
    };
    let error_policy =
        |_: Arc<ConfigMap>, _: &kube::Error, _: Arc<tokio::sync::mpsc::UnboundedSender<String>>| {
            Action::requeue(Duration::from_secs(1))
        };
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(seen_tx))
        .for_each(|_| async {});
    let task = tokio::spawn(controller);
    wait_for(&mut seen_rx, "1").await;
    api.patch("reconciled", &PatchParams::default(), &merge("2"))
        .await
        .expect("patch");
    wait_for(&mut seen_rx, "2").await;
    task.abort();
}

async fn wait_for(seen_rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, wanted: &str) {
    let found = timeout(WAIT, async {
        while let Some(value) = seen_rx.recv().await {
            if value == wanted {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "a reconcile saw value {wanted}");
}

#[tokio::test]
async fn watch_resumes_from_a_version_and_expires_old_ones() {
    let cluster = mk_cluster(Config {
        history_capacity: 4,
        ..Config::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    let first = api
        .create(&PostParams::default(), &mk_configmap("r", "0"))
        .await
        .expect("create");
    let start = first.metadata.resource_version.clone().expect("rv");
    api.patch("r", &PatchParams::default(), &merge("1"))
        .await
        .expect("patch");
    let mut resumed = api
        .watch(&WatchParams::default(), &start)
        .await
        .expect("watch")
        .boxed();
    let event = timeout(WAIT, resumed.try_next())
        .await
        .expect("in time")
        .expect("ok")
        .expect("event");
    assert!(
        matches!(event, WatchEvent::Modified(ref cm) if cm.data.as_ref().expect("data")["key"] == "1"),
        "{event:?}"
    );
    for i in 2..10 {
        api.patch("r", &PatchParams::default(), &merge(&i.to_string()))
            .await
            .expect("patch");
    }
    let mut expired = api
        .watch(&WatchParams::default(), &start)
        .await
        .expect("watch")
        .boxed();
    let event = timeout(WAIT, expired.try_next())
        .await
        .expect("in time")
        .expect("ok")
        .expect("event");
    assert!(
        matches!(event, WatchEvent::Error(ref status) if status.code == 410),
        "{event:?}"
    );
}

#[tokio::test]
async fn bookmarks_and_streaming_lists() {
    let cluster = mk_cluster(Config {
        bookmark_interval: Duration::from_millis(50),
        ..Config::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    let created = api
        .create(&PostParams::default(), &mk_configmap("b", "0"))
        .await
        .expect("create");
    let rv = created.metadata.resource_version.expect("rv");
    let mut stream = api
        .watch(
            &WatchParams {
                bookmarks: true,
                ..WatchParams::default()
            },
            &rv,
        )
        .await
        .expect("watch")
        .boxed();
    let event = timeout(WAIT, stream.try_next())
        .await
        .expect("in time")
        .expect("ok")
        .expect("event");
    assert!(matches!(event, WatchEvent::Bookmark(_)), "{event:?}");
    let streaming = watcher::Config::default().streaming_lists();
    let mut events = watcher::watcher(api.clone(), streaming).boxed();
    let mut initial = Vec::new();
    timeout(WAIT, async {
        while let Some(event) = events.try_next().await.expect("watch") {
            match event {
                watcher::Event::InitApply(cm) => initial.push(cm.metadata.name.unwrap_or_default()),
                watcher::Event::InitDone => break,
                _ => {}
            }
        }
    })
    .await
    .expect("initial events end");
    assert_eq!(initial, ["b"]);
}

#[tokio::test]
async fn paging_is_consistent_while_objects_change() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    for name in ["p1", "p2", "p3", "p4"] {
        api.create(&PostParams::default(), &mk_configmap(name, "v"))
            .await
            .expect("create");
    }
    let first = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    let names = |list: &kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        list.items
            .iter()
            .map(|cm| cm.metadata.name.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(names(&first), ["p1", "p2"]);
    api.delete("p3", &DeleteParams::default())
        .await
        .expect("delete during paging");
    let token = first.metadata.continue_.clone().expect("continue token");
    let second = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(
        names(&second),
        ["p3", "p4"],
        "the second page comes from the same snapshot"
    );
    let selected = api
        .list(
            &ListParams::default()
                .labels("app=web")
                .fields("metadata.name=p4"),
        )
        .await
        .expect("select");
    assert_eq!(names(&selected), ["p4"]);
}

#[tokio::test]
async fn faults_fail_requests_and_close_watches() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    let mut stream = api
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    cluster.faults().close_watches();
    let ended = timeout(WAIT, async {
        while stream.try_next().await.ok().flatten().is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the watch stream ends when faults close watches"
    );
    cluster.faults().set(FaultSettings {
        error_500_share: 1.0,
        ..FaultSettings::default()
    });
    let failed = api
        .list(&ListParams::default())
        .await
        .expect_err("injected 500");
    assert!(
        matches!(failed, kube::Error::Api(ref status) if status.code == 500),
        "{failed:?}"
    );
    cluster.faults().set(FaultSettings::default());
    api.list(&ListParams::default())
        .await
        .expect("healthy again");
}

/// Send one raw HTTP/1.1 request and return the status code.
async fn raw_http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn http_server_with_kubeconfig_and_fault_admin() {
    let mut cluster = mk_cluster(Config::default()).await;
    let addr = cluster.serve_http(0).await.expect("bind");
    assert_eq!(cluster.http_addr(), Some(addr));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&path).expect("kubeconfig");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("parse kubeconfig");
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("client config");
    let client = kube::Client::try_from(config).expect("client");
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let mut events = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    api.create(&PostParams::default(), &mk_configmap("over-http", "1"))
        .await
        .expect("create over HTTP");
    let seen = timeout(WAIT, async {
        while let Some(event) = events.try_next().await.expect("watch over HTTP") {
            if let watcher::Event::Apply(cm) | watcher::Event::InitApply(cm) = event
                && cm.metadata.name.as_deref() == Some("over-http")
            {
                return;
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "the HTTP watch streams the created object");
    assert_eq!(
        raw_http(
            addr,
            "PUT",
            "/configsync.dev/faults",
            r#"{"error500Share": 1.0}"#
        )
        .await,
        200
    );
    assert_eq!(
        raw_http(addr, "GET", "/api/v1/namespaces/default/configmaps", "").await,
        500
    );
    assert_eq!(
        raw_http(addr, "PUT", "/configsync.dev/faults", "{}").await,
        200
    );
    assert_eq!(
        raw_http(addr, "GET", "/api/v1/namespaces/default/configmaps", "").await,
        200
    );
}

#[tokio::test]
async fn metadata_watcher_and_body_limits() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    let metadata: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::default_namespaced(cluster.client());
    let mut events = watcher::watcher(metadata, watcher::Config::default()).boxed();
    api.create(&PostParams::default(), &mk_configmap("meta", "1"))
        .await
        .expect("create");
    let seen = timeout(WAIT, async {
        while let Some(event) = events.try_next().await.expect("metadata watch") {
            if let watcher::Event::Apply(meta) | watcher::Event::InitApply(meta) = event
                && meta.metadata.name.as_deref() == Some("meta")
            {
                return meta.metadata.labels.unwrap_or_default();
            }
        }
        Default::default()
    })
    .await
    .expect("metadata event in time");
    assert_eq!(seen.get("app").map(String::as_str), Some("web"));
    let huge = mk_configmap("huge", &"x".repeat(4 * 1024 * 1024));
    let refused = api
        .create(&PostParams::default(), &huge)
        .await
        .expect_err("over the body limit");
    assert!(
        matches!(refused, kube::Error::Api(ref status) if status.code == 413),
        "{refused:?}"
    );
    let big = mk_configmap("big", &"x".repeat(1024 * 1024 + 1));
    let invalid = api
        .create(&PostParams::default(), &big)
        .await
        .expect_err("over 1 MiB");
    assert!(
        matches!(invalid, kube::Error::Api(ref status) if status.code == 422),
        "{invalid:?}"
    );
}

#[tokio::test]
async fn faults_answer_409_and_429_shares_and_delay_answers() {
    let cluster = mk_cluster(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    cluster.faults().set(FaultSettings {
        conflict_409_share: 1.0,
        ..FaultSettings::default()
    });
    let conflict = api
        .create(&PostParams::default(), &mk_configmap("c", "1"))
        .await
        .expect_err("injected 409");
    assert!(
        matches!(conflict, kube::Error::Api(ref status) if status.code == 409 && status.reason == "Conflict"),
        "{conflict:?}"
    );
    let listed = api
        .list(&ListParams::default())
        .await
        .expect("reads are never answered 409");
    assert!(listed.items.is_empty(), "the injected 409 stored nothing");
    cluster.faults().set(FaultSettings {
        error_429_share: 1.0,
        ..FaultSettings::default()
    });
    let throttled = api
        .list(&ListParams::default())
        .await
        .expect_err("injected 429");
    assert!(
        matches!(throttled, kube::Error::Api(ref status) if status.code == 429),
        "{throttled:?}"
    );
    let latency = Duration::from_millis(300);
    cluster.faults().set(FaultSettings {
        latency_ms: 300,
        ..FaultSettings::default()
    });
    let started = std::time::Instant::now();
    api.list(&ListParams::default())
        .await
        .expect("delayed, not failed");
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
}

#[tokio::test]
async fn api_latency_delays_every_answer_and_outlives_fault_settings() {
    let latency = Duration::from_millis(150);
    let cluster = mk_cluster(Config {
        api_latency: latency,
        ..Config::default()
    })
    .await;
    assert_eq!(cluster.faults().base_latency(), latency);
    let api: Api<ConfigMap> = Api::default_namespaced(cluster.client());
    let started = std::time::Instant::now();
    api.create(&PostParams::default(), &mk_configmap("slow", "1"))
        .await
        .expect("delayed, not failed");
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    // Replacing the fault settings (as tests do) keeps the cluster's own latency.
    cluster.faults().set(FaultSettings::default());
    let started = std::time::Instant::now();
    api.get("slow").await.expect("read back");
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    // Concurrent requests wait side by side, not one after the other.
    let started = std::time::Instant::now();
    let reads: Vec<_> = (0..8).map(|_| api.get("slow")).collect();
    for read in futures::future::join_all(reads).await {
        read.expect("read");
    }
    assert!(
        started.elapsed() < latency * 4,
        "8 concurrent reads took {:?}",
        started.elapsed()
    );
}
