//! What a signed-in browser carries between requests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::crypto::{open_json, seal_json, CookieCipher, CookieError, NONCE_LEN};

/// The session stored (encrypted) in the session cookie. Field names are short because every
/// byte ends up in a cookie header on every request.
///
/// Unknown fields are refused: a cookie written by a newer version of the filter (a rolling
/// upgrade, a rollback) then means a fresh sign-in rather than a session silently read without
/// something the newer version put there — such as the groups `seal` leaves in the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Stable user id exposed as `X-Forwarded-User` (Entra: `oid`; generic OIDC: `sub`).
    #[serde(rename = "u")]
    pub user: String,
    /// Email address, when the token carried one (or a fallback that is an address).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `preferred_username` claim.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Display name (`name` claim).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Group object ids the session carries.
    #[serde(rename = "g", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Unix seconds when the session was created (sign-in or last refresh).
    #[serde(rename = "c")]
    pub created_at: u64,
    /// Unix seconds after which the session is dead (`cookie_expire` from sign-in).
    #[serde(rename = "x")]
    pub expires_at: u64,
    /// Raw ID token, kept only when a header needs it or sign-out needs `id_token_hint`.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Raw access token, kept only when a header or Graph needs it.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Refresh token, kept only when refresh is configured.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds when the access/ID token expires (from `expires_in` / `exp`).
    #[serde(rename = "t", default)]
    pub token_expires_at: u64,
    /// Tenant id (`tid`), for logs and the tenant rule on refresh.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Handle of the full group list in the per-Envoy group cache, when it is too long for the
    /// cookie (then `groups` holds only what authorization needs).
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub groups_ref: Option<String>,
    /// Extra ID-token claims that injected headers need (only those configured).
    #[serde(
        rename = "k",
        default,
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub claims: std::collections::BTreeMap<String, String>,
    /// Set only in the sealed form: `groups` was left out because the kept ID token lists the
    /// same groups (see [`Session::seal`]). Never set on a session in use.
    #[serde(rename = "gt", default, skip_serializing_if = "std::ops::Not::not")]
    pub groups_from_token: bool,
}

impl Session {
    /// serde_json → raw deflate (miniz_oxide) → seal under `cookie_name`.
    ///
    /// The result may exceed one cookie; pass it to [`super::chunks::split`].
    ///
    /// When the session keeps its ID token and the token's `groups` claim is exactly the
    /// session's group list, the list is left out and read back from the token on open: a
    /// 150-group Entra session would otherwise carry its group ids twice (plainly and inside the
    /// base64 token, where deflate cannot see the repetition), ~4 KB more on every request. The
    /// token is trustworthy there for the same reason as the list: it was verified at sign-in
    /// and is inside the same authenticated ciphertext.
    pub fn seal(&self, cipher: &CookieCipher, cookie_name: &str, nonce: [u8; NONCE_LEN]) -> String {
        let groups_in_token = !self.groups.is_empty()
            && self.groups_ref.is_none()
            && self.id_token.as_deref().and_then(token_groups).as_ref() == Some(&self.groups);
        if groups_in_token {
            let compact = Session {
                groups: Vec::new(),
                groups_from_token: true,
                ..self.clone()
            };
            return seal_json(cipher, cookie_name, &compact, nonce);
        }
        seal_json(cipher, cookie_name, self, nonce)
    }

    /// open → inflate with a hard output limit (64 KiB, decompression bombs) → serde_json →
    /// reject if now >= expires_at ([`CookieError::Expired`]).
    ///
    /// Expiry is enforced here, not only by the browser's cookie lifetime, because a copied
    /// cookie value outlives any `Max-Age` the browser honours.
    pub fn open(
        cipher: &CookieCipher,
        cookie_name: &str,
        value: &str,
        now: u64,
    ) -> Result<Session, CookieError> {
        let mut session: Session = open_json(cipher, cookie_name, value)?;
        if now >= session.expires_at {
            return Err(CookieError::Expired);
        }
        if session.groups_from_token {
            // Only `seal` sets the flag, after checking the token lists the groups.
            session.groups = session
                .id_token
                .as_deref()
                .and_then(token_groups)
                .ok_or(CookieError::Encoding)?;
            session.groups_from_token = false;
        }
        Ok(session)
    }
}

/// The `groups` claim of a compact JWT's payload, when it has one. No signature check: callers
/// only use tokens that were verified before they were sealed into the session.
fn token_groups(token: &str) -> Option<Vec<String>> {
    #[derive(Deserialize)]
    struct Claims {
        groups: Option<Vec<String>>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Claims>(&bytes).ok()?.groups
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::session::chunks::{join, split, MAX_CHUNK_VALUE};
    use crate::session::crypto::b64url;
    use sha2::{Digest, Sha256};
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const NAME: &str = "_oauth2_proxy";
    const NONCE: [u8; NONCE_LEN] = [5; NONCE_LEN];

    fn cipher() -> CookieCipher {
        CookieCipher::new(&[vec![4; 32]])
    }

    /// Deterministic incompressible bytes (a SHA-256 chain), standing in for random ids and
    /// token signatures so size measurements are not flattered by repetition.
    fn noise(seed: &str, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut block = Sha256::digest(seed.as_bytes());
        while out.len() < len {
            out.extend_from_slice(&block);
            block = Sha256::digest(block);
        }
        out.truncate(len);
        out
    }

    fn guid(i: usize) -> String {
        let hex: String = noise(&format!("group{i}"), 16)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// A JWT-shaped string of `len` base64url chars.
    fn token(seed: &str, len: usize) -> String {
        let mut s = b64url(&noise(seed, len));
        s.truncate(len);
        s.replace_range(36..37, ".");
        s.replace_range(len - 344..len - 343, ".");
        s
    }

    fn small() -> Session {
        Session {
            user: "00000000-0000-0000-0000-000000000001".to_string(),
            email: Some("ada@example.com".to_string()),
            created_at: 100,
            expires_at: 200,
            ..Session::default()
        }
    }

    fn realistic(access_token: bool) -> Session {
        Session {
            user: guid(9999),
            email: Some("ada.lovelace@contoso.example".to_string()),
            preferred_username: Some("ada.lovelace@contoso.example".to_string()),
            name: Some("Ada Lovelace".to_string()),
            groups: (0..150).map(guid).collect(),
            created_at: 1_700_000_000,
            expires_at: 1_700_604_800,
            id_token: Some(token("id", 1536)),
            access_token: access_token.then(|| token("access", 1536)),
            refresh_token: None,
            token_expires_at: 1_700_003_600,
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_small_and_large() {
        for session in [small(), realistic(false), realistic(true)] {
            let sealed = session.seal(&cipher(), NAME, NONCE);
            let opened = Session::open(&cipher(), NAME, &sealed, session.created_at);
            assert_eq!(opened, Ok(session));
        }
    }

    /// A JWT-shaped token whose payload lists `groups` (the signature is noise: sealing trusts
    /// tokens that were verified before).
    fn id_token_listing(groups: &[String]) -> String {
        let payload = serde_json::json!({"oid": guid(9999), "groups": groups, "name": "Ada"});
        format!(
            "{}.{}.{}",
            b64url(br#"{"alg":"RS256","kid":"k"}"#),
            b64url(payload.to_string().as_bytes()),
            token("sig", 400).replace('.', "x")
        )
    }

    #[test]
    fn groups_listed_by_the_kept_id_token_are_sealed_once() {
        let mut session = realistic(false);
        session.id_token = Some(id_token_listing(&session.groups));
        let sealed = session.seal(&cipher(), NAME, NONCE);
        assert_eq!(
            Session::open(&cipher(), NAME, &sealed, session.created_at),
            Ok(session.clone()),
            "the groups come back from the token"
        );
        let json = open_json::<serde_json::Value>(&cipher(), NAME, &sealed).unwrap();
        assert_eq!(json.get("g"), None);
        assert_eq!(json["gt"], true);
        // Any difference between the lists keeps the session's own list in the cookie.
        let mut other = session.clone();
        other.groups.pop();
        let longer = other.seal(&cipher(), NAME, NONCE);
        assert!(
            longer.len() > sealed.len() + 3000,
            "{} vs {}",
            longer.len(),
            sealed.len()
        );
        assert_eq!(
            Session::open(&cipher(), NAME, &longer, session.created_at),
            Ok(other)
        );
        // The flag without a token that lists groups is not a session.
        let mut broken = session.clone();
        broken.groups.clear();
        broken.groups_from_token = true;
        broken.id_token = Some(token("id", 1536));
        let sealed = seal_json(&cipher(), NAME, &broken, NONCE);
        assert_eq!(
            Session::open(&cipher(), NAME, &sealed, session.created_at),
            Err(CookieError::Encoding)
        );
    }

    #[test]
    fn a_field_this_version_does_not_know_means_a_fresh_sign_in() {
        let mut json = serde_json::to_value(small()).unwrap();
        json["zz"] = serde_json::json!(1);
        let sealed = seal_json(&cipher(), NAME, &json, NONCE);
        assert_eq!(
            Session::open(&cipher(), NAME, &sealed, 150),
            Err(CookieError::Encoding)
        );
    }

    #[test]
    fn expiry_boundary() {
        let sealed = small().seal(&cipher(), NAME, NONCE);
        let cases = [
            (0, Ok(small())),
            (199, Ok(small())),
            (200, Err(CookieError::Expired)),
            (u64::MAX, Err(CookieError::Expired)),
        ];
        for (now, want) in cases {
            assert_eq!(Session::open(&cipher(), NAME, &sealed, now), want, "{now}");
        }
    }

    #[test]
    fn open_errors() {
        let c = cipher();
        let sealed = small().seal(&c, NAME, NONCE);
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'['; 1 << 20], 9);
        let cases: &[(&str, String, CookieError)] = &[
            ("_other", sealed.clone(), CookieError::Tampered),
            (
                NAME,
                sealed[..sealed.len() - 4].to_string(),
                CookieError::Tampered,
            ),
            (NAME, String::new(), CookieError::Malformed),
            (NAME, "%%%".to_string(), CookieError::Malformed),
            (NAME, c.seal(NAME, &bomb, NONCE), CookieError::TooLarge),
            (
                NAME,
                c.seal(NAME, b"not deflate \xff", NONCE),
                CookieError::Decompress,
            ),
            (
                NAME,
                seal_json(&c, NAME, &serde_json::json!({"u": "x"}), NONCE),
                CookieError::Encoding,
            ),
        ];
        for (name, value, want) in cases {
            assert_eq!(
                Session::open(&c, name, value, 0).as_ref(),
                Err(want),
                "{name} {value:.20}"
            );
        }
    }

    #[test]
    fn large_session_splits_into_named_chunks_and_joins_back() {
        let session = realistic(false);
        let sealed = session.seal(&cipher(), NAME, NONCE);
        assert!(sealed.len() > 4096, "{}", sealed.len());
        let parts = split(NAME, &sealed, MAX_CHUNK_VALUE);
        let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["_oauth2_proxy_0", "_oauth2_proxy_1"]);
        assert!(parts
            .iter()
            .all(|(n, v)| n.len() + 1 + v.len() < 4096 - 200));

        let mut cookies = vec![("_oauth2_proxy_csrf".to_string(), "junk".to_string())];
        cookies.extend(parts.iter().cloned());
        let joined = join(NAME, &cookies).unwrap();
        assert_eq!(Session::open(&cipher(), NAME, &joined, 0), Ok(session));

        // Missing first chunk: nothing to join. Missing a later chunk: truncated, fails to open.
        assert_eq!(join(NAME, &cookies[2..]), None);
        let three = split(NAME, &sealed, sealed.len() / 3 + 1);
        assert_eq!(three.len(), 3);
        let gap = vec![three[0].clone(), three[2].clone()];
        let truncated = join(NAME, &gap).unwrap();
        assert_eq!(
            Session::open(&cipher(), NAME, &truncated, 0),
            Err(CookieError::Tampered)
        );
        // Swapped chunk order also fails the AEAD.
        let swapped = vec![
            (three[0].0.clone(), three[1].1.clone()),
            (three[1].0.clone(), three[0].1.clone()),
            three[2].clone(),
        ];
        let joined = join(NAME, &swapped).unwrap();
        assert!(Session::open(&cipher(), NAME, &joined, 0).is_err());
    }

    #[test]
    fn realistic_sizes() {
        // Run with --nocapture to see the numbers; the asserts pin the chunk counts.
        for (access, want_chunks) in [(false, 2), (true, 3)] {
            let session = realistic(access);
            let json = serde_json::to_vec(&session).unwrap().len();
            let sealed = session.seal(&cipher(), NAME, NONCE).len();
            let chunks = split(NAME, &"x".repeat(sealed), MAX_CHUNK_VALUE).len();
            println!(
                "access_token={access}: json {json} B, sealed {sealed} chars, {chunks} chunks"
            );
            assert_eq!(chunks, want_chunks);
        }
    }
}
