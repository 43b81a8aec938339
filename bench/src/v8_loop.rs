//! The filter's own wasm time per signed-in request, in V8 without Envoy
//! (`bench/wasm-loop/wasm-loop.mjs` under Node).
//!
//! Why next to the Envoy rows: on a shared two-core machine the req/s of a row moves by ±20%
//! between runs of the same build, more than the difference a 0.90 budget asks to resolve. A
//! loop that calls the module's request entry points directly, in the same engine Envoy embeds,
//! moves by a few percent, so it shows what a change to the filter did. It leaves out what only
//! Envoy does (copying headers in and out, the cost of each host call), so it complements the
//! rows instead of replacing them.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::stats::median;

/// Requests per loop (after the loop's own warm-up).
const ITERATIONS: u32 = 20_000;
/// Loops per module and cookie; the median is reported.
const REPEATS: usize = 3;

/// One cookie size: the floor and the filter on the same headers.
#[derive(Debug, Clone)]
pub struct V8Cost {
    /// Groups of the user whose cookies were sent.
    pub groups: usize,
    /// The empty filter, µs per request.
    pub floor_us: f64,
    /// entra-proxy-wasm, µs per request.
    pub entra_us: f64,
}

/// Runs the loop for each `(groups, cookie file)`; `Err` when Node is missing or a loop fails.
pub fn measure(
    root: &Path,
    logs: &Path,
    (entra_wasm, empty_wasm): (&Path, &Path),
    config: &Value,
    cookies: &[(usize, std::path::PathBuf)],
) -> Result<(String, Vec<V8Cost>), String> {
    let version = node(&["--version"])?.trim().to_string();
    let config_path = logs.join("row3-plugin-config.json");
    std::fs::write(&config_path, config.to_string())
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let script = root.join("bench/wasm-loop/wasm-loop.mjs");
    let mut out = Vec::new();
    for (groups, cookie) in cookies {
        let time = |wasm: &Path| -> Result<f64, String> {
            let mut runs = Vec::new();
            let iterations = ITERATIONS.to_string();
            for _ in 0..REPEATS {
                let args = [
                    // Envoy's V8 compiles with the optimising tier; Liftoff would time the
                    // baseline compiler's code for part of the loop.
                    "--no-liftoff".as_ref(),
                    script.as_os_str(),
                    wasm.as_os_str(),
                    cookie.as_os_str(),
                    iterations.as_ref(),
                    config_path.as_os_str(),
                ];
                runs.push(parse_micros(&node(&args)?)?);
            }
            median(&runs).ok_or_else(|| "no runs".to_string())
        };
        out.push(V8Cost {
            groups: *groups,
            floor_us: time(empty_wasm)?,
            entra_us: time(entra_wasm)?,
        });
    }
    Ok((version, out))
}

fn node<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<String, String> {
    let output = Command::new("node")
        .args(args)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "node {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The number before " us per request" in the loop's output.
fn parse_micros(stdout: &str) -> Result<f64, String> {
    stdout
        .split(" us per request")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unexpected wasm-loop output: {stdout:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_loops_number() {
        let line = "entra_proxy_wasm.wasm: 8.47 us per request over 20000 (11605 cookie bytes)\n";
        assert_eq!(parse_micros(line), Ok(8.47));
        assert!(parse_micros("nothing here").is_err());
    }
}
