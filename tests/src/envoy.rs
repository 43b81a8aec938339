//! A real Envoy process for a test: started from a rendered config with every port 0, ready when
//! its admin endpoint says so, stopped (and reaped) on drop.
//!
//! Files, all in one directory under the test's log dir: `envoy.yaml` (what ran), `envoy.log`
//! (Envoy's log, `--log-path`), `stderr.log`, `access.log`, `admin-address`.

mod config;
mod stats;

pub use config::{list_item, q, EnvoyConfig, PLUGIN_NAME};
pub use stats::{Stats, WASM_PREFIX};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait::wait_until;

/// Per-request timeout for admin calls.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a graceful `/quitquitquit` may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Lines of Envoy's log printed when a test panics.
const LOG_TAIL_LINES: usize = 40;

/// Why Envoy did not become ready.
#[derive(Debug)]
pub struct StartError {
    /// What went wrong (exit status or timeout).
    pub reason: String,
    /// Envoy's log and stderr up to that point.
    pub log: String,
    /// The directory with the config and logs.
    pub dir: PathBuf,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "envoy did not start: {} (files in {})\n--- envoy log (tail) ---\n{}",
            self.reason,
            self.dir.display(),
            tail(&self.log, LOG_TAIL_LINES)
        )
    }
}

/// A running Envoy.
pub struct Envoy {
    child: Child,
    dir: PathBuf,
    admin_port: u16,
    listeners: BTreeMap<String, u16>,
    agent: ureq::Agent,
}

impl Envoy {
    /// Renders `config` and starts Envoy with it; logs go to a fresh `envoy[-N]` directory inside
    /// `log_dir`. Panics with the log tail if Envoy exits or is not ready in time.
    pub fn start(config: &EnvoyConfig, log_dir: &Path) -> Envoy {
        Envoy::try_start(config, log_dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Envoy::start`], but returns why Envoy failed (for tests that expect a config to be
    /// rejected).
    pub fn try_start(config: &EnvoyConfig, log_dir: &Path) -> Result<Envoy, StartError> {
        let dir = crate::paths::unique_subdir(log_dir, "envoy");
        let mut config = config.clone();
        if config.access_log.is_none() {
            config.access_log = Some(dir.join("access.log"));
        }
        Envoy::spawn(
            &dir,
            &config.render(),
            config.concurrency,
            &config.log_level,
            config.start_timeout,
            &[],
        )
    }

    /// Starts Envoy with a complete YAML config of the caller's (its admin should listen on
    /// 127.0.0.1 port 0; every listener is looked up by name afterwards).
    pub fn start_yaml(yaml: &str, concurrency: u32, log_dir: &Path) -> Result<Envoy, StartError> {
        let dir = crate::paths::unique_subdir(log_dir, "envoy");
        Envoy::spawn(
            &dir,
            yaml,
            concurrency,
            "info",
            Duration::from_secs(60),
            &[],
        )
    }

    /// Like [`Envoy::start_yaml`], but runs the Envoy binary under `wrapper` (a program and its
    /// arguments, e.g. `valgrind --tool=callgrind …`), waiting up to `timeout` for readiness.
    /// The wrapper must exec or trace Envoy in its own process (as valgrind does), so that
    /// [`Envoy::pid`] is Envoy's and stopping it stops Envoy.
    pub fn start_yaml_wrapped(
        yaml: &str,
        concurrency: u32,
        log_dir: &Path,
        wrapper: &[String],
        timeout: Duration,
    ) -> Result<Envoy, StartError> {
        let dir = crate::paths::unique_subdir(log_dir, "envoy");
        Envoy::spawn(&dir, yaml, concurrency, "info", timeout, wrapper)
    }

    fn spawn(
        dir: &Path,
        yaml: &str,
        concurrency: u32,
        level: &str,
        timeout: Duration,
        wrapper: &[String],
    ) -> Result<Envoy, StartError> {
        let fail = |reason: String| StartError {
            reason,
            log: read_logs(dir),
            dir: dir.to_path_buf(),
        };
        let config_path = dir.join("envoy.yaml");
        let admin_path = dir.join("admin-address");
        std::fs::write(&config_path, yaml)
            .map_err(|e| fail(format!("cannot write config: {e}")))?;
        let stderr =
            std::fs::File::create(dir.join("stderr.log")).map_err(|e| fail(e.to_string()))?;
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(crate::paths::envoy_bin());
                c
            }
            None => Command::new(crate::paths::envoy_bin()),
        };
        let child = command
            .arg("-c")
            .arg(&config_path)
            .args([
                "--use-dynamic-base-id",
                "--concurrency",
                &concurrency.to_string(),
            ])
            .arg("--admin-address-path")
            .arg(&admin_path)
            .args(["-l", level, "--log-path"])
            .arg(dir.join("envoy.log"))
            // Envoy buffers its log file; flush often so `log_text` sees recent lines.
            .args(["--file-flush-interval-msec", "100"])
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().map_err(|e| fail(e.to_string()))?)
            .stderr(stderr)
            .spawn()
            .map_err(|e| fail(format!("cannot run envoy: {e}")))?;
        let agent = ureq::AgentBuilder::new().timeout(ADMIN_TIMEOUT).build();
        let mut envoy = Envoy {
            child,
            dir: dir.to_path_buf(),
            admin_port: 0,
            listeners: BTreeMap::new(),
            agent,
        };
        match envoy.wait_ready(&admin_path, timeout) {
            Ok(()) => Ok(envoy),
            Err(reason) => {
                drop(envoy); // stop it first, so that its log is complete
                Err(fail(reason))
            }
        }
    }

    /// Waits for the admin address file, then `/ready`, then every listener bound to a port.
    fn wait_ready(&mut self, admin_path: &Path, timeout: Duration) -> Result<(), String> {
        let mut exited = None;
        let found = wait_until("envoy to become ready", timeout, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                exited = Some(status);
                return Some(None);
            }
            let port = admin_port_from(&std::fs::read_to_string(admin_path).ok()?)?;
            let ready = self
                .agent
                .get(&format!("http://127.0.0.1:{port}/ready"))
                .call()
                .ok()?;
            if ready.status() != 200 {
                return None;
            }
            let url = format!("http://127.0.0.1:{port}/listeners?format=json");
            let body = self.agent.get(&url).call().ok()?.into_string().ok()?;
            let listeners = listener_ports(&body).ok()?;
            Some(Some((port, listeners)))
        })?;
        match (found, exited) {
            (Some((port, listeners)), _) => {
                self.admin_port = port;
                self.listeners = listeners;
                Ok(())
            }
            (None, status) => Err(format!("envoy exited during start-up with {status:?}")),
        }
    }

    /// The bound port of a listener, by name (`"main"` for the config builder's listener).
    pub fn port(&self, listener: &str) -> u16 {
        *self
            .listeners
            .get(listener)
            .unwrap_or_else(|| panic!("no listener {listener:?}; have {:?}", self.listeners))
    }

    /// `http://127.0.0.1:<port of listener>`.
    pub fn url(&self, listener: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(listener))
    }

    /// Every listener name → bound port.
    pub fn listeners(&self) -> &BTreeMap<String, u16> {
        &self.listeners
    }

    /// The admin port.
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// GETs an admin path (e.g. `/clusters`) and returns the body; panics on failure.
    pub fn admin_get(&self, path: &str) -> String {
        let url = format!("http://127.0.0.1:{}{path}", self.admin_port);
        let response = self
            .agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("admin GET {path}: {e}"));
        response
            .into_string()
            .unwrap_or_else(|e| panic!("admin GET {path}: {e}"))
    }

    /// A snapshot of every counter and gauge.
    pub fn stats(&self) -> Stats {
        Stats::parse_json(&self.admin_get("/stats?format=json")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// One counter or gauge by full name (wasm metrics start with `wasmcustom.`); panics if absent.
    pub fn counter(&self, name: &str) -> u64 {
        self.stats().counter(name)
    }

    /// Waits until the counter reaches at least `min`; returns its value.
    pub fn wait_for_counter(&self, name: &str, min: u64, timeout: Duration) -> u64 {
        wait_until(&format!("{name} >= {min}"), timeout, || {
            self.stats().get(name).filter(|v| *v >= min)
        })
        .unwrap_or_else(|e| panic!("{e}; stats: {:?}", self.stats().get(name)))
    }

    /// Envoy's log so far, followed by anything it wrote to stdout/stderr.
    pub fn log_text(&self) -> String {
        read_logs(&self.dir)
    }

    /// Waits until Envoy's log contains `needle` (the log is flushed every 100 ms).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        wait_until(&format!("{needle:?} in the envoy log"), timeout, || {
            self.log_text().contains(needle).then_some(())
        })
        .unwrap_or_else(|e| {
            panic!(
                "{e}\n--- envoy log (tail) ---\n{}",
                tail(&self.log_text(), LOG_TAIL_LINES)
            )
        })
    }

    /// The directory holding `envoy.yaml` and the logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        stop(&mut self.child, self.admin_port, &self.agent);
        if std::thread::panicking() {
            eprintln!(
                "envoy files kept in {}\n--- envoy log (tail) ---\n{}",
                self.dir.display(),
                tail(&self.log_text(), LOG_TAIL_LINES)
            );
        }
    }
}

/// Asks Envoy to quit (which flushes its logs), then kills it by pid if it lingers; always reaps.
fn stop(child: &mut Child, admin_port: u16, agent: &ureq::Agent) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    if admin_port != 0 {
        let _ = agent
            .post(&format!("http://127.0.0.1:{admin_port}/quitquitquit"))
            .call();
        let gone = wait_until("envoy to exit", STOP_TIMEOUT, || {
            child.try_wait().ok().flatten()
        });
        if gone.is_ok() {
            return;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `envoy --mode validate` on a YAML config; `Err` carries Envoy's output.
pub fn validate_yaml(yaml: &str, dir: &Path) -> Result<(), String> {
    let path = dir.join("validate.yaml");
    std::fs::write(&path, yaml).map_err(|e| e.to_string())?;
    let out = Command::new(crate::paths::envoy_bin())
        .args([
            "--mode",
            "validate",
            "--use-dynamic-base-id",
            "-l",
            "warning",
            "-c",
        ])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run envoy: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.contains(" OK") {
        Ok(())
    } else {
        Err(format!(
            "{} rejected ({}):\n{text}",
            path.display(),
            out.status
        ))
    }
}

fn read_logs(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("envoy.log")).unwrap_or_default();
    let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    if stderr.trim().is_empty() {
        log
    } else {
        format!("{log}--- stdout/stderr ---\n{stderr}")
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The port in the admin address file (`127.0.0.1:PORT`), once Envoy has written it.
fn admin_port_from(text: &str) -> Option<u16> {
    text.trim()
        .rsplit(':')
        .next()?
        .parse()
        .ok()
        .filter(|p| *p != 0)
}

/// Listener name → bound port from `/listeners?format=json`; `Err` while any is still port 0.
fn listener_ports(body: &str) -> Result<BTreeMap<String, u16>, String> {
    let doc: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for l in doc["listener_statuses"]
        .as_array()
        .ok_or("no listener_statuses")?
    {
        let name = l["name"].as_str().ok_or("listener without name")?;
        let port = l["local_address"]["socket_address"]["port_value"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("listener {name} not bound yet"))?;
        out.insert(name.to_string(), port);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_port_from_file_text() {
        let cases = [
            ("127.0.0.1:9901\n", Some(9901)),
            ("127.0.0.1:0", None),
            ("", None),
            ("x", None),
        ];
        for (text, want) in cases {
            assert_eq!(admin_port_from(text), want, "{text:?}");
        }
    }

    #[test]
    fn listener_ports_requires_every_listener_bound() {
        let bound = r#"{"listener_statuses":[
            {"name":"main","local_address":{"socket_address":{"address":"127.0.0.1","port_value":4000}}},
            {"name":"token","local_address":{"socket_address":{"address":"127.0.0.1","port_value":4001}}}]}"#;
        let got = listener_ports(bound).unwrap();
        assert_eq!(got.get("main"), Some(&4000));
        assert_eq!(got.get("token"), Some(&4001));
        let unbound = r#"{"listener_statuses":[{"name":"main","local_address":{"socket_address":{"port_value":0}}}]}"#;
        assert!(listener_ports(unbound).is_err());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
