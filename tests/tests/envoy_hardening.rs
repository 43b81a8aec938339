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
use entra_proxy_tests::emulator::{alice, Emulator, EmulatorConfig, Endpoint, Fault, DEFAULT_CLIENT_SECRET};
use entra_proxy_tests::envoy::{Envoy, EnvoyConfig};
use entra_proxy_tests::paths::TestLogs;
use entra_proxy_tests::stack::{plugin_config, COOKIE_SECRET, READY_STAT};
use entra_proxy_tests::upstream::Upstream;
use entra_proxy_tests::wait::wait_until;
use serde_json::{json, Value};

// ----- a recording TCP relay between Envoy and the emulator ----------------------------------

/// Copies bytes between Envoy and the emulator and keeps both directions, so a test knows
/// every code, verifier and token that crossed the wire without asking the emulator.
struct Tap {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<u8>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Tap {
    fn start(target: u16) -> Tap {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("tap: bind");
        let port = listener.local_addr().expect("tap: addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (Arc::clone(&stop), Arc::clone(&seen));
        let acceptor = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (conn, TcpStream::connect(("127.0.0.1", target))) else {
                    continue;
                };
                relay(client, server, Arc::clone(&log));
            }
        });
        Tap {
            port,
            stop,
            seen,
            acceptor: Some(acceptor),
        }
    }

    /// Everything both directions carried so far, as text.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Two copy threads, each recording what it forwards and closing the other side's write half
/// at end of stream.
fn relay(client: TcpStream, server: TcpStream, log: Arc<Mutex<Vec<u8>>>) {
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
            return;
        };
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let _ = from.set_read_timeout(Some(Duration::from_secs(30)));
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
                log.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]);
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
    }
}

/// Every value of JSON string field `field` in `text` (`"field":"value"`).
fn json_strings(text: &str, field: &str) -> Vec<String> {
    let needle = format!("\"{field}\":\"");
    text.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &text[at + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// Every value of form field `field` in `text` (`field=value`, up to `&`, space or line end).
fn form_values(text: &str, field: &str) -> Vec<String> {
    let needle = format!("{field}=");
    text.match_indices(&needle)
        .filter(|(at, _)| *at == 0 || matches!(text.as_bytes()[at - 1], b'&' | b'?' | b'\n'))
        .filter_map(|(at, _)| {
            let rest = &text[at + needle.len()..];
            let end = rest.find(['&', ' ', '\r', '\n']).unwrap_or(rest.len());
            let value = url::form_urlencoded::parse(format!("v={}", &rest[..end]).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())?;
            (!value.is_empty()).then_some(value)
        })
        .collect()
}

// ----- the stack -----------------------------------------------------------------------------

/// Emulator (behind an optional tap), recording upstream and Envoy. Fields drop in order:
/// Envoy first so its logs are complete, the log directory last.
struct Hardened {
    envoy: Envoy,
    tap: Option<Tap>,
    entra: Emulator,
    upstream: Upstream,
    base: String,
    logs: TestLogs,
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
            logs,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn sign_in(&self, client: &mut Client, path: &str) -> Vec<Reply> {
        client.follow(&self.url(path), &self.base, 8)
    }

    fn counter(&self, name: &str) -> u64 {
        self.envoy.stats().get(&format!("wasmcustom.{name}")).unwrap_or(0)
    }
}

fn statuses(hops: &[Reply]) -> Vec<u16> {
    hops.iter().map(|r| r.status).collect()
}

// ----- secrets never appear in logs ----------------------------------------------------------

/// Envoy's own debug log prints whole header maps (the callback's `:path` with its code, the
/// `Cookie` and `Set-Cookie` headers); that is Envoy, not the filter, and production runs at
/// `info`. So lines Envoy writes about headers are checked only for values that never travel
/// in a header (secrets, tokens, verifiers); what the filter writes (`[wasm]` lines) and the
/// access log are checked for everything.
#[test]
fn secrets_codes_tokens_and_cookies_never_reach_the_logs() {
    let stack = Hardened::start(
        "hardening_no_secrets_in_logs",
        Options {
            overrides: json!({
                "cookie_refresh": "1s",
                "scope": "openid email profile offline_access",
            }),
            log_level: "debug",
            tap: true,
            ..Options::default()
        },
    );
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/private?tab=1");
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    let mut cookies: Vec<String> = client.cookies.iter().map(|(_, v)| v.clone()).collect();
    let csrf_cookies: Vec<String> = hops[0]
        .set_cookies()
        .iter()
        .filter_map(|c| c.split(';').next()?.split_once('=').map(|(_, v)| v.to_string()))
        .filter(|v| !v.is_empty())
        .collect();
    cookies.extend(csrf_cookies);
    let mut codes: Vec<String> = hops[1]
        .header("location")
        .and_then(|l| url::Url::parse(l).ok())
        .into_iter()
        .flat_map(|u| u.query_pairs().filter(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).collect::<Vec<_>>())
        .collect();
    assert_eq!(codes.len(), 1, "the code from the authorize redirect");

    // A refresh is due once a second has passed: nothing to poll for but the clock.
    std::thread::sleep(Duration::from_millis(2100));
    let reply = client.get_url(&stack.url("/after-refresh"), &[]);
    assert_eq!(reply.status, 200);
    wait_until("the refresh", Duration::from_secs(10), || {
        (stack.counter("entra_proxy.session.refreshed") >= 1).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    cookies.extend(client.cookies.iter().map(|(_, v)| v.clone()));
    let reply = client.get_url(&stack.url("/oauth2/sign_out"), &[]);
    assert_eq!(reply.status, 302);
    assert_eq!(stack.counter("entra_proxy.sign_out"), 1);

    let wire = stack.tap.as_ref().expect("tap").text();
    let mut tokens = Vec::new();
    for field in ["id_token", "access_token", "refresh_token"] {
        tokens.extend(json_strings(&wire, field));
    }
    assert!(tokens.len() >= 6, "sign-in and refresh each return 3 tokens: {}", tokens.len());
    codes.extend(form_values(&wire, "code"));
    let verifiers = form_values(&wire, "code_verifier");
    assert_eq!(verifiers.len(), 1);
    let refresh_sent = form_values(&wire, "refresh_token");
    assert_eq!(refresh_sent.len(), 1, "one refresh");
    let cookie_secret = base64::engine::general_purpose::STANDARD.encode(COOKIE_SECRET);

    // Values that never travel in a header: nowhere in any log.
    let mut never_anywhere: Vec<(&str, String)> = vec![
        ("client secret", DEFAULT_CLIENT_SECRET.to_string()),
        ("cookie secret", cookie_secret),
    ];
    never_anywhere.extend(tokens.iter().map(|t| ("token", t.clone())));
    never_anywhere.extend(verifiers.iter().map(|v| ("PKCE verifier", v.clone())));
    // Values that do travel in headers: not in the filter's lines, not in the access log.
    let mut not_by_the_filter = never_anywhere.clone();
    not_by_the_filter.extend(codes.iter().map(|c| ("authorization code", c.clone())));
    not_by_the_filter.extend(cookies.iter().map(|c| ("cookie value", c.clone())));

    // Stop Envoy so that every log line is flushed.
    let log_dir = stack.envoy.dir().to_path_buf();
    let Hardened { envoy, .. } = stack;
    drop(envoy);
    let full = std::fs::read_to_string(log_dir.join("envoy.log")).expect("envoy.log")
        + &std::fs::read_to_string(log_dir.join("stderr.log")).unwrap_or_default();
    let access = std::fs::read_to_string(log_dir.join("access.log")).expect("access.log");
    let filter_lines: String = full
        .lines()
        .filter(|l| l.contains("[wasm]") || l.contains("entra-proxy-wasm"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(full.contains("[debug]"), "Envoy ran at debug level");
    assert!(filter_lines.contains("signed out"), "the filter's own lines are in the log");
    assert_eq!(access.lines().count(), 5, "{access}");
    for (what, value) in &never_anywhere {
        assert!(value.len() >= 8, "{what} too short to search for: {value:?}");
        assert!(!full.contains(value.as_str()), "{what} in envoy.log");
    }
    for (what, value) in &not_by_the_filter {
        assert!(!filter_lines.contains(value.as_str()), "{what} in a filter log line");
        assert!(!access.contains(value.as_str()), "{what} in the access log");
    }
    // No JWT of any kind in the filter's lines or the access log.
    assert!(!filter_lines.contains("eyJ"), "a JWT in a filter log line");
    assert!(!access.contains("eyJ"), "a JWT in the access log");
}
