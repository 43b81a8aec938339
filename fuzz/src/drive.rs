//! Running one [`FlowInput`] through the flow: the request, then the callouts it makes, answered
//! from the input (token endpoint) or the fixtures (JWKS refetch).

use std::cell::RefCell;

use entra_proxy_wasm::flow::bearer::TokenCache;
use entra_proxy_wasm::flow::{
    on_call_response, on_request, Action, CallResponse, Context, NoStore, Outcome, Pending, Request,
};

use crate::fixtures::{provider_old, provider_recent, JWKS_ROTATED_JSON, NOW};
use crate::input::{Counter, FlowInput};

/// Hand every outcome to `each`, in order; at most three (request, token exchange, refetch).
pub fn drive(input: &FlowInput, each: &mut dyn FnMut(&Outcome)) {
    let provider = if input.old_keys {
        provider_old()
    } else {
        provider_recent()
    };
    // Fresh per input, so one input's verdict cannot leak into the next.
    let bearer_cache = RefCell::new(TokenCache::default());
    let session_cache =
        std::cell::RefCell::new(entra_proxy_wasm::flow::session_cache::SessionCache::default());
    let ctx = Context {
        config: input.variant.config(),
        provider: (!input.no_provider).then_some(provider),
        now: NOW,
        // No refresh is configured in the fixtures, so no lease is ever taken.
        store: &NoStore,
        store_prefix: "fuzz",
        bearer_cache: &bearer_cache,
        session_cache: &session_cache,
        known_cookie: None,
    };
    let req = Request::new(input.headers.clone());
    let mut rng = Counter::new(input.entropy_fails);
    let mut outcome = on_request(&ctx, &req, &mut rng);
    each(&outcome);
    for _ in 0..2 {
        let Action::Call { pending, .. } = outcome.action else {
            return;
        };
        let response = match pending.as_ref() {
            Pending::TokenExchange { .. } => input.token_response.clone(),
            Pending::JwksForToken { .. } if input.jwks_fails => CallResponse {
                status: 500,
                body: Vec::new(),
                retry_after: None,
            },
            Pending::JwksForToken { .. } => CallResponse {
                status: 200,
                body: JWKS_ROTATED_JSON.as_bytes().to_vec(),
                retry_after: None,
            },
            // Graph and refresh callouts are not configured in the fixtures; should one happen,
            // it fails like a timeout.
            #[allow(unreachable_patterns)]
            _ => CallResponse::default(),
        };
        outcome = on_call_response(&ctx, &req, *pending, response, &mut rng);
        each(&outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::parse_flow;

    /// What each step did: `forward`, `call`, or `<status>` plus `+name` for every cookie set
    /// with a value.
    fn steps(seed: &str) -> Vec<String> {
        let path = format!(
            "{}/corpus/flow_request/seed-{seed}",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut out = Vec::new();
        drive(&parse_flow(&data), &mut |outcome| {
            out.push(match &outcome.action {
                Action::Forward { .. } => "forward".to_string(),
                Action::Call { .. } | Action::Wait { .. } => "call".to_string(),
                Action::Respond(response) => {
                    let mut step = response.status.to_string();
                    for (header, value) in &response.headers {
                        let (name, rest) = value.split_once('=').unwrap_or((value, ""));
                        if header == "set-cookie" && !rest.starts_with(';') {
                            step.push_str(&format!(" +{name}"));
                        }
                    }
                    step
                }
            })
        });
        out
    }

    /// The seeds must reach the branches they are named after, or the corpus has drifted from
    /// the fixtures (rerun `examples/gen_corpus/`).
    #[test]
    fn seeds_reach_their_branches() {
        let cases: &[(&str, &[&str])] = &[
            ("session", &["forward"]),
            ("session-chunked", &["forward"]),
            ("b-session-rotated-key", &["forward"]),
            ("session-tampered", &["302 +_oauth2_proxy_csrf"]),
            ("b-anonymous", &["403"]),
            ("callback-ok", &["call", "302 +_oauth2_proxy"]),
            ("callback-refetch", &["call", "call", "302 +_oauth2_proxy"]),
            ("callback-refetch-fails", &["call", "call", "502"]),
            ("callback-attacker", &["call", "403"]),
            ("b-callback-ok", &["call", "302 +__Host-s"]),
        ];
        for (seed, want) in cases {
            assert_eq!(steps(seed), *want, "{seed}");
        }
    }
}
