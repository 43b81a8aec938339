//! The per-VM cache of verified bearer tokens, so an API client calling in a loop costs one RSA
//! verification per token, not one per request, and one rendering of its identity headers.
//!
//! Keys are the exact token bytes (see [`ExactCache`]): hashing a 9 KB Entra token with SHA-256
//! inside wasm cost more than the rest of the request path together, so the lookup compares
//! bytes instead. The cache therefore holds tokens, like the session cache holds sealed
//! cookies: only ones that verified, for at most [`TTL_SECS`], in memory where the request
//! carrying them already sat, and its `Debug` prints none of them.
//!
//! Only tokens whose signature and claims verified are stored. Rejected tokens are not cached
//! (not even negatively): anyone can mint garbage at no cost, so negative entries would let a
//! client flush the good ones out, and rejecting them is cheap anyway (malformed, foreign
//! algorithm, unknown `kid`, wrong issuer or tenant are all refused before any RSA work).

use std::cell::OnceCell;
use std::rc::Rc;

use crate::flow::exact_cache::ExactCache;
use crate::flow::prepared::Prepared;

use super::Verdict;

/// How many tokens one VM remembers. An entry holds the token, its identity and the headers
/// rendered for it: with a full Entra token (200 groups, ~9 KB) about 25 KB, so at most ~6 MiB
/// per worker. API clients reuse a token for its hour, so 256 distinct tokens per worker within
/// [`TTL_SECS`] is a lot; past that, the cost is one RSA verification per evicted token.
pub const CAPACITY: usize = 256;

/// How long a verified token is trusted without checking it again, at most (its `exp` may end
/// it sooner). This bounds how long a token keeps working after its signing key is withdrawn
/// from the provider's key set.
pub const TTL_SECS: u64 = 300;

/// What the cache knows about one verified token.
#[derive(Debug)]
pub struct Checked {
    /// What the token may do.
    pub(super) verdict: Verdict,
    /// The headers forwarding it sets, rendered by the first request that forwards it.
    pub(super) prepared: OnceCell<Rc<Prepared>>,
}

impl Checked {
    /// A verdict not yet used to forward.
    pub(super) fn new(verdict: Verdict) -> Self {
        Checked {
            verdict,
            prepared: OnceCell::new(),
        }
    }
}

/// Verified tokens, per VM, so repeated calls with the same token do not run RSA again.
/// Bounded at [`CAPACITY`]; when full, the entry stored first goes.
#[derive(Debug)]
pub struct TokenCache(ExactCache<Rc<Checked>>);

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache(ExactCache::new(CAPACITY))
    }
}

impl TokenCache {
    /// What is known about `token` while its entry is still valid at `now`.
    pub(super) fn get(&self, token: &str, now: u64) -> Option<Rc<Checked>> {
        self.0.get(&[token], now).cloned()
    }

    /// Remember `checked` for `token` until `valid_until` (Unix seconds), evicting the oldest
    /// entry when full.
    pub(super) fn insert(&mut self, token: &str, checked: Rc<Checked>, valid_until: u64) {
        self.0.insert(token.to_string(), checked, valid_until);
    }

    /// How many tokens are cached (expired ones until they are overwritten).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::flow::bearer::Denial;
    use crate::session::Session;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn allowed(user: &str) -> Rc<Checked> {
        Rc::new(Checked::new(Verdict::Allowed(Box::new(Session {
            user: user.into(),
            ..Default::default()
        }))))
    }

    fn user_of(checked: Option<Rc<Checked>>) -> Option<String> {
        match &checked?.verdict {
            Verdict::Allowed(session) => Some(session.user.clone()),
            Verdict::Denied { .. } => None,
        }
    }

    #[test]
    fn entries_live_until_their_deadline_and_not_a_second_longer() {
        let mut cache = TokenCache::default();
        cache.insert("a", allowed("alice"), 100);
        for (now, want) in [(0, Some("alice")), (99, Some("alice")), (100, None)] {
            assert_eq!(user_of(cache.get("a", now)).as_deref(), want, "at {now}");
        }
    }

    #[test]
    fn a_full_cache_evicts_the_oldest_entry_only() {
        let mut cache = TokenCache::default();
        for i in 0..CAPACITY {
            cache.insert(&format!("token-{i}"), allowed(&i.to_string()), 1000);
        }
        cache.insert("token-new", allowed("new"), 1000);
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get("token-0", 0).is_none(), "oldest went");
        let last = CAPACITY - 1;
        for (token, user) in [
            ("token-1".to_string(), "1".to_string()),
            (format!("token-{last}"), last.to_string()),
            ("token-new".to_string(), "new".to_string()),
        ] {
            assert_eq!(user_of(cache.get(&token, 0)), Some(user));
        }
    }

    #[test]
    fn denials_are_cached_like_successes_and_only_the_exact_token_hits() {
        let mut cache = TokenCache::default();
        let denied = Verdict::Denied {
            user: "bob".into(),
            denial: Denial::GroupOverage,
        };
        cache.insert("hdr.payload.sig", Rc::new(Checked::new(denied)), 10);
        assert!(matches!(
            cache.get("hdr.payload.sig", 5).as_deref().map(|c| &c.verdict),
            Some(Verdict::Denied { user, denial: Denial::GroupOverage }) if user == "bob"
        ));
        for other in ["hdr.payloaX.sig", "hdr.payload.sig ", "hdr.payload.si"] {
            assert!(cache.get(other, 5).is_none(), "{other}");
        }
        assert!(
            !format!("{cache:?}").contains("payload"),
            "no token in Debug"
        );
    }
}
