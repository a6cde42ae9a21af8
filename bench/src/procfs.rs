//! Memory and CPU of another process from `/proc/<pid>/status` and `/proc/<pid>/stat`, and the filesystem a
//! directory lives on from `/proc/self/mounts`.
use std::path::Path;

/// Failures reading `/proc`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read (the process is gone).
    #[error("reading /proc/{pid}: {source}")]
    ReadProc {
        /// The process.
        pid: u32,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not have the expected fields.
    #[error("unexpected format of /proc/{0}")]
    ParseProc(u32),
}

/// Resident memory: now and the peak, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM` (peak RSS).
    pub hwm_kib: u64,
    /// `RssFile`: file-backed pages (the binary's code and read-only data, shared libraries).
    pub file_kib: Option<u64>,
    /// `RssAnon`: anonymous pages (heap, stacks, relocated data).
    pub anon_kib: Option<u64>,
}

/// Read `VmRSS` and `VmHWM` of `pid`.
pub fn memory(pid: u32) -> Result<Memory, Error> {
    let text = read(pid, "status")?;
    parse_memory(&text).ok_or(Error::ParseProc(pid))
}

/// User plus system CPU time of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, Error> {
    let text = read(pid, "stat")?;
    parse_cpu_ticks(&text).ok_or(Error::ParseProc(pid))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when unknown).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100)
}

fn read(pid: u32, file: &str) -> Result<String, Error> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .map_err(|source| Error::ReadProc { pid, source })
}

/// `VmRSS` and `VmHWM` from a status file.
pub fn parse_memory(status: &str) -> Option<Memory> {
    let kib = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(Memory {
        rss_kib: kib("VmRSS:")?,
        hwm_kib: kib("VmHWM:")?,
        file_kib: kib("RssFile:"),
        anon_kib: kib("RssAnon:"),
    })
}

/// The filesystem type (`tmpfs`, `ext4`, ...) that `dir` is on, from `/proc/self/mounts`.
pub fn filesystem_of(dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    filesystem_in_mounts(&mounts, &dir)
}

/// The type of the longest mount point in `mounts` (the `/proc/mounts` format) that contains `path`.
pub fn filesystem_in_mounts(mounts: &str, path: &Path) -> Option<String> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point).then_some((point.len(), kind))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind.to_owned())
}

/// `utime + stime` (fields 14 and 15) from a stat line; the command name may hold spaces and parentheses.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_peak() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t 256 kB\nRssFile:\t 768 kB\n";
        let memory = parse_memory(status).unwrap();
        assert_eq!((memory.rss_kib, memory.hwm_kib), (1024, 2048));
        assert_eq!((memory.file_kib, memory.anon_kib), (Some(768), Some(256)));
        let old_kernel = parse_memory("VmHWM:\t 2 kB\nVmRSS:\t 1 kB\n").unwrap();
        assert_eq!((old_kernel.file_kib, old_kernel.anon_kib), (None, None));
        assert_eq!(parse_memory("Name: x\n"), None);
    }

    #[test]
    fn finds_the_filesystem_of_the_longest_containing_mount_point() {
        let mounts = "/dev/vda / ext4 rw,relatime 0 0\n\
            tmpfs /dev/shm tmpfs rw,relatime 0 0\n\
            devtmpfs /dev devtmpfs rw 0 0\n";
        let on = |path: &str| filesystem_in_mounts(mounts, Path::new(path));
        assert_eq!(on("/dev/shm/bench.x1"), Some("tmpfs".into()));
        assert_eq!(on("/dev/null"), Some("devtmpfs".into()));
        assert_eq!(
            on("/dev/shmem"),
            Some("devtmpfs".into()),
            "whole components only"
        );
        assert_eq!(on("/tmp/x"), Some("ext4".into()));
        assert_eq!(filesystem_in_mounts("", Path::new("/tmp")), None);
    }

    #[test]
    fn reads_cpu_ticks_past_odd_command_names() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 10 1000 200";
        assert_eq!(parse_cpu_ticks(stat), Some(12));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(memory(pid).unwrap().rss_kib > 0);
        assert!(cpu_ticks(pid).is_ok());
    }
}
