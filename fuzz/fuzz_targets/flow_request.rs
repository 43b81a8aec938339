//! The whole request decision: `flow::on_request` with a fixed configuration, the fixed
//! provider (discovery + JWKS), deterministic entropy and arbitrary headers, then, when the
//! request gets that far, `on_call_response` with the input's token-endpoint answer and the
//! rotated JWKS (or a failing refetch).
//!
//! Input format: see `entra_proxy_wasm_fuzz::input`. Properties: see
//! `entra_proxy_wasm_fuzz::flow_oracle` — above all, nothing is forwarded without a live session
//! cookie sealed with the configured secrets.
#![no_main]

use entra_proxy_wasm_fuzz::drive::drive;
use entra_proxy_wasm_fuzz::flow_oracle;
use entra_proxy_wasm_fuzz::input::parse_flow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = parse_flow(data);
    if !input.envoy_accepts() {
        return;
    }
    drive(&input, &mut |outcome| flow_oracle::check(&input, outcome));
});
