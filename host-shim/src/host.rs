//! The test-facing host: configuration, VM lifecycle, outgoing calls and inspection.

use crate::abi::{LogLevel, Status, BROKEN_CONNECTION};
use crate::guest;
use crate::headers::HeaderMap;
use crate::metrics::Metric;
use crate::records::{HttpCall, LogRecord};
use crate::rng::SplitMix64;
use crate::shared::SharedStore;
use crate::state::{next_context_id, with_state, CallResponse, HostState, StreamState};
use crate::stream::Stream;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Body Envoy's router sends when an upstream request times out.
const TIMEOUT_BODY: &str = "upstream request timeout";

/// Handle to this thread's fake Envoy host.
///
/// All state lives in thread-locals (the SDK's dispatcher is thread-local too), so the handle is
/// neither `Send` nor `Sync`, and `cargo test` can run tests in parallel: each test thread gets
/// its own host and its own VM. Two handles on one thread see the same host.
///
/// The SDK's dispatcher keeps every context it ever created on the thread, and [`Host::reset`]
/// cannot clear it. The shim therefore never reuses a context id or call token on a thread, so
/// several hosts may run one after the other on the same thread; prefer one test per thread.
///
/// Misuse by the test (responding to an unknown token, starting twice, using a finished
/// stream) panics with a message; those panics happen in test code and fail only that test.
///
/// ```ignore
/// let host = Host::reset();
/// host.set_plugin_config(r#"{"client_id":"…"}"#);
/// assert!(host.start(entra_proxy_wasm::register));
/// let stream = host.new_stream();
/// let action = stream.request_headers(&[(":path", "/")], true);
/// ```
#[derive(Debug)]
pub struct Host {
    _not_send: PhantomData<*const ()>,
}

impl Host {
    /// Starts a fresh host on this thread: default clock ([`crate::DEFAULT_TIME_UNIX_SECS`]),
    /// seed 0, log level `Info`, empty configuration, properties, metrics, logs and a new
    /// shared-data store, no root context.
    pub fn reset() -> Host {
        with_state(|s| *s = HostState::new());
        Host::attach()
    }

    /// A handle to this thread's host as it is, without resetting it.
    pub fn attach() -> Host {
        Host {
            _not_send: PhantomData,
        }
    }

    // ----- configuration -----------------------------------------------------------------

    /// The VM configuration (`vm_config.configuration`), readable at any time.
    pub fn set_vm_config(&self, config: impl AsRef<[u8]>) {
        let config = config.as_ref().to_vec();
        with_state(|s| s.vm_config = config);
    }

    /// The plugin configuration, readable only during `on_configure`, as in Envoy.
    pub fn set_plugin_config(&self, config: impl AsRef<[u8]>) {
        let config = config.as_ref().to_vec();
        with_state(|s| s.plugin_config = config);
    }

    /// Makes `get_property(path)` return `value`, e.g. `set_property(&["plugin_name"], "sso")`.
    /// Unset paths answer `NotFound` (the SDK returns `None`).
    pub fn set_property(&self, path: &[&str], value: impl AsRef<[u8]>) {
        let path = path.iter().map(|p| p.to_string()).collect();
        let value = value.as_ref().to_vec();
        with_state(|s| s.properties.insert(path, value));
    }

    /// The level `proxy_get_log_level` reports, and the threshold for `HOST_SHIM_LOG`
    /// printing. Records are stored whatever the level.
    pub fn set_log_level(&self, level: LogLevel) {
        with_state(|s| s.log_level = level);
    }

    /// Pins the clock `proxy_get_current_time_nanoseconds` reports. Times before the epoch
    /// clamp to it.
    pub fn set_time(&self, time: SystemTime) {
        let nanos = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        with_state(|s| s.now_nanos = nanos);
    }

    /// Moves the clock forward by `by`. Nothing runs by itself: call [`Host::tick`] too if
    /// the filter's timer should fire.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        with_state(|s| s.now_nanos = s.now_nanos.saturating_add(by));
    }

    /// The pinned clock.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(with_state(|s| s.now_nanos))
    }

    /// Restarts `proxy_shim_random_get` from `seed` (see [`SplitMix64`]).
    pub fn set_random_seed(&self, seed: u64) {
        with_state(|s| s.rng = SplitMix64::new(seed));
    }

    /// Every buffer `proxy_shim_random_get` handed out, in order.
    pub fn random_draws(&self) -> Vec<Vec<u8>> {
        with_state(|s| s.random_draws.clone())
    }

    /// Makes `cluster` unknown: `dispatch_http_call` to it fails with `BadArgument`.
    pub fn set_cluster_unknown(&self, cluster: &str) {
        let cluster = cluster.to_string();
        with_state(|s| {
            if let Some(known) = &mut s.known_clusters {
                known.remove(&cluster);
            }
            s.unknown_clusters.insert(cluster);
        });
    }

    /// Makes exactly `clusters` known; every other cluster fails with `BadArgument`. By default
    /// every cluster is known.
    pub fn set_known_clusters(&self, clusters: &[&str]) {
        let known = clusters.iter().map(|c| c.to_string()).collect();
        with_state(|s| {
            s.known_clusters = Some(known);
            s.unknown_clusters.clear();
        });
    }

    /// This host's shared-data store; clone it into hosts on other threads (with
    /// [`Host::use_shared_store`]) to model several workers of one Envoy.
    pub fn shared_store(&self) -> SharedStore {
        with_state(|s| s.shared.clone())
    }

    /// Makes this host read and write `store` from now on.
    pub fn use_shared_store(&self, store: SharedStore) {
        with_state(|s| s.shared = store);
    }

    // ----- lifecycle ---------------------------------------------------------------------

    /// Starts the VM like Envoy: calls `register` (the filter's `set_root_context` call), then
    /// `proxy_on_context_create(root, 0)`, `proxy_on_vm_start(root, vm_config_len)` and, if that
    /// returned true, `proxy_on_configure(root, plugin_config_len)`. Returns whether both
    /// returned true (false: Envoy rejects the plugin).
    ///
    /// # Panics
    /// If this host was already started.
    #[track_caller]
    pub fn start(&self, register: fn()) -> bool {
        let root = next_context_id();
        let (already, vm_len, plugin_len) = with_state(|s| {
            let already = s.root_id.is_some();
            if !already {
                s.root_id = Some(root);
            }
            (already, s.vm_config.len(), s.plugin_config.len())
        });
        if already {
            misuse("Host::start called twice; use Host::reset() for a new VM");
        }
        // The SDK installs its logger with a check-then-set that two test threads starting
        // their first VM at the same moment can race (SetLoggerError, a panic): registration
        // is serialized across the process.
        {
            static REGISTER: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let _guard = REGISTER.lock().unwrap_or_else(|p| p.into_inner());
            register();
        }
        guest::context_create(root, 0);
        guest::vm_start(root, vm_len) && guest::configure(root, plugin_len)
    }

    /// The root context id.
    ///
    /// # Panics
    /// If the host was not started.
    #[track_caller]
    pub fn root_id(&self) -> u32 {
        match with_state(|s| s.root_id) {
            Some(root) => root,
            None => misuse("the host was not started (call Host::start first)"),
        }
    }

    /// Runs `proxy_on_tick` on the root context once.
    #[track_caller]
    pub fn tick(&self) {
        guest::tick(self.root_id());
    }

    /// The period the filter asked for with `set_tick_period`, if any.
    pub fn tick_period(&self) -> Option<Duration> {
        let ms = with_state(|s| s.tick_period_ms);
        (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
    }

    /// Creates an HTTP stream context under the root (`proxy_on_context_create(id, root)`).
    #[track_caller]
    pub fn new_stream(&self) -> Stream {
        let root = self.root_id();
        let id = next_context_id();
        with_state(|s| s.streams.insert(id, StreamState::default()));
        guest::context_create(id, root);
        Stream::new(id)
    }

    // ----- outgoing calls ----------------------------------------------------------------

    /// Calls dispatched and not yet answered, by token.
    pub fn pending_calls(&self) -> Vec<HttpCall> {
        with_state(|s| s.pending_calls.values().cloned().collect())
    }

    /// Every call accepted since the reset, answered or not, in dispatch order.
    pub fn dispatched_calls(&self) -> Vec<HttpCall> {
        with_state(|s| s.dispatched.clone())
    }

    /// Delivers a response to call `token`: `:status` is `status`, then `headers`.
    ///
    /// # Panics
    /// If `token` is not pending.
    #[track_caller]
    pub fn respond(&self, token: u32, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let status = status.to_string();
        let mut all = vec![(":status", status.as_str())];
        all.extend_from_slice(headers);
        self.respond_raw(token, &all, body, &[]);
    }

    /// Delivers exactly these response headers, body and trailers to call `token`, like
    /// Envoy's `onHttpCallSuccess`: the maps (`HttpCallResponseHeaders`/`Trailers`) and body
    /// (`HttpCallResponseBody`) are readable only during the callback, which enters the root
    /// context with `(token, headers.len(), body.len(), trailers.len())`.
    ///
    /// # Panics
    /// If `token` is not pending.
    #[track_caller]
    pub fn respond_raw(
        &self,
        token: u32,
        headers: &[(&str, &str)],
        body: &[u8],
        trailers: &[(&str, &str)],
    ) {
        let root = self.take_pending(token);
        let response = CallResponse {
            headers: HeaderMap::from_pairs(headers),
            body: body.to_vec(),
            trailers: HeaderMap::from_pairs(trailers),
        };
        let counts = (response.headers.len(), body.len(), response.trailers.len());
        with_state(|s| s.call_response = Some(response));
        guest::http_call_response(root, token, counts.0, counts.1, counts.2);
        with_state(|s| s.call_response = None);
    }

    /// Fails call `token` like an Envoy stream reset: the callback gets `(token, 0, 0, 0)`, no
    /// response maps or body exist, and `proxy_get_status` reports `(11, "reset")` during it.
    ///
    /// # Panics
    /// If `token` is not pending.
    #[track_caller]
    pub fn fail(&self, token: u32) {
        let root = self.take_pending(token);
        with_state(|s| s.status = (BROKEN_CONNECTION, "reset".to_string()));
        guest::http_call_response(root, token, 0, 0, 0);
        // Envoy clears the message afterwards but leaves the code.
        with_state(|s| s.status.1.clear());
    }

    /// Answers call `token` the way Envoy's router does when the call's timeout expires: a
    /// `504` response with body `upstream request timeout` (not a failure callback).
    ///
    /// # Panics
    /// If `token` is not pending.
    #[track_caller]
    pub fn timeout(&self, token: u32) {
        let length = TIMEOUT_BODY.len().to_string();
        let headers = [
            (":status", "504"),
            ("content-length", length.as_str()),
            ("content-type", "text/plain"),
        ];
        self.respond_raw(token, &headers, TIMEOUT_BODY.as_bytes(), &[]);
    }

    /// Removes `token` from the pending calls and returns the root context to enter.
    #[track_caller]
    fn take_pending(&self, token: u32) -> u32 {
        let root = self.root_id();
        match with_state(|s| s.pending_calls.remove(&token)) {
            Some(_) => root,
            None => misuse(&format!("no pending HTTP call with token {token}")),
        }
    }

    // ----- inspection --------------------------------------------------------------------

    /// Every `proxy_log` record since the reset.
    pub fn logs(&self) -> Vec<LogRecord> {
        with_state(|s| s.logs.clone())
    }

    /// The first metric the filter defined under `name` (any kind).
    pub fn metric(&self, name: &str) -> Option<Metric> {
        with_state(|s| s.metrics.by_name(name).cloned())
    }

    /// All metrics, in definition order.
    pub fn metrics(&self) -> Vec<Metric> {
        with_state(|s| s.metrics.all().to_vec())
    }

    /// Value and CAS under `key` in the shared-data store.
    pub fn shared_data(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        with_state(|s| s.shared.get(key))
    }

    /// Writes the shared-data store as another worker would (same CAS rules as the filter's
    /// writes); returns `Status::Ok` or `Status::CasMismatch`.
    pub fn set_shared_data(&self, key: &str, value: &[u8], cas: u32) -> Status {
        with_state(|s| s.shared.set(key, value, cas))
    }

    /// Things Envoy would ignore or reject that the filter did: unknown clusters, missing
    /// pseudo-headers, local responses from the root context, statuses the SDK panics on, …
    /// A well-behaved run usually leaves this empty.
    pub fn warnings(&self) -> Vec<String> {
        with_state(|s| s.warnings.clone())
    }

    /// How many times the filter called `proxy_done`.
    pub fn done_calls(&self) -> u32 {
        with_state(|s| s.done_calls)
    }
}

/// Fails the test on misuse of the API. Only ever runs in test code, never inside a host call.
#[allow(clippy::panic)]
#[track_caller]
pub(crate) fn misuse(message: &str) -> ! {
    panic!("host-shim: {message}")
}
