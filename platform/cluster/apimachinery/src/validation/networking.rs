//! `networking.k8s.io/v1` Ingress rules (`pkg/apis/networking/validation`, `ValidateIngressCreate`): a default
//! backend or rules, DNS hosts (a leading `*.` wildcard allowed, never an IP), paths with a supported
//! `pathType` (absolute for `Exact`/`Prefix`), one backend per path with a port, and TLS Secret names.
use super::causes::Causes;
use super::names::{go_quote, is_dns1123_subdomain};
use serde_json::Value;

const PATH_TYPES: [&str; 3] = ["Exact", "ImplementationSpecific", "Prefix"];

/// Validate an Ingress.
pub(super) fn ingress(causes: &mut Causes, object: &Value) {
    let null = Value::Null;
    let spec = object.get("spec").unwrap_or(&null);
    let rules = causes
        .array(spec, "rules", "spec.rules")
        .cloned()
        .unwrap_or_default();
    let default_backend = spec.get("defaultBackend").filter(|b| !b.is_null());
    if rules.is_empty() && default_backend.is_none() {
        causes.invalid(
            "spec",
            "null",
            "either `defaultBackend` or `rules` must be specified",
        );
    }
    if let Some(backend) = default_backend {
        self::backend(causes, backend, "spec.defaultBackend");
    }
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        if let Some(host) = causes.string(rule, "host", &format!("{path}.host")) {
            self::host(causes, host, &format!("{path}.host"), true);
        }
        if let Some(http) = rule.get("http").filter(|h| !h.is_null()) {
            paths(causes, http, &format!("{path}.http"));
        }
    }
    let tls = causes
        .array(spec, "tls", "spec.tls")
        .cloned()
        .unwrap_or_default();
    for (i, entry) in tls.iter().enumerate() {
        let path = format!("spec.tls[{i}]");
        let hosts = causes
            .array(entry, "hosts", &format!("{path}.hosts"))
            .cloned();
        for (j, host) in hosts.unwrap_or_default().iter().enumerate() {
            if let Some(host) = host.as_str() {
                self::host(causes, host, &format!("{path}.hosts[{j}]"), false);
            }
        }
        let field = format!("{path}.secretName");
        if let Some(name) = causes
            .string(entry, "secretName", &field)
            .filter(|n| !n.is_empty())
        {
            subdomain(causes, name, &field);
        }
    }
}

fn subdomain(causes: &mut Causes, value: &str, field: &str) {
    for error in is_dns1123_subdomain(value) {
        causes.invalid(field, &go_quote(value), &error);
    }
}

fn host(causes: &mut Causes, host: &str, field: &str, no_ip: bool) {
    if no_ip && host.parse::<std::net::IpAddr>().is_ok() {
        causes.invalid(
            field,
            &go_quote(host),
            "must be a DNS name, not an IP address",
        );
        return;
    }
    match host.strip_prefix("*.") {
        Some(rest) => {
            if !is_dns1123_subdomain(rest).is_empty() {
                let detail = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS \
                              subdomain, which must consist of lower case alphanumeric characters, '-' or '.' \
                              and end with an alphanumeric character (e.g. '*.example.com', regex used for \
                              validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
                causes.invalid(field, &go_quote(host), detail);
            }
        }
        None => subdomain(causes, host, field),
    }
}

fn paths(causes: &mut Causes, http: &Value, field: &str) {
    let items = causes
        .array(http, "paths", &format!("{field}.paths"))
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        causes.required(&format!("{field}.paths"), "");
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}.paths[{i}]");
        let value = causes
            .string(item, "path", &format!("{path}.path"))
            .unwrap_or_default();
        match causes.string(item, "pathType", &format!("{path}.pathType")) {
            // `validateHTTPIngressPath` checks nothing more of a path without a type.
            None | Some("") => {
                causes.required(&format!("{path}.pathType"), "pathType must be specified");
                continue;
            }
            Some("Exact" | "Prefix") if !value.starts_with('/') => {
                causes.invalid(
                    &format!("{path}.path"),
                    &go_quote(value),
                    "must be an absolute path",
                );
            }
            Some(kind) if !PATH_TYPES.contains(&kind) => {
                causes.not_supported(&format!("{path}.pathType"), &go_quote(kind), &PATH_TYPES);
            }
            Some(_) => {}
        }
        match item.get("backend").filter(|b| !b.is_null()) {
            Some(backend) => self::backend(causes, backend, &format!("{path}.backend")),
            None => causes.invalid(
                &format!("{path}.backend"),
                "\"\"",
                "resource or service backend is required",
            ),
        }
    }
}

fn backend(causes: &mut Causes, backend: &Value, field: &str) {
    let present = |key: &str| backend.get(key).is_some_and(|v| !v.is_null());
    match (present("service"), present("resource")) {
        (true, true) => causes.invalid(
            field,
            "\"\"",
            "cannot set both resource and service backends",
        ),
        (false, false) => causes.invalid(field, "\"\"", "resource or service backend is required"),
        (false, true) => {}
        (true, false) => {
            let service = &backend["service"];
            let port = service.get("port").unwrap_or(&Value::Null);
            let name = port
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty());
            let number = port
                .get("number")
                .and_then(Value::as_i64)
                .filter(|n| *n != 0);
            match (name, number) {
                (Some(_), Some(_)) => causes.invalid(
                    &format!("{field}.service.port"),
                    "\"\"",
                    "cannot set both port name & port number",
                ),
                (None, None) => causes.required(field, "port name or number is required"),
                _ => {}
            }
            if let Some(number) = number.filter(|n| !(1..=65535).contains(n)) {
                causes.invalid(
                    &format!("{field}.service.port.number"),
                    &number.to_string(),
                    super::pods::PORT_RANGE,
                );
            }
        }
    }
}
