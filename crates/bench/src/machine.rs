//! What the benchmark ran on, recorded with every result: the numbers only mean something next to
//! the machine and the load it carried.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// Facts about the machine at the time of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs available to this process (`nproc`).
    pub cpus: usize,
    pub cpu_model: String,
    /// Total memory in GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The 1-minute load average when the run started.
    pub load_average: String,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
}

impl Machine {
    /// Reads the facts from `/proc` and `rustc`.
    pub fn current() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".to_owned()),
            memory_gib: field(&meminfo, "MemTotal")
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0 / 1024.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".to_owned()),
            rustc: Command::new("rustc")
                .arg("--version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".to_owned()),
            load_average: load_average(),
            started_at: now_rfc3339(),
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Now, UTC, to the second.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The value after `name<spaces>:` in a `/proc` file.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_are_found_by_their_exact_name() {
        let text = "model\t\t: 85\nmodel name\t: Intel(R) Xeon(R)\nMemTotal:  24576000 kB\n";
        assert_eq!(
            field(text, "model name").as_deref(),
            Some("Intel(R) Xeon(R)")
        );
        assert_eq!(field(text, "model").as_deref(), Some("85"));
        assert_eq!(field(text, "MemTotal").as_deref(), Some("24576000 kB"));
        assert_eq!(field(text, "flags"), None);
    }

    #[test]
    fn the_current_machine_has_at_least_one_cpu_and_a_start_time() {
        let machine = Machine::current();
        assert!(machine.cpus >= 1);
        assert!(machine.started_at.ends_with('Z'));
    }
}
