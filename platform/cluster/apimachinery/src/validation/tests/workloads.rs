//! Workload, Pod and Service rules.
use super::*;

fn mk_deployment(selector: Value, labels: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": {"replicas": 2, "selector": selector,
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}}
    })
}

fn nginx() -> Value {
    json!([{"name": "nginx", "image": "nginx:1.27"}])
}

#[test]
fn valid_workloads_pass_after_defaults() {
    for kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"] {
        let mut object = mk_deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
            nginx(),
        );
        object["kind"] = json!(kind);
        let object = defaulted("apps/v1", kind, object);
        assert_eq!(causes("apps/v1", kind, &object, None), [], "{kind}");
    }
}

#[test]
fn selector_is_required_and_must_match_template_labels() {
    let missing = mk_deployment(Value::Null, json!({"app": "web"}), nginx());
    assert_eq!(
        causes("apps/v1", "Deployment", &missing, None),
        [
            cause("FieldValueRequired", "spec.selector", "Required value"),
            cause(
                "FieldValueInvalid",
                "spec.template.metadata.labels",
                "Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"
            ),
        ]
    );
    let mismatch = mk_deployment(
        json!({"matchLabels": {"app": "api"}}),
        json!({"app": "web", "x": "y"}),
        nginx(),
    );
    assert_eq!(
        causes("apps/v1", "Deployment", &mismatch, None),
        [cause(
            "FieldValueInvalid",
            "spec.template.metadata.labels",
            "Invalid value: {\"app\":\"web\",\"x\":\"y\"}: `selector` does not match template `labels`"
        )]
    );
    let expressions = json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                                   {"key": "legacy", "operator": "DoesNotExist"}]});
    let matching = mk_deployment(expressions, json!({"tier": "b"}), nginx());
    assert_eq!(causes("apps/v1", "Deployment", &matching, None), []);
}

#[test]
fn empty_and_malformed_selectors() {
    let empty = mk_deployment(json!({}), json!({"app": "web"}), nginx());
    assert_eq!(
        causes("apps/v1", "Deployment", &empty, None),
        [cause(
            "FieldValueInvalid",
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), \
MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
        )]
    );
    let mut sts = empty.clone();
    sts["kind"] = json!("StatefulSet");
    assert!(
        causes("apps/v1", "StatefulSet", &sts, None)[0]
            .2
            .ends_with("empty selector is invalid for statefulset")
    );
    let bad_op = json!({"matchExpressions": [{"key": "a", "operator": "Like", "values": ["x"]},
                                             {"key": "b", "operator": "In"},
                                             {"key": "c", "operator": "Exists", "values": ["x"]}]});
    let found = causes(
        "apps/v1",
        "Deployment",
        &mk_deployment(bad_op, json!({}), nginx()),
        None,
    );
    let fields: Vec<&str> = found.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.selector.matchExpressions[0].operator",
            "spec.selector.matchExpressions[1].values",
            "spec.selector.matchExpressions[2].values",
            "spec.template.metadata.labels"
        ]
    );
    assert_eq!(
        found[0].2,
        "Invalid value: \"Like\": not a valid selector operator"
    );
    assert_eq!(
        found[1].2,
        "Required value: must be specified when `operator` is 'In' or 'NotIn'"
    );
}

#[test]
fn daemon_set_without_selector_only_fails_matching() {
    let mut ds = mk_deployment(Value::Null, json!({"app": "web"}), nginx());
    ds["kind"] = json!("DaemonSet");
    let found = causes("apps/v1", "DaemonSet", &ds, None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "spec.template.metadata.labels");
}

#[test]
fn selector_is_immutable_on_update() {
    let old = mk_deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web", "v": "2"}),
        nginx(),
    );
    let new = mk_deployment(
        json!({"matchLabels": {"app": "web", "v": "2"}}),
        json!({"app": "web", "v": "2"}),
        nginx(),
    );
    assert_eq!(
        causes("apps/v1", "Deployment", &new, Some(&old)),
        [cause(
            "FieldValueInvalid",
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, \
MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        )]
    );
    let mut scaled = old.clone();
    scaled["spec"]["replicas"] = json!(5);
    scaled["spec"]["selector"]["matchExpressions"] = json!([]);
    assert_eq!(causes("apps/v1", "Deployment", &scaled, Some(&old)), []);
}

#[test]
fn stateful_set_spec_is_frozen_except_known_fields() {
    let mut old = mk_deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
        nginx(),
    );
    old["kind"] = json!("StatefulSet");
    old["spec"]["serviceName"] = json!("web");
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    new["spec"]["volumeClaimTemplates"] = json!([]);
    assert_eq!(causes("apps/v1", "StatefulSet", &new, Some(&old)), []);
    new["spec"]["serviceName"] = json!("other");
    let found = causes("apps/v1", "StatefulSet", &new, Some(&old));
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0.as_str(), found[0].1.as_str()),
        ("FieldValueForbidden", "spec")
    );
    assert!(
        found[0]
            .2
            .starts_with("Forbidden: updates to statefulset spec for fields other than 'replicas'")
    );
}

#[test]
fn replicas_must_not_be_negative() {
    let mut deploy = mk_deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
        nginx(),
    );
    deploy["spec"]["replicas"] = json!(-1);
    assert_eq!(
        causes("apps/v1", "Deployment", &deploy, None),
        [cause(
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0"
        )]
    );
}

#[test]
fn template_containers_need_names_and_images() {
    let selector = json!({"matchLabels": {"app": "web"}});
    let none = causes(
        "apps/v1",
        "Deployment",
        &mk_deployment(selector.clone(), json!({"app": "web"}), json!([])),
        None,
    );
    assert_eq!(
        none,
        [cause(
            "FieldValueRequired",
            "spec.template.spec.containers",
            "Required value"
        )]
    );
    let containers = json!([{"image": "a"}, {"name": "x"}, {"name": "x", "image": "b"}, {"name": "Bad_Name", "image": "c"}]);
    let found = causes(
        "apps/v1",
        "Deployment",
        &mk_deployment(selector, json!({"app": "web"}), containers),
        None,
    );
    let summary: Vec<(&str, &str)> = found.iter().map(|c| (c.0.as_str(), c.1.as_str())).collect();
    assert_eq!(
        summary,
        [
            (
                "FieldValueRequired",
                "spec.template.spec.containers[0].name"
            ),
            (
                "FieldValueRequired",
                "spec.template.spec.containers[1].image"
            ),
            (
                "FieldValueDuplicate",
                "spec.template.spec.containers[2].name"
            ),
            ("FieldValueInvalid", "spec.template.spec.containers[3].name"),
        ]
    );
    assert_eq!(found[2].2, "Duplicate value: \"x\"");
}

#[test]
fn template_restart_policy_must_be_always() {
    let mut deploy = mk_deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
        nginx(),
    );
    deploy["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        causes("apps/v1", "Deployment", &deploy, None),
        [cause(
            "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Never\": supported values: \"Always\""
        )]
    );
}

#[test]
fn deployment_strategy_rules() {
    let mut deploy = mk_deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
        nginx(),
    );
    deploy["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}});
    assert_eq!(
        causes("apps/v1", "Deployment", &deploy, None),
        [cause(
            "FieldValueInvalid",
            "spec.strategy.rollingUpdate.maxUnavailable",
            "Invalid value: 0: may not be 0 when `maxSurge` is 0"
        )]
    );
    deploy["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}});
    assert_eq!(
        causes("apps/v1", "Deployment", &deploy, None)[0].1,
        "spec.strategy.rollingUpdate"
    );
    deploy["spec"]["strategy"] = json!({"type": "Recreate"});
    deploy["spec"]["progressDeadlineSeconds"] = json!(5);
    deploy["spec"]["minReadySeconds"] = json!(10);
    assert_eq!(
        causes("apps/v1", "Deployment", &deploy, None),
        [cause(
            "FieldValueInvalid",
            "spec.progressDeadlineSeconds",
            "Invalid value: 5: must be greater than minReadySeconds"
        )]
    );
}

#[test]
fn pods_need_containers_ports_and_known_volumes() {
    let pod = |spec: Value| json!({"metadata": {"name": "p", "namespace": "d"}, "spec": spec});
    assert_eq!(
        causes("v1", "Pod", &pod(json!({})), None),
        [cause(
            "FieldValueRequired",
            "spec.containers",
            "Required value"
        )]
    );
    let spec = json!({"volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "cfg", "emptyDir": {}}],
        "containers": [{"name": "a", "image": "i", "ports": [{"containerPort": 70000}, {"containerPort": 80, "protocol": "HTTP"}],
                        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/c"}, {"name": "nope", "mountPath": ""}]}]});
    let found = causes("v1", "Pod", &pod(spec), None);
    assert_eq!(
        found,
        [
            cause(
                "FieldValueDuplicate",
                "spec.volumes[1].name",
                "Duplicate value: \"cfg\""
            ),
            cause(
                "FieldValueInvalid",
                "spec.containers[0].ports[0].containerPort",
                "Invalid value: 70000: must be between 1 and 65535, inclusive"
            ),
            cause(
                "FieldValueNotSupported",
                "spec.containers[0].ports[1].protocol",
                "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""
            ),
            cause(
                "FieldValueNotFound",
                "spec.containers[0].volumeMounts[1].name",
                "Not found: \"nope\""
            ),
            cause(
                "FieldValueRequired",
                "spec.containers[0].volumeMounts[1].mountPath",
                "Required value"
            ),
        ]
    );
}

#[test]
fn services_need_ports_and_names() {
    let svc = |spec: Value| json!({"metadata": {"name": "web", "namespace": "d"}, "spec": spec});
    assert_eq!(
        causes("v1", "Service", &svc(json!({})), None),
        [cause("FieldValueRequired", "spec.ports", "Required value")]
    );
    assert_eq!(
        causes("v1", "Service", &svc(json!({"clusterIP": "None"})), None),
        []
    );
    let found = causes(
        "v1",
        "Service",
        &svc(json!({"type": "Magic", "ports": [{"port": 80}, {"name": "b", "port": 0}]})),
        None,
    );
    assert_eq!(
        found,
        [
            cause(
                "FieldValueNotSupported",
                "spec.type",
                "Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ),
            cause("FieldValueRequired", "spec.ports[0].name", "Required value"),
            cause(
                "FieldValueInvalid",
                "spec.ports[1].port",
                "Invalid value: 0: must be between 1 and 65535, inclusive"
            ),
        ]
    );
}

#[test]
fn label_selector_matching_semantics() {
    let labels = json!({"app": "web", "tier": "front"});
    assert!(matches_label_selector(&json!({}), &labels));
    assert!(!matches_label_selector(&Value::Null, &labels));
    assert!(matches_label_selector(
        &json!({"matchLabels": {"app": "web"}}),
        &labels
    ));
    assert!(!matches_label_selector(
        &json!({"matchLabels": {"app": "api"}}),
        &labels
    ));
    let not_in =
        json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]});
    assert!(matches_label_selector(&not_in, &labels));
    let exists = json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]});
    assert!(matches_label_selector(&exists, &labels));
    let unknown = json!({"matchExpressions": [{"key": "tier", "operator": "Near"}]});
    assert!(!matches_label_selector(&unknown, &labels));
}
