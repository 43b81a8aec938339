//! Short-lived Envoys with one listener each: cold start (process start → first signed-in 200)
//! and what the plugin costs in memory per worker VM.

use std::path::Path;
use std::time::{Duration, Instant};

use entra_proxy_tests::envoy::Envoy;

use crate::envoy_config::BenchConfig;
use crate::memory::Memory;
use crate::results::VmMemory;
use crate::rows::Row;
use crate::signin::START_PATH;

/// How long a probe Envoy may take to answer its first 200.
const FIRST_200_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause before reading memory, so start-up allocations have settled.
const SETTLE: Duration = Duration::from_millis(500);

/// What one probe Envoy showed.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Process start → first 200 with `cookie`.
    pub first_200: Duration,
    /// Memory after that request.
    pub memory: Memory,
}

/// Starts an Envoy with only `row`'s listener and `workers` workers, sends requests with
/// `cookie` until one answers 200, reads its memory and stops it.
pub fn probe(
    base: &BenchConfig,
    row: Row,
    workers: u32,
    cookie: &str,
    logs: &Path,
) -> Result<Probe, String> {
    let config = BenchConfig {
        rows: vec![row],
        ..base.clone()
    };
    let yaml = config.render();
    let started = Instant::now();
    let envoy = Envoy::start_yaml(&yaml, workers, logs).map_err(|e| e.to_string())?;
    let url = format!("{}{START_PATH}", envoy.url(row.listener()));
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .redirects(0)
        .build();
    let first_200 = loop {
        let last = match agent.get(&url).set("cookie", cookie).call() {
            Ok(r) if r.status() == 200 => break started.elapsed(),
            Ok(r) => format!("status {}", r.status()),
            Err(e) => e.to_string(),
        };
        if started.elapsed() > FIRST_200_TIMEOUT {
            return Err(format!("no 200 within {FIRST_200_TIMEOUT:?}: {last}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    std::thread::sleep(SETTLE);
    let memory = Memory::of(&envoy)?;
    Ok(Probe { first_200, memory })
}

/// Cold start of row 3 (and of bare Envoy, for comparison) and the per-VM memory, from four
/// probe Envoys.
pub fn cold_start_and_vm_memory(
    base: &BenchConfig,
    cookie: &str,
    logs: &Path,
) -> (
    Result<(Duration, Duration), String>,
    Result<VmMemory, String>,
) {
    let entra1 = probe(base, Row::EntraBrowser, 1, cookie, logs);
    let bare1 = probe(base, Row::Bare, 1, cookie, logs);
    let cold = match (&entra1, &bare1) {
        (Ok(e), Ok(b)) => Ok((e.first_200, b.first_200)),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    let vm = (|| {
        Ok(VmMemory {
            bare1: bare1?.memory,
            entra1: entra1?.memory,
            bare_many: probe(base, Row::Bare, VmMemory::MANY, cookie, logs)?.memory,
            entra_many: probe(base, Row::EntraBrowser, VmMemory::MANY, cookie, logs)?.memory,
        })
    })();
    (cold, vm)
}
