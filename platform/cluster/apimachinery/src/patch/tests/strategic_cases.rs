//! Strategic merge patch cases with the results the apiserver produces (the first two are the
//! "Update API Objects in Place Using kubectl patch" task from the Kubernetes docs).
use serde_json::{Value, json};

use super::super::*;

fn mk_deployment(pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": pod_spec}}
    })
}

fn mk_pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn template_patch(pod_spec: Value) -> Value {
    json!({"spec": {"template": {"spec": pod_spec}}})
}

/// `(name, object, patch, expected)`.
fn cases() -> Vec<(&'static str, Value, Value, Value)> {
    let demo = json!({
        "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
        "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
    });
    let env = json!({"containers": [{"name": "app", "image": "app:1",
        "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}, {"name": "C", "value": "c"}]}]});
    vec![
        (
            "docs: a new container is merged by name, patch items first",
            mk_deployment(demo.clone()),
            template_patch(json!({"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]})),
            mk_deployment(json!({
                "containers": [{"name": "patch-demo-ctr-2", "image": "redis"}, {"name": "patch-demo-ctr", "image": "nginx"}],
                "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
            })),
        ),
        (
            "docs: tolerations have no merge key and are replaced",
            mk_deployment(demo.clone()),
            template_patch(
                json!({"tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}),
            ),
            mk_deployment(json!({
                "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                "tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]
            })),
        ),
        (
            "an existing container is updated in place",
            mk_pod(
                json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}),
            ),
            json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}),
            mk_pod(
                json!({"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}]}),
            ),
        ),
        (
            "$patch: delete removes a container; initContainers merge by name too",
            mk_pod(
                json!({"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i", "image": "i:1"}]}),
            ),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}], "initContainers": [{"name": "i", "image": "i:2"}]}}),
            mk_pod(
                json!({"containers": [{"name": "b"}], "initContainers": [{"name": "i", "image": "i:2"}]}),
            ),
        ),
        (
            "env merges by name: update, add, delete",
            mk_pod(env.clone()),
            json!({"spec": {"containers": [{"name": "app", "env": [
                {"name": "B", "value": "b2"}, {"name": "D", "value": "d"}, {"name": "C", "$patch": "delete"}]}]}}),
            mk_pod(json!({"containers": [{"name": "app", "image": "app:1",
                "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b2"}, {"name": "D", "value": "d"}]}]})),
        ),
        (
            "$setElementOrder reorders and places a new item",
            mk_pod(env.clone()),
            json!({"spec": {"containers": [{"name": "app",
                "$setElementOrder/env": [{"name": "C"}, {"name": "D"}, {"name": "A"}, {"name": "B"}],
                "env": [{"name": "D", "value": "d"}]}]}}),
            mk_pod(
                json!({"containers": [{"name": "app", "image": "app:1", "env": [{"name": "C", "value": "c"},
                {"name": "D", "value": "d"}, {"name": "A", "value": "a"}, {"name": "B", "value": "b"}]}]}),
            ),
        ),
        (
            "kubectl's element order with a deletion",
            mk_pod(env),
            json!({"spec": {"containers": [{"name": "app",
                "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                "env": [{"name": "B", "$patch": "delete"}]}]}}),
            mk_pod(json!({"containers": [{"name": "app", "image": "app:1",
                "env": [{"name": "A", "value": "a"}, {"name": "C", "value": "c"}]}]})),
        ),
        (
            "volumes merge by name and $retainKeys switches the volume source",
            mk_pod(
                json!({"volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "data", "emptyDir": {}}]}),
            ),
            json!({"spec": {"volumes": [{"name": "cfg", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}},
                {"name": "new", "emptyDir": {}}]}}),
            mk_pod(
                json!({"volumes": [{"name": "cfg", "secret": {"secretName": "s"}}, {"name": "new", "emptyDir": {}},
                {"name": "data", "emptyDir": {}}]}),
            ),
        ),
        (
            "volumeMounts merge by mountPath and container ports by containerPort",
            mk_pod(json!({"containers": [{"name": "app",
                "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}],
                "ports": [{"containerPort": 80, "name": "http"}]}]})),
            json!({"spec": {"containers": [{"name": "app",
                "volumeMounts": [{"name": "cfg2", "mountPath": "/etc/cfg", "readOnly": true}, {"name": "d", "mountPath": "/data"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]}]}}),
            mk_pod(json!({"containers": [{"name": "app",
                "volumeMounts": [{"name": "cfg2", "mountPath": "/etc/cfg", "readOnly": true}, {"name": "d", "mountPath": "/data"}],
                "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]}]})),
        ),
        (
            "service ports merge by port",
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}}),
        ),
        (
            "finalizers are a set: add, and delete with the primitive-list directive",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["c", "a"]}}),
        ),
        (
            "a new primitive goes first, server-only ones keep their order",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c"]}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["c", "a", "b"]}}),
        ),
        (
            "null deletes a map key; $patch: replace replaces a map; $patch: delete empties it",
            mk_pod(
                json!({"securityContext": {"runAsUser": 1, "fsGroup": 2}, "affinity": {"nodeAffinity": {}},
                "nodeSelector": {"a": "1", "b": "2"}}),
            ),
            json!({"spec": {"securityContext": {"$patch": "replace", "runAsUser": 3},
                "affinity": {"$patch": "delete"}, "nodeSelector": {"a": null}}}),
            mk_pod(
                json!({"securityContext": {"runAsUser": 3}, "affinity": {}, "nodeSelector": {"b": "2"}}),
            ),
        ),
        (
            "$patch: replace in a list replaces the whole list",
            mk_pod(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
            json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "c:1"}]}}),
            mk_pod(json!({"containers": [{"name": "c", "image": "c:1"}]})),
        ),
        (
            "conditions merge by type; ownerReferences by uid",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"ownerReferences": [{"uid": "1", "name": "x"}]},
                "status": {"conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing", "status": "True"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "y"}]},
                "status": {"conditions": [{"type": "Available", "status": "True"}]}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"ownerReferences": [{"uid": "2", "name": "y"}, {"uid": "1", "name": "x"}]},
                "status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}}),
        ),
        (
            "atomic lists are replaced whatever they hold",
            mk_pod(json!({"containers": [{"name": "a", "args": ["x"]}]})),
            json!({"spec": {"containers": [{"name": "a", "args": ["y", 1, [2], {"z": null}]}]}}),
            mk_pod(json!({"containers": [{"name": "a", "args": ["y", 1, [2], {"z": null}]}]})),
        ),
        (
            "custom resources merge maps and replace lists",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"containers": [{"name": "a"}], "m": {"x": 1}}}),
            json!({"spec": {"containers": [{"name": "b"}], "m": {"y": 2}}}),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"containers": [{"name": "b"}], "m": {"x": 1, "y": 2}}}),
        ),
        (
            "a new field gets its directives applied, not copied",
            mk_pod(json!({})),
            json!({"spec": {"containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "$patch": "delete"}]}]}}),
            mk_pod(json!({"containers": [{"name": "a", "image": "a:1", "env": []}]})),
        ),
    ]
}

#[test]
fn strategic_merge_patch_cases() {
    for (name, object, patch, expected) in cases() {
        let patched = apply_strategic_merge_patch(&object, &patch);
        assert_eq!(
            patched.as_ref().ok(),
            Some(&expected),
            "{name}: {patched:?}"
        );
    }
}

#[test]
fn applying_the_same_patch_twice_is_idempotent() {
    for (name, object, patch, _) in cases() {
        let once = apply_strategic_merge_patch(&object, &patch).ok();
        let twice = once
            .as_ref()
            .and_then(|o| apply_strategic_merge_patch(o, &patch).ok());
        assert!(
            once.is_some() && once == twice,
            "strategic {name}: {once:?} then {twice:?}"
        );
        let once = apply_merge_patch(&object, &patch).ok();
        let twice = once
            .as_ref()
            .and_then(|o| apply_merge_patch(o, &patch).ok());
        assert!(
            once.is_some() && once == twice,
            "merge {name}: {once:?} then {twice:?}"
        );
    }
}

fn smp_error(object: &Value, patch: Value) -> String {
    match apply_strategic_merge_patch(object, &patch) {
        Ok(patched) => panic!("{patch} should fail, got {patched}"),
        Err(err @ PatchError::InvalidPatch(_)) => err.to_string(),
        Err(other) => panic!("{patch}: wrong error kind {other:?}"),
    }
}

#[test]
fn strategic_merge_patch_errors() {
    let pod =
        mk_pod(json!({"containers": [{"name": "a"}], "volumes": [{"name": "v", "emptyDir": {}}]}));
    let cases = [
        (
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "does not contain declared merge key: name",
        ),
        (
            json!({"spec": {"containers": [{"$patch": "delete"}]}}),
            "does not contain declared merge key: name",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
            "merging lists cannot yet be specified",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}),
            "unknown patch type: \"bogus\"",
        ),
        (
            json!({"spec": {"$patch": "bogus"}}),
            "unknown patch type: \"bogus\" in map",
        ),
        (
            json!({"spec": {"containers": ["a"]}}),
            "list element types are not identical",
        ),
        (
            json!({"spec": {"containers": [["a"]]}}),
            "lists of lists are not supported",
        ),
        (
            json!({"spec": {"volumes": [{"name": "v", "$retainKeys": "name"}]}}),
            "$retainKeys: it must be a list",
        ),
        (
            json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name"], "secret": {}}]}}),
            "\"secret\" is not in the list",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "a"}]}}),
            "doesn't match $setElementOrder list",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"image": "b"}]}}),
            "does not contain declared merge key: name",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": {"name": "b"}}}),
            "the element order must be a list",
        ),
        (
            json!({"spec": {"$setElementOrder": []}}),
            "invalid patch format of $setElementOrder directive",
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            "the values to delete must be a list",
        ),
        (
            json!({"metadata": {"finalizers": [{"a": 1}]}}),
            "cannot merge lists without merge key for type map",
        ),
        (
            json!({"spec": {"$frobnicate": 1}}),
            "unknown patch directive \"$frobnicate\"",
        ),
    ];
    for (patch, expected) in cases {
        let message = smp_error(&pod, patch.clone());
        assert!(
            message.contains(expected),
            "{patch}: {message:?} lacks {expected:?}"
        );
    }
}

#[test]
fn more_merge_keys_and_directives() {
    let strategy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
    // The docs' `retainKeys` example: switching to Recreate drops rollingUpdate.
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let expected = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}}});
    assert_eq!(
        apply_strategic_merge_patch(&strategy, &patch).ok(),
        Some(expected)
    );

    let pod = mk_pod(json!({
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 1}],
        "imagePullSecrets": [{"name": "reg"}]
    }));
    let patch = json!({"spec": {
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}, {"ip": "10.0.0.2", "hostnames": ["c"]}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
        "imagePullSecrets": [{"name": "reg2"}]
    }});
    let expected = mk_pod(json!({
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}, {"ip": "10.0.0.2", "hostnames": ["c"]}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
        "imagePullSecrets": [{"name": "reg2"}, {"name": "reg"}]
    }));
    assert_eq!(
        apply_strategic_merge_patch(&pod, &patch).ok(),
        Some(expected)
    );

    // kubectl's patch for finalizers [a, b, c] -> [c, a].
    let object =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]}});
    let patched = apply_strategic_merge_patch(&object, &patch).ok();
    assert_eq!(
        patched.map(|p| p["metadata"]["finalizers"].clone()),
        Some(json!(["c", "a"]))
    );
}
