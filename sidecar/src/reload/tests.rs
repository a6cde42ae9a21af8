use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::http::{Method, Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::*;

const FAST: Retry = Retry {
    attempts: 3,
    base: Duration::from_millis(1),
    max: Duration::from_millis(5),
};

#[test]
fn backoff_doubles_up_to_max() {
    let retry = Retry {
        attempts: 10,
        base: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };
    let delays: Vec<u128> = (0..6).map(|a| retry.delay(a).as_millis()).collect();
    assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
    assert_eq!(retry.delay(100), Duration::from_secs(1), "no overflow");
}

#[tokio::test]
async fn command_runs_and_failures_are_retried_and_counted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("hits");
    let metrics = Metrics::default();
    let ok = Reloader::Command {
        command: format!("echo hit >> '{}'", marker.display()),
        timeout: Duration::from_secs(10),
    };
    ok.notify(&FAST, &metrics).await.expect("command succeeds");
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("hit\n")
    );
    let failing = Reloader::Command {
        command: format!("echo try >> '{}'; exit 3", marker.display()),
        timeout: Duration::from_secs(10),
    };
    let error = failing
        .notify(&FAST, &metrics)
        .await
        .expect_err("exit 3 fails");
    assert!(error.to_string().contains("exit status: 3"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("hit\ntry\ntry\ntry\n"),
        "3 attempts"
    );
    assert_eq!(
        (
            metrics.reloads("command", true),
            metrics.reloads("command", false)
        ),
        (1, 3)
    );
}

#[tokio::test]
async fn command_timeout_is_an_error() {
    let slow = Reloader::Command {
        command: "sleep 30".into(),
        timeout: Duration::from_millis(100),
    };
    let error = slow.notify_once().await.expect_err("times out");
    assert!(error.to_string().contains("timed out"), "{error}");
}

/// A server that answers 503 to the first `failures` requests, then 200, and counts `POST`s.
async fn flaky_server(failures: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/-/reload", listener.local_addr().expect("addr"));
    let posts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&posts);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            let service = service_fn(move |request: Request<Incoming>| {
                let seen = if request.method() == Method::POST {
                    counter.fetch_add(1, Ordering::SeqCst)
                } else {
                    0
                };
                let status = if seen < failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                };
                let response = Response::builder()
                    .status(status)
                    .body(Full::new(Bytes::new()));
                async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    (url, posts)
}

#[tokio::test]
async fn http_retries_until_the_expected_status() {
    let (url, posts) = flaky_server(1).await;
    let metrics = Metrics::default();
    let request = http::HttpReload::new(&url, "post", 200, Duration::from_secs(5)).expect("valid");
    Reloader::Http(request)
        .notify(&FAST, &metrics)
        .await
        .expect("second attempt succeeds");
    assert_eq!(posts.load(Ordering::SeqCst), 2);
    assert_eq!(
        (
            metrics.reloads("http", false),
            metrics.reloads("http", true)
        ),
        (1, 1)
    );
    let (url, _) = flaky_server(10).await;
    let request = http::HttpReload::new(&url, "post", 200, Duration::from_secs(5)).expect("valid");
    let error = Reloader::Http(request)
        .notify(&FAST, &metrics)
        .await
        .expect_err("always 503");
    assert!(
        matches!(
            error,
            ReloadError::HttpStatus {
                got: StatusCode::SERVICE_UNAVAILABLE,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn only_http_urls_or_https_with_a_ca_are_accepted() {
    let bad_method =
        http::HttpReload::new("http://x/", "NOT A METHOD", 200, Duration::from_secs(1));
    assert!(matches!(bad_method, Err(ReloadError::InvalidUrl { .. })));
    for url in ["https://x/-/reload", "ftp://x/", "not a url", "/relative"] {
        let error = http::HttpReload::new(url, "POST", 200, Duration::from_secs(1));
        assert!(
            matches!(error, Err(ReloadError::InvalidUrl { .. })),
            "{url}"
        );
    }
}

#[tokio::test]
async fn signal_reaches_the_process_in_the_pid_file() {
    let mut child = tokio::process::Command::new("sleep")
        .arg("30")
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let pid = child.id().expect("running");
    let tmp = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(tmp.path(), pid.to_string()).expect("pid file");
    let reloader = Reloader::Signal {
        target: ProcessTarget::PidFile(tmp.path().into()),
        signal: Signal::TERM,
    };
    reloader
        .notify(&FAST, &Metrics::default())
        .await
        .expect("signal sent");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .expect("status");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15));
    let nobody = Reloader::Signal {
        target: ProcessTarget::Name("no-such-process-xyz".into()),
        signal: Signal::HUP,
    };
    assert!(matches!(
        nobody.notify_once().await,
        Err(ReloadError::NoProcess { .. })
    ));
}

#[tokio::test]
async fn each_runs_the_command_then_the_request_and_retries_each_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("script-runs");
    let (url, posts) = flaky_server(2).await;
    let metrics = Metrics::default();
    let each = Reloader::Each(vec![
        Reloader::Command {
            command: format!("echo run >> '{}'", marker.display()),
            timeout: Duration::from_secs(10),
        },
        Reloader::Http(
            http::HttpReload::new(&url, "POST", 200, Duration::from_secs(5)).expect("valid"),
        ),
    ]);
    each.notify(&FAST, &metrics)
        .await
        .expect("third request succeeds");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        3,
        "the request was retried twice"
    );
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("run\n"),
        "the command ran once: a failed request does not re-run it"
    );
}
