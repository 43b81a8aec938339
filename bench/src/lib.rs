//! `make bench`: entra-proxy-wasm side by side with bare Envoy, an empty wasm filter, Envoy's
//! oauth2 filter and Envoy's jwt_authn, in one Envoy 1.40 with one listener per row, loaded by
//! wrk on loopback. See BENCHMARKS.md for the method and the latest results.

pub mod budgets;
pub mod envoy_config;
pub mod header_floor;
pub mod instructions;
pub mod machine;
pub mod memory;
pub mod probe;
pub mod report;
pub mod results;
pub mod rows;
pub mod run;
pub mod runner;
pub mod session;
pub mod settings;
pub mod signin;
pub mod stats;
pub mod users;
pub mod v8_loop;
pub mod wrk;
