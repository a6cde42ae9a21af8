//! Sharing one real cluster between tests: every test works in a namespace of its own, named so that a person
//! reading `kubectl get namespaces` sees which test made it (`hack/real-k8s`, `CONFIGSYNC_REAL_K8S`).

/// A namespace name unique to this test run: `<prefix>-<the test's name, cut to fit>-<random hex>`. The test's name
/// is its thread's (the test harness names each test's thread after it).
pub fn test_namespace(prefix: &str) -> String {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test");
    let test = test.rsplit("::").next().unwrap_or(test);
    let name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let suffix: u32 = rand::random();
    format!("{prefix}-{}-{suffix:08x}", name.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_dns_labels_that_name_the_test_and_differ() {
        let name = super::test_namespace("e2e");
        assert!(
            name.starts_with("e2e-names-are-dns-labels-that-name-the-test-"),
            "{name}"
        );
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert_ne!(name, super::test_namespace("e2e"));
    }
}
