//! The course's chapters 8 (Services) and 9 (Ingress), applied as written with kubectl, on either backend.
//! Services get a ClusterIP from the service CIDR and NodePort/LoadBalancer Services a node port, as
//! kube-apiserver allocates them, and a taken address is refused; the Ingresses (HTTP, path routing, virtual
//! hosts, HTTPS with a Secret from `kubectl create secret tls`) are stored and listed, and a bad one is refused
//! with kube-apiserver's message.
mod support;

use std::net::Ipv4Addr;

use serde_json::{Value, json};
use support::{Cluster, path_str, start};

fn service(cluster: &Cluster, name: &str) -> Value {
    cluster.json(&["get", "service", name])
}

fn in_service_cidr(ip: &str) -> bool {
    ip.parse::<Ipv4Addr>()
        .is_ok_and(|ip| ip.octets()[..2] == [10, 96])
}

fn node_port(service: &Value) -> i64 {
    service["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .unwrap_or_default()
}

#[test]
fn chapter_8_services_get_cluster_ips_and_node_ports() {
    let Some(cluster) = start() else {
        return;
    };
    cluster.apply_repo("examples/course/08-services");
    let plain = service(&cluster, "hello");
    let ip = plain["spec"]["clusterIP"].as_str().unwrap_or_default();
    assert!(in_service_cidr(ip), "{plain}");
    assert_eq!(plain["spec"]["clusterIPs"], json!([ip]));
    assert!(plain["spec"]["ports"][0].get("nodePort").is_none());
    let nodeport = service(&cluster, "hello-nodeport");
    let lb = service(&cluster, "hello-lb");
    for svc in [&nodeport, &lb] {
        assert!((30000..=32767).contains(&node_port(svc)), "{svc}");
        assert!(in_service_cidr(
            svc["spec"]["clusterIP"].as_str().unwrap_or_default()
        ));
    }
    assert_ne!(node_port(&nodeport), node_port(&lb));
    let headless = service(&cluster, "hello-headless");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    let listed = cluster.ok(&["get", "services", "hello-nodeport", "hello-lb"]);
    assert!(
        listed.contains(&format!("80:{}/TCP", node_port(&nodeport))),
        "{listed}"
    );
    // Asking for what is taken is refused, as kube-apiserver words it.
    let taken = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "taken"},
        "spec": {"type": "NodePort", "clusterIP": ip, "ports": [{"port": 80, "nodePort": node_port(&nodeport)}]}});
    let file = cluster.file("taken.json", &taken.to_string());
    let refused = cluster.fails(&["create", "-f", path_str(&file)]);
    assert!(
        refused.contains(&format!(
            "spec.clusterIPs: Invalid value: [\"{ip}\"]: failed to allocate IP {ip}: provided IP is already allocated"
        )),
        "{refused}"
    );
    let free_ip = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "taken"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": node_port(&lb)}]}});
    let file = cluster.file("taken-port.json", &free_ip.to_string());
    let refused = cluster.fails(&["create", "-f", path_str(&file)]);
    let port = node_port(&lb);
    assert!(
        refused.contains(&format!(
            "spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated"
        )),
        "{refused}"
    );
    let out_of_range = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "taken"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 40000}]}});
    let file = cluster.file("out-of-range.json", &out_of_range.to_string());
    let refused = cluster.fails(&["create", "-f", path_str(&file)]);
    assert!(refused.contains("spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767"), "{refused}");
    // Re-applying keeps the allocation.
    cluster.apply_repo("examples/course/08-services");
    assert_eq!(service(&cluster, "hello")["spec"]["clusterIP"], ip);
    assert_eq!(
        node_port(&service(&cluster, "hello-nodeport")),
        node_port(&nodeport)
    );
}

#[test]
fn chapter_9_ingresses_apply_as_written() {
    let Some(cluster) = start() else {
        return;
    };
    let tls = cluster.dir.path().join("tls");
    support::make_certificate(&tls, "secure.example.com");
    cluster.create_tls_secret("web-tls", &tls, false);
    let secret = cluster.json(&["get", "secret", "web-tls"]);
    assert_eq!(secret["type"], "kubernetes.io/tls");
    cluster.apply_repo("examples/course/09-ingress");
    let paths = cluster.json(&["get", "ingress", "hello-paths"]);
    let routes: Vec<(&str, &str)> = paths["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["path"].as_str().unwrap_or(""),
                p["backend"]["service"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(routes, [("/api", "api"), ("/", "web")]);
    let vhosts = cluster.json(&["get", "ingress", "hello-vhosts"]);
    let hosts: Vec<&str> = vhosts["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["host"].as_str())
        .collect();
    assert_eq!(hosts, ["web.example.com", "api.example.com"]);
    let https = cluster.json(&["get", "ing", "hello-https"]);
    assert_eq!(https["spec"]["tls"][0]["secretName"], "web-tls");
    assert_eq!(https["status"], json!({"loadBalancer": {}}));
    assert_eq!(https["metadata"]["generation"], 1);
    let table = cluster.ok(&[
        "get",
        "ingress",
        "hello-https",
        "hello-vhosts",
        "hello-http",
    ]);
    let row = |name: &str| -> Vec<&str> {
        let cells = |l: &&str| l.split_whitespace().next() == Some(name);
        let line = table.lines().find(cells).unwrap_or_default();
        line.split_whitespace().collect()
    };
    assert_eq!(
        row("hello-https")[..3],
        ["hello-https", "nginx", "secure.example.com"],
        "{table}"
    );
    assert_eq!(row("hello-https")[3..5], ["80,", "443"], "{table}");
    assert_eq!(
        row("hello-vhosts")[2],
        "web.example.com,api.example.com",
        "{table}"
    );
    assert_eq!(row("hello-http")[2], "*", "{table}");
    let bad = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bad"},
        "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
    let file = cluster.file("bad.json", &bad.to_string());
    let refused = cluster.fails(&["apply", "-f", path_str(&file)]);
    assert!(
        refused.contains(
            "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
        ),
        "{refused}"
    );
}
