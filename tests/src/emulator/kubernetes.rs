//! A stand-in for a Kubernetes cluster's service-account token issuer: it mints projected
//! service-account tokens like the ones Azure Workload Identity mounts into a pod
//! (`AZURE_FEDERATED_TOKEN_FILE`), signed with its own key, never one Entra publishes.
//!
//! ```no_run
//! use entra_proxy_tests::emulator::{Client, Emulator, EmulatorConfig, KubernetesIssuer};
//! let k8s = KubernetesIssuer::new("https://oidc.prod-aks.azure.com/tenant/cluster/");
//! let mut cfg = EmulatorConfig::default();
//! cfg.clients[0].secret = None;
//! cfg.clients[0].federated = Some(k8s.credential("apps", "proxy"));
//! let entra = Emulator::start(cfg);
//! let assertion = k8s.token("apps", "proxy", entra.now());
//! ```

use std::sync::Arc;

use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::federated::{FederatedCredential, IssuerKey, TOKEN_EXCHANGE_AUDIENCE};
use super::ids::{b64url, derived_guid, random_guid};
use super::keys::{foreign_key, KeyMaterial};

/// Lifetime of a minted token; Azure Workload Identity projects tokens for one hour.
pub const SERVICE_ACCOUNT_TOKEN_LIFETIME: u64 = 3600;

/// `system:serviceaccount:<namespace>:<name>`, the `sub` of a service-account token and the
/// subject of the matching federated credential.
pub fn service_account_subject(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}

/// A cluster OIDC issuer with its own RSA key.
#[derive(Debug, Clone)]
pub struct KubernetesIssuer {
    issuer: String,
    key: Arc<KeyMaterial>,
    kid: String,
}

impl KubernetesIssuer {
    /// An issuer at `issuer` (the `iss` of its tokens, e.g. AKS's
    /// `https://<region>.oic.prod-aks.azure.com/<tenant>/<cluster>/`).
    pub fn new(issuer: &str) -> KubernetesIssuer {
        KubernetesIssuer::with_key(issuer, 0)
    }

    /// Like [`KubernetesIssuer::new`] with the `index`-th key of the foreign key pool: issuers
    /// with different indexes have different keys (a rotated or impostor cluster).
    pub fn with_key(issuer: &str, index: usize) -> KubernetesIssuer {
        let key = foreign_key(index);
        // Kubernetes' kid: base64url SHA-256 of the DER public key.
        let der = key
            .private
            .to_public_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        KubernetesIssuer {
            issuer: issuer.to_string(),
            kid: b64url(&Sha256::digest(der)),
            key,
        }
    }

    /// The issuer URL (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key id in minted tokens' headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS the cluster publishes at its OIDC `jwks_uri`.
    pub fn jwks(&self) -> Value {
        let public = self.key.private.to_public_key();
        json!({"keys": [{
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": b64url(&public.n().to_bytes_be()),
            "e": b64url(&public.e().to_bytes_be()),
        }]})
    }

    /// SubjectPublicKeyInfo PEM of the signing key.
    pub fn public_key_pem(&self) -> String {
        self.key.public_pem.clone()
    }

    /// The federated credential an app registration needs to trust this issuer's tokens for
    /// `namespace`/`service_account` (audience `api://AzureADTokenExchange`, key by JWKS).
    pub fn credential(&self, namespace: &str, service_account: &str) -> FederatedCredential {
        FederatedCredential::new(
            &self.issuer,
            &service_account_subject(namespace, service_account),
            IssuerKey::Jwks(self.jwks()),
        )
    }

    /// The claims of a projected token issued at `iat` for `lifetime` seconds: `aud`
    /// (array), `exp`, `iat`, `nbf`, `iss`, `jti`, `sub` and the `kubernetes.io` claim.
    pub fn claims(&self, namespace: &str, service_account: &str, iat: u64, lifetime: u64) -> Value {
        let uid = |what: &str| {
            derived_guid(&format!(
                "{}|{namespace}|{service_account}|{what}",
                self.issuer
            ))
        };
        json!({
            "aud": [TOKEN_EXCHANGE_AUDIENCE],
            "exp": iat + lifetime,
            "iat": iat,
            "iss": self.issuer,
            "jti": random_guid(),
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": format!("{service_account}-6d4cf56db6-x7k2p"), "uid": uid("pod")},
                "serviceaccount": {"name": service_account, "uid": uid("sa")},
            },
            "nbf": iat,
            "sub": service_account_subject(namespace, service_account),
        })
    }

    /// A valid token for `namespace`/`service_account`, issued at `now` (pass the emulator's
    /// [`now`](crate::emulator::Emulator::now)) and valid for an hour.
    pub fn token(&self, namespace: &str, service_account: &str, now: u64) -> String {
        self.sign(&self.claims(
            namespace,
            service_account,
            now,
            SERVICE_ACCOUNT_TOKEN_LIFETIME,
        ))
    }

    /// A token that expired an hour before `now` (issued two hours before), as a file that
    /// was not rotated looks.
    pub fn expired_token(&self, namespace: &str, service_account: &str, now: u64) -> String {
        let iat = now.saturating_sub(2 * SERVICE_ACCOUNT_TOKEN_LIFETIME);
        self.sign(&self.claims(
            namespace,
            service_account,
            iat,
            SERVICE_ACCOUNT_TOKEN_LIFETIME,
        ))
    }

    /// Signs any claims with this issuer's key and header `{"alg":"RS256","kid":…}`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = b64url(
            json!({"alg": "RS256", "kid": self.kid})
                .to_string()
                .as_bytes(),
        );
        let input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
        format!("{input}.{}", super::jwt::rs256_signature(&self.key, &input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::jwt::decode_unverified;

    #[test]
    fn tokens_look_like_projected_service_account_tokens() {
        let k8s = KubernetesIssuer::new("https://oidc.example/c/");
        let (header, claims) = decode_unverified(&k8s.token("apps", "proxy", 1_000)).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "kid": k8s.kid()}));
        assert_eq!(claims["iss"], "https://oidc.example/c/");
        assert_eq!(claims["sub"], "system:serviceaccount:apps:proxy");
        assert_eq!(claims["aud"], json!(["api://AzureADTokenExchange"]));
        assert_eq!(
            (
                claims["iat"].as_u64(),
                claims["nbf"].as_u64(),
                claims["exp"].as_u64()
            ),
            (Some(1_000), Some(1_000), Some(4_600))
        );
        assert_eq!(claims["kubernetes.io"]["namespace"], "apps");
        assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "proxy");
        let (_, old) = decode_unverified(&k8s.expired_token("apps", "proxy", 10_000)).unwrap();
        assert_eq!(old["exp"].as_u64(), Some(10_000 - 3600));
    }

    #[test]
    fn different_key_indexes_are_different_keys() {
        let a = KubernetesIssuer::new("https://i/");
        let b = KubernetesIssuer::with_key("https://i/", 1);
        assert_ne!(a.kid(), b.kid());
        assert_eq!(a.kid().len(), 43);
        assert_eq!(a.credential("n", "s").subject, "system:serviceaccount:n:s");
    }
}
