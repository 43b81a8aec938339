//! `parse_jwks` on arbitrary bodies (what a broken or hostile JWKS endpoint could serve).
//!
//! Property: a parsed set is never empty and never holds more than the 64 keys the filter
//! admits; nothing panics, hangs or allocates without bound.
#![no_main]

use entra_proxy_wasm::oidc::jwks::parse_jwks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(keys) = parse_jwks(data) {
        assert!(!keys.is_empty() && keys.len() <= 64, "{} keys", keys.len());
    }
});
