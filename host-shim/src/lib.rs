//! A native proxy-wasm host (ABI 0.2.1, as linked by the Rust SDK 0.2.5), so the unmodified
//! filter runs inside `cargo test`.
//!
//! The crate defines every `proxy_*` import of the SDK as a `#[no_mangle] extern "C"` function
//! over thread-local state, and calls the SDK's exported `proxy_on_*` entry points. It does not
//! depend on the SDK or the filter: the symbols meet when a test binary links both. Semantics
//! follow Envoy wherever the SDK relies on them (statuses, CAS, which maps exist when, how call
//! failures arrive); each module says which Envoy behaviour it mirrors.
//!
//! Tests drive everything through [`Host`] and [`Stream`]:
//!
//! ```ignore
//! let host = host_shim::Host::reset();
//! host.set_plugin_config(config_json);
//! host.set_random_seed(7);
//! assert!(host.start(entra_proxy_wasm::register));
//! let stream = host.new_stream();
//! assert_eq!(stream.request_headers(&[(":path", "/app")], true), host_shim::Action::Pause);
//! let call = host.pending_calls().remove(0);
//! host.respond(call.token, 200, &[("content-type", "application/json")], body);
//! assert_eq!(stream.outcome(), host_shim::Outcome::Forwarded);
//! ```
//!
//! Randomness: the filter calls `proxy_shim_random_get(buf, len) -> u32` on native builds;
//! the shim answers from a seeded [`SplitMix64`] and records every draw.
//!
//! Logging: set `HOST_SHIM_LOG=1` to print filter logs and shim warnings to stderr.

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod abi;
mod guest;
mod headers;
mod host;
mod hostcalls;
mod memory;
mod metrics;
mod pairs;
mod records;
mod rng;
mod shared;
mod state;
mod stream;

// The lib's own unit tests link the SDK so the `proxy_on_*` symbols resolve.
#[cfg(test)]
use proxy_wasm as _;

pub use abi::{Action, LogLevel, MetricKind, Status};
pub use headers::HeaderMap;
pub use host::Host;
pub use metrics::Metric;
pub use records::{HttpCall, LocalResponse, LogRecord};
pub use rng::SplitMix64;
pub use shared::SharedStore;
pub use state::DEFAULT_TIME_UNIX_SECS;
pub use stream::{Outcome, Stream};
