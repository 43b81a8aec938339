//! Profiling aid: the signed-in path of entra-proxy-wasm, natively, in a loop.
//!
//! ```sh
//! session-loop target/bench/cookie-g150.txt 20000
//! session-loop target/bench/cookie-g1000.txt 20000 1000   # overage: list in shared data
//! valgrind --tool=callgrind session-loop target/bench/cookie-g150.txt 200
//! ```
//!
//! It runs exactly what the adapter runs for a request with a session cookie: rebuild the request
//! from header bytes (as `get_map_bytes` hands them over) and call `flow::on_request`, with the
//! configuration of row 3 (`pass_authorization_header: true`, the bench's cookie secret). The
//! cookie files come from `make bench`, which signs in through the emulator for real. Timed twice:
//! with the filter's session cache emptied before every request (the miss path), and with it.
//! See BENCHMARKS.md ("Profiling") for the build that keeps symbols.

use std::hint::black_box;
use std::time::Instant;

use base64::Engine;
use entra_proxy_wasm::config::Config;
use entra_proxy_wasm::flow::store::SharedStore;
use entra_proxy_wasm::flow::{self, group_cache, Action, Context, Entropy, Request};
use entra_proxy_wasm::session::{chunks, Session};

/// Entropy for a path that must not need any: counts the bytes asked for.
struct NoEntropy(usize);

impl Entropy for NoEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), flow::entropy::EntropyError> {
        self.0 += buf.len();
        buf.fill(0);
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: session-loop <cookie-header-file> [iterations]");
        std::process::exit(2);
    };
    let iterations: u32 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    // Users past 250 groups keep their list in Envoy's shared data; the bench's users have
    // deterministic group ids, so the list can be put back into a local store.
    let overage_groups: Option<usize> = args.get(3).and_then(|n| n.parse().ok());
    let cookie = match std::fs::read_to_string(file) {
        Ok(c) => c.trim().to_string(),
        Err(e) => {
            eprintln!("session-loop: {file}: {e}");
            std::process::exit(2);
        }
    };
    let config = match Config::from_json(plugin_config().to_string().as_bytes()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("session-loop: {e}");
            std::process::exit(2);
        }
    };
    // What Envoy hands the filter for a wrk request: pseudo-headers, wrk's Host, the cookie and
    // the headers the connection manager adds before the filter chain.
    let raw: Vec<(String, Vec<u8>)> = [
        (":authority", "127.0.0.1:40000"),
        (":path", "/bench"),
        (":method", "GET"),
        (":scheme", "http"),
        ("cookie", cookie.as_str()),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "6f1c0c52-7a43-4a8e-9a39-4d1c6f0e2d11"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
    .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let store = LocalStore::default();
    if let Some(n) = overage_groups {
        seed_group_list(&config, &raw, now, &store, n);
    }
    // Typed by the field, so the loop keeps compiling whatever the cache becomes.
    let bearer_cache = std::cell::RefCell::new(Default::default());
    let session_cache = std::cell::RefCell::new(Default::default());
    let ctx = Context {
        config: &config,
        provider: None,
        now,
        store: &store,
        store_prefix: STORE_PREFIX,
        bearer_cache: &bearer_cache,
        session_cache: &session_cache,
        known_cookie: None,
    };
    let mut rng = NoEntropy(0);

    let first = flow::on_request(&ctx, &request(&raw), &mut rng);
    match &first.action {
        Action::Forward { identity, set, .. } => eprintln!(
            "session-loop: forward with {} headers set ({} bytes)",
            identity.len() + set.len(),
            identity
                .iter()
                .chain(set)
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
        ),
        other => {
            eprintln!("session-loop: the cookie does not give a session: {other:?}");
            std::process::exit(1);
        }
    }
    describe_session(&config, &raw, now);
    let cold = time_loop(&ctx, &raw, &mut rng, iterations, &session_cache, true);
    let warm = time_loop(&ctx, &raw, &mut rng, iterations, &session_cache, false);
    println!(
        "{iterations} iterations ({} cookie bytes, {} random bytes asked): {cold:.2} us per request \
         opening the cookie every time, {warm:.2} us with the filter's per-VM session cache",
        cookie.len(),
        rng.0
    );
}

/// Microseconds per `on_request`; with `cold`, the session cache is emptied before every
/// request so each one pays the full open (the cache-miss path).
fn time_loop<T: Default>(
    ctx: &Context,
    raw: &[(String, Vec<u8>)],
    rng: &mut NoEntropy,
    iterations: u32,
    cache: &std::cell::RefCell<T>,
    cold: bool,
) -> f64 {
    let started = Instant::now();
    for _ in 0..iterations {
        if cold {
            *cache.borrow_mut() = T::default();
        }
        let outcome = flow::on_request(ctx, &request(black_box(raw)), rng);
        black_box(outcome);
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations.max(1))
}

/// Shared-data key prefix of the loop's plugin.
const STORE_PREFIX: &str = "entra-proxy-wasm/bench";

/// Envoy's shared data, in memory (one worker: no contention to model).
#[derive(Default)]
struct LocalStore(std::cell::RefCell<std::collections::HashMap<String, (Vec<u8>, u32)>>);

impl SharedStore for LocalStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.0.borrow().get(key).cloned()
    }

    fn set(&self, key: &str, value: &[u8], _cas: Option<u32>) -> bool {
        let mut map = self.0.borrow_mut();
        let version = map.get(key).map_or(1, |(_, v)| v + 1);
        map.insert(key.to_string(), (value.to_vec(), version));
        true
    }
}

/// Stores the bench user's `n` groups under the handle the session cookie names, as the
/// sign-in did in Envoy.
fn seed_group_list(
    config: &Config,
    raw: &[(String, Vec<u8>)],
    now: u64,
    store: &LocalStore,
    n: usize,
) {
    let cookies = request(raw).cookies();
    let handle = chunks::join(&config.cookie.name, &cookies)
        .and_then(|v| Session::open(&config.cipher, &config.cookie.name, &v, now).ok())
        .and_then(|s| s.groups_ref);
    let Some(handle) = handle else {
        eprintln!("session-loop: the session has no shared-data group list");
        return;
    };
    let groups: Vec<String> = (0..n).map(entra_proxy_bench::users::group_id).collect();
    if group_cache::handle(&groups) != handle {
        eprintln!("session-loop: the session's group list is not the bench user's {n} groups");
    }
    group_cache::store_as(store, STORE_PREFIX, &handle, &groups);
}

/// Sizes at each stage of opening the session: what the per-request work is proportional to.
fn describe_session(config: &Config, raw: &[(String, Vec<u8>)], now: u64) {
    let req = request(raw);
    let cookies = req.cookies();
    let Some(sealed) = chunks::join(&config.cookie.name, &cookies) else {
        return;
    };
    let Ok(session) = Session::open(&config.cipher, &config.cookie.name, &sealed, now) else {
        return;
    };
    let json = serde_json::to_vec(&session).map_or(0, |v| v.len());
    // base64url of (24-byte nonce || deflated JSON || 16-byte tag).
    let deflated = sealed.len() * 3 / 4 - 24 - 16;
    eprintln!(
        "session-loop: sealed {} chars in {} chunk(s) → deflated ~{deflated} bytes → JSON {json} bytes \
         ({} groups, id_token {} bytes)",
        sealed.len(),
        chunks::present_names(&config.cookie.name, &cookies).len(),
        session.groups.len(),
        session.id_token.as_deref().map_or(0, str::len)
    );
}

/// The adapter's conversion: header bytes → lossy UTF-8 strings.
fn request(raw: &[(String, Vec<u8>)]) -> Request {
    Request::new(
        raw.iter()
            // As the adapter: the host hands over fresh bytes, valid UTF-8 becomes a String
            // without another copy.
            .map(|(k, v)| {
                let text = String::from_utf8(v.clone())
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                (k.clone(), text)
            })
            .collect(),
    )
}

/// Row 3's configuration with the bench's cookie secret; the provider fields are placeholders
/// (the signed-in path never reaches the provider).
fn plugin_config() -> serde_json::Value {
    serde_json::json!({
        "provider": "entra-id",
        "oidc_issuer_url": "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0",
        "client_id": "22222222-2222-2222-2222-222222222222",
        "client_secret": "unused",
        "cookie_secret": base64::engine::general_purpose::STANDARD
            .encode(entra_proxy_tests::stack::COOKIE_SECRET),
        "cookie_secure": false,
        "email_domains": ["*"],
        "skip_provider_button": true,
        "pass_authorization_header": true,
        "clusters": {"login.microsoftonline.com": "entra"},
    })
}
