//! The handler end to end, without a client: routes, negotiation, watches, errors and faults.
use super::*;
use crate::faults::FaultSettings;
use configsync_apimachinery::registry::builtin_resources;
use http_body_util::BodyExt;
use serde_json::json;

fn mk_handler() -> Handler {
    let settings = HandlerSettings {
        bookmark_interval: Duration::from_millis(20),
    };
    Handler::new(
        Arc::new(State::new(builtin_resources(), 100)),
        Faults::default(),
        settings,
    )
}

fn mk_request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> http::Request<Bytes> {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Bytes::from(body.to_owned()))
        .expect("valid request")
}

/// Call the handler and read the whole body as JSON (Null when not JSON).
async fn call(
    handler: &Handler,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let response = handler.handle(mk_request(method, uri, headers, body)).await;
    let code = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("infallible")
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Open a watch and return a function reading its next event.
async fn open_watch(handler: &Handler, uri: &str) -> ResponseBody {
    let response = handler.handle(mk_request("GET", uri, &[], "")).await;
    assert_eq!(response.status(), 200);
    response.into_body()
}

async fn next_event(body: &mut ResponseBody) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("event in time");
    let data = frame
        .expect("stream open")
        .expect("infallible")
        .into_data()
        .expect("data frame");
    serde_json::from_slice(&data).expect("one JSON event per chunk")
}

const CM: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn unknown_resources_and_paths_are_404() {
    let handler = mk_handler();
    let (code, status) = call(
        &handler,
        "GET",
        "/api/v1/namespaces/default/widgets",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (code, status["kind"].as_str(), status["reason"].as_str()),
        (404, Some("Status"), Some("NotFound"))
    );
    assert_eq!(
        status["message"],
        "the server could not find the requested resource"
    );
    let response = handler
        .handle(mk_request("GET", "/nothing/here", &[], ""))
        .await;
    assert_eq!(response.status(), 404);
    let (code, _) = call(&handler, "GET", "/openapi/v3", &[], "").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn openapi_v2_is_an_empty_protobuf_document() {
    let response = mk_handler()
        .handle(mk_request("GET", "/openapi/v2", &[], ""))
        .await;
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        content_type,
        Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    );
    assert!(
        response
            .into_body()
            .collect()
            .await
            .expect("infallible")
            .to_bytes()
            .is_empty()
    );
}

#[tokio::test]
async fn discovery_stays_legacy_json_when_aggregated_is_asked() {
    let accept = [(
        "accept",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    )];
    let response = mk_handler()
        .handle(mk_request("GET", "/apis", &accept, ""))
        .await;
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"));
    let (code, _) = call(&mk_handler(), "GET", "/apis/nope.example.com/v1", &[], "").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn yaml_bodies_generate_names_and_dry_runs() {
    let handler = mk_handler();
    let yaml = [("content-type", "application/yaml")];
    let (code, created) = call(
        &handler,
        "POST",
        CM,
        &yaml,
        "metadata:\n  generateName: gen-\ndata:\n  k: v\n",
    )
    .await;
    assert_eq!(code, 201);
    assert!(
        created["metadata"]["name"]
            .as_str()
            .is_some_and(|name| name.starts_with("gen-"))
    );
    let (code, _) = call(
        &handler,
        "POST",
        &format!("{CM}?dryRun=All"),
        &[],
        r#"{"metadata":{"name":"dry"}}"#,
    )
    .await;
    assert_eq!(code, 201);
    let (code, _) = call(&handler, "GET", &format!("{CM}/dry"), &[], "").await;
    assert_eq!(code, 404, "a dry run stores nothing");
}

#[tokio::test]
async fn oversized_configmaps_are_invalid() {
    let big = json!({"metadata": {"name": "big"}, "data": {"k": "x".repeat(1024 * 1024 + 1)}})
        .to_string();
    let (code, status) = call(&mk_handler(), "POST", CM, &[], &big).await;
    assert_eq!((code, status["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(
        status["message"],
        "ConfigMap \"big\" is invalid: []: Too long: may not be more than 1048576 bytes"
    );
}

#[tokio::test]
async fn events_share_storage_across_groups() {
    let handler = mk_handler();
    let event = json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Started", "message": "hello", "type": "Normal"});
    let (code, _) = call(
        &handler,
        "POST",
        "/api/v1/namespaces/default/events",
        &[],
        &event.to_string(),
    )
    .await;
    assert_eq!(code, 201);
    let (code, converted) = call(
        &handler,
        "GET",
        "/apis/events.k8s.io/v1/namespaces/default/events/e1",
        &[],
        "",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(converted["apiVersion"], "events.k8s.io/v1");
    assert_eq!(converted["note"], "hello");
}

#[tokio::test]
async fn metadata_only_lists() {
    let handler = mk_handler();
    call(
        &handler,
        "POST",
        CM,
        &[],
        r#"{"metadata":{"name":"m"},"data":{"secret":"x"}}"#,
    )
    .await;
    let accept = [(
        "accept",
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    )];
    let (code, list) = call(&handler, "GET", CM, &accept, "").await;
    assert_eq!(
        (code, list["kind"].as_str()),
        (200, Some("PartialObjectMetadataList"))
    );
    assert_eq!(list["items"][0]["metadata"]["name"], "m");
    assert!(list["items"][0].get("data").is_none());
}

#[tokio::test]
async fn exact_lists_read_the_past() {
    let handler = mk_handler();
    let (_, created) = call(
        &handler,
        "POST",
        CM,
        &[],
        r#"{"metadata":{"name":"x"},"data":{"k":"old"}}"#,
    )
    .await;
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned();
    let merge = [("content-type", "application/merge-patch+json")];
    call(
        &handler,
        "PATCH",
        &format!("{CM}/x"),
        &merge,
        r#"{"data":{"k":"new"}}"#,
    )
    .await;
    let uri = format!("{CM}?resourceVersion={rv}&resourceVersionMatch=Exact");
    let (code, list) = call(&handler, "GET", &uri, &[], "").await;
    assert_eq!(code, 200);
    assert_eq!(list["metadata"]["resourceVersion"], rv.as_str());
    assert_eq!(list["items"][0]["data"]["k"], "old");
    let (code, _) = call(
        &handler,
        "GET",
        &format!("{CM}?resourceVersionMatch=Exact"),
        &[],
        "",
    )
    .await;
    assert_eq!(code, 422, "ListOptions validation, as kube-apiserver");
}

#[tokio::test]
async fn watches_follow_selectors() {
    let handler = mk_handler();
    let mut watch = open_watch(
        &handler,
        &format!("{CM}?watch=true&labelSelector=app%3Dweb"),
    )
    .await;
    call(
        &handler,
        "POST",
        CM,
        &[],
        r#"{"metadata":{"name":"w","labels":{"app":"web"}}}"#,
    )
    .await;
    assert_eq!(next_event(&mut watch).await["type"], "ADDED");
    let merge = [("content-type", "application/merge-patch+json")];
    call(
        &handler,
        "PATCH",
        &format!("{CM}/w"),
        &merge,
        r#"{"metadata":{"labels":{"app":"db"}}}"#,
    )
    .await;
    let event = next_event(&mut watch).await;
    assert_eq!(
        (
            event["type"].as_str(),
            event["object"]["metadata"]["name"].as_str()
        ),
        (Some("DELETED"), Some("w"))
    );
}

#[tokio::test]
async fn initial_events_end_with_an_annotated_bookmark() {
    let handler = mk_handler();
    call(&handler, "POST", CM, &[], r#"{"metadata":{"name":"i"}}"#).await;
    let uri = format!(
        "{CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    );
    let mut watch = open_watch(&handler, &uri).await;
    assert_eq!(next_event(&mut watch).await["type"], "ADDED");
    let bookmark = next_event(&mut watch).await;
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn watch_options_are_validated() {
    let handler = mk_handler();
    let (code, status) = call(
        &handler,
        "GET",
        &format!("{CM}?watch=1&sendInitialEvents=true"),
        &[],
        "",
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(
        status["details"]["causes"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    let uri = format!("{CM}?watch=1&resourceVersion=1&resourceVersionMatch=Exact");
    let (code, status) = call(&handler, "GET", &uri, &[], "").await;
    assert_eq!(code, 422);
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "resourceVersionMatch"
    );
}

#[tokio::test]
async fn scale_subresource_reads_and_writes_replicas() {
    let handler = mk_handler();
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let template = json!({"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let spec =
        json!({"replicas": 2, "selector": {"matchLabels": {"app": "d"}}, "template": template});
    let body = json!({"metadata": {"name": "d"}, "spec": spec});
    call(&handler, "POST", deployments, &[], &body.to_string()).await;
    let (code, scale) = call(&handler, "GET", &format!("{deployments}/d/scale"), &[], "").await;
    assert_eq!(
        (
            code,
            scale["kind"].as_str(),
            scale["spec"]["replicas"].as_i64()
        ),
        (200, Some("Scale"), Some(2))
    );
    assert_eq!(scale["status"]["selector"], "app=d");
    let put = json!({"metadata": {"name": "d"}, "spec": {"replicas": 5}}).to_string();
    call(
        &handler,
        "PUT",
        &format!("{deployments}/d/scale"),
        &[],
        &put,
    )
    .await;
    let (_, deployment) = call(&handler, "GET", &format!("{deployments}/d"), &[], "").await;
    assert_eq!(deployment["spec"]["replicas"], 5);
    assert_eq!(deployment["metadata"]["generation"], 2);
    let entries = deployment["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        entries.iter().any(|entry| entry["subresource"] == "scale"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn injected_throttling_carries_retry_after() {
    let handler = mk_handler();
    handler.faults.set(FaultSettings {
        error_429_share: 1.0,
        retry_after_seconds: 7,
        ..FaultSettings::default()
    });
    let response = handler.handle(mk_request("GET", CM, &[], "")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let (code, _) = call(&handler, "GET", "/api/v1", &[], "").await;
    assert_ne!(code, 429, "discovery is never faulted");
}

#[tokio::test]
async fn field_managers_come_from_the_query_or_the_user_agent() {
    let handler = mk_handler();
    let agent = [(
        "user-agent",
        "kubectl-create/v1.33.0 (linux/amd64) kubernetes/abc",
    )];
    let (_, created) = call(
        &handler,
        "POST",
        CM,
        &agent,
        r#"{"metadata":{"name":"ua"},"data":{"k":"v"}}"#,
    )
    .await;
    assert_eq!(
        created["metadata"]["managedFields"][0]["manager"],
        "kubectl-create"
    );
    let uri = format!("{CM}?fieldManager=kubectl-edit");
    let (_, edited) = call(
        &handler,
        "POST",
        &uri,
        &agent,
        r#"{"metadata":{"name":"fm"},"data":{"k":"v"}}"#,
    )
    .await;
    assert_eq!(
        edited["metadata"]["managedFields"][0]["manager"],
        "kubectl-edit"
    );
}

#[tokio::test]
async fn resource_requests_are_counted_by_client_and_verb() {
    let handler = mk_handler();
    let agent = [("user-agent", "configsync-bench/0.1")];
    let body = r#"{"metadata": {"name": "a"}, "data": {"k": "v"}}"#;
    assert_eq!(call(&handler, "POST", CM, &agent, body).await.0, 201);
    call(&handler, "GET", &format!("{CM}/a"), &agent, "").await;
    call(&handler, "GET", CM, &[], "").await;
    call(&handler, "GET", "/api/v1", &agent, "").await;
    let (code, counts) = call(&handler, "GET", "/configsync.dev/requests", &[], "").await;
    assert_eq!(code, 200);
    assert_eq!(
        counts["byClient"],
        json!({"configsync-bench": {"create": 1, "get": 1}, "unknown": {"list": 1}}),
        "discovery and the counter itself are not counted"
    );
}

#[tokio::test]
async fn field_selectors_accept_only_the_kinds_labels() {
    let handler = mk_handler();
    let events = "/api/v1/namespaces/default/events";
    let (code, _) = call(
        &handler,
        "GET",
        &format!("{events}?fieldSelector=reason%3DX"),
        &[],
        "",
    )
    .await;
    assert_eq!(code, 200);
    for (uri, message) in [
        (
            format!("{events}?fieldSelector=note%3DX"),
            "field label not supported: note",
        ),
        (
            "/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=data.k%3Dv".to_owned(),
            r#""data.k" is not a known field selector: only "metadata.name", "metadata.namespace""#,
        ),
    ] {
        let (code, status) = call(&handler, "GET", &uri, &[], "").await;
        assert_eq!(
            (code, status["reason"].as_str(), status["message"].as_str()),
            (400, Some("BadRequest"), Some(message)),
            "{uri}"
        );
    }
}
