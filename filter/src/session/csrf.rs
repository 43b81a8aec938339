//! The CSRF cookie: binds one sign-in attempt (state, OIDC nonce, PKCE verifier, return URL) to
//! the browser that started it, so a callback carrying someone else's code or state is refused.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::crypto::{b64url, open_json, seal_json, CookieCipher, CookieError, NONCE_LEN};

/// Name of the CSRF cookie for a session cookie called `cookie_name` (`<cookie_name>_csrf`).
pub fn csrf_cookie_name(cookie_name: &str) -> String {
    format!("{cookie_name}_csrf")
}

/// One sign-in attempt, sealed into the CSRF cookie (`<cookie_name>_csrf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsrfState {
    /// Random `state` sent to the authorization endpoint; the callback must echo it.
    pub state: String,
    /// Random OIDC `nonce`; the ID token must carry it (stops ID-token replay).
    pub nonce: String,
    /// PKCE verifier sent with the code redemption.
    pub code_verifier: String,
    /// Where to send the browser after sign-in (already validated).
    pub return_to: String,
    /// Unix seconds after which this attempt is dead.
    pub expires_at: u64,
}

impl CsrfState {
    /// Seal for the CSRF cookie. `cookie_name` is the configured session cookie name; the value
    /// is bound to `<cookie_name>_csrf` (see [`csrf_cookie_name`]) so it can never open as a
    /// session cookie, nor a session as a CSRF cookie.
    pub fn seal(&self, cipher: &CookieCipher, cookie_name: &str, nonce: [u8; NONCE_LEN]) -> String {
        seal_json(cipher, &csrf_cookie_name(cookie_name), self, nonce)
    }

    /// Open a CSRF cookie value sealed by [`CsrfState::seal`] with the same `cookie_name`.
    /// An attempt older than its `expires_at` is [`CookieError::Expired`].
    pub fn open(
        cipher: &CookieCipher,
        cookie_name: &str,
        value: &str,
        now: u64,
    ) -> Result<CsrfState, CookieError> {
        let csrf: CsrfState = open_json(cipher, &csrf_cookie_name(cookie_name), value)?;
        if now >= csrf.expires_at {
            return Err(CookieError::Expired);
        }
        Ok(csrf)
    }

    /// Constant-time comparison of the `state` query parameter against the bound state.
    ///
    /// Constant time so response timing cannot be used to guess the state byte by byte; an
    /// empty bound state never matches (a default-constructed value must not accept `state=`).
    pub fn state_matches(&self, state_param: &str) -> bool {
        !self.state.is_empty() && bool::from(self.state.as_bytes().ct_eq(state_param.as_bytes()))
    }
}

/// base64url-no-pad of 32 random bytes: used for state and nonce values.
pub fn random_token(bytes: &[u8; 32]) -> String {
    b64url(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn cipher() -> CookieCipher {
        CookieCipher::new(&[vec![3; 32]])
    }

    fn attempt() -> CsrfState {
        CsrfState {
            state: random_token(&[1; 32]),
            nonce: random_token(&[2; 32]),
            code_verifier: super::super::pkce::verifier(&[3; 32]),
            return_to: "/app?x=1".to_string(),
            expires_at: 1_000,
        }
    }

    #[test]
    fn round_trip_before_expiry() {
        let sealed = attempt().seal(&cipher(), "_oauth2_proxy", [9; NONCE_LEN]);
        assert_eq!(
            CsrfState::open(&cipher(), "_oauth2_proxy", &sealed, 999),
            Ok(attempt())
        );
    }

    #[test]
    fn open_errors() {
        let c = cipher();
        let sealed = attempt().seal(&c, "_oauth2_proxy", [9; NONCE_LEN]);
        let as_session = c.seal("_oauth2_proxy", b"x", [9; NONCE_LEN]);
        let cases: &[(&str, &str, u64, CookieError)] = &[
            ("_oauth2_proxy", &sealed, 1_000, CookieError::Expired),
            ("_oauth2_proxy", &sealed, u64::MAX, CookieError::Expired),
            ("other", &sealed, 0, CookieError::Tampered),
            // A value bound to the session cookie name never opens as a CSRF cookie.
            ("_oauth2_proxy", &as_session, 0, CookieError::Tampered),
            ("_oauth2_proxy", "", 0, CookieError::Malformed),
        ];
        for (name, value, now, want) in cases {
            assert_eq!(
                CsrfState::open(&c, name, value, *now).as_ref(),
                Err(want),
                "{name} {now}"
            );
        }
    }

    #[test]
    fn csrf_value_is_bound_to_the_csrf_cookie_name() {
        let c = cipher();
        let sealed = attempt().seal(&c, "_oauth2_proxy", [9; NONCE_LEN]);
        assert!(c.open("_oauth2_proxy_csrf", &sealed).is_ok());
        assert_eq!(c.open("_oauth2_proxy", &sealed), Err(CookieError::Tampered));
    }

    #[test]
    fn state_matches_table() {
        let bound = attempt();
        let cases = [
            (bound.state.clone(), true),
            (String::new(), false),
            (bound.state[..42].to_string(), false),
            (format!("{}A", bound.state), false),
            (bound.nonce.clone(), false),
            (bound.state.to_lowercase(), false),
        ];
        for (param, want) in cases {
            assert_eq!(bound.state_matches(&param), want, "{param}");
        }
        let empty = CsrfState {
            state: String::new(),
            ..attempt()
        };
        assert!(!empty.state_matches(""));
    }

    #[test]
    fn random_token_is_43_chars_and_varies() {
        assert_eq!(
            random_token(&[0; 32]),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        );
        assert_eq!(random_token(&[0xFB; 32]).len(), 43);
        assert_ne!(random_token(&[1; 32]), random_token(&[2; 32]));
    }
}
