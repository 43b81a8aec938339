//! A scripted identity provider for host-shim scenarios: fixed RSA keys (from seeded RNGs, so
//! every run signs the same bytes), an Entra-shaped discovery document and JWKS, and ID tokens
//! minted with exactly the claims a test wants.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::pkcs1v15::SigningKey as RsaSigner;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

/// Tenant of the scripted directory.
pub const TENANT: &str = "11111111-1111-1111-1111-111111111111";
/// The app registration's client id.
pub const CLIENT_ID: &str = "22222222-2222-2222-2222-222222222222";
/// The app registration's secret.
pub const CLIENT_SECRET: &str = "test-client-secret";
/// Authority host, as in public Entra.
pub const AUTHORITY: &str = "login.microsoftonline.com";
/// Alice's object id.
pub const ALICE_OID: &str = "aaaaaaaa-0000-0000-0000-000000000001";

/// `oidc_issuer_url` / token `iss` for the tenant.
pub fn issuer() -> String {
    format!("https://{AUTHORITY}/{TENANT}/v2.0")
}

/// One signing key.
pub struct TestKey {
    /// Private key.
    pub private: RsaPrivateKey,
    /// Key id published in the JWKS.
    pub kid: String,
}

/// Key number `n` (0 and 1 are enough for rotation tests); generated once per process.
pub fn key(n: usize) -> &'static TestKey {
    static KEYS: OnceLock<Vec<TestKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..3u64)
            .map(|seed| {
                let mut rng = StdRng::seed_from_u64(0x5eed + seed);
                let private = RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
                TestKey {
                    private,
                    kid: format!("test-key-{seed}"),
                }
            })
            .collect()
    });
    &keys[n]
}

/// The discovery document, Entra v2.0 shaped.
pub fn discovery() -> String {
    let base = format!("https://{AUTHORITY}/{TENANT}");
    json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
    })
    .to_string()
}

/// A JWKS publishing `keys`, without `alg` like Entra's.
pub fn jwks(keys: &[&TestKey]) -> String {
    let entries: Vec<Value> = keys
        .iter()
        .map(|k| {
            let public = k.private.to_public_key();
            json!({
                "kty": "RSA", "use": "sig", "kid": k.kid, "x5t": k.kid,
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
                "issuer": issuer(),
            })
        })
        .collect();
    json!({ "keys": entries }).to_string()
}

/// Sign `claims` with `key` under `header` (give `alg`/`kid` explicitly to forge).
pub fn sign_with_header(key: &TestKey, header: Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = RsaSigner::<Sha256>::new(key.private.clone()).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// Sign `claims` the way Entra does.
pub fn sign(key: &TestKey, claims: &Value) -> String {
    sign_with_header(
        key,
        json!({"typ": "JWT", "alg": "RS256", "kid": key.kid}),
        claims,
    )
}

/// Alice's ID token claims at Unix time `now`, bound to `nonce`.
pub fn alice_claims(now: u64, nonce: &str) -> Value {
    json!({
        "aud": CLIENT_ID,
        "iss": issuer(),
        "iat": now, "nbf": now, "exp": now + 3600,
        "name": "Alice Smith",
        "nonce": nonce,
        "oid": ALICE_OID,
        "preferred_username": "alice@contoso.example",
        "email": "alice.smith@contoso.example",
        "sub": "pairwise-subject-of-alice",
        "tid": TENANT,
        "ver": "2.0",
        "groups": ["g-one", "g-two"],
    })
}

/// A token endpoint success body.
pub fn token_response(id_token: &str) -> String {
    json!({
        "token_type": "Bearer",
        "scope": "openid email profile",
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": "access-token-for-alice",
        "id_token": id_token,
    })
    .to_string()
}

/// A token endpoint success body with a refresh token.
pub fn token_response_with_refresh(id_token: &str, refresh_token: &str) -> String {
    json!({
        "token_type": "Bearer",
        "scope": "openid email profile offline_access",
        "expires_in": 3600,
        "access_token": "access-token-for-alice",
        "id_token": id_token,
        "refresh_token": refresh_token,
    })
    .to_string()
}
