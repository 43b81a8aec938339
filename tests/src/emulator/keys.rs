//! Signing keys: a process-wide pool of RSA-2048 keys and each emulator's key ring.
//!
//! Generating an RSA key costs tens to hundreds of milliseconds, so keys are made once per
//! process and shared by every emulator in it. Each emulator publishes its own subset.

use std::sync::{Arc, Mutex, OnceLock};

use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::cert;
use super::ids::b64url;

/// One RSA signing key with everything the JWKS publishes about it.
#[derive(Debug)]
pub struct KeyMaterial {
    /// The private key.
    pub private: RsaPrivateKey,
    /// Key id; like Entra's, the base64url SHA-1 thumbprint of the certificate (= `x5t`).
    pub kid: String,
    /// DER of the self-signed certificate for the key.
    pub cert_der: Vec<u8>,
    /// PEM of the SubjectPublicKeyInfo (what HS256 key-confusion attacks use as the secret).
    pub public_pem: String,
    /// PEM of the PKCS#8 private key.
    pub private_pem: String,
}

impl KeyMaterial {
    fn generate() -> Result<KeyMaterial, String> {
        let mut rng = rand::thread_rng();
        let private = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| format!("RSA keygen: {e}"))?;
        let mut serial = [0u8; 16];
        rng.fill_bytes(&mut serial);
        let cert_der = cert::self_signed_der(&private, &serial)?;
        let kid = b64url(&Sha1::digest(&cert_der));
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("public PEM: {e}"))?;
        let private_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| format!("private PEM: {e}"))?
            .to_string();
        Ok(KeyMaterial {
            private,
            kid,
            cert_der,
            public_pem,
            private_pem,
        })
    }

    /// The JWKS entry: `kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c`, `issuer` and, like Entra,
    /// no `alg` (clients must not require it).
    pub fn jwk(&self, issuer: &str) -> Value {
        let public = self.private.to_public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url(&public.n().to_bytes_be()),
            "e": b64url(&public.e().to_bytes_be()),
            "x5c": [base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &self.cert_der)],
            "issuer": issuer,
        })
    }
}

fn generate_or_die() -> Arc<KeyMaterial> {
    match KeyMaterial::generate() {
        Ok(k) => Arc::new(k),
        // A test helper that cannot make a key cannot do anything useful.
        Err(e) => panic!("entra emulator: {e}"),
    }
}

type Pool = OnceLock<Mutex<Vec<Arc<KeyMaterial>>>>;

fn from_pool(pool: &Pool, index: usize) -> Arc<KeyMaterial> {
    let mut pool = pool
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    while pool.len() <= index {
        pool.push(generate_or_die());
    }
    Arc::clone(&pool[index])
}

/// The `index`-th key of the process-wide pool, generated on first use.
pub fn pool_key(index: usize) -> Arc<KeyMaterial> {
    static POOL: Pool = OnceLock::new();
    from_pool(&POOL, index)
}

/// The `index`-th key of a second pool, for issuers other than Entra (a Kubernetes cluster
/// signing service-account tokens); never published by an emulator.
pub fn foreign_key(index: usize) -> Arc<KeyMaterial> {
    static POOL: Pool = OnceLock::new();
    from_pool(&POOL, index)
}

/// A key no emulator ever publishes: tokens signed with it must be rejected.
pub fn outsider_key() -> Arc<KeyMaterial> {
    static OUTSIDER: OnceLock<Arc<KeyMaterial>> = OnceLock::new();
    Arc::clone(OUTSIDER.get_or_init(generate_or_die))
}

/// The keys one emulator publishes; the first one signs.
#[derive(Debug)]
pub struct KeyRing {
    published: Vec<Arc<KeyMaterial>>,
    next_index: usize,
}

impl KeyRing {
    /// A ring publishing pool key 0.
    pub fn new() -> KeyRing {
        KeyRing {
            published: vec![pool_key(0)],
            next_index: 1,
        }
    }

    /// The signing key.
    pub fn current(&self) -> Arc<KeyMaterial> {
        Arc::clone(&self.published[0])
    }

    /// A fresh key becomes current; the old ones stay published (tokens they signed still
    /// verify, as during an Entra rollover).
    pub fn rotate(&mut self) {
        self.published.insert(0, pool_key(self.next_index));
        self.next_index += 1;
    }

    /// Stops publishing every key but the current one.
    pub fn retire_old(&mut self) {
        self.published.truncate(1);
    }

    /// Published keys, current first.
    pub fn published(&self) -> &[Arc<KeyMaterial>] {
        &self.published
    }
}

impl Default for KeyRing {
    fn default() -> Self {
        KeyRing::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn key_generation_is_fast_enough_for_tests() {
        let start = Instant::now();
        let key = KeyMaterial::generate().unwrap();
        let took = start.elapsed();
        eprintln!("RSA-2048 key + certificate: {took:?}");
        assert_eq!(key.private.size(), 256);
        assert_eq!(key.kid.len(), 27, "base64url SHA-1 thumbprint");
    }

    #[test]
    fn rotation_keeps_old_keys_until_retired() {
        let mut ring = KeyRing::new();
        let first = ring.current().kid.clone();
        ring.rotate();
        let second = ring.current().kid.clone();
        assert_ne!(first, second);
        let kids: Vec<&str> = ring.published().iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, vec![second.as_str(), first.as_str()]);
        ring.retire_old();
        assert_eq!(ring.published().len(), 1);
        assert_ne!(outsider_key().kid, second);
        assert_ne!(foreign_key(0).kid, pool_key(0).kid);
    }

    #[test]
    fn jwk_has_entra_fields_and_no_alg() {
        let jwk = pool_key(0).jwk("http://127.0.0.1:1/t/v2.0");
        for field in ["kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"] {
            assert!(jwk.get(field).is_some(), "{field}");
        }
        assert!(jwk.get("alg").is_none());
        assert_eq!(jwk["e"], "AQAB");
    }
}
