//! Entra/Graph emulator, Envoy harness and integration-test helpers.

pub mod browser;
pub mod client;
pub mod emulator;
pub mod envoy;
pub mod http;
pub mod nginx;
pub mod paths;
pub mod scenario;
pub mod stack;
pub mod test_idp;
pub mod upstream;
pub mod wait;
