//! entra-proxy-wasm: Microsoft Entra ID sign-in as a proxy-wasm HTTP filter.
//!
//! The crate is a pure core (everything but `adapter`) that never touches the host, and a thin
//! adapter that executes the core's actions with proxy-wasm host calls. The core takes the time,
//! random bytes and shared-data snapshots as inputs, so every security decision is testable with a
//! fixed clock and RNG.

pub mod config;
pub mod flow;
pub mod headers;
pub mod metrics;
pub mod oidc;
pub mod redirect;
pub mod session;
pub mod words;

#[cfg(feature = "host")]
mod adapter;

#[cfg(feature = "host")]
pub use adapter::register;

#[cfg(feature = "host")]
proxy_wasm::main! {{
    register();
}}
