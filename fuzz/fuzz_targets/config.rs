//! `Config::from_json` on arbitrary plugin configuration bytes.
//!
//! Properties: a rejected configuration names at least one problem; an accepted one holds the
//! invariants the request path relies on (prefix, cookie name, timeout), and its precomputed
//! parts (API route regexes, cluster map) can be used.
#![no_main]

use entra_proxy_wasm::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Config::from_json(data) {
        Ok(config) => {
            assert!(config.proxy_prefix.starts_with('/') && config.proxy_prefix.len() >= 2);
            assert!(!config.proxy_prefix.ends_with('/'));
            assert!(!config.cookie.name.is_empty());
            assert!(config
                .cookie
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)));
            assert!((1..=60_000).contains(&config.http_timeout_ms));
            assert!(config.cookie.expire_secs > 0 && config.cookie.csrf_expire_secs > 0);
            let _ = config.is_api_route("/api/v1/items?x=1");
            let _ = config.cluster_for("login.microsoftonline.com");
        }
        Err(e) => assert!(!e.problems.is_empty()),
    }
});
