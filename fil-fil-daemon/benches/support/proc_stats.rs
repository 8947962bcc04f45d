//! What the benches read from Linux's `/proc` about their own process: CPU time
//! (on a shared machine wall time alone says more about the neighbours than the
//! code), memory and load. Shared by every bench through
//! `#[path = "support/proc_stats.rs"] mod proc_stats;`; unreadable values are 0.

#![allow(dead_code)] // each bench uses a subset

use std::time::Duration;

/// User + system CPU of the whole process, all threads (10 ms ticks).
pub fn process_cpu() -> Duration {
    cpu_from_stat("/proc/self/stat")
}

/// User + system CPU of the calling thread (10 ms ticks).
pub fn thread_cpu() -> Duration {
    cpu_from_stat("/proc/thread-self/stat")
}

fn cpu_from_stat(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_comm
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// A `kB` field of `/proc/self/status` (`"VmHWM:"`, `"VmRSS:"`), in bytes.
pub fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The 1-minute load average, for reading wall-clock figures.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().next().unwrap_or("?").to_string()
}
