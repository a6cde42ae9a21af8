use super::*;

fn service(spec: Value) -> Value {
    json!({ "metadata": { "name": "web" }, "spec": spec })
}

fn messages(causes: &[FieldCause]) -> Vec<String> {
    causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

#[test]
fn a_clusterip_service_gets_an_address_from_above_the_static_band() {
    let mut svc = service(json!({ "type": "ClusterIP", "ports": [{ "port": 80 }] }));
    assign(&mut svc, None, &Used::default()).expect("allocated");
    assert_eq!(svc["spec"]["clusterIP"], "10.96.1.0");
    assert_eq!(svc["spec"]["clusterIPs"], json!(["10.96.1.0"]));
    assert_eq!(svc["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(svc["spec"]["ipFamilyPolicy"], "SingleStack");
    assert!(svc["spec"]["ports"][0].get("nodePort").is_none());
    let used = Used {
        ips: HashSet::from(["10.96.1.0".parse().expect("an IP")]),
        ..Used::default()
    };
    let mut second = service(json!({ "ports": [{ "port": 80 }] }));
    assign(&mut second, None, &used).expect("allocated");
    assert_eq!(second["spec"]["clusterIP"], "10.96.1.1");
}

#[test]
fn a_requested_address_is_honoured_or_refused_as_kube_apiserver_words_it() {
    let used = Used {
        ips: HashSet::from(["10.96.0.77".parse().expect("an IP")]),
        ..Used::default()
    };
    let mut free = service(json!({ "clusterIP": "10.96.0.78", "ports": [{ "port": 80 }] }));
    assign(&mut free, None, &used).expect("allocated");
    assert_eq!(free["spec"]["clusterIPs"], json!(["10.96.0.78"]));
    let mut both = service(json!({ "type": "NodePort", "clusterIP": "10.96.0.77",
        "ports": [{ "port": 80, "nodePort": 40000 }] }));
    assert_eq!(
        assign(&mut both, None, &used).expect_err("refused").len(),
        1,
        "the ClusterIP's error alone, as kube-apiserver stops there"
    );
    let refused = |ip: &str| {
        let mut svc = service(json!({ "clusterIP": ip, "ports": [{ "port": 80 }] }));
        messages(&assign(&mut svc, None, &used).expect_err("refused"))
    };
    assert_eq!(
        refused("10.96.0.77"),
        [
            "spec.clusterIPs: Invalid value: [\"10.96.0.77\"]: failed to allocate IP 10.96.0.77: provided IP is already allocated"
        ]
    );
    assert_eq!(
        refused("10.9.0.1"),
        [
            "spec.clusterIPs: Invalid value: [\"10.9.0.1\"]: failed to allocate IP 10.9.0.1: the provided network does not match the current range"
        ]
    );
    assert_eq!(
        refused("garbage"),
        [
            "spec.clusterIPs[0]: Invalid value: \"garbage\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        ]
    );
}

#[test]
fn headless_and_external_name_services_get_no_address() {
    let mut headless = service(json!({ "clusterIP": "None", "ports": [{ "port": 80 }] }));
    assign(&mut headless, None, &Used::default()).expect("allocated");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert!(headless["spec"].get("clusterIPs").is_none());
    let mut external = service(json!({ "type": "ExternalName", "externalName": "example.com" }));
    assign(&mut external, None, &Used::default()).expect("allocated");
    assert!(external["spec"].get("clusterIP").is_none());
}

#[test]
fn node_ports_are_allocated_honoured_and_refused() {
    let used = Used {
        ports: HashSet::from([30080, 30086]),
        ..Used::default()
    };
    let mut svc = service(json!({ "type": "NodePort", "ports": [
        { "name": "a", "port": 80 }, { "name": "b", "port": 81, "nodePort": 30081 } ] }));
    assign(&mut svc, None, &used).expect("allocated");
    assert_eq!(
        svc["spec"]["ports"][0]["nodePort"], 30087,
        "dynamic, above the static band, free"
    );
    assert_eq!(svc["spec"]["ports"][1]["nodePort"], 30081);
    let mut lb = service(json!({ "type": "LoadBalancer", "ports": [{ "port": 80 }] }));
    assign(&mut lb, None, &used).expect("allocated");
    assert_eq!(lb["spec"]["ports"][0]["nodePort"], 30087);
    let mut bad = service(json!({ "type": "NodePort", "ports": [
        { "name": "a", "port": 80, "nodePort": 30080 },
        { "name": "b", "port": 81, "nodePort": 40000 },
        { "name": "c", "port": 82, "nodePort": 30100 },
        { "name": "d", "port": 83, "nodePort": 30100 } ] }));
    assert_eq!(
        messages(&assign(&mut bad, None, &used).expect_err("refused")),
        [
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated",
            "spec.ports[1].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767",
            "spec.ports[3].nodePort: Invalid value: 30100: provided port is already allocated",
        ]
    );
    let mut forbidden = service(json!({ "ports": [{ "port": 80, "nodePort": 30001 }] }));
    assert_eq!(
        messages(&assign(&mut forbidden, None, &used).expect_err("refused")),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
    );
}

#[test]
fn updates_keep_the_allocation_and_refuse_a_new_clusterip() {
    let old = service(
        json!({ "type": "NodePort", "clusterIP": "10.96.0.77", "clusterIPs": ["10.96.0.77"],
        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": [{ "port": 80, "nodePort": 30255 }] }),
    );
    let mut replaced = service(json!({ "type": "NodePort", "ports": [{ "port": 80 }] }));
    assign(&mut replaced, Some(&old), &Used::default()).expect("allocated");
    assert_eq!(replaced["spec"], old["spec"]);
    let mut moved = service(
        json!({ "type": "NodePort", "clusterIP": "10.96.0.78", "ports": [{ "port": 80 }] }),
    );
    assert_eq!(
        messages(&assign(&mut moved, Some(&old), &Used::default()).expect_err("refused")),
        ["spec.clusterIPs[0]: Invalid value: [\"10.96.0.78\"]: may not change once set"]
    );
    let mut back = service(json!({ "type": "ClusterIP", "clusterIP": "10.96.0.77",
        "ports": [{ "port": 80, "nodePort": 30255 }] }));
    assign(&mut back, Some(&old), &Used::default()).expect("allocated");
    assert!(back["spec"]["ports"][0].get("nodePort").is_none(), "{back}");
}
