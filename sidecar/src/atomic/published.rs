//! Reading a published version back: every file ([`read`]), or only whether it equals a payload ([`equals`]).
//!
//! [`equals`] runs before every publish (step 1 of the module docs above), on the event → swap path: it compares
//! names, modes and sizes from the directory listing first, then the bytes in 64 KiB chunks, stopping at the first
//! difference. A changed 1 MiB Secret therefore costs one chunk read, not a read of the whole old version.
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::WriteError;
use crate::render::{FileEntry, RelPath};
use crate::source::Value;

/// Bytes compared per read in [`equals`].
const CHUNK: usize = 64 * 1024;

/// One entry of a version directory, from its listing.
struct Listed {
    path: PathBuf,
    mode: u32,
    len: u64,
    regular: bool,
}

/// Every file under `dir` (a version directory), by its path relative to `dir`.
///
/// # Errors
/// [`WriteError::ReadPublished`] when a file cannot be read or has a name that is not a valid [`RelPath`].
pub(super) fn read(dir: &Path) -> Result<BTreeMap<RelPath, FileEntry>, WriteError> {
    list(dir)?
        .into_iter()
        .map(|(rel, listed)| {
            let bytes = fs::read(&listed.path).map_err(failed(&listed.path))?;
            let entry = FileEntry {
                bytes: Value::from(bytes),
                mode: listed.mode,
            };
            Ok((rel, entry))
        })
        .collect()
}

/// Whether the files under `dir` equal `files`: the same paths, modes and bytes.
///
/// # Errors
/// [`WriteError::ReadPublished`] when the version cannot be listed or a file cannot be read.
pub(super) fn equals(dir: &Path, files: &BTreeMap<RelPath, FileEntry>) -> Result<bool, WriteError> {
    let listed = list(dir)?;
    let same_shape = listed.len() == files.len()
        && listed
            .iter()
            .zip(files)
            .all(|((rel, on_disk), (path, entry))| {
                rel == path
                    && on_disk.regular
                    && on_disk.mode == entry.mode
                    && on_disk.len == entry.bytes.as_bytes().len() as u64
            });
    if !same_shape {
        return Ok(false);
    }
    for (on_disk, entry) in listed.values().zip(files.values()) {
        let same =
            same_bytes(&on_disk.path, entry.bytes.as_bytes()).map_err(failed(&on_disk.path))?;
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the file at `path` holds exactly `expected`, read chunk by chunk until the first difference.
fn same_bytes(path: &Path, expected: &[u8]) -> io::Result<bool> {
    let mut file = fs::File::open(path)?;
    // The chunk may hold Secret bytes: wiped on drop like every other copy.
    let mut chunk = Zeroizing::new(vec![0u8; CHUNK]);
    let mut rest = expected;
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            return Ok(rest.is_empty());
        }
        let (Some(got), Some(want)) = (chunk.get(..read), rest.get(..read)) else {
            return Ok(false);
        };
        if got != want {
            return Ok(false);
        }
        rest = rest.get(read..).unwrap_or_default();
    }
}

fn list(dir: &Path) -> Result<BTreeMap<RelPath, Listed>, WriteError> {
    let mut out = BTreeMap::new();
    list_into(dir, "", &mut out)?;
    Ok(out)
}

fn list_into(
    dir: &Path,
    prefix: &str,
    out: &mut BTreeMap<RelPath, Listed>,
) -> Result<(), WriteError> {
    for entry in fs::read_dir(dir).map_err(failed(dir))? {
        let entry = entry.map_err(failed(dir))?;
        let path = entry.path();
        let rel = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let meta = entry.metadata().map_err(failed(&path))?;
        if meta.is_dir() {
            list_into(&path, &format!("{rel}/"), out)?;
            continue;
        }
        let rel = RelPath::new(&rel)
            .map_err(|e| failed(&path)(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        let listed = Listed {
            mode: meta.permissions().mode() & 0o7777,
            len: meta.len(),
            regular: meta.is_file(),
            path,
        };
        out.insert(rel, listed);
    }
    Ok(())
}

fn failed(path: &Path) -> impl FnOnce(io::Error) -> WriteError + use<> {
    let path = path.to_path_buf();
    move |source| WriteError::ReadPublished { path, source }
}
