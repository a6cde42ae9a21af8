//! Ingress causes, worded as kube-apiserver v1.37.2 answered the same bodies.
use super::*;

fn ingress(spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bad", "namespace": "default"}, "spec": spec})
}

fn ingress_causes(spec: Value) -> Vec<(String, String, String)> {
    causes("networking.k8s.io/v1", "Ingress", &ingress(spec), None)
}

fn cause(reason: &str, field: &str, message: &str) -> (String, String, String) {
    (reason.to_owned(), field.to_owned(), message.to_owned())
}

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

#[test]
fn the_course_ingresses_are_valid() {
    let backend = json!({"service": {"name": "web", "port": {"number": 80}}});
    let spec = json!({"ingressClassName": "nginx",
        "tls": [{"hosts": ["*.example.com"], "secretName": "web-tls"}],
        "rules": [{"host": "a.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend},
            {"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "api", "port": {"name": "http"}}}}]}}]});
    assert_eq!(ingress_causes(spec), []);
    assert_eq!(ingress_causes(json!({"defaultBackend": backend})), []);
}

#[test]
fn bad_ingresses_get_kube_apiservers_causes() {
    assert_eq!(
        ingress_causes(json!({})),
        [cause(
            "FieldValueInvalid",
            "spec",
            "Invalid value: null: either `defaultBackend` or `rules` must be specified"
        )]
    );
    let no_path_type = json!({"rules": [{"host": "A_b", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]});
    assert_eq!(
        ingress_causes(no_path_type),
        [
            cause(
                "FieldValueInvalid",
                "spec.rules[0].host",
                &format!("Invalid value: \"A_b\": {SUBDOMAIN}")
            ),
            cause(
                "FieldValueRequired",
                "spec.rules[0].http.paths[0].pathType",
                "Required value: pathType must be specified"
            ),
        ]
    );
    let untyped = json!({"rules": [{"http": {"paths": [{"path": "x", "backend": {}}]}}]});
    assert_eq!(
        ingress_causes(untyped),
        [cause(
            "FieldValueRequired",
            "spec.rules[0].http.paths[0].pathType",
            "Required value: pathType must be specified"
        )],
        "nothing more of an untyped path is checked"
    );
    let ip_host = json!({"rules": [{"host": "10.0.0.1", "http": {"paths": [{"path": "/x", "pathType": "Bogus", "backend": {}}]}}]});
    assert_eq!(
        ingress_causes(ip_host),
        [
            cause(
                "FieldValueInvalid",
                "spec.rules[0].host",
                "Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address"
            ),
            cause(
                "FieldValueNotSupported",
                "spec.rules[0].http.paths[0].pathType",
                "Unsupported value: \"Bogus\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\""
            ),
            cause(
                "FieldValueInvalid",
                "spec.rules[0].http.paths[0].backend",
                "Invalid value: \"\": resource or service backend is required"
            ),
        ]
    );
    let no_port = json!({"rules": [{"host": "*.example.com", "http": {"paths": [{"path": "/x", "pathType": "Exact", "backend": {"service": {"name": "web"}}}]}}],
        "tls": [{"hosts": ["*.example.com"], "secretName": "Bad_Name"}]});
    assert_eq!(
        ingress_causes(no_port),
        [
            cause(
                "FieldValueRequired",
                "spec.rules[0].http.paths[0].backend",
                "Required value: port name or number is required"
            ),
            cause(
                "FieldValueInvalid",
                "spec.tls[0].secretName",
                &format!("Invalid value: \"Bad_Name\": {SUBDOMAIN}")
            ),
        ]
    );
    let both = json!({"rules": [{"http": {"paths": [{"path": "/x", "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": "web", "port": {"number": 80}}, "resource": {"kind": "X", "name": "y"}}}]}}]});
    assert_eq!(
        ingress_causes(both),
        [cause(
            "FieldValueInvalid",
            "spec.rules[0].http.paths[0].backend",
            "Invalid value: \"\": cannot set both resource and service backends"
        )]
    );
    assert_eq!(
        ingress_causes(json!({"rules": [{"http": {"paths": []}}]})),
        [cause(
            "FieldValueRequired",
            "spec.rules[0].http.paths",
            "Required value"
        )]
    );
}
