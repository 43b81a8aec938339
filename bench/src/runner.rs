//! Drives wrk against the bench Envoy: a check that each load gets 200, warm-up, the measured
//! rounds (interleaved, order rotated every round), and the heap-growth run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use entra_proxy_tests::envoy::Envoy;

use crate::results::Measured;
use crate::rows::{Load, Row};
use crate::signin::START_PATH;
use crate::wrk::{script, Wrk, WrkResult};

/// Longest single wrk run of the heap check (it runs in chunks until the count is reached).
const MAX_CHUNK: Duration = Duration::from_secs(60);

/// One Envoy, one wrk, a directory for the wrk scripts.
pub struct Runner<'a> {
    /// The Envoy under test.
    pub envoy: &'a Envoy,
    /// How wrk runs.
    pub wrk: Wrk,
    /// Where the wrk scripts are written (they hold session cookies: test data only).
    pub dir: PathBuf,
}

/// Response counts of one listener, from Envoy's HTTP stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Responses {
    /// 2xx answers.
    pub ok: u64,
    /// Every answer (1xx–5xx).
    pub all: u64,
}

impl Runner<'_> {
    fn url(&self, row: Row) -> String {
        format!("{}{START_PATH}", self.envoy.url(row.listener()))
    }

    fn script(&self, load: &Load) -> Result<PathBuf, String> {
        let path = self.dir.join(format!("{}.lua", load.name));
        std::fs::write(&path, script(&load.headers))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// One request with the load's headers must answer 200; anything else means the
    /// credentials do not work and the row would measure an error path.
    pub fn check(&self, load: &Load) -> Result<(), String> {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .redirects(0)
            .build();
        let mut req = agent.get(&self.url(load.row));
        for (name, value) in &load.headers {
            req = req.set(name, value);
        }
        let status = match req.call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => return Err(format!("{}: {e}", load.name)),
        };
        if status == 200 {
            Ok(())
        } else {
            Err(format!("answered {status}, not 200"))
        }
    }

    /// Responses the listener of `row` has answered so far.
    pub fn responses(&self, row: Row) -> Responses {
        let stats = self.envoy.stats();
        let get = |class: &str| {
            stats
                .get(&format!("http.{}.downstream_rq_{class}", row.listener()))
                .unwrap_or(0)
        };
        let ok = get("2xx");
        Responses {
            ok,
            all: ok + get("1xx") + get("3xx") + get("4xx") + get("5xx"),
        }
    }

    /// One un-measured run.
    pub fn warm(&self, load: &Load, duration: Duration) -> Result<(), String> {
        self.wrk
            .run(&self.url(load.row), &self.script(load)?, duration)
            .map(|_| ())
    }

    /// One measured round, added to `m`.
    pub fn measure(&self, m: &mut Measured, duration: Duration) -> Result<WrkResult, String> {
        let script = self.script(&m.load)?;
        let before = self.responses(m.load.row);
        let result = self.wrk.run(&self.url(m.load.row), &script, duration)?;
        let after = self.responses(m.load.row);
        m.responses += after.all - before.all;
        m.not_2xx += (after.all - before.all) - (after.ok - before.ok);
        m.runs.push(result);
        Ok(result)
    }

    /// Runs `load` until its listener has answered at least `target` requests in total; returns
    /// the count reached. Chunks are sized from the rate of the previous chunk (the first one
    /// runs one second).
    pub fn drive_until(&self, load: &Load, target: u64) -> Result<u64, String> {
        let script = self.script(load)?;
        let url = self.url(load.row);
        let mut rate: Option<f64> = None;
        loop {
            let served = self.responses(load.row).all;
            if served >= target {
                return Ok(served);
            }
            let secs = match rate {
                Some(rps) => ((target - served) as f64 / rps.max(1.0)).ceil() as u64,
                None => 1,
            };
            let chunk = Duration::from_secs(secs.max(1)).min(MAX_CHUNK);
            rate = Some(self.wrk.run(&url, &script, chunk)?.rps);
        }
    }
}

/// Loads in round `round`'s order: rotated by one per round, so no load always follows the same
/// neighbour or always runs first after the warm-up.
pub fn round_order(count: usize, round: usize) -> Vec<usize> {
    (0..count).map(|i| (i + round) % count.max(1)).collect()
}

/// Pins every thread of process `pid` to `cpu` (`taskset -a -p`).
pub fn pin(pid: u32, cpu: usize) -> Result<(), String> {
    let out = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .output()
        .map_err(|e| format!("taskset: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A scratch directory for wrk scripts inside the log directory.
pub fn script_dir(logs: &Path) -> Result<PathBuf, String> {
    let dir = logs.join("wrk");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_runs_every_load_once_and_starts_elsewhere() {
        for round in 0..5 {
            let mut order = round_order(4, round);
            assert_eq!(order[0], round % 4);
            order.sort_unstable();
            assert_eq!(order, [0, 1, 2, 3]);
        }
        assert!(round_order(0, 3).is_empty());
    }
}
