//! The request-level properties of `flow::on_request` / `on_call_response`: what must be true of
//! every outcome, given only the request and the fixed world.

use entra_proxy_wasm::config::Config;
use entra_proxy_wasm::flow::{Action, OutboundCall, Outcome, Response};
use entra_proxy_wasm::headers::parse_cookies;
use entra_proxy_wasm::session::chunks::join;
use serde_json::Value;

use crate::fixtures::{provider_recent, NOW};
use crate::input::FlowInput;
use crate::oracle;

/// Panics with the violated property, if any.
pub fn check(input: &FlowInput, outcome: &Outcome) {
    let config = input.variant.config();
    if let Some(log) = &outcome.log {
        assert!(
            oracle::header_safe(&log.message),
            "log line can be split: {:?}",
            log.message
        );
    }
    match &outcome.action {
        Action::Forward {
            remove,
            identity,
            set,
            ..
        } => {
            let set: Vec<(String, String)> = identity.iter().chain(set).cloned().collect();
            check_forward(input, config, remove, &set)
        }
        Action::Respond(response) => check_response(input, config, response),
        Action::Call { call, .. } | Action::Wait { call, .. } => check_call(input, config, call),
    }
}

/// Forward only with a live session sealed with the configured secrets, never with a spoofable
/// header or our own cookies left in.
fn check_forward(input: &FlowInput, config: &Config, remove: &[String], set: &[(String, String)]) {
    let name = config.cookie.name.as_str();
    let value = join(name, &parse_cookies(&input.headers)).unwrap_or_default();
    assert!(
        oracle::live_session(input.variant.secrets(), name, &value, NOW),
        "forwarded without a valid session cookie"
    );
    let handled = |header: &str| {
        remove.iter().any(|r| r.eq_ignore_ascii_case(header))
            || set.iter().any(|(s, _)| s.eq_ignore_ascii_case(header))
    };
    for (header, _) in &input.headers {
        if oracle::must_be_stripped(header) {
            assert!(
                handled(header),
                "spoofable header {header:?} reaches the upstream"
            );
        }
    }
    for (header, value) in set {
        assert!(
            oracle::header_safe(header) && oracle::header_safe(value),
            "{header}"
        );
    }
    let carried_ours = parse_cookies(&input.headers)
        .iter()
        .any(|(cookie, _)| is_ours(config, cookie));
    if carried_ours {
        assert!(handled("cookie"), "our cookies reach the upstream");
    }
    for (header, value) in set {
        if header.eq_ignore_ascii_case("cookie") {
            for piece in value.split(';') {
                let cookie = piece.split('=').next().unwrap_or("").trim();
                assert!(
                    !is_ours(config, cookie),
                    "cookie {cookie} reaches the upstream"
                );
            }
        }
    }
}

/// Our session and CSRF cookie names (`name`, `name_<digits>`, `name_csrf`).
fn is_ours(config: &Config, cookie: &str) -> bool {
    let name = config.cookie.name.as_str();
    session_cookie_name(name, cookie) || cookie == config.cookie.csrf_name()
}

fn session_cookie_name(name: &str, cookie: &str) -> bool {
    match cookie.strip_prefix(name) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('_')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// Local replies: no header splitting, redirects only to the provider or to safe targets, and
/// a session cookie only after a callback whose CSRF cookie, state, nonce and ID-token
/// signature all check out.
fn check_response(input: &FlowInput, config: &Config, response: &Response) {
    for (header, value) in &response.headers {
        assert!(
            oracle::header_safe(header) && oracle::header_safe(value),
            "{header}: {value:?}"
        );
    }
    let location = response
        .headers
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.as_str());
    if let Some(location) = location {
        let authorize = &provider_recent().record.metadata.authorization_endpoint;
        let to_provider = location
            .strip_prefix(authorize.as_str())
            .is_some_and(|rest| rest.starts_with('?'));
        if !to_provider {
            if let Err(why) = oracle::check_redirect(location, &config.whitelist_domains) {
                panic!("redirect to {location:?}: {why}");
            }
        }
    }
    for (header, value) in &response.headers {
        if header.eq_ignore_ascii_case("set-cookie") {
            check_csrf_set(input, config, value);
        }
    }
    let issued = response.headers.iter().any(|(h, v)| {
        h.eq_ignore_ascii_case("set-cookie") && {
            let (cookie, rest) = v.split_once('=').unwrap_or((v, ""));
            session_cookie_name(&config.cookie.name, cookie) && !rest.starts_with(';')
        }
    });
    if issued {
        check_sign_in(input, config);
    }
}

/// A new CSRF cookie carries the return target the browser is sent to after sign-in, so it
/// must already be a safe redirect when it is sealed.
fn check_csrf_set(input: &FlowInput, config: &Config, set_cookie: &str) {
    let csrf_name = config.cookie.csrf_name();
    let Some(value) = set_cookie
        .strip_prefix(csrf_name.as_str())
        .and_then(|rest| rest.strip_prefix('='))
        .map(|rest| rest.split(';').next().unwrap_or(""))
        .filter(|value| !value.is_empty())
    else {
        return;
    };
    let csrf = oracle::unseal(input.variant.secrets(), &csrf_name, value);
    let return_to = csrf
        .as_ref()
        .and_then(|c| c.get("return_to"))
        .and_then(Value::as_str);
    let Some(return_to) = return_to else {
        panic!("CSRF cookie set that the configured secret does not open");
    };
    if let Err(why) = oracle::check_redirect(return_to, &config.whitelist_domains) {
        panic!("sign-in will return to {return_to:?}: {why}");
    }
}

/// A session was issued: the request must be a callback with a live CSRF cookie whose state is
/// the `state` parameter and whose nonce the ID token carries, and the ID token must be signed
/// by a provider key.
fn check_sign_in(input: &FlowInput, config: &Config) {
    let body: Value = serde_json::from_slice(&input.token_response.body).unwrap_or(Value::Null);
    let id_token = body.get("id_token").and_then(Value::as_str).unwrap_or("");
    assert!(
        oracle::rs256_signed(id_token),
        "session issued for an unsigned ID token"
    );
    let claims = oracle::jwt_claims(id_token).unwrap_or(Value::Null);
    let token_nonce = claims.get("nonce").and_then(Value::as_str);
    let csrf = live_csrf_for_state(input, config);
    assert!(
        !csrf.is_empty(),
        "session issued without a live CSRF cookie matching state"
    );
    if !config.skip_nonce {
        let nonce_ok = csrf
            .iter()
            .any(|c| c.get("nonce").and_then(Value::as_str) == token_nonce);
        assert!(
            nonce_ok,
            "session issued for an ID token with another nonce"
        );
    }
}

/// A callout: only to a configured cluster, and the token exchange only for a callback that
/// carries a live CSRF cookie whose state is the `state` parameter.
fn check_call(input: &FlowInput, config: &Config, call: &OutboundCall) {
    assert!(
        config.clusters.iter().any(|(_, c)| *c == call.cluster),
        "call to unconfigured cluster {}",
        call.cluster
    );
    if call.method == "POST" {
        assert!(
            !live_csrf_for_state(input, config).is_empty(),
            "code redeemed without a live CSRF cookie matching state"
        );
    }
}

/// Every live CSRF payload in the request whose `state` equals a `state` query parameter.
fn live_csrf_for_state(input: &FlowInput, config: &Config) -> Vec<Value> {
    let path = input
        .headers
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(":path"))
        .map_or("", |(_, v)| v.as_str());
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    let states: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .collect();
    let csrf_name = config.cookie.csrf_name();
    parse_cookies(&input.headers)
        .iter()
        .filter(|(n, _)| *n == csrf_name)
        .filter_map(|(_, v)| {
            oracle::live_csrf(input.variant.secrets(), &config.cookie.name, v, NOW)
        })
        .filter(|c| {
            c.get("state")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty() && states.iter().any(|p| p == s))
        })
        .collect()
}
