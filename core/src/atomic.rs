//! Crash-safe file replacement: write a temp file beside the target, fsync it, rename it over the target, fsync
//! the directory. A reader sees the old bytes or the new bytes, never a mix; a crash leaves at most a temp file,
//! which [`is_temp_file`] recognises so listings skip it and cleanups remove it.
//!
//! The one atomic file write of the workspace: the envelope store and key ring, the sidecar's env files and the
//! webhook's certificates all write through [`write_file`].
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rand::Rng;

/// Suffix of every temp file this module creates.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Replace `path` with `bytes`, created with permission bits `mode`.
///
/// # Errors
/// Any I/O error; the temp file is removed on failure and `path` keeps its old contents.
///
/// # Guarantees
/// After `Ok`, the new contents and the directory entry are on stable storage.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_dir(path);
    let temp = temp_path(path)?;
    let result = write_synced(&temp, bytes, mode).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    File::open(dir)?.sync_all()
}

/// Whether `name` is a temp file left by [`write_file`].
pub fn is_temp_file(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

fn write_synced(temp: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temp)?;
    // Exactly `mode`, whatever the umask took from it at creation.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "target path has no UTF-8 file name",
        )
    })?;
    let suffix: u64 = rand::rng().next_u64();
    Ok(parent_dir(path).join(format!(".{name}.{suffix:016x}{TEMP_SUFFIX}")))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("item");
        write_file(&path, b"one", 0o600).expect("first write");
        write_file(&path, b"two", 0o600).expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("item")]);
    }

    #[test]
    fn failed_write_keeps_old_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing-dir").join("item");
        assert!(write_file(&path, b"x", 0o600).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn recognises_temp_names() {
        assert!(is_temp_file(".db.sealed.00ff00ff00ff00ff.tmp"));
        assert!(!is_temp_file("db.sealed"));
        assert!(!is_temp_file("x.tmp.sealed"));
    }
}
