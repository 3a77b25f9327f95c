//! Small operating-system helpers: memory and CPU of a process, file limits, CPU pinning, ports.
//! Linux only (they read `/proc`); elsewhere they report `None` and the runs go on unpinned.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Command;

/// Kernel clock ticks per second for `/proc/<pid>/stat` times. 100 on every Linux build we
/// care about; reading it properly needs `sysconf`, which needs `unsafe`.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Resident memory of a process in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may contain spaces; fields after the closing parenthesis are fixed.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SECOND)
}

/// Raise the soft limit on open files to the hard limit. Children inherit it. Returns the limit
/// in force afterwards.
pub fn raise_nofile_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// The CPUs this process may run on (from `/proc/self/status`, `Cpus_allowed_list`).
pub fn allowed_cpus() -> Vec<usize> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Vec::new();
    };
    let Some(list) = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
    else {
        return Vec::new();
    };
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                if let (Ok(from), Ok(to)) = (from.parse::<usize>(), to.parse::<usize>()) {
                    cpus.extend(from..=to.min(from + 4096));
                }
            }
            None => {
                if let Ok(cpu) = part.parse() {
                    cpus.push(cpu);
                }
            }
        }
    }
    cpus
}

/// Whether the `taskset` tool is there.
pub fn taskset_available() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false)
}

/// Which cores the generator and the server get: distinct cores when there are two or more
/// and `taskset` exists, else no pinning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinning {
    pub generator: usize,
    pub server: usize,
}

impl Pinning {
    pub fn choose() -> Option<Pinning> {
        let cpus = allowed_cpus();
        if cpus.len() < 2 || !taskset_available() {
            return None;
        }
        Some(Pinning {
            generator: cpus[0],
            server: cpus[1],
        })
    }
}

/// Pin every thread of this process to `core`. Call it before starting the async runtime so the
/// runtime's threads inherit the mask.
pub fn pin_self(core: usize) -> bool {
    Command::new("taskset")
        .args([
            "-a",
            "-cp",
            &core.to_string(),
            &std::process::id().to_string(),
        ])
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_rss_and_cpu() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        assert!(cpu_seconds(None).unwrap() >= 0.0);
        assert!(!allowed_cpus().is_empty());
        assert_ne!(free_port().unwrap(), 0);
    }
}
