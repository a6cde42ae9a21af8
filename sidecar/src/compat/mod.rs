//! Drop-in modes: run where kiwigrid/k8s-sidecar or jimmidyson/configmap-reload ran, by swapping only the image.
//!
//! ```text
//! argv + env ──detect──▶ `sidecar compat k8s-sidecar`            ──k8s_sidecar::translate(env)────▶ sidecar flags
//!                        `sidecar compat configmap-reload ARGS…` ──configmap_reload::translate(ARGS)─▶ sidecar flags
//! ```
//! # Theory of operation
//! Both tools are configured in a way the sidecar's own command line is not: k8s-sidecar only through environment
//! variables (the container has no `args`), configmap-reload only through Go-style flags (`-volume-dir=…`). A team
//! switches by changing the image alone, so nothing else in the pod spec can say which mode is meant: [`detect`]
//! decides from what the container was started with, and rewrites the command line to the explicit form
//! `sidecar compat MODE [ARGS…]`, which can also be written by hand.
//! * k8s-sidecar: no arguments at all (or only the image's default `--help`), with `FOLDER` and `LABEL` (or
//!   `RESOURCE_NAME`) in the environment: the two variables k8s-sidecar requires, which no configsync option reads.
//!   A pod that means the sidecar's own mode always has arguments, so this never captures one.
//! * configmap-reload: the first argument is one of configmap-reload's flags (`-volume-dir`, `--webhook-url`, …),
//!   none of which is a configsync command.
//!
//! The translations are pure functions from the environment or the arguments to the sidecar's own flags plus
//! warnings for what is set but not supported (names only, never values), so every mapping is tested as a table
//! and the README's compatibility tables are checked against them. The running sidecar is then exactly the one
//! those flags describe, with its atomic publishing and its probes.
pub mod configmap_reload;
pub mod k8s_sidecar;
pub mod url_keys;

use std::ffi::OsString;
use std::fmt;
use std::str::FromStr;

/// A tool the sidecar can stand in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    /// kiwigrid/k8s-sidecar, configured by environment variables.
    K8sSidecar,
    /// jimmidyson/configmap-reload, configured by flags.
    ConfigmapReload,
}

impl FromStr for Compat {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "k8s-sidecar" => Ok(Self::K8sSidecar),
            "configmap-reload" => Ok(Self::ConfigmapReload),
            _ => Err(format!(
                "unknown mode {input:?}: expected k8s-sidecar or configmap-reload"
            )),
        }
    }
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::K8sSidecar => "k8s-sidecar",
            Self::ConfigmapReload => "configmap-reload",
        })
    }
}

/// The sidecar's own flags for a compatible configuration, and what it could not carry over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translation {
    /// Arguments for `configsync sidecar` (without the program or subcommand name).
    pub args: Vec<String>,
    /// One line per setting that is set but ignored or handled differently (names, never values).
    pub warnings: Vec<String>,
}

impl Translation {
    fn arg(&mut self, flag: &str, value: impl Into<String>) {
        self.args.push(flag.to_string());
        self.args.push(value.into());
    }
}

/// Why a compatible configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompatError {
    /// A required setting is missing.
    #[error("{tool}: {setting} is required")]
    Missing {
        /// The tool whose configuration it is.
        tool: Compat,
        /// The variable or flag.
        setting: &'static str,
    },
    /// A setting has a value the sidecar cannot use.
    #[error("{tool}: {setting}: {reason}")]
    Invalid {
        /// The tool whose configuration it is.
        tool: Compat,
        /// The variable or flag.
        setting: String,
        /// Why (never the value of a credential).
        reason: String,
    },
}

/// configmap-reload's flag names (without dashes), which start a configmap-reload command line.
const CONFIGMAP_RELOAD_FLAGS: &[&str] = &[
    "volume-dir",
    "webhook-url",
    "webhook-method",
    "webhook-status-code",
    "webhook-retries",
    "web.listen-address",
    "web.telemetry-path",
];

/// The command line to run instead of `args` (`args[0]` is the program), when the container was started the way
/// k8s-sidecar or configmap-reload is (see the module docs); `None` leaves it alone. `lookup` reads the
/// environment.
pub fn detect(args: &[OsString], lookup: &dyn Fn(&str) -> Option<String>) -> Option<Vec<OsString>> {
    let (program, rest) = args.split_first()?;
    let explicit = |mode: Compat, extra: &[OsString]| {
        let head = [
            program.clone(),
            "sidecar".into(),
            "compat".into(),
            mode.to_string().into(),
        ];
        Some(head.into_iter().chain(extra.iter().cloned()).collect())
    };
    let set = |name: &str| lookup(name).is_some_and(|value| !value.is_empty());
    let bare = rest.is_empty() || rest == [OsString::from("--help")];
    let k8s_sidecar_env = set("FOLDER") && (set("LABEL") || set("RESOURCE_NAME"));
    if bare && k8s_sidecar_env {
        return explicit(Compat::K8sSidecar, &[]);
    }
    if k8s_sidecar_env && k8s_sidecar::only_its_flags(rest) {
        return explicit(Compat::K8sSidecar, rest);
    }
    let first = rest.first()?.to_str()?;
    let name = first.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    if first.starts_with('-') && CONFIGMAP_RELOAD_FLAGS.contains(&name) {
        return explicit(Compat::ConfigmapReload, rest);
    }
    None
}

/// Translate the configuration of `mode`: the environment for k8s-sidecar, `args` for configmap-reload.
///
/// # Errors
/// [`CompatError`] naming the setting that cannot be used.
pub fn translate(
    mode: Compat,
    args: &[String],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Translation, CompatError> {
    match mode {
        Compat::K8sSidecar => k8s_sidecar::translate(lookup, args),
        Compat::ConfigmapReload => configmap_reload::translate(args),
    }
}

#[cfg(test)]
mod tests;
