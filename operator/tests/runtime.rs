//! Health and metrics endpoints, and Lease-based leader election, against the embedded cluster.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use configsync_operator::controller::Config;
use configsync_operator::controller::health::{self, HealthState};
use configsync_operator::controller::leader::{self, LeaseConfig};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn health_readiness_and_metrics_after_a_rollout() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    create_deployment(&client, &mk_auto_deployment("web", env_from("app"))).await;
    let operator = Operator::start(client.clone(), Config::default()).await;
    let adopted = wait_for_record(&client, "web", None).await;
    put_configmap(&client, "app", json!({"k": "2"})).await;
    wait_for_record(&client, "web", observed_hash(&adopted).as_deref()).await;

    let ready = Arc::new(AtomicBool::new(false));
    let state = HealthState {
        ready: ready.clone(),
        registry: operator.registry.clone(),
    };
    let addr = health::serve("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap();
    assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
    ready.store(true, Ordering::Release);
    assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
    let metrics = get(addr, "/metrics").await;
    assert!(
        metrics.contains(
            "configsync_operator_rollouts_total{kind=\"Deployment\",reason=\"ConfigRolled\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("configsync_operator_followed_workloads 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("configsync_operator_event_to_patch_seconds_count 1"),
        "{metrics}"
    );
    assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
}

fn lease_config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        name: "configsync".to_owned(),
        namespace: NS.to_owned(),
        identity: identity.to_owned(),
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn a_standby_takes_over_when_the_leader_stops_renewing() {
    let (_cluster, client) = mk_cluster().await;
    let first = leader::acquire(client.clone(), lease_config("first"))
        .await
        .unwrap();
    let standby = tokio::spawn(leader::acquire(client.clone(), lease_config("second")));
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let holder = || async {
        let lease = leases.get("configsync").await.unwrap();
        lease.spec.and_then(|s| s.holder_identity)
    };
    assert_eq!(holder().await.as_deref(), Some("first"));
    assert!(
        !standby.is_finished(),
        "the standby waits while the Lease is renewed"
    );

    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(10), standby)
        .await
        .expect("the standby takes over after the Lease expires")
        .unwrap()
        .unwrap();
    assert_eq!(holder().await.as_deref(), Some("second"));
    let transitions = leases
        .get("configsync")
        .await
        .unwrap()
        .spec
        .unwrap()
        .lease_transitions;
    assert_eq!(transitions, Some(1));
    drop(second);
}

#[tokio::test]
async fn invalid_timings_are_rejected() {
    let (_cluster, client) = mk_cluster().await;
    let config = LeaseConfig {
        renew_deadline: Duration::from_secs(5),
        ..lease_config("x")
    };
    assert!(leader::acquire(client, config).await.is_err());
}
