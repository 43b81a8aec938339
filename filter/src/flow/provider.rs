//! Provider metadata (discovery) and signing keys (JWKS), shared by every worker.
//!
//! One worker at a time refreshes them under a lease in shared data; every worker parses the
//! published record once per change. Nothing here touches the host: the adapter reads and writes
//! the bytes, this module decides what they mean.

use serde::{Deserialize, Serialize};

use crate::config::{authority_of, Config};
use crate::oidc::discovery::ProviderMetadata;
use crate::oidc::jwks::{parse_jwks, KeySet};

use super::action::OutboundCall;

/// How long fetched keys are trusted before a background refresh (Entra rotates keys on a
/// schedule of weeks and publishes new ones well in advance; an hour keeps rotation invisible).
pub const KEYS_REFRESH_SECS: u64 = 3600;
/// How long one worker may hold the refresh lease before another may take over.
pub const LEASE_SECS: u64 = 30;
/// Wait after a failed fetch before any worker tries again.
pub const RETRY_SECS: u64 = 5;
/// Minimum time between JWKS refetches caused by an unknown `kid`, so forged tokens with random
/// key ids cannot make us hammer the provider.
pub const UNKNOWN_KID_REFETCH_SECS: u64 = 60;

/// What is published in shared data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// Parsed discovery document.
    pub metadata: ProviderMetadata,
    /// Raw JWKS body (parsed by each worker).
    pub jwks: String,
    /// Unix seconds of the last successful fetch.
    pub fetched_at: u64,
    /// Unix seconds of the last fetch caused by an unknown `kid` (rate limit of those only:
    /// the scheduled fetches must not delay picking up a genuinely new key).
    #[serde(default)]
    pub kid_refetched_at: u64,
}

/// Provider metadata with parsed keys, ready for the request path.
#[derive(Debug)]
pub struct ProviderState {
    /// The published record.
    pub record: ProviderRecord,
    /// Parsed signing keys.
    pub keys: KeySet,
}

/// Why a provider record could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The shared-data record is not valid JSON of the expected shape.
    #[error("stored provider record is corrupt: {0}")]
    Corrupt(String),
    /// The stored JWKS has no usable key.
    #[error("stored JWKS unusable: {0}")]
    Keys(String),
}

impl ProviderState {
    /// Parse a record published in shared data.
    pub fn from_bytes(bytes: &[u8]) -> Result<ProviderState, ProviderError> {
        let record: ProviderRecord =
            serde_json::from_slice(bytes).map_err(|e| ProviderError::Corrupt(e.to_string()))?;
        Self::from_record(record)
    }

    /// Parse the keys of a record.
    pub fn from_record(record: ProviderRecord) -> Result<ProviderState, ProviderError> {
        let keys =
            parse_jwks(record.jwks.as_bytes()).map_err(|e| ProviderError::Keys(e.to_string()))?;
        Ok(ProviderState { record, keys })
    }

    /// Serialized record for shared data.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.record).unwrap_or_default()
    }

    /// Whether a background refresh is due.
    pub fn is_stale(&self, now: u64) -> bool {
        now >= self.record.fetched_at.saturating_add(KEYS_REFRESH_SECS)
    }

    /// Whether a token with an unknown `kid` may trigger a refetch now.
    pub fn may_refetch_for_unknown_kid(&self, now: u64) -> bool {
        self.record.kid_refetched_at == 0
            || now
                >= self
                    .record
                    .kid_refetched_at
                    .saturating_add(UNKNOWN_KID_REFETCH_SECS)
    }
}

/// Lease value in shared data: the Unix second until which the holder owns the refresh.
pub fn lease_value(until: u64) -> Vec<u8> {
    until.to_string().into_bytes()
}

/// Whether the lease stored as `value` is free at `now`. A corrupt value counts as free: better
/// one extra fetch than a provider that is never refreshed.
pub fn lease_is_free(value: Option<&[u8]>, now: u64) -> bool {
    let until = value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    now >= until
}

/// The discovery document's URL for the configured issuer.
pub fn discovery_url(config: &Config) -> String {
    format!("{}/.well-known/openid-configuration", config.issuer_url)
}

/// A GET to `url` through the cluster configured for its host.
pub fn get(config: &Config, url: &str) -> Result<OutboundCall, String> {
    let parsed = url::Url::parse(url).map_err(|_| url.to_string())?;
    let authority = authority_of(url).ok_or_else(|| url.to_string())?;
    let cluster = config
        .cluster_for(&authority)
        .ok_or_else(|| authority.clone())?;
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path.push('?');
        path.push_str(query);
    }
    Ok(OutboundCall {
        cluster: cluster.to_string(),
        method: "GET",
        authority,
        path,
        headers: vec![("accept".into(), "application/json".into())],
        body: None,
        timeout_ms: config.http_timeout_ms,
    })
}

/// A form POST to `url` through the cluster configured for its host.
pub fn post_form(config: &Config, url: &str, form: String) -> Result<OutboundCall, String> {
    let mut call = get(config, url)?;
    call.method = "POST";
    call.headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    call.body = Some(form.into_bytes());
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn lease_is_free_when_expired_missing_or_corrupt() {
        assert!(lease_is_free(None, 10));
        assert!(lease_is_free(Some(b"10"), 10));
        assert!(!lease_is_free(Some(b"11"), 10));
        assert!(lease_is_free(Some(b"garbage"), 10));
        assert_eq!(lease_value(42), b"42");
    }
}
