//! Kubernetes name rules, checked without an API server.

/// The longest DNS-1123 subdomain.
pub const DNS_SUBDOMAIN_MAX: usize = 253;

/// A DNS-1123 subdomain: the rule for ConfigMap and Secret names (object and container names are at least this
/// strict): lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253.
pub fn is_dns_subdomain(name: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= DNS_SUBDOMAIN_MAX
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_subdomains() {
        for good in ["a", "app-config", "v1.2", "0abc", &"a".repeat(253)] {
            assert!(is_dns_subdomain(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            ".a",
            "a.",
            "A",
            "Bad",
            "a_b",
            "a/b",
            "a b",
            &"a".repeat(254),
        ] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }
}
