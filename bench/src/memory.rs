//! Envoy's memory: the allocator's view from the admin `/memory` endpoint, and the kernel's
//! (resident set) from `/proc`. Wasm linear memory is mapped by V8 outside Envoy's allocator, so
//! a filter that leaks shows up in the resident set, not in `allocated`; both are reported.

use entra_proxy_tests::envoy::Envoy;

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Bytes Envoy's allocator hands out (`/memory` `allocated`).
    pub allocated: u64,
    /// Bytes the allocator holds from the OS (`/memory` `heap_size`).
    pub heap_size: u64,
    /// Resident set of the process (`VmRSS`), bytes.
    pub rss: u64,
}

impl Memory {
    /// Reads both views of a running Envoy.
    pub fn of(envoy: &Envoy) -> Result<Memory, String> {
        let (allocated, heap_size) = parse_admin(&envoy.admin_get("/memory"))?;
        let status = std::fs::read_to_string(format!("/proc/{}/status", envoy.pid()))
            .map_err(|e| format!("cannot read /proc status of envoy: {e}"))?;
        Ok(Memory {
            allocated,
            heap_size,
            rss: parse_rss(&status)?,
        })
    }

    /// The larger relative growth of `allocated` and `rss` from `base` to `self` (negative when
    /// both shrank).
    pub fn growth_over(&self, base: &Memory) -> f64 {
        let rel = |now: u64, then: u64| (now as f64 - then as f64) / (then.max(1) as f64);
        rel(self.allocated, base.allocated).max(rel(self.rss, base.rss))
    }
}

/// `allocated` and `heap_size` from `/memory` (Envoy prints the numbers as JSON strings).
fn parse_admin(body: &str) -> Result<(u64, u64), String> {
    let doc: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("/memory is not JSON: {e}"))?;
    let field = |name: &str| -> Result<u64, String> {
        let v = &doc[name];
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| format!("/memory has no numeric {name:?}: {body}"))
    };
    Ok((field("allocated")?, field("heap_size")?))
}

/// `VmRSS:   1234 kB` → bytes.
fn parse_rss(status: &str) -> Result<u64, String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| "no VmRSS in /proc status".to_string())
}

/// `12.3 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// `+1.2 MiB` / `-0.4 MiB`.
pub fn delta_mib(now: u64, then: u64) -> String {
    let d = now as f64 - then as f64;
    format!("{:+.1} MiB", d / 1_048_576.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_numbers_may_be_strings_or_numbers() {
        let body = r#"{"allocated": "7343616", "heap_size": 12582912, "pageheap_free": "0"}"#;
        assert_eq!(parse_admin(body).unwrap(), (7_343_616, 12_582_912));
        assert!(parse_admin(r#"{"heap_size": "1"}"#).is_err());
        assert!(parse_admin("not json").is_err());
    }

    #[test]
    fn rss_in_bytes() {
        let status = "Name:\tenvoy\nVmPeak:\t 1 kB\nVmRSS:\t   45678 kB\nThreads:\t12\n";
        assert_eq!(parse_rss(status).unwrap(), 45_678 * 1024);
        assert!(parse_rss("Name: x\n").is_err());
    }

    #[test]
    fn growth_is_the_worse_of_both_views() {
        let base = Memory {
            allocated: 100,
            heap_size: 0,
            rss: 1000,
        };
        let now = Memory {
            allocated: 103,
            heap_size: 0,
            rss: 1100,
        };
        assert!((now.growth_over(&base) - 0.10).abs() < 1e-9);
        assert!(base.growth_over(&now) < 0.0);
    }
}
