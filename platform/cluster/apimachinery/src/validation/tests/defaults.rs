//! One test per kind's defaults, with literal JSON.
use super::*;

#[test]
fn secret_type_defaults_to_opaque() {
    let secret = defaulted("v1", "Secret", json!({"metadata": {"name": "s"}}));
    assert_eq!(secret["type"], "Opaque");
    let secret = defaulted("v1", "Secret", json!({"type": ""}));
    assert_eq!(secret["type"], "Opaque");
    let tls = defaulted("v1", "Secret", json!({"type": "kubernetes.io/tls"}));
    assert_eq!(tls["type"], "kubernetes.io/tls");
}

#[test]
fn secret_string_data_is_merged_into_data() {
    let secret = defaulted(
        "v1",
        "Secret",
        json!({"data": {"username": "b2xk", "keep": "eA=="}, "stringData": {"username": "admin", "password": "1f2d1e2e67df"}}),
    );
    assert_eq!(
        secret,
        json!({"type": "Opaque", "data": {"username": "YWRtaW4=", "password": "MWYyZDFlMmU2N2Rm", "keep": "eA=="}})
    );
    let odd = defaulted("v1", "Secret", json!({"stringData": {"n": 1, "s": "x"}}));
    assert_eq!(odd["stringData"], json!({"n": 1}));
    assert_eq!(odd["data"], json!({"s": "eA=="}));
    let found = causes(
        "v1",
        "Secret",
        &json!({"metadata": {"name": "s", "namespace": "d"}, "stringData": {"n": 1}}),
        None,
    );
    assert_eq!(
        found,
        [cause(
            "FieldValueTypeInvalid",
            "stringData[n]",
            "Invalid value: \"number\": must be of type string"
        )]
    );
}

#[test]
fn config_maps_get_no_defaults() {
    let cm = json!({"metadata": {"name": "c"}, "data": {"a": "b"}});
    assert_eq!(defaulted("v1", "ConfigMap", cm.clone()), cm);
}

#[test]
fn service_defaults() {
    let svc = defaulted(
        "v1",
        "Service",
        json!({"spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}],
                        "sessionAffinityConfig": {"clientIP": {}}}}),
    );
    assert_eq!(
        svc["spec"],
        json!({"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
               "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                         {"port": 443, "targetPort": "https", "protocol": "UDP"}]})
    );
    let lb = defaulted(
        "v1",
        "Service",
        json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 1, "targetPort": 0}]}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(lb["spec"]["ports"][0]["targetPort"], 1);
    let external = defaulted(
        "v1",
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "x.io"}}),
    );
    assert!(external["spec"].get("internalTrafficPolicy").is_none());
}

#[test]
fn pod_spec_and_container_defaults() {
    let pod = defaulted(
        "v1",
        "Pod",
        json!({"spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}],
             "resources": {"limits": {"cpu": "1"}}},
            {"name": "b", "image": "nginx:latest"},
            {"name": "c", "image": "registry:5000/team/nginx:1.27", "imagePullPolicy": "Never"},
            {"name": "d", "image": "registry:5000/nginx"},
            {"name": "e", "image": "nginx@sha256:abc"}]}}),
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["enableServiceLinks"], true);
    let a = &spec["containers"][0];
    assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(a["terminationMessagePolicy"], "File");
    assert_eq!(a["ports"][0]["protocol"], "TCP");
    assert_eq!(a["resources"]["requests"], json!({"cpu": "1"}));
    let policies: Vec<_> = (0..5)
        .map(|i| spec["containers"][i]["imagePullPolicy"].clone())
        .collect();
    assert_eq!(
        policies,
        ["Always", "Always", "Never", "Always", "IfNotPresent"]
    );
    assert_eq!(image_pull_policy("localhost:5000/app:v2"), "IfNotPresent");
    assert_eq!(image_pull_policy("app:v2@sha256:00"), "IfNotPresent");
}

#[test]
fn volume_probe_and_env_defaults() {
    let pod = defaulted(
        "v1",
        "Pod",
        json!({"spec": {"containers": [{"name": "a", "image": "i:1",
            "livenessProbe": {"httpGet": {"port": 8080}},
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}],
          "volumes": [{"name": "c", "configMap": {"name": "cfg"}}, {"name": "s", "secret": {"secretName": "x", "defaultMode": 256}},
                      {"name": "scratch"}, {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]}}),
    );
    let spec = &pod["spec"];
    assert_eq!(
        spec["volumes"][0]["configMap"],
        json!({"name": "cfg", "defaultMode": 420})
    );
    assert_eq!(spec["volumes"][1]["secret"]["defaultMode"], 256);
    assert_eq!(
        spec["volumes"][2],
        json!({"name": "scratch", "emptyDir": {}})
    );
    assert_eq!(spec["volumes"][3]["projected"]["defaultMode"], 420);
    assert_eq!(
        spec["volumes"][3]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3600
    );
    assert_eq!(
        spec["containers"][0]["livenessProbe"],
        json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
               "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"],
        "v1"
    );
}

#[test]
fn host_network_pods_default_host_ports() {
    let pod = defaulted(
        "v1",
        "Pod",
        json!({"spec": {"hostNetwork": true,
        "containers": [{"name": "a", "image": "i", "ports": [{"containerPort": 53}]}]}}),
    );
    assert_eq!(pod["spec"]["containers"][0]["ports"][0]["hostPort"], 53);
}

#[test]
fn deployment_defaults() {
    let deploy = defaulted(
        "apps/v1",
        "Deployment",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i:1"}]}}}}),
    );
    let spec = &deploy["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert!(spec["template"]["spec"].get("enableServiceLinks").is_none());
    let recreate = defaulted(
        "apps/v1",
        "Deployment",
        json!({"spec": {"replicas": 0, "strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(recreate["spec"]["replicas"], 0);
}

#[test]
fn stateful_set_defaults() {
    let sts = defaulted(
        "apps/v1",
        "StatefulSet",
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}}),
    );
    let spec = &sts["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(
        spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    assert_eq!(
        spec["volumeClaimTemplates"][0]["status"],
        json!({"phase": "Pending"})
    );
    let on_delete = defaulted(
        "apps/v1",
        "StatefulSet",
        json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
    );
    assert_eq!(
        on_delete["spec"]["updateStrategy"],
        json!({"type": "OnDelete"})
    );
}

#[test]
fn daemon_set_and_replica_set_defaults() {
    let ds = defaulted(
        "apps/v1",
        "DaemonSet",
        json!({"spec": {"template": {"spec": {"containers": []}}}}),
    );
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    assert!(ds["spec"].get("replicas").is_none());
    assert_eq!(ds["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    let rs = defaulted("apps/v1", "ReplicaSet", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);
}

#[test]
fn namespace_defaults() {
    let ns = defaulted("v1", "Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_eq!(
        ns,
        json!({"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}}})
    );
    let mut stored = ns;
    crate::validation::storage_fields(&resource("v1", "Namespace"), &mut stored);
    assert_eq!(stored["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(stored["status"], json!({"phase": "Active"}));
}

#[test]
fn webhook_and_crd_defaults() {
    let mwc = defaulted(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        json!({"webhooks": [{"name": "inject.configsync.dev", "clientConfig": {"service": {"name": "op", "namespace": "cs"}},
                             "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}),
    );
    let webhook = &mwc["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["matchPolicy"], "Equivalent");
    assert_eq!(
        (
            webhook["namespaceSelector"].clone(),
            webhook["objectSelector"].clone()
        ),
        (json!({}), json!({}))
    );
    assert_eq!(webhook["timeoutSeconds"], 10);
    assert_eq!(webhook["reinvocationPolicy"], "Never");
    assert_eq!(webhook["rules"][0]["scope"], "*");
    assert_eq!(webhook["clientConfig"]["service"]["port"], 443);
    let crd = defaulted(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        json!({"spec": {"names": {"kind": "ConfigSync"}}}),
    );
    assert_eq!(crd["spec"]["names"]["singular"], "configsync");
    assert_eq!(crd["spec"]["names"]["listKind"], "ConfigSyncList");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
}
