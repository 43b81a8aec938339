//! What a run measured, before it is judged or printed.

use std::time::Duration;

use crate::instructions::Instructions;
use crate::machine::Machine;
use crate::memory::Memory;
use crate::rows::{Load, Row};
use crate::signin::Callouts;
use crate::stats::median;
use crate::wrk::WrkResult;

/// Every round of one load.
#[derive(Debug, Clone)]
pub struct Measured {
    /// What was sent where.
    pub load: Load,
    /// One wrk result per round.
    pub runs: Vec<WrkResult>,
    /// Responses Envoy answered with a status other than 2xx during the measured runs (a stale
    /// cookie would turn the row into a redirect benchmark, so this must stay 0).
    pub not_2xx: u64,
    /// All responses Envoy answered during the measured runs.
    pub responses: u64,
}

impl Measured {
    /// A load with no runs yet.
    pub fn new(load: Load) -> Measured {
        Measured {
            load,
            runs: Vec::new(),
            not_2xx: 0,
            responses: 0,
        }
    }

    /// Median requests per second.
    pub fn rps(&self) -> Option<f64> {
        median(&self.runs.iter().map(|r| r.rps).collect::<Vec<_>>())
    }

    /// Median of the rounds' median latencies, microseconds.
    pub fn p50_us(&self) -> Option<f64> {
        median(&self.runs.iter().map(|r| r.p50_us).collect::<Vec<_>>())
    }

    /// Median over the rounds of this load's req/s divided by `other`'s in the same round. The
    /// loads of one round run seconds apart (rotated, so rows 2, 3 and 4 stay neighbours), so a
    /// machine that is faster in one round than in the next cancels out of each ratio; on a
    /// shared machine that moves by ±20% between runs this is steadier than a ratio of medians.
    pub fn paired_ratio(&self, other: &Measured) -> Option<f64> {
        let ratios: Vec<f64> = self
            .runs
            .iter()
            .zip(&other.runs)
            .filter(|(_, b)| b.rps > 0.0)
            .map(|(a, b)| a.rps / b.rps)
            .collect();
        median(&ratios)
    }

    /// Median of the rounds' 99th percentiles, microseconds.
    pub fn p99_us(&self) -> Option<f64> {
        median(&self.runs.iter().map(|r| r.p99_us).collect::<Vec<_>>())
    }
}

/// A row of the main table: measured, or why not.
#[derive(Debug, Clone)]
pub enum RowResult {
    /// Measured.
    Measured(Measured),
    /// Not measured, with the reason the table shows.
    Skipped(String),
}

/// One line of the "cost by group count" table.
#[derive(Debug, Clone)]
pub struct GroupCost {
    /// Groups the user has in the directory.
    pub groups: usize,
    /// Groups in the session cookie, and whether the full list lives in Envoy's shared data
    /// instead (the filter moves long lists out of the cookie).
    pub session_groups: Option<(usize, bool)>,
    /// Session cookies (chunks) the browser sends.
    pub cookies: usize,
    /// Bytes of the `Cookie` header value.
    pub cookie_bytes: usize,
    /// The filter with these cookies, when the sign-in worked.
    pub measured: Result<Measured, String>,
    /// The empty wasm filter with the same cookies.
    pub floor: Result<Measured, String>,
}

/// One complete sign-in.
#[derive(Debug, Clone)]
pub struct SignInSummary {
    /// Which proxy and user.
    pub what: String,
    /// The outcome: wall time, time in the proxy, callouts — or what went wrong.
    pub result: Result<(Duration, Duration, Callouts), String>,
}

/// The heap-growth check.
#[derive(Debug, Clone, Copy)]
pub struct Leak {
    /// Signed-in requests served when `baseline` was read.
    pub baseline_requests: u64,
    /// Memory then.
    pub baseline: Memory,
    /// Signed-in requests served when `end` was read.
    pub requests: u64,
    /// Memory then.
    pub end: Memory,
}

/// Envoys with only one listener, to price the plugin per worker.
#[derive(Debug, Clone, Copy)]
pub struct VmMemory {
    /// Bare listener, 1 worker.
    pub bare1: Memory,
    /// Row 3's listener, 1 worker.
    pub entra1: Memory,
    /// Bare listener, [`VmMemory::MANY`] workers.
    pub bare_many: Memory,
    /// Row 3's listener, [`VmMemory::MANY`] workers.
    pub entra_many: Memory,
}

impl VmMemory {
    /// Workers of the second pair of probes (more workers average out the noise of one RSS
    /// reading).
    pub const MANY: u32 = 4;

    /// Resident bytes one more worker VM adds:
    /// ((entra many − entra 1) − (bare many − bare 1)) / (many − 1).
    pub fn per_worker_rss(&self) -> i64 {
        let d = |a: Memory, b: Memory| a.rss as i64 - b.rss as i64;
        (d(self.entra_many, self.entra1) - d(self.bare_many, self.bare1))
            / i64::from(Self::MANY - 1)
    }

    /// Resident bytes the plugin adds at `--concurrency 1` (its VMs plus the module).
    pub fn plugin_rss(&self) -> i64 {
        self.entra1.rss as i64 - self.bare1.rss as i64
    }
}

/// Everything one run found.
#[derive(Debug, Clone)]
pub struct Results {
    /// Where it ran.
    pub machine: Machine,
    /// The exact command.
    pub command: String,
    /// `BENCH_*` values in effect, one line.
    pub settings: String,
    /// The six rows, in order.
    pub rows: Vec<(Row, RowResult)>,
    /// Cost by group count.
    pub groups: Vec<GroupCost>,
    /// Sign-ins.
    pub sign_ins: Vec<SignInSummary>,
    /// Overage users (group count, what happened).
    pub overage: Vec<(usize, String)>,
    /// Row 5's `Cookie` header: total bytes, and the largest single cookie (name, bytes of
    /// `name=value`). Browsers drop any cookie over 4096 bytes.
    pub oauth2_cookies: Option<(usize, String, usize)>,
    /// Bytes of the bearer token (rows 4 and 6).
    pub bearer_bytes: usize,
    /// entra-proxy-wasm's release wasm, bytes.
    pub wasm_bytes: u64,
    /// The empty filter's wasm, bytes.
    pub empty_wasm_bytes: u64,
    /// Envoy's memory after sign-ins, before any load.
    pub memory_before: Memory,
    /// After every round.
    pub memory_after: Memory,
    /// The heap-growth check.
    pub leak: Result<Leak, String>,
    /// Per-VM memory.
    pub vm: Result<VmMemory, String>,
    /// Envoy start → first signed-in 200: (row 3 alone, bare Envoy alone).
    pub cold_start: Result<(Duration, Duration), String>,
    /// The empty filter making row 3's header changes, and how many bytes of values it sets.
    pub header_floor: Result<(Measured, usize), String>,
    /// Row 2's listener loaded with row 4's request (the bearer token, no cookie): the floor for
    /// an API client, which the row-4 budget compares with.
    pub bearer_floor: Result<Measured, String>,
    /// The filter's wasm time per signed-in request in V8 without Envoy, with the Node version.
    pub v8: Result<(String, Vec<crate::v8_loop::V8Cost>), String>,
    /// Instructions per request of each row under callgrind (same configuration), or why the
    /// step did not run.
    pub instructions: Result<Instructions, String>,
    /// Wall time of the whole bench.
    pub wall: Duration,
}

/// Name of the load that runs row 2's listener with row 4's request.
pub const BEARER_FLOOR_LOAD: &str = "wasm_floor_bearer";

impl Results {
    /// A measured main row.
    pub fn row(&self, row: Row) -> Option<&Measured> {
        self.rows.iter().find_map(|(r, result)| match result {
            RowResult::Measured(m) if *r == row => Some(m),
            _ => None,
        })
    }

    /// Median req/s of a measured main row.
    pub fn rps(&self, row: Row) -> Option<f64> {
        self.row(row).and_then(Measured::rps)
    }

    /// `a`'s req/s over `b`'s, as the median of the per-round ratios (see
    /// [`Measured::paired_ratio`]).
    pub fn paired(&self, a: Row, b: Row) -> Option<f64> {
        self.row(a)?.paired_ratio(self.row(b)?)
    }

    /// Row 4's req/s over the bearer floor's, as the median of the per-round ratios.
    pub fn bearer_paired(&self) -> Option<f64> {
        self.row(Row::EntraBearer)?
            .paired_ratio(self.bearer_floor.as_ref().ok()?)
    }

    /// Row 4's median req/s over the bearer floor's.
    pub fn bearer_medians(&self) -> Option<f64> {
        let floor = self.bearer_floor.as_ref().ok()?.rps()?;
        (floor > 0.0).then_some(self.rps(Row::EntraBearer)? / floor)
    }

    /// The req/s ratio of row 4 over the bearer floor that the instruction counts predict.
    pub fn bearer_instruction_ratio(&self) -> Option<f64> {
        let counts = self.instructions.as_ref().ok()?;
        crate::instructions::throughput_ratio(
            counts.per_request(Row::EntraBearer)?,
            counts.per_load(BEARER_FLOOR_LOAD)?,
        )
    }

    /// Instructions per request of `row`, when counted.
    pub fn instructions(&self, row: Row) -> Option<f64> {
        self.instructions.as_ref().ok()?.per_request(row)
    }

    /// The req/s ratio `a / b` the instruction counts predict (`b`'s count over `a`'s; see
    /// [`Instructions::ratio`]).
    pub fn instruction_ratio(&self, a: Row, b: Row) -> Option<f64> {
        self.instructions.as_ref().ok()?.ratio(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rps: f64, p50: f64) -> WrkResult {
        WrkResult {
            rps,
            p50_us: p50,
            p99_us: p50 * 2.0,
            ..WrkResult::default()
        }
    }

    #[test]
    fn measured_takes_medians_across_rounds() {
        let mut m = Measured::new(Load {
            name: "x".into(),
            label: "x".into(),
            row: Row::Bare,
            headers: vec![],
        });
        assert_eq!(m.rps(), None);
        m.runs = vec![run(100.0, 5.0), run(300.0, 1.0), run(200.0, 3.0)];
        assert_eq!(m.rps(), Some(200.0));
        assert_eq!(m.p50_us(), Some(3.0));
        assert_eq!(m.p99_us(), Some(6.0));
    }

    #[test]
    fn paired_ratio_is_the_median_of_same_round_ratios() {
        let load = |rates: &[f64]| {
            let mut m = Measured::new(Load {
                name: "x".into(),
                label: "x".into(),
                row: Row::Bare,
                headers: vec![],
            });
            m.runs = rates.iter().map(|r| run(*r, 1.0)).collect();
            m
        };
        // Round 3 ran on a slow machine for b only: its ratio is an outlier the median drops,
        // while the ratio of the medians (100 / 100) would hide that a is 10% slower.
        let a = load(&[90.0, 180.0, 100.0]);
        let b = load(&[100.0, 200.0, 50.0]);
        assert_eq!(a.paired_ratio(&b), Some(0.9));
        assert_eq!(a.rps().zip(b.rps()).map(|(x, y)| x / y), Some(1.0));
        assert_eq!(a.paired_ratio(&load(&[])), None);
    }

    #[test]
    fn vm_memory_subtracts_envoys_own_worker_cost() {
        let rss = |rss| Memory {
            rss,
            ..Memory::default()
        };
        let vm = VmMemory {
            bare1: rss(100),
            entra1: rss(130),
            bare_many: rss(130),
            entra_many: rss(190),
        };
        assert_eq!(vm.plugin_rss(), 30);
        assert_eq!(vm.per_worker_rss(), 10);
    }
}
