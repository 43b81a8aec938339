//! Native tooling for entra-proxy-wasm: reproducible OCI images of the filter for Istio
//! (`image`), a registry client to publish them (`push`), and migration from oauth2-proxy
//! configurations (`convert`). The `entra-proxy-wasm` binary is a thin command-line front end.

pub mod args;
pub mod commands;
pub mod convert;
pub mod oci;
pub mod push;
