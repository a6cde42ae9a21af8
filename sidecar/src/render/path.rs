//! Projected file paths, validated the way the kubelet's AtomicWriter validates them (`validatePath`).
//!
//! A [`RelPath`] is relative, has no `..` element, does not start with `..` (reserved for the writer's own
//! `..data` and timestamped directories), has no element longer than 255 bytes, is at most 4096 bytes long and
//! contains no NUL. We are slightly stricter than the kubelet, which cleans paths first: empty and `.` elements
//! (`a//b`, `./a`, `a/`) are rejected instead of normalised, so what is written is exactly what was asked for.
use std::fmt;
use std::sync::Arc;

/// Longest allowed file name (one path element), in bytes.
pub const MAX_FILE_NAME_LEN: usize = 255;
/// Longest allowed path, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// Why a path was refused. Carries the path only when showing it is safe (it never carries a value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty.
    #[error("path must not be empty")]
    Empty,
    /// The path starts with `/`.
    #[error("path {0:?} must be relative")]
    Absolute(String),
    /// The path is longer than [`MAX_PATH_LEN`].
    #[error("path must be at most {MAX_PATH_LEN} bytes, got {0}")]
    TooLong(usize),
    /// One element is longer than [`MAX_FILE_NAME_LEN`].
    #[error("file names must be at most {MAX_FILE_NAME_LEN} bytes, got one of {0}")]
    NameTooLong(usize),
    /// An element is `..`.
    #[error("path {0:?} must not contain a '..' element")]
    ParentElement(String),
    /// The first element starts with `..` (reserved for `..data` and the timestamped directories).
    #[error("path {0:?} must not start with '..' (reserved for the atomic writer)")]
    ReservedPrefix(String),
    /// An element is empty or `.`.
    #[error("path {0:?} must not contain empty or '.' elements")]
    EmptyElement(String),
    /// The path contains a NUL byte.
    #[error("path must not contain NUL")]
    Nul,
}

/// A validated relative path inside the target directory. Clones share the text (a publish's maps and the writers'
/// memories hold the same paths).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(Arc<str>);

impl RelPath {
    /// Validate `path`.
    ///
    /// # Errors
    /// A [`PathError`] naming the rule that was broken.
    pub fn new(path: &str) -> Result<Self, PathError> {
        validate(path)?;
        Ok(Self(Arc::from(path)))
    }

    /// The path as a string (`/`-separated).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first element: the name of the user-visible symlink in the target directory.
    pub fn first_element(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The first element and the rest (`None` for a one-element path). The rest of a valid path is valid (every
    /// element was checked, and the reserved `..` prefix is refused in every key and item path on its own), so it is
    /// not validated again: this runs for every file of every publish.
    pub fn split_first(&self) -> Option<(&str, Self)> {
        let (first, rest) = self.0.split_once('/')?;
        Some((first, Self(Arc::from(rest))))
    }

    /// `dir/self`, for a path inside the directory `dir` of the target (`dir` is a valid first element: the
    /// renderer checked the whole path before it split it off), not validated again.
    pub fn under(&self, dir: &str) -> Self {
        Self(Arc::from(format!("{dir}/{}", self.0)))
    }

    /// `self/child`, validated again as a whole.
    ///
    /// # Errors
    /// As [`RelPath::new`].
    pub fn join(&self, child: &str) -> Result<Self, PathError> {
        Self::new(&format!("{}/{child}", self.0))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.contains('\0') {
        return Err(PathError::Nul);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute(path.to_string()));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong(path.len()));
    }
    for element in path.split('/') {
        if element == ".." {
            return Err(PathError::ParentElement(path.to_string()));
        }
        if element.is_empty() || element == "." {
            return Err(PathError::EmptyElement(path.to_string()));
        }
        if element.len() > MAX_FILE_NAME_LEN {
            return Err(PathError::NameTooLong(element.len()));
        }
    }
    if path.starts_with("..") {
        return Err(PathError::ReservedPrefix(path.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubelet_style_paths() {
        for ok in [
            "a",
            "a/b/c",
            "redis.properties",
            ".hidden",
            "a..b",
            "a/..b",
            "x/.y",
        ] {
            assert_eq!(RelPath::new(ok).map(|p| p.to_string()), Ok(ok.to_string()));
        }
        assert_eq!(
            RelPath::new("a/b").map(|p| p.first_element().to_string()),
            Ok("a".into())
        );
    }

    #[test]
    fn rejects_traversal_and_reserved_names() {
        assert_eq!(RelPath::new(""), Err(PathError::Empty));
        assert_eq!(
            RelPath::new("/etc/passwd"),
            Err(PathError::Absolute("/etc/passwd".into()))
        );
        assert_eq!(
            RelPath::new("../x"),
            Err(PathError::ParentElement("../x".into()))
        );
        assert_eq!(
            RelPath::new("a/../../x"),
            Err(PathError::ParentElement("a/../../x".into()))
        );
        assert_eq!(
            RelPath::new(".."),
            Err(PathError::ParentElement("..".into()))
        );
        assert_eq!(
            RelPath::new("..data"),
            Err(PathError::ReservedPrefix("..data".into()))
        );
        assert_eq!(
            RelPath::new("..data/x"),
            Err(PathError::ReservedPrefix("..data/x".into()))
        );
        assert_eq!(
            RelPath::new("a//b"),
            Err(PathError::EmptyElement("a//b".into()))
        );
        assert_eq!(
            RelPath::new("./a"),
            Err(PathError::EmptyElement("./a".into()))
        );
        assert_eq!(
            RelPath::new("a/"),
            Err(PathError::EmptyElement("a/".into()))
        );
        assert_eq!(RelPath::new("a\0b"), Err(PathError::Nul));
    }

    #[test]
    fn enforces_length_limits() {
        let name = "n".repeat(MAX_FILE_NAME_LEN);
        assert!(RelPath::new(&name).is_ok());
        assert_eq!(
            RelPath::new(&format!("{name}x")),
            Err(PathError::NameTooLong(256))
        );
        let long = vec![name.as_str(); 17].join("/");
        assert_eq!(long.len(), 17 * 256 - 1);
        assert_eq!(RelPath::new(&long), Err(PathError::TooLong(long.len())));
        let fits = vec!["n".repeat(255); 16].join("/");
        assert!(RelPath::new(&fits).is_ok(), "{} bytes", fits.len());
    }

    #[test]
    fn join_validates_the_whole_path() {
        let dir = RelPath::new("app").expect("valid");
        assert_eq!(dir.join("x").map(|p| p.to_string()), Ok("app/x".into()));
        assert_eq!(
            dir.join("../x"),
            Err(PathError::ParentElement("app/../x".into()))
        );
    }
}
