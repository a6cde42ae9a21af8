//! Finding the app's process: by PID file, or by name through `/proc` (needs `shareProcessNamespace: true`).
//!
//! A name matches a process when it equals `/proc/<pid>/comm` (which the kernel truncates to 15 bytes, so a longer
//! name matches on its first 15 bytes), or the file name of `argv[0]` from `/proc/<pid>/cmdline`. The sidecar's own
//! PID is never a match.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The kernel keeps at most this many bytes of a process name in `comm`.
const COMM_LEN: usize = 15;

/// How to find the process to signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessTarget {
    /// Read the PID from this file.
    PidFile(PathBuf),
    /// Every process with this name.
    Name(String),
}

impl std::fmt::Display for ProcessTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PidFile(path) => write!(f, "pid file {}", path.display()),
            Self::Name(name) => write!(f, "process name {name:?}"),
        }
    }
}

/// Whether a process with this `comm` and raw `cmdline` is called `name`.
pub fn matches_name(comm: &str, cmdline: &[u8], name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let comm = comm.trim_end_matches('\n');
    let truncated = name.get(..COMM_LEN.min(name.len())).unwrap_or(name);
    if comm == name || (name.len() > COMM_LEN && comm == truncated) {
        return true;
    }
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let argv0 = String::from_utf8_lossy(argv0);
    Path::new(argv0.as_ref())
        .file_name()
        .is_some_and(|base| base == name)
}

/// The PIDs `target` designates, read from `proc_root` (normally `/proc`).
///
/// # Errors
/// The I/O error when the PID file or `proc_root` cannot be read; [`io::ErrorKind::InvalidData`] when the PID file
/// does not hold a positive number.
pub fn find_pids(target: &ProcessTarget, proc_root: &Path) -> io::Result<Vec<i32>> {
    match target {
        ProcessTarget::PidFile(path) => {
            let text = fs::read_to_string(path)?;
            let pid = text
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|pid| *pid > 0)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} does not hold a PID", path.display()),
                    )
                })?;
            Ok(vec![pid])
        }
        ProcessTarget::Name(name) => {
            let own = i32::try_from(std::process::id()).unwrap_or(0);
            let mut pids = Vec::new();
            for entry in fs::read_dir(proc_root)?.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                let comm = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if pid != own && matches_name(&comm, &cmdline, name) {
                    pids.push(pid);
                }
            }
            pids.sort_unstable();
            Ok(pids)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_comm_truncated_comm_and_argv0() {
        assert!(matches_name("nginx\n", b"nginx: master process\0", "nginx"));
        assert!(matches_name(
            "configsync-test\n",
            b"/usr/bin/configsync-testapp\0--x\0",
            "configsync-testapp"
        ));
        assert!(matches_name("java\n", b"/opt/app/bin/server\0", "server"));
        assert!(!matches_name("nginx\n", b"nginx\0", "ngin"));
        assert!(!matches_name("nginx\n", b"nginx\0", ""));
        assert!(
            !matches_name("bash\n", b"/bin/bash\0-c\0nginx\0", "nginx"),
            "arguments are not the name"
        );
    }

    #[test]
    fn finds_a_real_process_by_name_and_pid_file() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = i32::try_from(child.id()).expect("pid fits");
        // Right after fork the child still carries the test binary's name: wait for the exec.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let by_name = loop {
            let found = find_pids(&ProcessTarget::Name("sleep".into()), Path::new("/proc"));
            if found.as_ref().map_or(true, |pids| pids.contains(&pid))
                || std::time::Instant::now() > deadline
            {
                break found;
            }
            std::thread::yield_now();
        };
        let tmp = tempfile::NamedTempFile::new().expect("temp file");
        fs::write(tmp.path(), format!("{pid}\n")).expect("write pid file");
        let by_file = find_pids(
            &ProcessTarget::PidFile(tmp.path().into()),
            Path::new("/proc"),
        );
        fs::write(tmp.path(), "garbage").expect("write pid file");
        let bad_file = find_pids(
            &ProcessTarget::PidFile(tmp.path().into()),
            Path::new("/proc"),
        );
        let _ = child.kill();
        let _ = child.wait();
        assert!(by_name.expect("scan /proc").contains(&pid));
        assert_eq!(by_file.expect("read pid file"), vec![pid]);
        assert_eq!(
            bad_file.map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidData)
        );
    }
}
