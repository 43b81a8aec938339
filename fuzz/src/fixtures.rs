//! The fixed world every target runs in: two configurations, one provider, the clock.
//!
//! `fixtures/jwks*.json` are written by `examples/gen_corpus/` together with the tokens in the
//! seed corpora (same deterministic keys); the configurations and discovery document are
//! hand-written.

use std::sync::OnceLock;

use entra_proxy_wasm::config::Config;
use entra_proxy_wasm::flow::provider::{ProviderRecord, ProviderState};
use entra_proxy_wasm::oidc::discovery::parse_discovery;

/// The clock of every target (2023-11-14T22:13:20Z). Sealed cookies and tokens in the corpora
/// are minted relative to it.
pub const NOW: u64 = 1_700_000_000;

/// Tenant of the fixed single-tenant issuer.
pub const TENANT: &str = "11111111-1111-1111-1111-111111111111";
/// The issuer of the discovery document and of every valid token.
pub const ISSUER: &str =
    "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0";
/// The configured `client_id`, the audience of every valid token.
pub const CLIENT_ID: &str = "22222222-2222-2222-2222-222222222222";

/// `cookie_secret` of configuration A, raw bytes (the JSON carries it base64 encoded).
pub const SECRET_A: &[u8; 32] = b"fuzz-cookie-secret-A-32-bytes!!!";
/// The newest `cookie_secret` of configuration B; B also lists [`SECRET_A`] (rotation).
pub const SECRET_B: &[u8; 32] = b"fuzz-cookie-secret-B-32-bytes!!!";

/// Configuration A: Entra, single tenant, every identity header on, provider button skipped.
pub const CONFIG_A_JSON: &str = include_str!("../fixtures/config-a.json");
/// Configuration B: generic OIDC, cookie `__Host-s`, rotated secrets `[B, A]`, no PKCE.
pub const CONFIG_B_JSON: &str = include_str!("../fixtures/config-b.json");
/// The provider's discovery document.
pub const DISCOVERY_JSON: &str = include_str!("../fixtures/discovery.json");
/// The provider's JWKS: `k1` and `k2`.
pub const JWKS_JSON: &str = include_str!("../fixtures/jwks.json");
/// The JWKS after a key rotation (`k1`, `k2`, `k3`): the answer to an unknown-`kid` refetch.
pub const JWKS_ROTATED_JSON: &str = include_str!("../fixtures/jwks-rotated.json");

/// Which fixed configuration a request runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// [`CONFIG_A_JSON`].
    A,
    /// [`CONFIG_B_JSON`].
    B,
}

impl Variant {
    /// The parsed configuration.
    pub fn config(self) -> &'static Config {
        static A: OnceLock<Config> = OnceLock::new();
        static B: OnceLock<Config> = OnceLock::new();
        let (cell, json) = match self {
            Variant::A => (&A, CONFIG_A_JSON),
            Variant::B => (&B, CONFIG_B_JSON),
        };
        cell.get_or_init(|| match Config::from_json(json.as_bytes()) {
            Ok(config) => config,
            Err(e) => panic!("fixture configuration {self:?} is invalid: {e}"),
        })
    }

    /// Raw secrets of the configuration, newest first (what the oracle decrypts with).
    pub fn secrets(self) -> &'static [&'static [u8; 32]] {
        match self {
            Variant::A => &[SECRET_A],
            Variant::B => &[SECRET_B, SECRET_A],
        }
    }
}

/// The provider built from the fixed discovery document and JWKS. `fetched_at` decides whether
/// an unknown `kid` may trigger a JWKS refetch (see `ProviderState::may_refetch_for_unknown_kid`).
pub fn provider(fetched_at: u64) -> ProviderState {
    let metadata = match parse_discovery(DISCOVERY_JSON.as_bytes()) {
        Ok(metadata) => metadata,
        Err(e) => panic!("fixture discovery document is invalid: {e}"),
    };
    let record = ProviderRecord {
        metadata,
        jwks: JWKS_JSON.to_string(),
        fetched_at,
        // As if the last fetch was for an unknown `kid`: the same rate limit decides.
        kid_refetched_at: fetched_at,
    };
    match ProviderState::from_record(record) {
        Ok(state) => state,
        Err(e) => panic!("fixture JWKS is invalid (run examples/gen_corpus/): {e}"),
    }
}

/// Provider fetched 10 s ago: an unknown `kid` is refused without a refetch.
pub fn provider_recent() -> &'static ProviderState {
    static CELL: OnceLock<ProviderState> = OnceLock::new();
    CELL.get_or_init(|| provider(NOW - 10))
}

/// Provider fetched 10 min ago: an unknown `kid` triggers one JWKS refetch.
pub fn provider_old() -> &'static ProviderState {
    static CELL: OnceLock<ProviderState> = OnceLock::new();
    CELL.get_or_init(|| provider(NOW - 600))
}
