//! Pure projection: sources plus a [`Layout`] become the exact files (bytes and modes) and environment to publish.
//!
//! ```text
//! [Arc<SourceData>]… ──Renderer(&Layout)──▶ Rendered { dirs: [Dir { name, files: RelPath → (bytes, mode) }],
//!                                                      env: NAME → value, warnings }
//! ```
//! No I/O happens here. Every key is checked like the kubelet checks projected paths ([`path`]); a bad key fails the
//! whole render with an error naming the source and the key (never the value), so nothing half-valid is published.
//!
//! The files come grouped by directory ([`Dir`]): one per source directory with the default layout, the target
//! itself with a flat one. The [`Renderer`] remembers each directory's objects and files, so a render after one
//! object changed re-projects that object's directory only and hands back the others' files as the same `Arc`s
//! (the writers compare them by pointer): the cost of a publish follows the change, not the projection.
pub mod dirs;
pub mod env;
pub mod path;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use dirs::{Dir, Files, Renderer, flatten, one_tree};

pub use env::{EnvError, EnvRules, EnvVars};
pub use path::{PathError, RelPath};

use crate::source::{SourceData, SourceKind, Value};

/// File mode for ConfigMap keys unless configured.
pub const DEFAULT_CONFIGMAP_MODE: u32 = 0o644;
/// File mode for Secret keys unless configured.
pub const DEFAULT_SECRET_MODE: u32 = 0o400;

/// Where the files of each source go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DirLayout {
    /// One sub-directory per source, named after the source (`<dir>/<name>/<key>`).
    #[default]
    PerSource,
    /// All keys side by side (`<dir>/<key>`); two sources with the same key are an error.
    Flat,
}

/// One `items` entry, like a volume's `items`: project `key` to `path` (optionally with its own mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The key in the source.
    pub key: String,
    /// The relative path to write it to (inside the source's sub-directory, if any).
    pub path: String,
    /// Mode for this file; the source's default otherwise.
    pub mode: Option<u32>,
}

/// How to project sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Sub-directory per source, or flat.
    pub dirs: DirLayout,
    /// Mode of ConfigMap files.
    pub configmap_mode: u32,
    /// Mode of Secret files.
    pub secret_mode: u32,
    /// Key-to-path mappings by source name. A source with items projects only the listed keys.
    pub items: BTreeMap<String, Vec<Item>>,
    /// Render environment variables with these rules; `None` renders no env.
    pub env: Option<EnvRules>,
    /// Names of the sources whose keys become env variables; `None` means every source.
    pub env_sources: Option<BTreeSet<String>>,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            dirs: DirLayout::default(),
            configmap_mode: DEFAULT_CONFIGMAP_MODE,
            secret_mode: DEFAULT_SECRET_MODE,
            items: BTreeMap::new(),
            env: None,
            env_sources: None,
        }
    }
}

/// One file to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Raw bytes.
    pub bytes: Value,
    /// Unix permission bits, applied regardless of umask.
    pub mode: u32,
}

/// The outcome of a render: everything one publish needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The files by directory, in name order (with a flat layout, one directory with an empty name).
    pub dirs: Vec<Dir>,
    /// Environment variables (empty unless [`Layout::env`] is set).
    pub env: EnvVars,
    /// Human-readable warnings (renamed env keys); names only, never values.
    pub warnings: Vec<String>,
}

/// Why a render failed. Names the source and key, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A key or item path is not a safe relative path.
    #[error("{source_name} key {key:?}: invalid path: {error}")]
    InvalidPath {
        /// The source, `kind/ns/name`.
        source_name: String,
        /// The key (or item path) that was refused.
        key: String,
        /// Which rule it broke.
        #[source]
        error: PathError,
    },
    /// An `items` entry names a key the source does not have.
    #[error("{source_name}: items refer to key {key:?}, which it does not have")]
    MissingKey {
        /// The source, `kind/ns/name`.
        source_name: String,
        /// The missing key.
        key: String,
    },
    /// Two keys would be written to the same path.
    #[error("path {path} would be written by both {first} and {second}")]
    DuplicatePath {
        /// The contested path.
        path: String,
        /// `source key` of the first writer.
        first: String,
        /// `source key` of the second writer.
        second: String,
    },
    /// A key cannot become an environment variable.
    #[error(transparent)]
    Env(#[from] EnvError),
}

impl Rendered {
    /// Every file under its path in the target, in one map (a copy of the entries; the values stay shared).
    pub fn files(&self) -> Files {
        flatten(&self.dirs)
    }
}

/// Project `sources` through `layout` in one go (a [`Renderer`] without memory).
///
/// # Errors
/// [`RenderError`] for the first key that cannot be projected safely; nothing partial is returned.
pub fn render(sources: &[Arc<SourceData>], layout: &Layout) -> Result<Rendered, RenderError> {
    Renderer::new(layout.clone()).render(sources)
}

/// The environment of `sources` (empty without [`Layout::env`]), and the warnings of renamed keys.
fn render_env(
    sources: &[Arc<SourceData>],
    layout: &Layout,
) -> Result<(EnvVars, Vec<String>), RenderError> {
    let mut env = env::EnvBuilder::default();
    let Some(rules) = layout.env.as_ref() else {
        return Ok(env.finish());
    };
    for source in sources {
        let in_env = layout
            .env_sources
            .as_ref()
            .is_none_or(|names| names.contains(&source.name));
        if in_env {
            let describe = source.describe();
            for (key, value) in &source.data {
                env.add(&describe, key, value, rules)?;
            }
        }
    }
    Ok(env.finish())
}

/// `(key, path, mode)` for every file `source` projects.
fn projected_files<'a>(
    source: &'a SourceData,
    layout: &Layout,
) -> Result<Vec<(&'a str, RelPath, u32)>, RenderError> {
    let default_mode = match source.kind {
        SourceKind::ConfigMap => layout.configmap_mode,
        SourceKind::Secret => layout.secret_mode,
    };
    let invalid = |key: &str, error| RenderError::InvalidPath {
        source_name: source.describe(),
        key: key.to_string(),
        error,
    };
    let base = match layout.dirs {
        DirLayout::Flat => None,
        DirLayout::PerSource => {
            Some(RelPath::new(&source.name).map_err(|e| invalid(&source.name, e))?)
        }
    };
    let place = |key: &str, path: &str| match &base {
        None => RelPath::new(path).map_err(|e| invalid(key, e)),
        Some(base) => {
            RelPath::new(path).map_err(|e| invalid(key, e))?;
            base.join(path).map_err(|e| invalid(key, e))
        }
    };
    match layout.items.get(&source.name) {
        None => source
            .data
            .keys()
            .map(|key| Ok((key.as_str(), place(key, key)?, default_mode)))
            .collect(),
        Some(items) => items
            .iter()
            .map(|item| {
                let (key, _) = source.data.get_key_value(&item.key).ok_or_else(|| {
                    RenderError::MissingKey {
                        source_name: source.describe(),
                        key: item.key.clone(),
                    }
                })?;
                Ok((
                    key.as_str(),
                    place(key, &item.path)?,
                    item.mode.unwrap_or(default_mode),
                ))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
