//! Environment projection: key-to-variable naming, a dotenv file `set -a; . file` reads back exactly, and JSON.
//!
//! Naming: `prefix + key`, optionally upper-cased; every byte outside `[A-Za-z0-9_]` becomes `_`, and a name that
//! would start with a digit gets a leading `_`, and so does a name the shell will not let `set -a; . file` assign
//! (see [`SHELL_RESERVED`]). Each key whose name had to be sanitised produces a warning (the
//! prefix and upper-casing are asked for, so they do not warn). Two keys that end up with the same name are an error,
//! never a silent overwrite.
//!
//! Quoting: every value is wrapped in single quotes and each `'` becomes `'\''`. Inside single quotes a POSIX shell
//! takes every byte literally (newlines, `$`, backslashes, backticks), so sourcing the file restores the exact bytes.
use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::source::Value;

/// How keys become variable names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvRules {
    /// Prepended to every key before sanitising (`APP_`).
    pub prefix: String,
    /// Upper-case the whole name.
    pub upper_case: bool,
}

/// Variable name to value (valid UTF-8, no NUL), ordered.
pub type EnvVars = BTreeMap<String, Value>;

/// Why a key cannot become a variable. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The value is not UTF-8 (binary data cannot be an environment variable).
    #[error(
        "{source_name} key {key:?}: value is binary (not UTF-8) and cannot be an environment variable"
    )]
    Binary {
        /// The source, `kind/ns/name`.
        source_name: String,
        /// The key.
        key: String,
    },
    /// The value contains NUL, which no environment variable can hold.
    #[error(
        "{source_name} key {key:?}: value contains a NUL byte and cannot be an environment variable"
    )]
    Nul {
        /// The source, `kind/ns/name`.
        source_name: String,
        /// The key.
        key: String,
    },
    /// Two keys map to one name.
    #[error("environment variable {name} would come from both {first} and {second}")]
    Collision {
        /// The variable name.
        name: String,
        /// `source key` of the first claimant.
        first: String,
        /// `source key` of the second claimant.
        second: String,
    },
}

/// Names a POSIX shell refuses to source from a file: `OPTIND` must be a number in dash (an empty or textual value
/// aborts `.` and every later line is lost), and bash keeps the others read-only.
pub const SHELL_RESERVED: [&str; 7] = [
    "OPTIND",
    "UID",
    "EUID",
    "PPID",
    "SHELLOPTS",
    "BASHOPTS",
    "BASH_VERSINFO",
];

/// The variable name for `key`, and whether sanitising changed it.
pub fn env_name(key: &str, rules: &EnvRules) -> (String, bool) {
    let wanted = format!("{}{key}", rules.prefix);
    let wanted = if rules.upper_case {
        wanted.to_uppercase()
    } else {
        wanted
    };
    let mut name: String = wanted
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit())
        || SHELL_RESERVED.contains(&name.as_str())
    {
        name.insert(0, '_');
    }
    let renamed = name != wanted;
    (name, renamed)
}

/// Collects variables from several sources, remembering who claimed each name.
#[derive(Debug, Default)]
pub struct EnvBuilder {
    vars: EnvVars,
    owners: BTreeMap<String, String>,
    /// One line per renamed key (names only).
    pub warnings: Vec<String>,
}

impl EnvBuilder {
    /// Add `key` of source `source_name`.
    ///
    /// # Errors
    /// [`EnvError`] when the value is binary or has NUL, or the name is already taken.
    pub fn add(
        &mut self,
        source_name: &str,
        key: &str,
        value: &Value,
        rules: &EnvRules,
    ) -> Result<(), EnvError> {
        let (source_name, key_owned) = (source_name.to_string(), key.to_string());
        let text = std::str::from_utf8(value.as_bytes()).map_err(|_| EnvError::Binary {
            source_name: source_name.clone(),
            key: key_owned.clone(),
        })?;
        if text.contains('\0') {
            return Err(EnvError::Nul {
                source_name,
                key: key_owned,
            });
        }
        let (name, renamed) = env_name(key, rules);
        let owner = format!("{source_name} key {key:?}");
        if let Some(first) = self.owners.get(&name) {
            return Err(EnvError::Collision {
                name,
                first: first.clone(),
                second: owner,
            });
        }
        if renamed {
            self.warnings
                .push(format!("{owner} renamed to environment variable {name}"));
        }
        self.owners.insert(name.clone(), owner);
        self.vars.insert(name, value.clone());
        Ok(())
    }

    /// The collected variables.
    pub fn finish(self) -> (EnvVars, Vec<String>) {
        (self.vars, self.warnings)
    }
}

/// `NAME='value'` lines, one per variable, sorted by name; see the module docs for the quoting.
pub fn render_dotenv(vars: &EnvVars) -> Value {
    let mut out = Zeroizing::new(Vec::new());
    for (name, value) in vars {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"='");
        for &byte in value.as_bytes() {
            if byte == b'\'' {
                out.extend_from_slice(b"'\\''");
            } else {
                out.push(byte);
            }
        }
        out.extend_from_slice(b"'\n");
    }
    Value::from(std::mem::take(&mut *out))
}

/// A JSON object `{"NAME": "value", ...}` followed by a newline.
pub fn render_json(vars: &EnvVars) -> Value {
    let map: serde_json::Map<String, serde_json::Value> = vars
        .iter()
        .map(|(name, value)| {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.clone(), serde_json::Value::String(text))
        })
        .collect();
    let mut out = serde_json::Value::Object(map).to_string().into_bytes();
    out.push(b'\n');
    Value::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect()
    }

    #[test]
    fn names_the_shell_refuses_to_assign_are_renamed() {
        for reserved in SHELL_RESERVED {
            let (name, renamed) = env_name(reserved, &EnvRules::default());
            assert_eq!(name, format!("_{reserved}"));
            assert!(renamed);
        }
        let upper = EnvRules {
            upper_case: true,
            ..EnvRules::default()
        };
        assert_eq!(env_name("optind", &upper), ("_OPTIND".to_owned(), true));
        assert_eq!(env_name("OPTIND_X", &EnvRules::default()).0, "OPTIND_X");
    }

    #[test]
    fn names_follow_the_rules() {
        let plain = EnvRules::default();
        let app = EnvRules {
            prefix: "app_".into(),
            upper_case: true,
        };
        assert_eq!(env_name("LOG_LEVEL", &plain), ("LOG_LEVEL".into(), false));
        assert_eq!(env_name("log.level", &plain), ("log_level".into(), true));
        assert_eq!(env_name("log.level", &app), ("APP_LOG_LEVEL".into(), true));
        assert_eq!(env_name("level", &app), ("APP_LEVEL".into(), false));
        assert_eq!(env_name("9lives", &plain), ("_9lives".into(), true));
        assert_eq!(env_name("é-x", &plain), ("__x".into(), true));
    }

    #[test]
    fn builder_warns_on_rename_and_refuses_collisions_and_binary() {
        let rules = EnvRules::default();
        let mut env = EnvBuilder::default();
        assert_eq!(
            env.add("configmap/ns/a", "db.host", &Value::from("h"), &rules),
            Ok(())
        );
        assert_eq!(
            env.warnings,
            vec![r#"configmap/ns/a key "db.host" renamed to environment variable db_host"#]
        );
        let clash = env.add("secret/ns/b", "db-host", &Value::from("x"), &rules);
        assert_eq!(
            clash,
            Err(EnvError::Collision {
                name: "db_host".into(),
                first: r#"configmap/ns/a key "db.host""#.into(),
                second: r#"secret/ns/b key "db-host""#.into(),
            })
        );
        let binary = env.add(
            "secret/ns/b",
            "blob",
            &Value::from(vec![0xff, 0x00]),
            &rules,
        );
        assert_eq!(
            binary,
            Err(EnvError::Binary {
                source_name: "secret/ns/b".into(),
                key: "blob".into()
            })
        );
        let message = binary.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(
            message.contains("binary") && message.contains("blob"),
            "{message}"
        );
        let nul = env.add("secret/ns/b", "n", &Value::from("a\0b"), &rules);
        assert_eq!(
            nul,
            Err(EnvError::Nul {
                source_name: "secret/ns/b".into(),
                key: "n".into()
            })
        );
    }

    #[test]
    fn dotenv_golden() {
        let rendered = render_dotenv(&vars(&[("B", "it's"), ("A", "x y\n$HOME `id` \\n")]));
        let expected = "A='x y\n$HOME `id` \\n'\nB='it'\\''s'\n";
        assert_eq!(String::from_utf8_lossy(rendered.as_bytes()), expected);
    }

    #[test]
    fn json_golden() {
        let rendered = render_json(&vars(&[("B", "it's \"q\""), ("A", "1\n")]));
        assert_eq!(
            String::from_utf8_lossy(rendered.as_bytes()),
            "{\"A\":\"1\\n\",\"B\":\"it's \\\"q\\\"\"}\n"
        );
    }

    /// The real contract: a POSIX shell sourcing the file with `set -a` exports exactly the original values.
    #[test]
    fn dotenv_round_trips_through_sh() {
        let tricky = [
            ("PLAIN", "value"),
            ("EMPTY", ""),
            ("QUOTES", "it's a \"test\" ''"),
            (
                "SHELL",
                "$HOME $(id) `id` ${X:-y} \\ \\\\ ; & | < > * ? ~ #",
            ),
            ("LINES", "first\nsecond\n\nthird\n"),
            ("UNICODE", "grüße ✓ \t tab"),
            ("TRAILING_SPACE", "  spaced  "),
        ];
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), render_dotenv(&vars(&tricky)).as_bytes()).expect("write");
        let script = format!("set -a; . '{}'; env -0", file.path().display());
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env_clear()
            .output()
            .expect("run sh");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let exported: BTreeMap<String, String> = output
            .stdout
            .split(|&b| b == 0)
            .filter_map(|entry| std::str::from_utf8(entry).ok()?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (name, value) in tricky {
            assert_eq!(
                exported.get(name).map(String::as_str),
                Some(value),
                "variable {name}"
            );
        }
    }
}
