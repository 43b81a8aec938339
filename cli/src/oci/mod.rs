//! Reproducible OCI images of the filter for Istio's `WasmPlugin` (`url: oci://…`).

pub mod layout;
pub mod manifest;
pub mod targz;

pub use layout::{read_image, write_layout, LayoutError};
pub use manifest::{build, sha256_digest, Image, Manifest, Variant};
