//! What the operator needs from the Kubernetes version the API server reports (`GET /version`).
//!
//! ```text
//!  version.Info { major: "1", minor: "28+" } ──parse──► KubeVersion(1, 28)
//!        ├─ below MINIMUM ──► ServerVersionError::Unsupported (the operator exits with the message)
//!        └─ native sidecars? (NATIVE_SIDECARS and up) ──► the injector's default sidecar kind
//! ```
//! The minimum is what the shipped manifests and the operator's requests need, not a tested range: the
//! ConfigSync CRD's `x-kubernetes-validations` rules (CEL) are enabled by default from 1.25 (an older server drops
//! them silently, so a bad debounce or source would be stored); server-side apply (GA 1.22), `admissionregistration
//! .k8s.io/v1` (1.16), `coordination.k8s.io/v1` Leases (1.14) and `events.k8s.io/v1` (1.19) are older. Native
//! sidecars (an init container with `restartPolicy: Always`) are on by default from 1.29; below that the
//! injector adds a classic sidecar. The test suites run against 1.37.2 and the embedded server (1.33).
use std::fmt;

use k8s_openapi::apimachinery::pkg::version::Info;

/// A Kubernetes `major.minor` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion {
    /// The major version (1).
    pub major: u32,
    /// The minor version.
    pub minor: u32,
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The oldest Kubernetes the operator runs against.
pub const MINIMUM: KubeVersion = KubeVersion {
    major: 1,
    minor: 25,
};
/// The first Kubernetes with native sidecars on by default (the `SidecarContainers` feature, beta).
pub const NATIVE_SIDECARS: KubeVersion = KubeVersion {
    major: 1,
    minor: 29,
};

/// Why the server's version does not do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerVersionError {
    /// `major`/`minor` are not numbers (after dropping a provider suffix such as `28+`).
    #[error(
        "cannot read the Kubernetes version {git_version:?} (major {major:?}, minor {minor:?})"
    )]
    ParseVersion {
        /// `gitVersion` as reported.
        git_version: String,
        /// `major` as reported.
        major: String,
        /// `minor` as reported.
        minor: String,
    },
    /// The server is older than [`MINIMUM`].
    #[error(
        "Kubernetes {found} ({git_version}) is not supported: configsync needs Kubernetes {MINIMUM} or newer \
         (the ConfigSync CRD's validation rules are enforced from {MINIMUM})"
    )]
    Unsupported {
        /// The version found.
        found: KubeVersion,
        /// `gitVersion` as reported.
        git_version: String,
    },
}

/// The leading digits of a version field: managed clusters report minors like `28+`.
fn number(field: &str) -> Option<u32> {
    let digits: String = field.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The `major.minor` of the server.
///
/// # Errors
/// [`ServerVersionError::ParseVersion`] when `major` or `minor` is not a number.
pub fn parse(info: &Info) -> Result<KubeVersion, ServerVersionError> {
    match (number(&info.major), number(&info.minor)) {
        (Some(major), Some(minor)) => Ok(KubeVersion { major, minor }),
        _ => Err(ServerVersionError::ParseVersion {
            git_version: info.git_version.clone(),
            major: info.major.clone(),
            minor: info.minor.clone(),
        }),
    }
}

/// The server's version, if the operator supports it.
///
/// # Errors
/// [`ServerVersionError`] when it cannot be read or is below [`MINIMUM`].
pub fn check(info: &Info) -> Result<KubeVersion, ServerVersionError> {
    let found = parse(info)?;
    if found < MINIMUM {
        return Err(ServerVersionError::Unsupported {
            found,
            git_version: info.git_version.clone(),
        });
    }
    Ok(found)
}

/// Whether the injector should add native sidecars on a server of this version.
pub fn has_native_sidecars(version: KubeVersion) -> bool {
    version >= NATIVE_SIDECARS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(major: &str, minor: &str) -> Info {
        Info {
            major: major.to_owned(),
            minor: minor.to_owned(),
            git_version: format!("v{major}.{minor}.0"),
            ..Info::default()
        }
    }

    #[test]
    fn provider_suffixes_are_read_as_the_number() {
        let version = parse(&info("1", "28+")).unwrap();
        assert_eq!(
            version,
            KubeVersion {
                major: 1,
                minor: 28
            }
        );
        assert!(!has_native_sidecars(version));
        assert!(has_native_sidecars(parse(&info("1", "29")).unwrap()));
        assert!(has_native_sidecars(parse(&info("1", "37")).unwrap()));
    }

    #[test]
    fn below_the_minimum_is_refused_with_the_minimum_named() {
        let error = check(&info("1", "24")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Kubernetes 1.24 (v1.24.0) is not supported: configsync needs Kubernetes 1.25 or newer \
             (the ConfigSync CRD's validation rules are enforced from 1.25)"
        );
        assert_eq!(check(&info("1", "25")), Ok(MINIMUM));
    }

    #[test]
    fn an_unreadable_version_is_an_error_not_a_guess() {
        let error = check(&info("", "x")).unwrap_err();
        assert!(
            matches!(error, ServerVersionError::ParseVersion { .. }),
            "{error}"
        );
    }
}
