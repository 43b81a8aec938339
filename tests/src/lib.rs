//! Entra/Graph emulator, Envoy harness and integration-test helpers.

pub mod emulator;
pub mod browser;
pub mod envoy;
pub mod paths;
pub mod upstream;
pub mod wait;
pub mod scenario;
pub mod test_idp;
pub mod client;
pub mod stack;
