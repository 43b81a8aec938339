//! Deterministic keys and hand-signed JWTs for the token seeds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use entra_proxy_wasm_fuzz::fixtures::{CLIENT_ID, ISSUER, NOW, TENANT};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::Result;

pub(crate) struct Keys {
    pub k1: RsaPrivateKey,
    pub k2: RsaPrivateKey,
    pub k3: RsaPrivateKey,
    pub attacker: RsaPrivateKey,
    pub weak: RsaPrivateKey,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn jwk(kid: &str, key: &RsaPublicKey) -> Value {
    json!({"kty":"RSA","use":"sig","kid":kid,"n":b64(&key.n().to_bytes_be()),"e":b64(&key.e().to_bytes_be())})
}

/// A JWS signed with RSASSA-PKCS1-v1_5 SHA-256, whatever the header claims.
pub(crate) fn sign(key: &RsaPrivateKey, header: &Value, claims: &Value) -> Result<String> {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.sign(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(input.as_bytes()),
    )?;
    Ok(format!("{input}.{}", b64(&signature)))
}

pub(crate) fn claims(nonce: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "sub-ada", "tid": TENANT,
        "oid": "00000000-0000-0000-0000-0000000000a1", "email": "ada@example.com",
        "preferred_username": "ada@contoso.test", "name": "Ada Lovelace",
        "groups": ["g1", "g2"], "exp": NOW + 3600, "iat": NOW - 10, "nbf": NOW - 10,
        "nonce": nonce,
    })
}

pub(crate) fn with(mut base: Value, changes: Value) -> Value {
    if let (Some(base), Some(changes)) = (base.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            if v.is_null() {
                base.remove(k);
            } else {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    base
}
