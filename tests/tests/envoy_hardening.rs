//! Hardening through a real Envoy running the release wasm: secrets stay out of every log,
//! failing dependencies never turn into 5xx for signed-in users, and under load with several
//! workers and a rotating signing key no request reaches the app without a valid identity.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::emulator::{
    alice, Emulator, EmulatorConfig, Endpoint, Fault, DEFAULT_CLIENT_SECRET,
};
use entra_proxy_tests::envoy::{Envoy, EnvoyConfig};
use entra_proxy_tests::paths::TestLogs;
use entra_proxy_tests::stack::{plugin_config, COOKIE_SECRET, READY_STAT};
use entra_proxy_tests::upstream::Upstream;
use entra_proxy_tests::wait::wait_until;
use serde_json::{json, Value};

use tap::{form_values, json_strings, Tap};

#[path = "envoy_hardening/dependencies.rs"]
mod dependencies;
#[path = "envoy_hardening/load.rs"]
mod load;
#[path = "envoy_hardening/logs.rs"]
mod logs;
#[path = "envoy_hardening/tap.rs"]
mod tap;

/// Emulator (behind an optional tap), recording upstream and Envoy. Fields drop in order:
/// Envoy first so its logs are complete, the log directory last.
struct Hardened {
    envoy: Envoy,
    tap: Option<Tap>,
    entra: Emulator,
    upstream: Upstream,
    base: String,
    _logs: TestLogs,
}

struct Options {
    overrides: Value,
    workers: u32,
    log_level: &'static str,
    tap: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            overrides: json!({}),
            workers: 2,
            log_level: "info",
            tap: false,
        }
    }
}

impl Hardened {
    fn start(test: &str, options: Options) -> Hardened {
        let logs = TestLogs::new(test);
        let entra = Emulator::start(EmulatorConfig {
            auto_login: Some("alice".into()),
            ..EmulatorConfig::default()
        });
        let tap = options.tap.then(|| Tap::start(entra.port()));
        let upstream = Upstream::start();
        let entra_port = tap.as_ref().map_or(entra.port(), |t| t.port);
        let config = EnvoyConfig::new(upstream.port())
            .plugin_config(plugin_config(&entra, options.overrides))
            .cluster("entra", entra_port)
            .concurrency(options.workers)
            .log_level(options.log_level);
        let envoy = Envoy::start(&config, &logs.subdir("envoy"));
        envoy.wait_for_counter(READY_STAT, 1, Duration::from_secs(30));
        let base = envoy.url("main");
        Hardened {
            envoy,
            tap,
            entra,
            upstream,
            base,
            _logs: logs,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn sign_in(&self, client: &mut Client, path: &str) -> Vec<Reply> {
        client.follow(&self.url(path), &self.base, 8)
    }

    fn counter(&self, name: &str) -> u64 {
        self.envoy
            .stats()
            .get(&format!("wasmcustom.{name}"))
            .unwrap_or(0)
    }
}

fn statuses(hops: &[Reply]) -> Vec<u16> {
    hops.iter().map(|r| r.status).collect()
}

/// Sign in a fresh browser; panics unless it ends at the app.
fn signed_in(stack: &Hardened, path: &str) -> Client {
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, path);
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    client
}

fn assert_served_as_alice(stack: &Hardened, client: &mut Client, path: &str) {
    let before = stack.upstream.count();
    let reply = client.get_url(&stack.url(path), &[]);
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    assert_eq!(stack.upstream.count(), before + 1, "{path}");
    let seen = stack.upstream.last().expect("upstream request");
    assert_eq!(
        seen.header_all("x-forwarded-user"),
        vec![alice().oid.as_str()],
        "{path}"
    );
}
