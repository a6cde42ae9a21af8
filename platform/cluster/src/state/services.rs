//! Service addresses, allocated as kube-apiserver's service REST storage allocates them: a ClusterIP from the
//! service CIDR ([`SERVICE_CIDR`], hack/real-k8s's `--service-cluster-ip-range`) and a node port from
//! [`NODE_PORTS`] for each port of a `NodePort` or `LoadBalancer` Service.
//!
//! ```text
//!  create/update ─► used addresses (every other stored Service) ─► assign (pure) ─► stored, or 422 Invalid
//! ```
//! A requested `clusterIP`/`nodePort` is honoured when free and in range, and refused otherwise with the
//! apiserver's field errors; `clusterIP: None` stays headless; ExternalName Services get none. Once set, the
//! ClusterIP may not change, and an update that leaves it (or a node port) out keeps the allocated one. Dynamic
//! allocations come from above the static band (as kube-apiserver prefers), in order rather than at random.
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use configsync_apimachinery::validation::FieldCause;
use serde_json::{Value, json};

use super::Inner;
use crate::store::{ObjectKey, ResourceKey};

/// The service CIDR: network address and prefix length.
pub const SERVICE_CIDR: (Ipv4Addr, u32) = (Ipv4Addr::new(10, 96, 0, 0), 16);
/// The node-port range (`--service-node-port-range`).
pub const NODE_PORTS: RangeInclusive<i64> = 30000..=32767;
/// Node ports below this (the static band, `min(max(16, size/32), 128)` ports) are taken dynamically last.
const NODE_PORT_DYNAMIC_FROM: i64 = 30086;
/// Addresses below network + this (the static band, `min(max(16, size/16), 256)`) are taken dynamically last.
const IP_DYNAMIC_OFFSET: u32 = 256;

/// Addresses held by other Services.
#[derive(Debug, Default)]
pub struct Used {
    /// ClusterIPs.
    pub ips: HashSet<Ipv4Addr>,
    /// Node ports.
    pub ports: HashSet<i64>,
}

/// Allocate `service`'s addresses against every other stored Service (`key` is its own).
pub(super) fn allocate(
    inner: &Inner,
    key: &ObjectKey,
    service: &mut Value,
    old: Option<&Value>,
) -> Result<(), Vec<FieldCause>> {
    let mut used = Used::default();
    for (other, object) in inner.store.list(&ResourceKey::new("", "services"), None) {
        if &other == key {
            continue;
        }
        let spec = &object["spec"];
        if let Some(ip) = text(spec, "clusterIP").and_then(|ip| ip.parse().ok()) {
            used.ips.insert(ip);
        }
        used.ports.extend(node_ports(spec).into_iter().flatten());
    }
    assign(service, old, &used)
}

fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn node_ports(spec: &Value) -> Vec<Option<i64>> {
    let ports = spec.get("ports").and_then(Value::as_array);
    ports
        .into_iter()
        .flatten()
        .map(|p| {
            p.get("nodePort")
                .and_then(Value::as_i64)
                .filter(|n| *n != 0)
        })
        .collect()
}

fn invalid(field: &str, detail: String) -> FieldCause {
    FieldCause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {detail}"),
        field: field.into(),
    }
}

/// Fill in `service`'s ClusterIP and node ports (pure: `used` holds every other Service's).
///
/// # Errors
/// The field errors kube-apiserver answers for a taken, out-of-range or changed address.
pub fn assign(
    service: &mut Value,
    old: Option<&Value>,
    used: &Used,
) -> Result<(), Vec<FieldCause>> {
    let null = Value::Null;
    let old_spec = old.map_or(&null, |old| &old["spec"]);
    let Some(spec) = service.get_mut("spec").filter(|s| s.is_object()) else {
        return Ok(());
    };
    let service_type = text(spec, "type").unwrap_or("ClusterIP").to_owned();
    let mut causes = Vec::new();
    if service_type != "ExternalName" {
        cluster_ip(spec, old_spec, used, &mut causes);
    }
    // kube-apiserver allocates the ClusterIP first and stops at its error.
    if !causes.is_empty() {
        return Err(causes);
    }
    node_port_fields(spec, old_spec, &service_type, used, &mut causes);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(causes)
    }
}

fn cluster_ip(spec: &mut Value, old_spec: &Value, used: &Used, causes: &mut Vec<FieldCause>) {
    let requested = text(spec, "clusterIP")
        .or_else(|| spec.pointer("/clusterIPs/0").and_then(Value::as_str))
        .map(str::to_owned);
    if let Some(old_ip) = text(old_spec, "clusterIP") {
        match requested {
            Some(ip) if ip != old_ip => causes.push(invalid(
                "spec.clusterIPs[0]",
                format!("[\"{ip}\"]: may not change once set"),
            )),
            _ => {
                for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                    if spec.get(field).is_none_or(Value::is_null)
                        && let Some(value) = old_spec.get(field)
                    {
                        spec[field] = value.clone();
                    }
                }
            }
        }
        return;
    }
    let ip = match requested.as_deref() {
        Some("None") => return,
        Some(text) => match static_ip(text, used) {
            Ok(ip) => ip,
            Err(cause) => return causes.push(cause),
        },
        None => match dynamic_ip(used) {
            Some(ip) => ip,
            None => {
                let detail = "[]: failed to allocate a serviceIP: range is full".to_owned();
                return causes.push(invalid("spec.clusterIPs", detail));
            }
        },
    };
    spec["clusterIP"] = json!(ip.to_string());
    spec["clusterIPs"] = json!([ip.to_string()]);
    if spec.get("ipFamilies").is_none_or(Value::is_null) {
        spec["ipFamilies"] = json!(["IPv4"]);
    }
    if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
        spec["ipFamilyPolicy"] = json!("SingleStack");
    }
}

fn ip_range() -> RangeInclusive<u32> {
    let (network, prefix) = SERVICE_CIDR;
    let base = u32::from(network);
    let size = 1u32 << (32 - prefix);
    // The network and broadcast addresses are never handed out.
    base + 1..=base + size - 2
}

fn static_ip(text: &str, used: &Used) -> Result<Ipv4Addr, FieldCause> {
    let Ok(ip) = text.parse::<Ipv4Addr>() else {
        return Err(invalid(
            "spec.clusterIPs[0]",
            format!("\"{text}\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ));
    };
    let failed = |why: &str| {
        invalid(
            "spec.clusterIPs",
            format!("[\"{ip}\"]: failed to allocate IP {ip}: {why}"),
        )
    };
    if !ip_range().contains(&u32::from(ip)) {
        return Err(failed(
            "the provided network does not match the current range",
        ));
    }
    if used.ips.contains(&ip) {
        return Err(failed("provided IP is already allocated"));
    }
    Ok(ip)
}

fn dynamic_ip(used: &Used) -> Option<Ipv4Addr> {
    let range = ip_range();
    let split = range.start() + IP_DYNAMIC_OFFSET - 1;
    (split..=*range.end())
        .chain(*range.start()..split)
        .map(Ipv4Addr::from)
        .find(|ip| !used.ips.contains(ip))
}

fn node_port_fields(
    spec: &mut Value,
    old_spec: &Value,
    service_type: &str,
    used: &Used,
    causes: &mut Vec<FieldCause>,
) {
    let wants_ports = service_type == "NodePort"
        || (service_type == "LoadBalancer"
            && spec.get("allocateLoadBalancerNodePorts") != Some(&json!(false)));
    let old_type = text(old_spec, "type").unwrap_or("ClusterIP");
    let old_ports = old_spec
        .get("ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut taken: HashSet<i64> = HashSet::new();
    let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) else {
        return;
    };
    for (index, port) in ports.iter_mut().enumerate() {
        let field = format!("spec.ports[{index}].nodePort");
        let same_port = |old: &&Value| old.get("port") == port.get("port");
        let kept = old_ports
            .iter()
            .find(same_port)
            .and_then(|p| p.get("nodePort"))
            .cloned();
        let requested = port
            .get("nodePort")
            .and_then(Value::as_i64)
            .filter(|n| *n != 0);
        if service_type == "ClusterIP" {
            // Switching back to ClusterIP drops the ports the server allocated (the user's leftovers).
            if requested.is_some()
                && old_type != "ClusterIP"
                && port.get("nodePort") == kept.as_ref()
            {
                if let Some(map) = port.as_object_mut() {
                    map.remove("nodePort");
                }
            } else if requested.is_some() {
                causes.push(FieldCause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: may not be used when `type` is 'ClusterIP'".into(),
                    field,
                });
            }
            continue;
        }
        if !wants_ports {
            continue;
        }
        let own = kept.as_ref().and_then(Value::as_i64);
        let number = match requested.or(own) {
            Some(n) if Some(n) == own && !taken.contains(&n) => n,
            Some(n) if !NODE_PORTS.contains(&n) => {
                let (low, high) = (NODE_PORTS.start(), NODE_PORTS.end());
                let why = format!(
                    "provided port is not in the valid range. The range of valid ports is {low}-{high}"
                );
                causes.push(invalid(&field, format!("{n}: {why}")));
                continue;
            }
            Some(n) if used.ports.contains(&n) || taken.contains(&n) => {
                causes.push(invalid(
                    &field,
                    format!("{n}: provided port is already allocated"),
                ));
                continue;
            }
            Some(n) => n,
            None => match (NODE_PORT_DYNAMIC_FROM..=*NODE_PORTS.end())
                .chain(*NODE_PORTS.start()..NODE_PORT_DYNAMIC_FROM)
                .find(|n| !used.ports.contains(n) && !taken.contains(n))
            {
                Some(n) => n,
                None => {
                    causes.push(invalid(
                        &field,
                        "0: failed to allocate a nodePort: range is full".to_owned(),
                    ));
                    continue;
                }
            },
        };
        taken.insert(number);
        port["nodePort"] = json!(number);
    }
}

#[cfg(test)]
mod tests;
