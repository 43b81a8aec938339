//! Host-shim scenarios: the real filter (adapter and core) on a pinned clock and RNG, with every
//! callout answered by the test.

use std::time::{Duration, UNIX_EPOCH};

use host_shim::{Action, Host, HttpCall, LocalResponse, SplitMix64, Stream};
use serde_json::{json, Value};

use crate::test_idp::{self, AUTHORITY, CLIENT_ID, CLIENT_SECRET};

/// The pinned start time of every scenario (2024-01-01T00:00:00Z).
pub const START: u64 = 1_704_067_200;
/// The seed of the pinned RNG.
pub const SEED: u64 = 42;
/// A 32-byte cookie secret, base64.
pub const COOKIE_SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Host the browser talks to.
pub const APP_HOST: &str = "app.example.com";

/// A baseline configuration: single tenant, browser flow without the provider button page.
pub fn base_config() -> Value {
    json!({
        "provider": "entra-id",
        "oidc_issuer_url": test_idp::issuer(),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "cookie_secret": COOKIE_SECRET,
        "email_domains": ["contoso.example"],
        "skip_provider_button": true,
        "clusters": { AUTHORITY: "entra" },
    })
}

/// Merge `overrides` into the baseline (a null value removes the key).
pub fn config_with(overrides: Value) -> Value {
    let mut config = base_config();
    if let (Some(base), Value::Object(extra)) = (config.as_object_mut(), overrides) {
        for (key, value) in extra {
            if value.is_null() {
                base.remove(&key);
            } else {
                base.insert(key, value);
            }
        }
    }
    config
}

/// One fake Envoy worker running the filter.
pub struct Scenario {
    /// The shim host.
    pub host: Host,
}

impl Scenario {
    /// Start the filter with `config`; panics if the filter rejects it.
    pub fn start(config: Value) -> Scenario {
        let (scenario, ok) = Self::try_start(config);
        if !ok {
            let logs: Vec<String> = scenario
                .host
                .logs()
                .into_iter()
                .map(|l| l.message)
                .collect();
            panic!("the filter rejected the configuration: {logs:?}");
        }
        scenario
    }

    /// Start the filter; also returns whether `on_configure` accepted the config.
    pub fn try_start(config: Value) -> (Scenario, bool) {
        let host = Host::reset();
        host.set_time(UNIX_EPOCH + Duration::from_secs(START));
        host.set_random_seed(SEED);
        host.set_property(&["plugin_name"], "entra");
        host.set_plugin_config(config.to_string());
        let ok = host.start(entra_proxy_wasm::register);
        (Scenario { host }, ok)
    }

    /// Start and load discovery and keys (key 0).
    pub fn ready(config: Value) -> Scenario {
        let scenario = Self::start(config);
        scenario.load_provider(&test_idp::jwks(&[test_idp::key(0)]));
        scenario
    }

    /// Run a tick and answer the discovery and JWKS fetches it starts.
    pub fn load_provider(&self, jwks: &str) {
        self.host.tick();
        let discovery = self.only_call();
        assert_eq!(
            discovery.path(),
            format!(
                "/{}/v2.0/.well-known/openid-configuration",
                test_idp::TENANT
            )
        );
        self.host.respond(
            discovery.token,
            200,
            &[("content-type", "application/json")],
            test_idp::discovery().as_bytes(),
        );
        let keys = self.only_call();
        assert_eq!(
            keys.path(),
            format!("/{}/discovery/v2.0/keys", test_idp::TENANT)
        );
        self.host.respond(
            keys.token,
            200,
            &[("content-type", "application/json")],
            jwks.as_bytes(),
        );
        assert!(self.host.pending_calls().is_empty());
    }

    /// The single pending callout.
    pub fn only_call(&self) -> HttpCall {
        let mut calls = self.host.pending_calls();
        assert_eq!(
            calls.len(),
            1,
            "expected exactly one pending call: {calls:?}"
        );
        calls.remove(0)
    }

    /// Unix seconds on the pinned clock.
    pub fn now(&self) -> u64 {
        self.host
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Send a request with the standard pseudo-headers plus `extra`.
    pub fn request(&self, method: &str, path: &str, extra: &[(&str, &str)]) -> (Stream, Action) {
        let mut headers: Vec<(&str, &str)> = vec![
            (":method", method),
            (":path", path),
            (":authority", APP_HOST),
            (":scheme", "https"),
            ("x-request-id", "req-1"),
        ];
        headers.extend_from_slice(extra);
        let stream = self.host.new_stream();
        let action = stream.request_headers(&headers, true);
        (stream, action)
    }

    /// GET `path` and expect a local reply.
    pub fn get_local(&self, path: &str, extra: &[(&str, &str)]) -> LocalResponse {
        let (stream, action) = self.request("GET", path, extra);
        assert_eq!(action, Action::Pause, "expected a local reply for {path}");
        stream.local_response().expect("a local response")
    }

    /// Counter value by stat name (without the wasmcustom prefix).
    pub fn counter(&self, name: &str) -> u64 {
        self.host.metric(name).map(|m| m.value).unwrap_or(0)
    }

    /// Complete a sign-in as Alice (or with `claims` edited by `edit`) and return the
    /// callback's local response.
    pub fn sign_in(&self, return_path: &str, edit: impl FnOnce(&mut Value)) -> LocalResponse {
        self.sign_in_with(return_path, edit, test_idp::token_response)
    }

    /// Like [`Scenario::sign_in`], with the token endpoint's body made by `body` from the ID
    /// token; callouts after the token exchange (Graph) are left pending.
    pub fn sign_in_with(
        &self,
        return_path: &str,
        edit: impl FnOnce(&mut Value),
        body: impl FnOnce(&str) -> String,
    ) -> LocalResponse {
        let (stream, ()) = self.sign_in_until_token(return_path, edit, body);
        stream.local_response().expect("callback reply")
    }

    /// Start a sign-in at `/` and send its callback (code `c`): returns the paused callback
    /// stream, the token-endpoint call it made, and the nonce the ID token must carry.
    pub fn callback_pending(&self) -> (Stream, HttpCall, String) {
        let redirect = self.get_local("/", &[]);
        let csrf = format!(
            "_oauth2_proxy_csrf={}",
            set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf cookie")
        );
        let location = redirect.header("location").expect("location").to_string();
        let state = query_param(&location, "state").expect("state");
        let (stream, action) = self.request(
            "GET",
            &format!("/oauth2/callback?code=c&state={state}"),
            &[("cookie", csrf.as_str())],
        );
        assert_eq!(action, Action::Pause);
        (
            stream,
            self.only_call(),
            query_param(&location, "nonce").expect("nonce"),
        )
    }

    /// Answer a token-endpoint call with an ID token for Alice bound to `nonce`.
    pub fn answer_as_alice(&self, call: &HttpCall, nonce: &str) {
        let token = test_idp::sign(test_idp::key(0), &test_idp::alice_claims(self.now(), nonce));
        self.host.respond(
            call.token,
            200,
            &[],
            test_idp::token_response(&token).as_bytes(),
        );
    }

    /// Run a sign-in up to and including the token endpoint's answer; returns the callback stream.
    pub fn sign_in_until_token(
        &self,
        return_path: &str,
        edit: impl FnOnce(&mut Value),
        body: impl FnOnce(&str) -> String,
    ) -> (Stream, ()) {
        let redirect = self.get_local(return_path, &[]);
        assert_eq!(
            redirect.status,
            302,
            "{}",
            String::from_utf8_lossy(&redirect.body)
        );
        let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf cookie");
        let location = redirect.header("location").expect("location").to_string();
        let state = query_param(&location, "state").expect("state");
        let nonce = query_param(&location, "nonce").expect("nonce");
        let cookie = format!("_oauth2_proxy_csrf={csrf}");
        let path = format!("/oauth2/callback?code=the-code&state={state}");
        let (stream, action) = self.request("GET", &path, &[("cookie", &cookie)]);
        assert_eq!(action, Action::Pause);
        let call = self.only_call();
        let mut claims = test_idp::alice_claims(self.now(), &nonce);
        edit(&mut claims);
        let token = test_idp::sign(test_idp::key(0), &claims);
        self.host.respond(
            call.token,
            200,
            &[("content-type", "application/json")],
            body(&token).as_bytes(),
        );
        (stream, ())
    }
}

/// The bytes the pinned RNG hands out for successive draws of `sizes`.
pub fn draws(seed: u64, sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64::new(seed);
    sizes
        .iter()
        .map(|&n| {
            let mut buf = vec![0u8; n];
            rng.fill(&mut buf);
            buf
        })
        .collect()
}

/// Value of cookie `name` from the reply's `Set-Cookie` headers.
pub fn set_cookie_pair(response: &LocalResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .into_iter()
        .find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_string())
        })
}

/// Every `Set-Cookie` value of a reply.
pub fn set_cookies(response: &LocalResponse) -> Vec<String> {
    response
        .headers
        .get_all("set-cookie")
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// A `Cookie` header carrying every non-empty cookie the reply sets.
pub fn cookie_header_from(response: &LocalResponse) -> String {
    set_cookies(response)
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter(|pair| !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Percent-decoded query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Assert that forwarded request headers carry exactly Alice's identity (user, email, groups,
/// preferred username), whatever the client sent.
pub fn assert_alice_identity(headers: &host_shim::HeaderMap) {
    assert_eq!(
        headers.get_all("x-forwarded-user"),
        vec![test_idp::ALICE_OID]
    );
    assert_eq!(
        headers.get_all("x-forwarded-email"),
        vec!["alice.smith@contoso.example"]
    );
    assert_eq!(headers.get_all("x-forwarded-groups"), vec!["g-one,g-two"]);
    assert_eq!(
        headers.get_all("x-forwarded-preferred-username"),
        vec!["alice@contoso.example"]
    );
}
