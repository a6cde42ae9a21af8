use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::http::{Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::*;
use crate::source::snapshot;

const FAST: Retry = Retry {
    attempts: 2,
    base: Duration::from_millis(1),
    max: Duration::from_millis(2),
};

/// A server answering `/ok` with "downloaded", `/big` with more than [`DOWNLOAD_LIMIT`] bytes, `/broken` with a 503
/// and a body, anything else with a 404; `/auth` answers its Authorization header. Counts requests.
async fn server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            let service = service_fn(move |request: Request<Incoming>| {
                counter.fetch_add(1, Ordering::SeqCst);
                let authorization = request
                    .headers()
                    .get("authorization")
                    .map(|v| v.as_bytes().to_vec());
                let (status, body) = match request.uri().path() {
                    "/ok" => (StatusCode::OK, b"downloaded".to_vec()),
                    "/big" => (StatusCode::OK, vec![b'x'; DOWNLOAD_LIMIT + 1]),
                    "/broken" => (StatusCode::SERVICE_UNAVAILABLE, b"maintenance".to_vec()),
                    "/auth" => (StatusCode::OK, authorization.unwrap_or_default()),
                    _ => (StatusCode::NOT_FOUND, b"not found".to_vec()),
                };
                let response = Response::builder()
                    .status(status)
                    .body(Full::new(Bytes::from(body)));
                async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    (base, hits)
}

fn object(name: &str, data: &[(&str, &str)]) -> SourceData {
    SourceData {
        kind: SourceKind::ConfigMap,
        namespace: "ns".into(),
        name: name.into(),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect(),
    }
}

fn files(object: &SourceData) -> BTreeMap<String, String> {
    object
        .data
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn text(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn only_keys_ending_in_url_with_a_name_are_downloaded() {
    assert_eq!(target("board.json.url"), Some("board.json"));
    assert_eq!(target("team/board.url"), Some("team/board"));
    assert_eq!(target(".url"), None);
    assert_eq!(target("team/.url"), None);
    assert_eq!(target("board.json"), None);
    assert_eq!(target("board.urls"), None);
}

#[tokio::test]
async fn a_url_key_becomes_the_file_without_url_holding_the_download() {
    let (base, hits) = server().await;
    let downloads = Downloads::new(HttpOptions::default(), FAST, false);
    let metrics = Metrics::default();
    downloads.attach_metrics(metrics.clone());
    let ok = format!("{base}/ok");
    let first = object("a", &[("board.json.url", &ok), ("plain.txt", "kept")]);
    let resolved = downloads.resolve(snapshot([first.clone()])).await;
    assert_eq!(
        files(&resolved[0]),
        text(&[("board.json", "downloaded"), ("plain.txt", "kept")])
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.url_downloads(DownloadResult::Ok), 1);
    // Another object appears: the unchanged one is not downloaded again.
    let other = object("b", &[("x", "y")]);
    let resolved = downloads.resolve(snapshot([first.clone(), other])).await;
    assert_eq!(files(&resolved[0])["board.json"], "downloaded");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no second download");
    // The object changes: its keys are downloaded again.
    let changed = object("a", &[("board.json.url", &ok), ("plain.txt", "edited")]);
    downloads.resolve(snapshot([changed])).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(
        metrics.url_downloads(DownloadResult::Ok),
        2,
        "counted per download, not per snapshot"
    );
    assert_eq!(metrics.url_downloads(DownloadResult::Error), 0);
}

#[tokio::test]
async fn a_failed_download_keeps_the_last_content_or_writes_nothing() {
    let (base, hits) = server().await;
    let downloads = Downloads::new(HttpOptions::default(), FAST, false);
    let metrics = Metrics::default();
    downloads.attach_metrics(metrics.clone());
    let (ok, missing, big, broken) = (
        format!("{base}/ok"),
        format!("{base}/missing"),
        format!("{base}/big"),
        format!("{base}/broken"),
    );
    let never = object(
        "a",
        &[
            ("missing.url", &missing),
            ("big.url", &big),
            ("broken.url", &broken),
            ("bad.url", "not a url"),
        ],
    );
    let resolved = downloads.resolve(snapshot([never])).await;
    assert_eq!(files(&resolved[0]), text(&[]), "no file, not even empty");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        5,
        "too large and 503 are each tried twice, 404 once, the bad URL never"
    );
    let count = |result| metrics.url_downloads(result);
    assert_eq!(
        (
            count(DownloadResult::BadStatus),
            count(DownloadResult::Error)
        ),
        (2, 2),
        "404 and 503 answered a status; too large and the bad URL gave nothing usable"
    );
    assert_eq!(count(DownloadResult::Ok), 0);
    let good = object("b", &[("board.url", &ok)]);
    downloads.resolve(snapshot([good])).await;
    let now_failing = object("b", &[("board.url", &missing)]);
    let resolved = downloads.resolve(snapshot([now_failing])).await;
    assert_eq!(
        files(&resolved[0]),
        text(&[("board", "downloaded")]),
        "the last good content stays"
    );
    assert_eq!(
        (count(DownloadResult::Ok), count(DownloadResult::BadStatus)),
        (1, 3)
    );
}

#[tokio::test]
async fn enable_5xx_takes_a_server_error_body_and_credentials_are_sent() {
    let (base, _) = server().await;
    let downloads = Downloads::new(HttpOptions::default(), FAST, true);
    let broken = format!("{base}/broken");
    let resolved = downloads
        .resolve(snapshot([object("a", &[("page.url", &broken)])]))
        .await;
    assert_eq!(files(&resolved[0]), text(&[("page", "maintenance")]));
    let options = HttpOptions {
        auth: Some(crate::reload::http::BasicAuth {
            username: crate::reload::http::Credential::value("admin"),
            password: crate::reload::http::Credential::value("pw"),
        }),
        ..HttpOptions::default()
    };
    let downloads = Downloads::new(options, FAST, false);
    let auth = format!("{base}/auth");
    let resolved = downloads
        .resolve(snapshot([object("a", &[("who.url", &auth)])]))
        .await;
    // base64("admin:pw")
    assert_eq!(files(&resolved[0]), text(&[("who", "Basic YWRtaW46cHc=")]));
}

/// A source that reports one fixed snapshot and a heartbeat, then ends with an error.
struct Fixed(Snapshot);

impl Source for Fixed {
    fn describe(&self) -> String {
        "fixed".into()
    }

    fn start(
        &self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> BoxFuture<'static, Result<(), SourceError>> {
        let snapshot = self.0.clone();
        Box::pin(async move {
            tx.send(SourceEvent::Snapshot { slot, snapshot })
                .await
                .map_err(|_| SourceError::Closed)?;
            tx.send(SourceEvent::Heartbeat { slot })
                .await
                .map_err(|_| SourceError::Closed)?;
            Err(SourceError::Unavailable("done".into()))
        })
    }
}

#[tokio::test]
async fn the_wrapped_source_reports_downloaded_snapshots_then_its_own_end() {
    let (base, _) = server().await;
    let ok = format!("{base}/ok");
    let inner = Arc::new(Fixed(snapshot([object("a", &[("f.url", &ok)])])));
    let source = UrlKeys::new(
        inner,
        Arc::new(Downloads::new(HttpOptions::default(), FAST, false)),
    );
    assert_eq!(source.describe(), "fixed");
    let metrics = Metrics::default();
    source.attach_metrics(&metrics);
    let (tx, mut rx) = mpsc::channel(4);
    let ended = source.start(7, tx).await;
    assert!(
        matches!(ended, Err(SourceError::Unavailable(_))),
        "{ended:?}"
    );
    match rx.recv().await {
        Some(SourceEvent::Snapshot { slot: 7, snapshot }) => {
            assert_eq!(files(&snapshot[0]), text(&[("f", "downloaded")]));
            assert_eq!(metrics.url_downloads(DownloadResult::Ok), 1);
        }
        other => panic!("expected the snapshot first, got {other:?}"),
    }
    assert!(matches!(
        rx.recv().await,
        Some(SourceEvent::Heartbeat { slot: 7 })
    ));
}

#[tokio::test]
async fn objects_keep_their_arc_and_a_moved_object_is_not_downloaded_again() {
    let (base, hits) = server().await;
    let downloads = Downloads::new(HttpOptions::default(), FAST, false);
    let ok = format!("{base}/ok");
    let with_url = Arc::new(object("m", &[("board.json.url", &ok)]));
    let plain = Arc::new(object("z", &[("x", "y")]));
    let first = downloads
        .resolve(vec![Arc::clone(&with_url), Arc::clone(&plain)])
        .await;
    assert!(
        Arc::ptr_eq(&first[1], &plain),
        "no .url key: handed on as it came"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A new object sorts first: the downloaded one moved, and is found by identity.
    let newcomer = Arc::new(object("a", &[("k", "v")]));
    let second = downloads
        .resolve(vec![newcomer, Arc::clone(&with_url), Arc::clone(&plain)])
        .await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no second download");
    assert!(
        Arc::ptr_eq(&second[1], &first[0]),
        "the same downloaded object"
    );
    assert!(Arc::ptr_eq(&second[2], &plain));
}
