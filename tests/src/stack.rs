//! An end-to-end stack on loopback: the Entra emulator, the recording upstream, and a real
//! Envoy running the release wasm in front of it, wired together with dynamic ports.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::client::{Client, Reply};
use crate::emulator::{
    Emulator, EmulatorConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID,
};
use crate::envoy::{Envoy, EnvoyConfig};
use crate::paths::TestLogs;
use crate::upstream::Upstream;

/// The cookie secret of every stack (tests may seal cookies with it).
pub const COOKIE_SECRET: [u8; 32] = [7u8; 32];

/// Stat that says the provider metadata and keys are loaded.
pub const READY_STAT: &str = "wasmcustom.entra_proxy.provider.jwks_fetched";

/// Everything one end-to-end test runs. Fields drop in declaration order: Envoy first, so its
/// logs are complete before the log directory decides whether to keep them.
pub struct Stack {
    /// Envoy with the filter.
    pub envoy: Envoy,
    /// Emulated Entra ID.
    pub entra: Emulator,
    /// The protected app.
    pub upstream: Upstream,
    /// `http://127.0.0.1:<port>` of Envoy's main listener.
    pub base: String,
    /// Test log directory (kept when the test fails).
    pub logs: TestLogs,
}

/// A plugin configuration for `entra`, with `overrides` merged in (null removes a key).
pub fn plugin_config(entra: &Emulator, overrides: Value) -> Value {
    let mut config = json!({
        "provider": "entra-id",
        "oidc_issuer_url": entra.issuer_url_for(DEFAULT_TENANT_ID),
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "cookie_secret": base64::engine::general_purpose::STANDARD.encode(COOKIE_SECRET),
        "cookie_secure": false,
        "email_domains": ["*"],
        "skip_provider_button": true,
        "clusters": { entra.authority(): "entra" },
    });
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

impl Stack {
    /// Start emulator, upstream and Envoy (`workers` threads), and wait until the filter has
    /// loaded the provider's keys.
    pub fn start(test: &str, emulator: EmulatorConfig, overrides: Value, workers: u32) -> Stack {
        let logs = TestLogs::new(test);
        let entra = Emulator::start(emulator);
        let upstream = Upstream::start();
        let config = EnvoyConfig::new(upstream.port())
            .plugin_config(plugin_config(&entra, overrides))
            .cluster("entra", entra.port())
            .concurrency(workers);
        let envoy = Envoy::start(&config, &logs.subdir("envoy"));
        envoy.wait_for_counter(READY_STAT, 1, Duration::from_secs(30));
        let base = envoy.url("main");
        Stack {
            logs,
            entra,
            upstream,
            envoy,
            base,
        }
    }

    /// A stack with default emulator users, scripted (no login form: alice signs in at once).
    pub fn scripted(test: &str, overrides: Value) -> Stack {
        let emulator = EmulatorConfig {
            auto_login: Some("alice".into()),
            ..EmulatorConfig::default()
        };
        Self::start(test, emulator, overrides, 2)
    }

    /// Full URL of a path on Envoy.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sign in by following every redirect from `path`; returns the hops.
    pub fn sign_in(&self, client: &mut Client, path: &str) -> Vec<Reply> {
        client.follow(&self.url(path), &self.base, 8)
    }

    /// A wasm counter (`entra_proxy.…`) from Envoy's stats; 0 when not yet defined.
    pub fn counter(&self, name: &str) -> u64 {
        self.envoy
            .stats()
            .get(&format!("wasmcustom.{name}"))
            .unwrap_or(0)
    }
}
