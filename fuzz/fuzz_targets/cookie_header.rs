//! Cookie header parsing (`headers::parse_cookies`) and the owned-header check on arbitrary
//! header blocks (`name: value` lines).
//!
//! Properties: parsed cookies have clean names (non-empty, trimmed, no `=` or `;`) and values
//! without `;`; every header the oracle considers spoofable is one the filter strips.
#![no_main]

use entra_proxy_wasm::headers::{is_owned_header, parse_cookies};
use entra_proxy_wasm::session::chunks::join;
use entra_proxy_wasm_fuzz::input::parse_headers;
use entra_proxy_wasm_fuzz::oracle::must_be_stripped;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let headers = parse_headers(data);
    for (name, _) in &headers {
        if must_be_stripped(name) {
            assert!(is_owned_header(name), "{name} would reach the upstream");
        }
    }
    let cookies = parse_cookies(&headers);
    for (name, value) in &cookies {
        assert!(!name.is_empty() && name.trim() == name, "{name:?}");
        assert!(!name.contains(['=', ';']), "{name:?}");
        assert!(!value.contains(';'), "{value:?}");
    }
    let _ = join("_oauth2_proxy", &cookies);
});
