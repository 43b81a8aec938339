//! Shared pieces of the fuzz targets: fixed configuration, provider and keys ([`fixtures`]),
//! how a byte string becomes a request ([`input`]) and runs through the flow ([`drive`]), and
//! independent re-checks of the filter's security properties ([`oracle`], [`flow_oracle`]).
//!
//! The oracles deliberately use the primitives (XChaCha20-Poly1305, RSA, `url`) directly rather
//! than the filter's own code paths, so a bug in the filter cannot hide itself from the check.

pub mod drive;
pub mod fixtures;
pub mod flow_oracle;
pub mod input;
pub mod oracle;
