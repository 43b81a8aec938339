//! One whole bench run, in order:
//! 1. start the emulator and one Envoy (`--concurrency 1`) with a listener per row;
//! 2. sign in through the emulator: entra-proxy-wasm for every bench user, Envoy oauth2 once;
//! 3. check that every load answers 200 with its credentials (else the row is skipped, with why);
//! 4. heap check on row 3 (memory after the baseline count, then after the full count);
//! 5. warm-up, then the measured rounds, interleaved;
//! 6. stop that Envoy; probe Envoys for cold start and per-VM memory;
//! 7. instructions per request of each row, in one more Envoy under callgrind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use entra_proxy_tests::emulator::{
    Emulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID,
};
use entra_proxy_tests::envoy::Envoy;
use entra_proxy_tests::paths;
use entra_proxy_tests::stack::{plugin_config, READY_STAT};
use serde_json::{json, Value};

use crate::envoy_config::BenchConfig;
use crate::machine::Machine;
use crate::memory::Memory;
use crate::results::{
    GroupCost, Leak, Measured, Results, RowResult, SignInSummary, BEARER_FLOOR_LOAD,
};
use crate::rows::{Load, Row};
use crate::runner::{pin, round_order, script_dir, Runner};
use crate::settings::Settings;
use crate::signin::{cookie_header, is_oauth2_cookie, is_session_cookie, sign_in, SignIn};
use crate::users::{username, COST_GROUPS, MAIN_GROUPS, OVERAGE_GROUPS};
use crate::wrk::Wrk;

/// How long the filter may take to load the provider's keys after Envoy starts.
const KEYS_TIMEOUT: Duration = Duration::from_secs(30);
/// Row 5's HMAC secret (a fixed test value: the bench measures, it protects nothing).
const OAUTH2_HMAC_SECRET: &str = "bench-hmac-secret-0123456789abcdef";
/// The CPU Envoy's worker gets when pinning; wrk gets the next one.
const ENVOY_CPU: usize = 0;

/// Runs the bench; `Err` only when it could not run at all (a missed budget is a result).
pub fn run(settings: &Settings) -> Result<Results, String> {
    let started = Instant::now();
    let root = paths::workspace_root();
    let logs = fresh_dir(&root.join("target/bench"))?;
    let envoy_bin = paths::envoy_bin();
    let machine = Machine::describe(&envoy_bin);
    // Private copies: other work may rebuild the shared wasm mid-run, and the probe Envoys at
    // the end must load the same module as the main one.
    let entra_wasm = snapshot(&paths::wasm_path(), &logs)?;
    let empty_wasm = snapshot(&empty_wasm_path(&root)?, &logs)?;

    let entra = Emulator::start(crate::users::emulator_config());
    // Row 3: the ID token goes upstream (so the session carries it and is chunked); Graph is
    // the emulator's, for users in overage.
    let browser = plugin_config(
        &entra,
        json!({"pass_authorization_header": true, "entra_id_graph_url": entra.graph_base_url()}),
    );
    let mut bearer = browser.clone();
    bearer["skip_jwt_bearer_tokens"] = json!(true);
    let tenant_base = format!("{}/{DEFAULT_TENANT_ID}", entra.base_url());
    // Rows 4 and 6 send it; its claims also give the header floor row 3's header values.
    let bearer_token =
        entra.mint_id_token(entra.id_token_claims(&username(MAIN_GROUPS), DEFAULT_CLIENT_ID));
    let row3_changes = crate::header_floor::changes(&browser, &bearer_token)?;
    let mut rows = Row::ALL.to_vec();
    rows.push(Row::EmptyWasmHeaders);
    let mut config = BenchConfig {
        rows,
        empty_wasm: empty_wasm.clone(),
        entra_wasm: entra_wasm.clone(),
        entra_browser: browser.clone(),
        row3_changes: row3_changes.clone(),
        entra_bearer: bearer,
        entra_authority: entra.authority(),
        tenant_base,
        issuer: entra.issuer(DEFAULT_TENANT_ID),
        client_id: DEFAULT_CLIENT_ID.to_string(),
        client_secret: DEFAULT_CLIENT_SECRET.to_string(),
        hmac_secret: OAUTH2_HMAC_SECRET.to_string(),
    };

    // Row 4 runs when the built wasm accepts a bearer configuration; when it rejects it, Envoy
    // refuses to start and the row is reported with the filter's own reason.
    let mut bearer_skip = None;
    let envoy = match Envoy::start_yaml(&config.render(), 1, &logs) {
        Ok(envoy) => envoy,
        Err(e) => match bearer_rejection(&e.log) {
            Some(why) => {
                bearer_skip = Some(why);
                config.rows.retain(|r| *r != Row::EntraBearer);
                Envoy::start_yaml(&config.render(), 1, &logs).map_err(|e| e.to_string())?
            }
            None => return Err(e.to_string()),
        },
    };
    let pinned = settings.pin && machine.cpus >= 2;
    if pinned {
        pin(envoy.pid(), ENVOY_CPU).map_err(|e| format!("cannot pin envoy: {e}"))?;
    }
    envoy.wait_for_counter(READY_STAT, 1, KEYS_TIMEOUT);
    // Every entra-proxy-wasm plugin fetches discovery and keys once on its first tick; wait for
    // all of them, so no background fetch is counted as a callout of the sign-in below.
    let plugins = config
        .rows
        .iter()
        .filter(|r| matches!(r, Row::EntraBrowser | Row::EntraBearer))
        .count() as u64;
    entra_proxy_tests::wait::wait_until("every plugin to fetch the JWKS", KEYS_TIMEOUT, || {
        (entra.counts().jwks >= plugins).then_some(())
    })?;

    eprintln!("bench: signing in");
    let entra_url = envoy.url(Row::EntraBrowser.listener());
    let mut sign_ins: BTreeMap<usize, Result<SignIn, String>> = BTreeMap::new();
    // The main user first: its sign-in is the first one this Envoy sees (cold connections).
    let mut order = vec![MAIN_GROUPS];
    order.extend(COST_GROUPS.iter().chain(&OVERAGE_GROUPS).copied());
    for groups in order {
        sign_ins
            .entry(groups)
            .or_insert_with(|| sign_in(&entra, &entra_url, &username(groups)));
    }
    let oauth2 = sign_in(
        &entra,
        &envoy.url(Row::OAuth2.listener()),
        &username(MAIN_GROUPS),
    );
    let session_cookie = |groups: usize| -> Result<String, String> {
        match sign_ins.get(&groups) {
            Some(Ok(s)) => Ok(cookie_header(&s.jar, is_session_cookie)),
            Some(Err(e)) => Err(format!("sign-in failed: {e}")),
            None => Err("no sign-in".to_string()),
        }
    };
    let main_cookie = session_cookie(MAIN_GROUPS)?;
    // For the profiling loop (`session-loop`): real cookies from real sign-ins.
    for groups in COST_GROUPS {
        if let Ok(c) = session_cookie(groups) {
            let path = logs.join(format!("cookie-g{groups}.txt"));
            std::fs::write(&path, c).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let oauth2_cookie = oauth2
        .as_ref()
        .map(|s| cookie_header(&s.jar, is_oauth2_cookie))
        .map_err(Clone::clone);

    // Loads: the six rows, then the group-cost loads (150 groups is row 3 itself).
    let cookie = |v: &str| vec![("Cookie".to_string(), v.to_string())];
    let bearer_headers = vec![(
        "Authorization".to_string(),
        format!("Bearer {bearer_token}"),
    )];
    let mut loads: Vec<(Load, Option<String>)> = Vec::new();
    for row in Row::ALL {
        // Rows 1 and 2 carry row 3's cookies too: a browser sends them whatever the proxy, and
        // the floor must pay for parsing and copying the same bytes.
        let (headers, skip) = match row {
            Row::Bare | Row::EmptyWasm | Row::EntraBrowser | Row::EmptyWasmHeaders => {
                (cookie(&main_cookie), None)
            }
            Row::EntraBearer => (bearer_headers.clone(), bearer_skip.clone()),
            Row::OAuth2 => match &oauth2_cookie {
                Ok(c) => (cookie(c), None),
                Err(e) => (vec![], Some(format!("sign-in failed: {e}"))),
            },
            Row::JwtAuthn => (bearer_headers.clone(), None),
        };
        let load = Load {
            name: row.listener().to_string(),
            label: row.label().to_string(),
            row,
            headers,
        };
        loads.push((load, skip));
    }
    let header_floor = Row::EmptyWasmHeaders;
    loads.push((
        Load {
            name: header_floor.listener().to_string(),
            label: header_floor.label().to_string(),
            row: header_floor,
            headers: cookie(&main_cookie),
        },
        None,
    ));
    // Row 4's floor: row 2's listener with row 4's request, so its budget compares the same
    // bytes on the wire (see `budgets`).
    loads.push((
        Load {
            name: BEARER_FLOOR_LOAD.to_string(),
            label: format!("{}, row 4's bearer token", Row::EmptyWasm.label()),
            row: Row::EmptyWasm,
            headers: bearer_headers.clone(),
        },
        None,
    ));
    // Each group count against the filter and against the floor with the same cookies, so the
    // difference is the filter's work and not the size of the request.
    for groups in COST_GROUPS.into_iter().filter(|g| *g != MAIN_GROUPS) {
        for row in [Row::EntraBrowser, Row::EmptyWasm] {
            let (headers, skip) = match session_cookie(groups) {
                Ok(c) => (cookie(&c), None),
                Err(e) => (vec![], Some(e)),
            };
            let load = Load {
                name: cost_load_name(row, groups),
                label: format!("{}, {groups} groups' cookies", row.label()),
                row,
                headers,
            };
            loads.push((load, skip));
        }
    }

    let runner = Runner {
        envoy: &envoy,
        wrk: Wrk {
            connections: settings.connections,
            cpu: pinned.then_some(ENVOY_CPU + 1),
        },
        dir: script_dir(&logs)?,
    };
    let mut active: Vec<Measured> = Vec::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for (load, skip) in loads {
        match skip.map_or_else(|| runner.check(&load), Err) {
            Ok(()) => active.push(Measured::new(load)),
            Err(why) => {
                eprintln!("bench: {} skipped: {why}", load.name);
                skipped.insert(load.name, why);
            }
        }
    }

    let memory_before = Memory::of(&envoy)?;
    eprintln!("bench: heap check on row 3");
    let leak = heap_check(&runner, &active, settings);

    eprintln!("bench: warm-up");
    for m in &active {
        runner.warm(&m.load, Duration::from_secs(settings.warmup_seconds.max(1)))?;
    }
    for round in 0..settings.rounds {
        eprintln!("bench: round {}/{}", round + 1, settings.rounds);
        for i in round_order(active.len(), round) {
            if let Some(m) = active.get_mut(i) {
                if let Err(e) = runner.measure(m, settings.run_duration()) {
                    eprintln!("bench: {} failed: {e}", m.load.name);
                    skipped.insert(m.load.name.clone(), format!("wrk failed: {e}"));
                }
            }
        }
    }
    let memory_after = Memory::of(&envoy)?;
    let counted_loads = instruction_loads(&config.rows, &active, &envoy);
    drop(runner);
    drop(envoy);

    eprintln!("bench: cold start and per-VM memory");
    let (cold_start, vm) = crate::probe::cold_start_and_vm_memory(&config, &main_cookie, &logs);

    eprintln!("bench: instructions per request under callgrind");
    // After the main Envoy is gone (the two would share the CPUs), while the emulator still
    // serves discovery and JWKS to the filters and jwt_authn.
    let instructions =
        crate::instructions::measure(&config, &counted_loads, settings.callgrind_requests, &logs);
    if let Err(why) = &instructions {
        eprintln!("bench: no instruction counts: {why}");
    }

    eprintln!("bench: wasm time in V8 without Envoy");
    // Not the overage user: its group list lives in Envoy's shared data, which the loop lacks.
    let v8_cookies: Vec<(usize, PathBuf)> = COST_GROUPS
        .into_iter()
        .filter(|g| *g <= entra_proxy_wasm::flow::group_cache::MAX_COOKIE_GROUPS)
        .map(|g| (g, logs.join(format!("cookie-g{g}.txt"))))
        .filter(|(_, path)| path.exists())
        .collect();
    let v8 = crate::v8_loop::measure(
        &root,
        &logs,
        (&entra_wasm, &empty_wasm),
        &browser,
        &v8_cookies,
    );

    let find = |name: &str| -> Result<Measured, String> {
        if let Some(why) = skipped.get(name) {
            return Err(why.clone());
        }
        active
            .iter()
            .find(|m| m.load.name == name)
            .cloned()
            .ok_or_else(|| "not measured".to_string())
    };
    let rows = Row::ALL
        .into_iter()
        .map(|row| {
            let result = match find(row.listener()) {
                Ok(m) => RowResult::Measured(m),
                Err(why) => RowResult::Skipped(why),
            };
            (row, result)
        })
        .collect();
    let groups = COST_GROUPS
        .into_iter()
        .map(|g| {
            let filter = find(&cost_load_name(Row::EntraBrowser, g));
            let floor = find(&cost_load_name(Row::EmptyWasm, g));
            group_cost(g, session_cookie(g), &browser, filter, floor)
        })
        .collect();
    let summary = |what: String, s: Option<&Result<SignIn, String>>| SignInSummary {
        what,
        result: match s {
            Some(Ok(s)) => Ok((s.wall, s.proxy, s.callouts)),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not run".into()),
        },
    };
    let sign_in_lines = vec![
        summary(
            format!("entra-proxy-wasm, {MAIN_GROUPS} groups"),
            sign_ins.get(&MAIN_GROUPS),
        ),
        summary(format!("Envoy oauth2, {MAIN_GROUPS} groups"), Some(&oauth2)),
    ];
    let overage = OVERAGE_GROUPS
        .into_iter()
        .map(|g| (g, overage_line(sign_ins.get(&g), &browser)))
        .collect();

    Ok(Results {
        command: command(),
        settings: settings_line(settings, pinned),
        machine,
        rows,
        groups,
        sign_ins: sign_in_lines,
        overage,
        oauth2_cookies: oauth2_cookie.as_ref().ok().map(|c| largest_cookie(c)),
        bearer_bytes: bearer_token.len(),
        wasm_bytes: file_size(&entra_wasm)?,
        empty_wasm_bytes: file_size(&empty_wasm)?,
        memory_before,
        memory_after,
        leak,
        vm,
        cold_start,
        header_floor: find(Row::EmptyWasmHeaders.listener())
            .map(|m| (m, crate::header_floor::value_bytes(&row3_changes))),
        bearer_floor: find(BEARER_FLOOR_LOAD),
        v8,
        instructions,
        wall: started.elapsed(),
    })
}

/// The loads the callgrind step counts: one per listener of the main Envoy (the rows and the
/// header floor), with the credentials wrk sent, plus the `Host` wrk sent. Envoy oauth2's HMAC
/// covers the `Host` header, port included, and the callgrind Envoy listens on other ports: with
/// its own `Host`, row 5's cookies would fail and the filter would answer with a refresh or a
/// redirect instead.
fn instruction_loads(rows: &[Row], active: &[Measured], envoy: &Envoy) -> Vec<Load> {
    let names = rows
        .iter()
        .map(|row| row.listener())
        .chain([BEARER_FLOOR_LOAD]);
    names
        .filter_map(|name| {
            let m = active.iter().find(|m| m.load.name == name)?;
            let row = &m.load.row;
            let port = envoy.listeners().get(row.listener())?;
            let mut load = m.load.clone();
            load.headers
                .push(("Host".to_string(), format!("127.0.0.1:{port}")));
            Some(load)
        })
        .collect()
}

/// Memory of row 3 after `leak_baseline`, then after `leak_requests` signed-in requests.
fn heap_check(runner: &Runner, active: &[Measured], settings: &Settings) -> Result<Leak, String> {
    let load = active
        .iter()
        .find(|m| m.load.name == Row::EntraBrowser.listener())
        .map(|m| &m.load)
        .ok_or("row 3 is not measurable")?;
    let baseline_requests = runner.drive_until(load, settings.leak_baseline)?;
    let baseline = Memory::of(runner.envoy)?;
    let requests = runner.drive_until(load, settings.leak_requests)?;
    let end = Memory::of(runner.envoy)?;
    Ok(Leak {
        baseline_requests,
        baseline,
        requests,
        end,
    })
}

/// (total bytes, name of the largest cookie, its `name=value` bytes).
fn largest_cookie(header: &str) -> (usize, String, usize) {
    let largest = header
        .split("; ")
        .max_by_key(|c| c.len())
        .unwrap_or_default();
    let name = largest.split('=').next().unwrap_or_default().to_string();
    (header.len(), name, largest.len())
}

/// The load of `row` with the cookies of the user with `groups` groups (row 2 and 3 themselves
/// for the main user).
fn cost_load_name(row: Row, groups: usize) -> String {
    if groups == MAIN_GROUPS {
        row.listener().to_string()
    } else {
        format!("{}_g{groups}", row.listener())
    }
}

fn group_cost(
    groups: usize,
    cookie: Result<String, String>,
    browser: &Value,
    measured: Result<Measured, String>,
    floor: Result<Measured, String>,
) -> GroupCost {
    let cookie = cookie.unwrap_or_default();
    GroupCost {
        groups,
        session_groups: crate::session::open(browser, &cookie, crate::session::now())
            .ok()
            .map(|s| (s.groups.len(), s.groups_ref.is_some())),
        cookies: cookie.split(';').filter(|c| c.contains('=')).count(),
        cookie_bytes: cookie.len(),
        measured,
        floor,
    }
}

fn overage_line(sign_in: Option<&Result<SignIn, String>>, browser: &Value) -> String {
    match sign_in {
        Some(Ok(s)) => {
            let cookie = cookie_header(&s.jar, is_session_cookie);
            let groups = crate::session::open(browser, &cookie, crate::session::now())
                .map(|s| match s.groups_ref {
                    Some(_) => format!(
                        "{} groups in the cookie, the full list in shared data",
                        s.groups.len()
                    ),
                    None => format!("{} groups in the cookie", s.groups.len()),
                })
                .unwrap_or_else(|e| format!("session does not open: {e}"));
            let graph = if s.callouts.graph == 0 {
                " — no Graph call: n/a until Graph support lands"
            } else {
                ""
            };
            format!(
                "{:.1} ms wall, {:.1} ms in Envoy; callouts: {}; {groups}{graph}",
                s.wall.as_secs_f64() * 1e3,
                s.proxy.as_secs_f64() * 1e3,
                s.callouts.describe()
            )
        }
        Some(Err(e)) => format!("the sign-in fails: {e}"),
        None => "not run".to_string(),
    }
}

/// Why Envoy refused row 4's plugin, from its log; `None` when the start failed for another
/// reason (then the bench cannot run).
fn bearer_rejection(log: &str) -> Option<String> {
    if !log.contains("Plugin entra-proxy-wasm-bearer failed to load") {
        return None;
    }
    let reason = log
        .lines()
        .find(|l| {
            l.contains("entra-proxy-wasm-bearer")
                && l.contains("invalid entra-proxy-wasm configuration")
        })
        .and_then(|l| l.split("invalid entra-proxy-wasm configuration:").nth(1))
        .map(str::trim)
        .unwrap_or("the plugin did not load");
    Some(
        if reason.contains("skip_jwt_bearer_tokens") && reason.contains("not implemented") {
            "skip_jwt_bearer_tokens not implemented yet".to_string()
        } else {
            format!("the filter rejected the bearer configuration: {reason}")
        },
    )
}

fn empty_wasm_path(root: &Path) -> Result<PathBuf, String> {
    let path = match std::env::var_os("BENCH_EMPTY_WASM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root.join("target/wasm32-wasip1/release/bench_empty_filter.wasm"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the empty filter is not built at {}: run `make bench`",
            path.display()
        ))
    }
}

/// Copies `file` into `dir`; returns the copy.
fn snapshot(file: &Path, dir: &Path) -> Result<PathBuf, String> {
    let name = file
        .file_name()
        .ok_or_else(|| format!("{} has no file name", file.display()))?;
    let copy = dir.join(name);
    std::fs::copy(file, &copy).map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
    Ok(copy)
}

fn file_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Empties and returns `dir` (the bench's logs and wrk scripts; kept after the run).
fn fresh_dir(dir: &Path) -> Result<PathBuf, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn command() -> String {
    let mut words = vec!["make bench".to_string()];
    words.extend(Settings::overrides());
    words.join(" ")
}

fn settings_line(s: &Settings, pinned: bool) -> String {
    let callgrind = match s.callgrind_requests {
        0 => "instruction counts off".to_string(),
        n => format!(
            "callgrind {} requests per row after {} of warm-up",
            crate::report::thousands(n),
            crate::instructions::WARMUP_REQUESTS
        ),
    };
    format!(
        "{} rounds × {} s per load (after {} s warm-up each), medians; wrk -t1 -c{}; Envoy --concurrency 1{}; heap check {} → {} requests; {callgrind}",
        s.rounds,
        s.seconds,
        s.warmup_seconds,
        s.connections,
        if pinned {
            ", Envoy pinned to CPU 0 and wrk to CPU 1"
        } else {
            ", not pinned"
        },
        crate::report::thousands(s.leak_baseline),
        crate::report::thousands(s.leak_requests)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_cookie_names_the_biggest_pair() {
        assert_eq!(
            largest_cookie("A=1; IdToken=123456; B=12"),
            (25, "IdToken".to_string(), 14)
        );
        assert_eq!(largest_cookie(""), (0, String::new(), 0));
    }

    #[test]
    fn bearer_rejection_reads_the_filters_reason_from_envoys_log() {
        let log = "[error][wasm] wasm log entra-proxy-wasm-bearer entra-proxy-wasm-bearer: invalid entra-proxy-wasm configuration: skip_jwt_bearer_tokens: this oauth2-proxy option is not implemented yet; remove it\n\
                   [critical][wasm] Plugin entra-proxy-wasm-bearer failed to load\n";
        assert_eq!(
            bearer_rejection(log).as_deref(),
            Some("skip_jwt_bearer_tokens not implemented yet")
        );
        let other = "[error] wasm log entra-proxy-wasm-bearer x: invalid entra-proxy-wasm configuration: extra_jwt_issuers: bad\n\
                     Plugin entra-proxy-wasm-bearer failed to load\n";
        assert_eq!(
            bearer_rejection(other).as_deref(),
            Some("the filter rejected the bearer configuration: extra_jwt_issuers: bad")
        );
        assert_eq!(
            bearer_rejection("Plugin entra-proxy-wasm failed to load"),
            None
        );
    }
}
