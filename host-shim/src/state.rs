//! The fake host's thread-local state.
//!
//! The SDK's dispatcher is thread-local, and `cargo test` runs each test on its own thread, so
//! one host per thread lets tests run in parallel without seeing each other.
//!
//! Re-entrancy rule: the state is a `RefCell`, and host calls borrow it. Code that runs guest
//! entry points must never hold a borrow across the call (see `guest.rs`); host calls never call
//! the guest. A violated rule would panic inside an `extern "C"` host call and abort the binary.

use crate::abi::LogLevel;
use crate::headers::HeaderMap;
use crate::metrics::Metrics;
use crate::records::{HttpCall, LocalResponse, LogRecord};
use crate::rng::SplitMix64;
use crate::shared::SharedStore;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

/// The clock a fresh host starts at: 2024-01-01T00:00:00Z, in seconds since the Unix epoch.
pub const DEFAULT_TIME_UNIX_SECS: u64 = 1_704_067_200;

thread_local! {
    static STATE: RefCell<HostState> = RefCell::new(HostState::new());
    // Context ids and call tokens never restart on a thread, even across `Host::reset`: the
    // SDK's dispatcher outlives the host state and panics on a duplicate id or token.
    static NEXT_CONTEXT_ID: Cell<u32> = const { Cell::new(1) };
    static NEXT_TOKEN: Cell<u32> = const { Cell::new(1) };
}

/// Runs `f` with this thread's host state borrowed mutably.
pub(crate) fn with_state<R>(f: impl FnOnce(&mut HostState) -> R) -> R {
    STATE.with(|state| f(&mut state.borrow_mut()))
}

/// Like [`with_state`], but `None` instead of panicking when the state is already borrowed or
/// gone. For `proxy_log`: the SDK's panic hook logs through it, possibly while a borrow is held
/// or during thread teardown, and a panic inside a panic hook aborts.
pub(crate) fn try_with_state<R>(f: impl FnOnce(&mut HostState) -> R) -> Option<R> {
    STATE
        .try_with(|state| state.try_borrow_mut().ok().map(|mut s| f(&mut s)))
        .ok()
        .flatten()
}

/// A context id never used before on this thread.
pub(crate) fn next_context_id() -> u32 {
    NEXT_CONTEXT_ID.with(bump)
}

/// An HTTP call token never used before on this thread (never 0, like Envoy's).
pub(crate) fn next_token() -> u32 {
    NEXT_TOKEN.with(bump)
}

fn bump(counter: &Cell<u32>) -> u32 {
    let value = counter.get().max(1);
    counter.set(value.wrapping_add(1));
    value
}

/// Everything the fake host knows about one HTTP stream.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    pub request: Direction,
    pub response: Direction,
    /// The request went on upstream: headers returned `Continue`, or the filter resumed it.
    pub request_continued: bool,
    pub request_resumes: u32,
    pub response_resumes: u32,
    pub request_reset: bool,
    pub response_reset: bool,
    pub local_responses: Vec<LocalResponse>,
    /// `done()` ran on_done/on_log/on_delete; the guest no longer knows the context.
    pub finished: bool,
}

/// Headers, body and trailers of one direction. `*_open` mirrors whether Envoy still holds the
/// object for the filter: set when the callback starts, cleared when it returns `Continue` or
/// the filter resumes the stream. A closed map answers like Envoy's null map.
#[derive(Debug, Default)]
pub(crate) struct Direction {
    pub headers: HeaderMap,
    pub headers_open: bool,
    pub trailers: HeaderMap,
    pub trailers_open: bool,
    pub body: Body,
}

/// A body direction: the bytes the filter currently sees, and what went on.
#[derive(Debug, Default)]
pub(crate) struct Body {
    /// The current buffer: the last chunk, or all chunks since the filter started buffering.
    pub pending: Vec<u8>,
    pub open: bool,
    /// The last body callback returned `Pause` (Envoy: StopIterationAndBuffer).
    pub buffering: bool,
    /// Bytes released downstream of the filter.
    pub forwarded: Vec<u8>,
}

impl Body {
    /// Releases the buffer, as when the callback continues or the filter resumes.
    pub(crate) fn release(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.forwarded.extend_from_slice(&pending);
        self.open = false;
        self.buffering = false;
    }
}

/// The response the host is delivering to `proxy_on_http_call_response`.
#[derive(Debug)]
pub(crate) struct CallResponse {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: HeaderMap,
}

/// The whole fake host.
#[derive(Debug)]
pub(crate) struct HostState {
    pub now_nanos: u64,
    pub rng: SplitMix64,
    pub random_draws: Vec<Vec<u8>>,
    pub log_level: LogLevel,
    pub print_logs: bool,
    pub logs: Vec<LogRecord>,
    pub vm_config: Vec<u8>,
    pub plugin_config: Vec<u8>,
    /// Envoy shows the plugin configuration only during `on_configure`.
    pub configuring: bool,
    pub properties: HashMap<Vec<String>, Vec<u8>>,
    pub tick_period_ms: u32,
    pub metrics: Metrics,
    pub shared: SharedStore,
    /// `Some`: only these clusters exist. `None`: every cluster exists except `unknown_clusters`.
    pub known_clusters: Option<BTreeSet<String>>,
    pub unknown_clusters: BTreeSet<String>,
    pub pending_calls: BTreeMap<u32, HttpCall>,
    pub dispatched: Vec<HttpCall>,
    pub call_response: Option<CallResponse>,
    /// What `proxy_get_status` reports: (code, message).
    pub status: (u32, String),
    pub root_id: Option<u32>,
    /// Context whose callback is running (0: none).
    pub running: u32,
    /// Context set by `proxy_set_effective_context` during this callback (0: none).
    pub effective: u32,
    /// `on_log` is running: Envoy then shows the final request/response headers read-only.
    pub in_log: bool,
    pub streams: BTreeMap<u32, StreamState>,
    pub warnings: Vec<String>,
    pub done_calls: u32,
}

impl HostState {
    /// A fresh host; `HOST_SHIM_LOG` (any value) turns on printing logs to stderr.
    pub(crate) fn new() -> HostState {
        HostState {
            now_nanos: DEFAULT_TIME_UNIX_SECS * 1_000_000_000,
            rng: SplitMix64::new(0),
            random_draws: Vec::new(),
            log_level: LogLevel::Info,
            print_logs: std::env::var_os("HOST_SHIM_LOG").is_some(),
            logs: Vec::new(),
            vm_config: Vec::new(),
            plugin_config: Vec::new(),
            configuring: false,
            properties: HashMap::new(),
            tick_period_ms: 0,
            metrics: Metrics::default(),
            shared: SharedStore::new(),
            known_clusters: None,
            unknown_clusters: BTreeSet::new(),
            pending_calls: BTreeMap::new(),
            dispatched: Vec::new(),
            call_response: None,
            status: (0, String::new()),
            root_id: None,
            running: 0,
            effective: 0,
            in_log: false,
            streams: BTreeMap::new(),
            warnings: Vec::new(),
            done_calls: 0,
        }
    }

    /// The context a host call acts for: the effective context if it names a live context
    /// (proxy-wasm-cpp-host's `contextOrEffectiveContext`), else the running one.
    pub(crate) fn acting(&self) -> u32 {
        let effective_is_live = self.effective != 0
            && (self.root_id == Some(self.effective)
                || self
                    .streams
                    .get(&self.effective)
                    .is_some_and(|s| !s.finished));
        if effective_is_live {
            self.effective
        } else {
            self.running
        }
    }

    /// The stream a host call acts for, if the acting context is a stream.
    pub(crate) fn acting_stream(&mut self) -> Option<&mut StreamState> {
        let id = self.acting();
        self.streams.get_mut(&id)
    }

    /// Whether `proxy_http_call` may use `cluster`.
    pub(crate) fn cluster_exists(&self, cluster: &str) -> bool {
        match &self.known_clusters {
            Some(known) => known.contains(cluster),
            None => !self.unknown_clusters.contains(cluster),
        }
    }

    /// Records something Envoy would silently ignore, or that looks like a filter bug.
    pub(crate) fn warn(&mut self, message: String) {
        if self.print_logs {
            eprint_line(&format!("host-shim warning: {message}"));
        }
        self.warnings.push(message);
    }

    /// Records a status the SDK turns into a panic. The panic aborts the test binary (it
    /// unwinds out of an `extern "C"` entry point), so the reason is always printed first.
    pub(crate) fn fatal(&mut self, message: String) {
        eprint_line(&format!(
            "host-shim: {message} (the SDK panics on this status; in Envoy the VM fails)"
        ));
        self.warnings.push(message);
    }
}

/// Writes one line to stderr without ever panicking (host calls must not unwind).
pub(crate) fn eprint_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_never_repeat_on_a_thread() {
        let a = next_context_id();
        let b = next_context_id();
        assert!(b > a);
        let t = next_token();
        assert_ne!(t, 0);
        assert!(next_token() > t);
    }

    #[test]
    fn effective_context_must_be_live_to_count() {
        let mut state = HostState::new();
        state.root_id = Some(1);
        state.running = 1;
        state.effective = 9;
        assert_eq!(state.acting(), 1, "unknown effective context falls back");
        state.streams.insert(9, StreamState::default());
        assert_eq!(state.acting(), 9);
        state.streams.get_mut(&9).unwrap().finished = true;
        assert_eq!(state.acting(), 1, "finished stream falls back");
    }

    #[test]
    fn cluster_policy() {
        let mut state = HostState::new();
        assert!(state.cluster_exists("anything"));
        state.unknown_clusters.insert("gone".into());
        assert!(!state.cluster_exists("gone"));
        state.known_clusters = Some(["only".to_string()].into());
        assert!(state.cluster_exists("only"));
        assert!(!state.cluster_exists("anything"));
    }
}
