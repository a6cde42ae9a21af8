//! The table of raw HTTP cases: each a list of requests exactly as kube-rs (the operator and the sidecar),
//! kubectl or client-go encode them, sent to both backends in a fresh namespace of the same name.
//!
//! Placeholders in paths and bodies: `{ns}` the case's namespace; `{rv@N}`, `{uid@N}`, `{continue@N}` the
//! `metadata.resourceVersion`, `metadata.uid` and `metadata.continue` of step N's answer on the same backend.
//! A case's `approx` lists the known approximations (`platform/cluster/src/lib.rs`): JSON pointers into one step's
//! answer (`#code` for the status code) blanked on both sides, each with its reason; everything else is compared
//! strictly. `volatile` pointers are blanked because a controller races the request on both backends
//! (`@N/pointer`: in step N only).

/// One request.
pub struct Step {
    pub method: &'static str,
    pub path: String,
    pub accept: &'static str,
    pub content_type: &'static str,
    pub body: Option<String>,
}

/// A known approximation: what differs in step `step`'s answer, and why.
pub struct Approx {
    pub step: usize,
    pub pointers: &'static [&'static str],
    pub reason: &'static str,
}

pub struct Case {
    pub name: &'static str,
    pub client: &'static str,
    pub steps: Vec<Step>,
    pub approx: Vec<Approx>,
    pub volatile: Vec<&'static str>,
}

const JSON: &str = "application/json";
pub const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const METADATA: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA_ONE: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const APPLY: &str = "application/apply-patch+yaml";

fn step(
    method: &'static str,
    path: &str,
    content_type: &'static str,
    body: Option<String>,
) -> Step {
    Step {
        method,
        path: path.to_owned(),
        accept: JSON,
        content_type,
        body,
    }
}

fn get(path: &str) -> Step {
    step("GET", path, JSON, None)
}

fn get_as(path: &str, accept: &'static str) -> Step {
    Step {
        accept,
        ..get(path)
    }
}

fn post(path: &str, body: serde_json::Value) -> Step {
    step("POST", path, JSON, Some(body.to_string()))
}

fn put(path: &str, body: serde_json::Value) -> Step {
    step("PUT", path, JSON, Some(body.to_string()))
}

fn patch(path: &str, content_type: &'static str, body: serde_json::Value) -> Step {
    step("PATCH", path, content_type, Some(body.to_string()))
}

fn delete(path: &str, body: Option<serde_json::Value>) -> Step {
    step("DELETE", path, JSON, body.map(|b| b.to_string()))
}

const CMS: &str = "/api/v1/namespaces/{ns}/configmaps";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/{ns}/deployments";

fn cm(name: &str, data: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"conf": "yes"}}, "data": data})
}

fn deployment(name: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"conf": "yes"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1",
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "side", "image": "busybox:1"}]}}}})
}

fn case(name: &'static str, client: &'static str, steps: Vec<Step>) -> Case {
    Case {
        name,
        client,
        steps,
        approx: Vec::new(),
        volatile: Vec::new(),
    }
}

fn p(path: &str, rest: &str) -> String {
    format!("{path}{rest}")
}

/// Deployment answers: the deployment controller races each request on both backends.
const DEPLOY_VOLATILE: &[&str] = &[
    "/status",
    "/metadata/annotations/deployment.kubernetes.io~1revision",
];

pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(writes());
    cases.extend(errors());
    cases.extend(reads());
    cases.extend(watches());
    cases.extend(patches());
    cases.extend(deletes());
    cases.extend(services_and_ingresses());
    for (name, approx) in approximations() {
        let case = cases.iter_mut().find(|case| case.name == name);
        case.unwrap_or_else(|| panic!("approximation for unknown case {name}"))
            .approx
            .push(approx);
    }
    cases
}

const PORTS_KEY: &str = "server-side apply keys container and service ports by port number alone; kube-apiserver keys them by port and protocol (listMapKeys differ from the patchMergeKey the embedded schema table records)";
pub const WATCH_FROM_1: &str = "the embedded event history starts at revision 1, so a watch from resourceVersion 1 replays it while kube-apiserver's watch cache, started later, answers 410 Expired; watches older than the retained history get 410 on both";
pub const SELECTOR_WORDING: &str =
    "label selector syntax errors are worded by the embedded parser (same code and reason)";

fn approx(step: usize, pointers: &'static [&'static str], reason: &'static str) -> Approx {
    Approx {
        step,
        pointers,
        reason,
    }
}

/// The known approximations of the embedded server (`platform/cluster/src/lib.rs`, `# Approximations`), by case.
fn approximations() -> Vec<(&'static str, Approx)> {
    let unknown_fields = "unknown fields of built-in kinds are stored rather than pruned, and fieldValidation is not enforced: the embedded server has no Go structs for built-in kinds";
    let foreground = "propagationPolicy=Foreground acts as Background for kinds without owned dependents (ConfigMaps), so the object is removed at once instead of waiting on the foregroundDeletion finalizer";
    let ssa_ports = |step| {
        approx(
            step,
            &[
                "/metadata/managedFields/0/fieldsV1/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"main\"}/f:ports",
            ],
            PORTS_KEY,
        )
    };
    vec![
        (
            "create-400-strict-field-validation",
            approx(0, &["#code", ""], unknown_fields),
        ),
        (
            "create-400-strict-field-validation",
            approx(1, &["/bogus", "/metadata/managedFields"], unknown_fields),
        ),
        (
            "create-event-events-k8s-io",
            approx(
                0,
                &["/metadata/managedFields"],
                "events.k8s.io/v1 Events are stored as core/v1 Events, so managedFields record the core/v1 field set",
            ),
        ),
        (
            "list-400-bad-label-selector",
            approx(0, &["/message"], SELECTOR_WORDING),
        ),
        (
            "watch-400-bad-selector",
            approx(0, &["/message"], SELECTOR_WORDING),
        ),
        (
            "list-pagination",
            approx(
                2 + 3,
                &["/message"],
                "an undecodable continue token is reported with one fixed message (same code and reason)",
            ),
        ),
        (
            "create-400-malformed-json",
            approx(
                0,
                &["/message"],
                "JSON syntax errors are worded by serde_json, not by Go's encoding/json (same code and reason)",
            ),
        ),
        (
            "create-service-defaults",
            approx(
                0,
                &["/metadata/managedFields/0/fieldsV1/f:spec/f:ports"],
                PORTS_KEY,
            ),
        ),
        ("patch-strategic-merge-lists", ssa_ports(4)),
        ("patch-strategic-merge-lists", ssa_ports(5)),
        (
            "patch-strategic-422-and-errors",
            approx(
                2,
                &["#code", "/code", "/message", "/reason"],
                "a strategic merge patch list item without its merge key is a 400 BadRequest here; kube-apiserver answers 500 with a Go-formatted map",
            ),
        ),
        (
            "patch-strategic-422-and-errors",
            approx(
                3,
                &["/details", "/message"],
                "a wrongly typed value in a strategic merge patch is reported as a field error of the patched object (spec.replicas); kube-apiserver reports it on `patch` with a Go-formatted value",
            ),
        ),
        (
            "delete-propagation-and-dry-run",
            approx(3, &[""], foreground),
        ),
        ("watch-410-too-old", approx(0, &[""], WATCH_FROM_1)),
        ("service-address-allocation", ports_key(0)),
        ("service-address-allocation", ports_key(4)),
    ]
}

fn ports_key(step: usize) -> Approx {
    approx(
        step,
        &["/metadata/managedFields/0/fieldsV1/f:spec/f:ports"],
        PORTS_KEY,
    )
}

const SERVICES: &str = "/api/v1/namespaces/{ns}/services";
const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses";

fn node_port_service(name: &str, spec: serde_json::Value) -> serde_json::Value {
    let mut service = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}});
    if let (Some(base), Some(extra)) = (service["spec"].as_object_mut(), spec.as_object()) {
        base.extend(extra.clone());
    }
    service
}

fn ingress(name: &str, spec: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
        "spec": spec})
}

/// Service addresses (requested ones from the static bands, 10.96.0.0/24 and 30000-30085, which dynamic
/// allocations avoid on kube-apiserver) and Ingresses, as the course's chapters 8 and 9 use them.
fn services_and_ingresses() -> Vec<Case> {
    let backend = serde_json::json!({"service": {"name": "web", "port": {"number": 80}}});
    vec![
        Case {
            // Dynamic addresses are chosen at random by kube-apiserver, in order here.
            volatile: vec![
                "@4/spec/clusterIP",
                "@4/spec/clusterIPs/0",
                "@4/spec/ports/0/nodePort",
            ],
            ..case(
                "service-address-allocation",
                "kubectl",
                vec![
                    post(
                        SERVICES,
                        node_port_service(
                            "a",
                            serde_json::json!({
                        "clusterIP": "10.96.0.213", "ports": [{"port": 80, "nodePort": 30057}]}),
                        ),
                    ),
                    post(
                        SERVICES,
                        node_port_service(
                            "b",
                            serde_json::json!({
                        "clusterIP": "10.96.0.213", "ports": [{"port": 80, "nodePort": 30057}]}),
                        ),
                    ),
                    post(
                        SERVICES,
                        node_port_service(
                            "c",
                            serde_json::json!({
                        "ports": [{"port": 80, "nodePort": 40000}]}),
                        ),
                    ),
                    patch(
                        &p(SERVICES, "/a"),
                        MERGE,
                        serde_json::json!({"spec": {"clusterIP": "10.96.0.214"}}),
                    ),
                    post(
                        SERVICES,
                        node_port_service("d", serde_json::json!({"type": "LoadBalancer"})),
                    ),
                    post(
                        SERVICES,
                        node_port_service("e", serde_json::json!({"clusterIP": "10.9.0.1"})),
                    ),
                ],
            )
        },
        case(
            "ingress-create-table-and-validation",
            "kubectl",
            vec![
                post(
                    INGRESSES,
                    ingress(
                        "web",
                        serde_json::json!({"ingressClassName": "nginx",
                    "tls": [{"hosts": ["secure.example.com"], "secretName": "web-tls"}],
                    "rules": [{"host": "secure.example.com", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": backend}]}}]}),
                    ),
                ),
                get_as(INGRESSES, TABLE),
                post(INGRESSES, ingress("bad", serde_json::json!({}))),
                post(
                    INGRESSES,
                    ingress(
                        "bad",
                        serde_json::json!({"rules": [{"host": "10.0.0.1",
                    "http": {"paths": [{"path": "x", "backend": {}}]}}]}),
                    ),
                ),
                post(
                    INGRESSES,
                    ingress(
                        "bad",
                        serde_json::json!({"rules": [{"host": "*.example.com",
                    "http": {"paths": [{"path": "/x", "pathType": "Exact", "backend": {"service": {"name": "web"}}}]}}],
                    "tls": [{"secretName": "Bad_Name"}]}),
                    ),
                ),
            ],
        ),
    ]
}

fn writes() -> Vec<Case> {
    vec![
        case(
            "create-configmap-and-get",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "v"}))),
                get(&p(CMS, "/a")),
                get(&p(CMS, "/a?&resourceVersion=0")),
            ],
        ),
        case(
            "create-secret-stringdata-defaults",
            "kube-rs",
            vec![
                post(
                    "/api/v1/namespaces/{ns}/secrets",
                    serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}),
                ),
                get("/api/v1/namespaces/{ns}/secrets/s"),
            ],
        ),
        Case {
            volatile: DEPLOY_VOLATILE.to_vec(),
            ..case(
                "create-deployment-defaults-and-status-stanza",
                "kube-rs",
                vec![post(DEPLOYS, deployment("d"))],
            )
        },
        Case {
            volatile: DEPLOY_VOLATILE.to_vec(),
            ..case(
                "create-deployment-dry-run",
                "kube-rs",
                vec![
                    post(&p(DEPLOYS, "?&dryRun=All"), deployment("d")),
                    get(&p(DEPLOYS, "/d")),
                ],
            )
        },
        case(
            "create-service-defaults",
            "kubectl",
            vec![post(
                "/api/v1/namespaces/{ns}/services",
                serde_json::json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "svc"}, "spec": {"clusterIP": "None", "selector": {"app": "x"},
                "ports": [{"port": 80}]}}),
            )],
        ),
        case(
            "create-generate-name",
            "client-go",
            vec![post(
                CMS,
                serde_json::json!({"metadata": {"generateName": "gen-"}, "data": {"k": "v"}}),
            )],
        ),
        case(
            "update-put",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "v"}))),
                put(
                    &p(CMS, "/a"),
                    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "resourceVersion": "{rv@0}"}, "data": {"k": "w"}}),
                ),
                put(
                    &p(CMS, "/a"),
                    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a"}, "data": {"k": "unconditional"}}),
                ),
            ],
        ),
        case(
            "create-event-events-k8s-io",
            "kube-rs",
            vec![post(
                "/apis/events.k8s.io/v1/namespaces/{ns}/events",
                serde_json::json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
                "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "configsync.dev/operator",
                "reportingInstance": "op-1", "action": "Reload", "reason": "Rolled", "type": "Normal",
                "regarding": {"kind": "ConfigMap", "namespace": "{ns}", "name": "a", "apiVersion": "v1"},
                "note": "rolled"}),
            )],
        ),
        case(
            "lease-create-and-guarded-replace",
            "kube-rs",
            vec![
                post(
                    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
                    serde_json::json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "lead"},
                "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}),
                ),
                put(
                    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/lead",
                    serde_json::json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "lead", "resourceVersion": "{rv@0}"},
                "spec": {"holderIdentity": "b", "leaseDurationSeconds": 15}}),
                ),
                put(
                    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/lead",
                    serde_json::json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "lead", "resourceVersion": "{rv@0}"},
                "spec": {"holderIdentity": "c", "leaseDurationSeconds": 15}}),
                ),
            ],
        ),
    ]
}

fn errors() -> Vec<Case> {
    vec![
        case("get-404", "kube-rs", vec![get(&p(CMS, "/missing"))]),
        case(
            "get-404-unknown-namespace",
            "kubectl",
            vec![get("/api/v1/namespaces/no-such-ns-xyz/configmaps/missing")],
        ),
        case(
            "create-409-already-exists",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({}))),
                post(CMS, cm("a", serde_json::json!({}))),
            ],
        ),
        case(
            "update-409-stale-resource-version",
            "client-go",
            vec![
                post(CMS, cm("a", serde_json::json!({}))),
                put(
                    &p(CMS, "/a"),
                    serde_json::json!({"metadata": {"name": "a", "resourceVersion": "{rv@0}"}, "data": {"x": "1"}}),
                ),
                put(
                    &p(CMS, "/a"),
                    serde_json::json!({"metadata": {"name": "a", "resourceVersion": "{rv@0}"}, "data": {"x": "2"}}),
                ),
            ],
        ),
        case(
            "update-404-missing",
            "kube-rs",
            vec![put(
                &p(CMS, "/a"),
                serde_json::json!({"metadata": {"name": "a", "resourceVersion": "1"}, "data": {}}),
            )],
        ),
        case(
            "create-422-invalid-name",
            "kube-rs",
            vec![post(CMS, cm("Bad_Name", serde_json::json!({})))],
        ),
        case(
            "create-422-invalid-data-key",
            "kubectl",
            vec![post(CMS, cm("a", serde_json::json!({"bad key!": "v"})))],
        ),
        case(
            "create-422-deployment-selector-mismatch",
            "kube-rs",
            vec![post(DEPLOYS, {
                let mut d = deployment("d");
                d["spec"]["selector"]["matchLabels"]["app"] = "other".into();
                d
            })],
        ),
        case(
            "create-400-namespace-mismatch",
            "kube-rs",
            vec![post(
                CMS,
                serde_json::json!({"metadata": {"name": "a", "namespace": "elsewhere"}}),
            )],
        ),
        case(
            "create-400-malformed-json",
            "kube-rs",
            vec![step("POST", CMS, JSON, Some("{\"metadata\": ".to_owned()))],
        ),
        case(
            "update-400-name-mismatch",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({}))),
                put(
                    &p(CMS, "/a"),
                    serde_json::json!({"metadata": {"name": "b"}}),
                ),
            ],
        ),
        case(
            "create-400-strict-field-validation",
            "kubectl",
            vec![
                post(
                    &p(CMS, "?fieldValidation=Strict"),
                    serde_json::json!({"metadata": {"name": "a"}, "bogus": 1}),
                ),
                post(
                    &p(CMS, "?fieldValidation=Warn"),
                    serde_json::json!({"metadata": {"name": "b"}, "bogus": 1}),
                ),
            ],
        ),
        case(
            "list-400-bad-label-selector",
            "kube-rs",
            vec![get(&p(CMS, "?&labelSelector=a%20in%20(b"))],
        ),
        case(
            "list-400-bad-field-selector",
            "kube-rs",
            vec![get(&p(CMS, "?&fieldSelector=spec.bogus%3Dx"))],
        ),
        case(
            "list-400-field-selector-syntax",
            "client-go",
            vec![get(&p(CMS, "?fieldSelector=metadata.name"))],
        ),
        case(
            "get-404-unknown-resource",
            "kubectl",
            vec![get("/api/v1/namespaces/{ns}/widgets")],
        ),
        case(
            "create-405-on-item",
            "kubectl",
            vec![post(&p(CMS, "/a"), cm("a", serde_json::json!({})))],
        ),
    ]
}

fn reads() -> Vec<Case> {
    let three = || {
        vec![
            post(CMS, cm("a", serde_json::json!({"k": "1"}))),
            post(CMS, cm("b", serde_json::json!({"k": "2"}))),
            post(CMS, cm("c", serde_json::json!({"k": "3"}))),
        ]
    };
    let with = |mut steps: Vec<Step>, more: Vec<Step>| {
        steps.extend(more);
        steps
    };
    vec![
        case(
            "list-label-selectors",
            "kube-rs",
            with(
                three(),
                vec![
                    get(&p(CMS, "?&labelSelector=conf%3Dyes")),
                    get(&p(CMS, "?&labelSelector=conf%20in%20(yes,no),!missing")),
                    get(&p(CMS, "?&labelSelector=conf,conf!%3Dyes")),
                ],
            ),
        ),
        case(
            "list-field-selectors",
            "sidecar",
            with(
                three(),
                vec![
                    get(&p(CMS, "?&fieldSelector=metadata.name%3Db")),
                    get(&p(
                        CMS,
                        "?&fieldSelector=metadata.name!%3Db&labelSelector=conf%3Dyes",
                    )),
                    get(&p(
                        CMS,
                        "?&fieldSelector=metadata.namespace%3D{ns}&labelSelector=conf",
                    )),
                ],
            ),
        ),
        case(
            "list-resource-version-match",
            "kube-rs",
            with(
                three(),
                vec![
                    get(&p(
                        CMS,
                        "?&labelSelector=conf%3Dyes&resourceVersion=0&resourceVersionMatch=NotOlderThan",
                    )),
                    get(&p(
                        CMS,
                        "?&labelSelector=conf%3Dyes&resourceVersion={rv@1}&resourceVersionMatch=Exact",
                    )),
                    get(&p(CMS, "?&labelSelector=conf%3Dyes&resourceVersion=0")),
                    get(&p(CMS, "?&resourceVersionMatch=Exact")),
                ],
            ),
        ),
        case(
            "list-pagination",
            "kube-rs",
            with(
                three(),
                vec![
                    get(&p(CMS, "?&labelSelector=conf%3Dyes&limit=2")),
                    get(&p(
                        CMS,
                        "?&labelSelector=conf%3Dyes&limit=2&continue={continue@3}",
                    )),
                    get(&p(CMS, "?&labelSelector=conf%3Dyes&limit=2&continue=bogus")),
                ],
            ),
        ),
        case(
            "list-partial-object-metadata",
            "kube-rs",
            with(
                three(),
                vec![
                    get_as(&p(CMS, "?&labelSelector=conf%3Dyes"), METADATA),
                    get_as(&p(CMS, "/a"), METADATA_ONE),
                ],
            ),
        ),
        case(
            "table-list-and-get",
            "kubectl",
            with(
                three(),
                vec![
                    get_as(&p(CMS, "?labelSelector=conf%3Dyes&limit=500"), TABLE),
                    get_as(&p(CMS, "/a"), TABLE),
                    get_as(
                        &p(CMS, "?labelSelector=conf%3Dyes&includeObject=Object"),
                        TABLE,
                    ),
                    get_as(&p(CMS, "/missing"), TABLE),
                ],
            ),
        ),
        Case {
            volatile: vec![
                "/rows/0/cells/2",
                "/rows/0/cells/3",
                "/rows/0/cells/4",
                "/rows/0/object/metadata/annotations",
            ],
            ..case(
                "table-deployments",
                "kubectl",
                vec![
                    post(DEPLOYS, deployment("d")),
                    get_as(&p(DEPLOYS, "?labelSelector=conf%3Dyes"), TABLE),
                ],
            )
        },
        case(
            "table-secrets",
            "kubectl",
            vec![
                post(
                    "/api/v1/namespaces/{ns}/secrets",
                    serde_json::json!({"metadata": {"name": "s", "labels": {"conf": "yes"}}, "data": {"a": "eA=="}}),
                ),
                get_as(
                    "/api/v1/namespaces/{ns}/secrets?labelSelector=conf%3Dyes",
                    TABLE,
                ),
            ],
        ),
    ]
}

const WATCH_END: &str = "&timeoutSeconds=1";

fn watches() -> Vec<Case> {
    vec![
        case(
            "watch-from-resource-version",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"data": {"k": "2"}}),
                ),
                delete(&p(CMS, "/a"), None),
                get(&p(
                    CMS,
                    &format!(
                        "?&watch=true{WATCH_END}&allowWatchBookmarks=true&resourceVersion={{rv@0}}"
                    ),
                )),
            ],
        ),
        case(
            "watch-label-selector-transitions",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"metadata": {"labels": {"conf": "no"}}}),
                ),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"metadata": {"labels": {"conf": "yes"}}}),
                ),
                get(&p(
                    CMS,
                    &format!(
                        "?&watch=true{WATCH_END}&labelSelector=conf%3Dyes&resourceVersion={{rv@0}}"
                    ),
                )),
            ],
        ),
        case(
            "watch-field-selector",
            "sidecar",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                post(CMS, cm("b", serde_json::json!({"k": "1"}))),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"data": {"k": "2"}}),
                ),
                patch(
                    &p(CMS, "/b"),
                    MERGE,
                    serde_json::json!({"data": {"k": "2"}}),
                ),
                get(&p(
                    CMS,
                    &format!(
                        "?&watch=true{WATCH_END}&fieldSelector=metadata.name%3Db&resourceVersion={{rv@0}}"
                    ),
                )),
            ],
        ),
        case(
            "watch-initial-events-and-bookmark",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                post(CMS, cm("b", serde_json::json!({"k": "1"}))),
                get(&p(
                    CMS,
                    &format!(
                        "?&watch=true{WATCH_END}&labelSelector=conf%3Dyes&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0"
                    ),
                )),
                get(&p(
                    CMS,
                    &format!(
                        "?&watch=true{WATCH_END}&labelSelector=conf%3Dyes&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                    ),
                )),
            ],
        ),
        case(
            "watch-initial-events-without-bookmarks",
            "client-go",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                get(&p(
                    CMS,
                    &format!(
                        "?watch=true{WATCH_END}&labelSelector=conf&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                    ),
                )),
                get(&p(
                    CMS,
                    &format!("?watch=true{WATCH_END}&labelSelector=conf&sendInitialEvents=true"),
                )),
            ],
        ),
        case(
            "watch-rv-zero-and-unset",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                get(&p(
                    CMS,
                    &format!("?&watch=true{WATCH_END}&labelSelector=conf%3Dyes&resourceVersion=0"),
                )),
                get(&p(
                    CMS,
                    &format!("?&watch=true{WATCH_END}&labelSelector=conf%3Dyes"),
                )),
            ],
        ),
        case(
            "watch-single-object-by-name",
            "kubectl",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                get(&p(
                    CMS,
                    &format!(
                        "?fieldSelector=metadata.name%3Da&watch=true{WATCH_END}&resourceVersion={{rv@0}}"
                    ),
                )),
            ],
        ),
        case(
            "watch-410-too-old",
            "kube-rs",
            vec![get(&p(
                CMS,
                &format!("?&watch=true{WATCH_END}&resourceVersion=1"),
            ))],
        ),
        case(
            "watch-400-bad-selector",
            "kube-rs",
            vec![get(&p(
                CMS,
                &format!("?&watch=true{WATCH_END}&labelSelector=a%20in%20(b"),
            ))],
        ),
    ]
}

fn patches() -> Vec<Case> {
    let dv = DEPLOY_VOLATILE.to_vec();
    vec![
        case(
            "patch-merge-and-json",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1", "gone": "x"}))),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"data": {"k": "2", "gone": null}, "metadata": {"annotations": {"x": "y"}}}),
                ),
                patch(
                    &p(CMS, "/a"),
                    JSON_PATCH,
                    serde_json::json!([{"op": "add", "path": "/data/n", "value": "3"}, {"op": "remove", "path": "/data/k"}]),
                ),
                patch(
                    &p(CMS, "/a"),
                    JSON_PATCH,
                    serde_json::json!([{"op": "test", "path": "/data/n", "value": "4"}]),
                ),
                patch(
                    &p(CMS, "/a"),
                    JSON_PATCH,
                    serde_json::json!([{"op": "remove", "path": "/data/nothing"}]),
                ),
                patch(
                    &p(CMS, "/missing"),
                    MERGE,
                    serde_json::json!({"data": {"k": "2"}}),
                ),
                patch(
                    &p(CMS, "/a"),
                    "application/x-unknown",
                    serde_json::json!({}),
                ),
            ],
        ),
        case(
            "patch-merge-resource-version-precondition",
            "kubectl",
            vec![
                post(CMS, cm("a", serde_json::json!({"k": "1"}))),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"metadata": {"resourceVersion": "{rv@0}"}, "data": {"k": "2"}}),
                ),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"metadata": {"resourceVersion": "{rv@0}"}, "data": {"k": "3"}}),
                ),
            ],
        ),
        Case {
            volatile: dv.clone(),
            ..case(
                "patch-strategic-merge-lists",
                "kubectl",
                vec![
                    post(DEPLOYS, deployment("d")),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"template": {"metadata": {"annotations": {"configsync.dev/hash": "abc"}},
                "spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "22"}, {"name": "C", "value": "3"}]}]}}}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"template": {"spec": {"containers": [
                {"name": "side", "$patch": "delete"}, {"name": "main", "env": [{"name": "A", "$patch": "delete"}]}]}}}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "new"}, {"name": "main"}],
                "containers": [{"name": "new", "image": "busybox:2"}]}}}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "ports": [{"containerPort": 80}, {"containerPort": 81, "protocol": "UDP"}]}]}}}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
                    ),
                ],
            )
        },
        Case {
            volatile: dv.clone(),
            ..case(
                "patch-strategic-422-and-errors",
                "kubectl",
                vec![
                    post(DEPLOYS, deployment("d")),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"replicas": -1}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        STRATEGIC,
                        serde_json::json!({"spec": {"replicas": "two"}}),
                    ),
                ],
            )
        },
        case(
            "apply-create-conflict-force",
            "kube-rs",
            vec![
                patch(
                    &p(CMS, "/a?&fieldManager=alpha"),
                    APPLY,
                    cm("a", serde_json::json!({"k": "1", "mine": "a"})),
                ),
                patch(
                    &p(CMS, "/a?&fieldManager=beta"),
                    APPLY,
                    cm("a", serde_json::json!({"k": "2"})),
                ),
                patch(
                    &p(CMS, "/a?&force=true&fieldManager=beta"),
                    APPLY,
                    cm("a", serde_json::json!({"k": "2"})),
                ),
                patch(
                    &p(CMS, "/a?&fieldManager=alpha"),
                    APPLY,
                    cm("a", serde_json::json!({"mine": "a"})),
                ),
                patch(
                    &p(CMS, "/a?&fieldManager=beta"),
                    MERGE,
                    serde_json::json!({"data": {"k": "3"}}),
                ),
            ],
        ),
        case(
            "apply-errors",
            "kube-rs",
            vec![
                patch(&p(CMS, "/a"), APPLY, cm("a", serde_json::json!({"k": "1"}))),
                patch(
                    &p(CMS, "/a?&fieldManager=x"),
                    APPLY,
                    cm("b", serde_json::json!({"k": "1"})),
                ),
                patch(
                    &p(CMS, "/a?&fieldManager=x&force=true"),
                    MERGE,
                    serde_json::json!({"data": {"k": "1"}}),
                ),
                patch(
                    &p(CMS, "/a?&dryRun=All&force=true&fieldManager=x"),
                    APPLY,
                    cm("a", serde_json::json!({"k": "1"})),
                ),
                get(&p(CMS, "/a")),
            ],
        ),
        Case {
            volatile: dv.clone(),
            ..case(
                "apply-deployment-operator-style",
                "operator",
                vec![
                    post(DEPLOYS, deployment("d")),
                    patch(
                        &p(DEPLOYS, "/d?&force=true&fieldManager=configsync"),
                        APPLY,
                        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d"}, "spec": {"template": {"metadata": {"annotations": {"configsync.dev/hash": "h1"}}}}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d?&force=true&fieldManager=configsync"),
                        APPLY,
                        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d"}, "spec": {"template": {"metadata": {"annotations": {"configsync.dev/hash": "h2"}}}}}),
                    ),
                ],
            )
        },
        Case {
            volatile: vec![
                "/status/conditions",
                "/status/replicas",
                "/status/observedGeneration",
                "/metadata/annotations",
                // Every step after the create races the deployment controller's first status write.
                "/status/terminatingReplicas",
            ],
            ..case(
                "status-subresource",
                "client-go",
                vec![
                    post(DEPLOYS, deployment("d")),
                    get(&p(DEPLOYS, "/d/status")),
                    patch(
                        &p(DEPLOYS, "/d/status"),
                        MERGE,
                        serde_json::json!({"status": {"collisionCount": 7}, "spec": {"replicas": 5}}),
                    ),
                    patch(
                        &p(DEPLOYS, "/d"),
                        MERGE,
                        serde_json::json!({"status": {"collisionCount": 9}, "spec": {"paused": true}}),
                    ),
                    put(&p(DEPLOYS, "/missing/status"), deployment("missing")),
                ],
            )
        },
        // What the workload controllers rely on (`platform/cluster/src/controllers/write.rs`): a status write
        // carrying the resourceVersion it was computed from is refused once the object has moved on.
        Case {
            volatile: dv.clone(),
            ..case(
                "status-patch-stale-resource-version",
                "kube-rs",
                vec![
                    post(DEPLOYS, deployment("s")),
                    patch(
                        &p(DEPLOYS, "/s/status"),
                        MERGE,
                        serde_json::json!({"metadata": {"resourceVersion": "1"}, "status": {"collisionCount": 1}}),
                    ),
                ],
            )
        },
    ]
}

fn deletes() -> Vec<Case> {
    vec![
        case(
            "delete-with-preconditions",
            "client-go",
            vec![
                post(CMS, cm("a", serde_json::json!({}))),
                delete(
                    &p(CMS, "/a"),
                    Some(
                        serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}),
                    ),
                ),
                delete(
                    &p(CMS, "/a"),
                    Some(
                        serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": "1"}}),
                    ),
                ),
                delete(
                    &p(CMS, "/a"),
                    Some(
                        serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "{uid@0}", "resourceVersion": "{rv@0}"}}),
                    ),
                ),
                delete(&p(CMS, "/a"), None),
            ],
        ),
        case(
            "delete-propagation-and-dry-run",
            "kube-rs",
            vec![
                post(CMS, cm("a", serde_json::json!({}))),
                delete(
                    &p(CMS, "/a?&dryRun=All"),
                    Some(serde_json::json!({"propagationPolicy": "Background", "dryRun": ["All"]})),
                ),
                get(&p(CMS, "/a")),
                delete(
                    &p(CMS, "/a"),
                    Some(serde_json::json!({"propagationPolicy": "Foreground"})),
                ),
            ],
        ),
        case(
            "delete-finalizer-keeps-object",
            "kube-rs",
            vec![
                post(
                    CMS,
                    serde_json::json!({"metadata": {"name": "a", "finalizers": ["example.com/hold"]}}),
                ),
                delete(&p(CMS, "/a"), None),
                get(&p(CMS, "/a")),
                patch(
                    &p(CMS, "/a"),
                    MERGE,
                    serde_json::json!({"metadata": {"finalizers": null}}),
                ),
                get(&p(CMS, "/a")),
            ],
        ),
        case(
            "delete-collection",
            "kubectl",
            vec![
                post(CMS, cm("a", serde_json::json!({}))),
                post(CMS, cm("b", serde_json::json!({}))),
                delete(&p(CMS, "?labelSelector=conf%3Dyes"), None),
                get(&p(CMS, "?labelSelector=conf%3Dyes")),
            ],
        ),
    ]
}
