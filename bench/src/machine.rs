//! A description of the machine a run happened on, for BENCHMARKS.md: numbers from one machine
//! mean little without it.

use std::process::Command;

/// What the report says about the machine.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Logical CPUs (`nproc`).
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// MemTotal, bytes.
    pub memory: u64,
    /// Kernel release.
    pub kernel: String,
    /// 1-minute load average when the run started (other work shares the machine).
    pub load_at_start: String,
    /// `envoy --version`.
    pub envoy: String,
    /// `wrk -v`, first line.
    pub wrk: String,
}

impl Machine {
    /// Reads /proc and asks the tools for their versions.
    pub fn describe(envoy_bin: &std::path::Path) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpu_model(&read("/proc/cpuinfo")),
            memory: mem_total(&read("/proc/meminfo")),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            load_at_start: read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            envoy: first_line(Command::new(envoy_bin).arg("--version"))
                .split("version:")
                .nth(1)
                .unwrap_or("?")
                .trim()
                .to_string(),
            wrk: first_line(Command::new("wrk").arg("-v"))
                .split(" Copyright")
                .next()
                .unwrap_or("?")
                .trim()
                .to_string(),
        }
    }

    /// One line: `2 × Intel(R) Xeon(R) Processor, 23.4 GiB, Linux 6.1`.
    pub fn summary(&self) -> String {
        format!(
            "{} × {}, {:.1} GiB RAM, Linux {}",
            self.cpus,
            self.cpu_model,
            self.memory as f64 / (1u64 << 30) as f64,
            self.kernel
        )
    }
}

fn first_line(cmd: &mut Command) -> String {
    cmd.output()
        .map(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_else(|e| format!("? ({e})"))
}

fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_model_and_memory() {
        let cpuinfo =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(cpu_model(cpuinfo), "Intel(R) Xeon(R) Processor");
        assert_eq!(cpu_model(""), "unknown CPU");
        assert_eq!(
            mem_total("MemTotal:       24000000 kB\n"),
            24_000_000 * 1024
        );
        assert_eq!(mem_total(""), 0);
    }
}
