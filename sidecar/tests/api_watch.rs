//! The API-watch source against a minimal fake API server whose watch connections stay open but never deliver an
//! event (the k8s-sidecar #85 failure). The resync notices that the watch missed an update, publishes the listed
//! data, and the watchdog restarts the watch.
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use configsync_sidecar::api::{ApiSource, Selection};
use configsync_sidecar::health::Health;
use configsync_sidecar::metrics::Metrics;
use configsync_sidecar::reload::Retry;
use configsync_sidecar::source::{SourceEvent, SourceKind};
use configsync_sidecar::watchdog::{WatchdogConfig, supervise_source};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

/// The one ConfigMap the fake server holds: `prod/app` with key `k`.
#[derive(Debug)]
struct FakeApi {
    value: String,
    resource_version: u64,
    lists: usize,
    watches: usize,
    /// Answer watches 403, as the API does for a Role without `watch`.
    forbid_watch: bool,
}

fn list_body(api: &FakeApi) -> String {
    serde_json::json!({
        "kind": "ConfigMapList", "apiVersion": "v1",
        "metadata": {"resourceVersion": api.resource_version.to_string()},
        "items": [{
            "metadata": {"name": "app", "namespace": "prod", "resourceVersion": api.resource_version.to_string()},
            "data": {"k": api.value},
        }],
    })
    .to_string()
}

async fn serve(state: Arc<Mutex<FakeApi>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = Arc::clone(&state);
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let query = request.uri().query().unwrap_or_default().to_string();
                let is_watch = query
                    .split('&')
                    .any(|p| p == "watch=true" || p == "watch=1");
                let Ok(mut api) = state.lock() else {
                    panic!("fake API state poisoned")
                };
                let forbidden = is_watch && api.forbid_watch;
                let body: BoxBody<Bytes, Infallible> = if forbidden {
                    api.watches += 1;
                    let status = serde_json::json!({
                        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                        "message": "configmaps is forbidden: User \"system:serviceaccount:prod:app\" cannot watch resource \"configmaps\"",
                    });
                    Full::new(Bytes::from(status.to_string())).boxed()
                } else if is_watch {
                    api.watches += 1;
                    // Connected, then silent forever.
                    BodyExt::boxed(StreamBody::new(futures::stream::pending::<
                        Result<Frame<Bytes>, Infallible>,
                    >()))
                } else {
                    api.lists += 1;
                    Full::new(Bytes::from(list_body(&api))).boxed()
                };
                let response = hyper::Response::builder()
                    .status(if forbidden { 403 } else { 200 })
                    .header("content-type", "application/json")
                    .body(body);
                async move { Ok::<_, Infallible>(response.expect("valid response")) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    url
}

async fn next_value(rx: &mut mpsc::Receiver<SourceEvent>) -> String {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("event in time")
            .expect("open");
        if let SourceEvent::Snapshot { snapshot, .. } = event {
            let data: BTreeMap<_, _> = snapshot.into_iter().flat_map(|s| s.data.clone()).collect();
            return data
                .get("k")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
        }
    }
}

#[tokio::test]
async fn a_silent_watch_is_detected_by_resync_and_restarted() {
    let state = Arc::new(Mutex::new(FakeApi {
        value: "v1".into(),
        resource_version: 1,
        lists: 0,
        watches: 0,
        forbid_watch: false,
    }));
    let url = serve(Arc::clone(&state)).await;
    let config = kube::Config::new(url.parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    let source = ApiSource::new(
        client,
        SourceKind::ConfigMap,
        "prod",
        Selection::Name("app".into()),
        Duration::from_millis(200),
    );
    let watchdog = WatchdogConfig {
        stale_after: Duration::from_secs(30),
        restart: Retry {
            attempts: 1,
            base: Duration::from_millis(50),
            max: Duration::from_millis(50),
        },
    };
    let (tx, mut rx) = mpsc::channel(16);
    let metrics = Metrics::default();
    let task = tokio::spawn(supervise_source(
        Arc::new(source),
        0,
        tx,
        watchdog,
        Health::new(1, Duration::from_secs(30)),
        metrics.clone(),
    ));

    assert_eq!(next_value(&mut rx).await, "v1", "initial list");
    if let Ok(mut api) = state.lock() {
        (api.value, api.resource_version) = ("v2".into(), 2);
    }
    assert_eq!(
        next_value(&mut rx).await,
        "v2",
        "the resync published what the silent watch missed"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metrics.source_restarts() == 0 || state.lock().map(|a| a.watches).unwrap_or(0) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watch was not restarted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        next_value(&mut rx).await,
        "v2",
        "the restarted watch lists the current data"
    );
    task.abort();
}

#[tokio::test]
async fn a_forbidden_watch_falls_back_to_listing_and_reports_only_changes() {
    let state = Arc::new(Mutex::new(FakeApi {
        value: "v1".into(),
        resource_version: 1,
        lists: 0,
        watches: 0,
        forbid_watch: true,
    }));
    let url = serve(Arc::clone(&state)).await;
    let client =
        kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let source = ApiSource::new(
        client,
        SourceKind::ConfigMap,
        "prod",
        Selection::Name("app".into()),
        Duration::from_millis(100),
    );
    let watchdog = WatchdogConfig {
        stale_after: Duration::from_secs(30),
        restart: Retry {
            attempts: 1,
            base: Duration::from_millis(50),
            max: Duration::from_millis(50),
        },
    };
    let (tx, mut rx) = mpsc::channel(16);
    let metrics = Metrics::default();
    let task = tokio::spawn(supervise_source(
        Arc::new(source),
        0,
        tx,
        watchdog,
        Health::new(1, Duration::from_secs(30)),
        metrics.clone(),
    ));
    assert_eq!(
        next_value(&mut rx).await,
        "v1",
        "the list before the refused watch"
    );
    // From here on: one snapshot when listing takes over, then heartbeats while nothing changes.
    let (mut snapshots, mut heartbeats) = (0, 0);
    while heartbeats < 10 {
        let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("event in time")
            .expect("open");
        match event {
            SourceEvent::Snapshot { .. } => snapshots += 1,
            SourceEvent::Heartbeat { .. } => heartbeats += 1,
        }
    }
    assert_eq!(snapshots, 1, "unchanged listings report nothing new");
    let (lists, watches) = state.lock().map(|a| (a.lists, a.watches)).expect("state");
    assert!(lists >= 11, "listed on the interval: {lists}");
    assert_eq!(watches, 1, "the refused watch is not retried");
    assert_eq!(metrics.source_restarts(), 1, "one restart, into listing");
    if let Ok(mut api) = state.lock() {
        (api.value, api.resource_version) = ("v2".into(), 2);
    }
    assert_eq!(
        next_value(&mut rx).await,
        "v2",
        "a change is seen by the next listing"
    );
    task.abort();
}
