//! The per-VM cache of verified bearer tokens, so an API client calling in a loop costs one RSA
//! verification per token, not one per request.
//!
//! Keys are SHA-256 digests of the token: the cache never holds a usable credential, so a memory
//! dump or a debug print of it hands out no tokens. Lookups compare digests in ordinary (not
//! constant) time on purpose: learning the digest of someone's token does not help to forge it,
//! that would take a SHA-256 preimage.
//!
//! Only tokens whose signature and claims verified are stored. Rejected tokens are not cached
//! (not even negatively): anyone can mint garbage at no cost, so negative entries would let a
//! client flush the good ones out, and rejecting them is cheap anyway (malformed, foreign
//! algorithm, unknown `kid`, wrong issuer or tenant are all refused before any RSA work).

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use super::Verdict;

/// How many tokens one VM remembers. A session holds at most a few KiB (200 group ids when a
/// token is full), so the worst case is a few MiB per worker.
pub const CAPACITY: usize = 1024;

/// How long a verified token is trusted without checking it again, at most (its `exp` may end
/// it sooner). This bounds how long a token keeps working after its signing key is withdrawn
/// from the provider's key set.
pub const TTL_SECS: u64 = 300;

/// SHA-256 of the token bytes.
pub type TokenDigest = [u8; 32];

/// The digest a token is cached under.
pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// Verified tokens, per VM, so repeated calls with the same token do not run RSA again.
/// Bounded at [`CAPACITY`]; when full, the entry stored first goes.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: BTreeMap<TokenDigest, Entry>,
    /// Insertion number → digest: the first key is the oldest entry.
    order: BTreeMap<u64, TokenDigest>,
    next: u64,
}

#[derive(Debug)]
struct Entry {
    verdict: Verdict,
    valid_until: u64,
    seq: u64,
}

impl TokenCache {
    /// The verdict for `key` while it is still valid at `now`; expired entries are dropped.
    pub(super) fn get(&mut self, key: &TokenDigest, now: u64) -> Option<Verdict> {
        let entry = self.entries.get(key)?;
        if now < entry.valid_until {
            return Some(entry.verdict.clone());
        }
        let seq = entry.seq;
        self.entries.remove(key);
        self.order.remove(&seq);
        None
    }

    /// Remember `verdict` for `key` until `valid_until` (Unix seconds), evicting the oldest
    /// entry when full.
    pub(super) fn insert(&mut self, key: TokenDigest, verdict: Verdict, valid_until: u64) {
        if let Some(old) = self.entries.remove(&key) {
            self.order.remove(&old.seq);
        }
        while self.entries.len() >= CAPACITY {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let seq = self.next;
        self.next = self.next.wrapping_add(1);
        self.order.insert(seq, key);
        self.entries.insert(
            key,
            Entry {
                verdict,
                valid_until,
                seq,
            },
        );
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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

    fn allowed(user: &str) -> Verdict {
        Verdict::Allowed(Box::new(Session {
            user: user.into(),
            ..Default::default()
        }))
    }

    fn user_of(verdict: Option<Verdict>) -> Option<String> {
        match verdict {
            Some(Verdict::Allowed(session)) => Some(session.user),
            _ => None,
        }
    }

    #[test]
    fn entries_live_until_their_deadline_and_not_a_second_longer() {
        let mut cache = TokenCache::default();
        cache.insert(digest("a"), allowed("alice"), 100);
        let cases = [
            (0, Some("alice")),
            (99, Some("alice")),
            (100, None),
            (99, None),
        ];
        for (now, want) in cases {
            assert_eq!(
                user_of(cache.get(&digest("a"), now)).as_deref(),
                want,
                "at {now}"
            );
        }
        assert!(cache.is_empty(), "an expired entry is dropped, not kept");
    }

    #[test]
    fn a_full_cache_evicts_the_oldest_entry_only() {
        let mut cache = TokenCache::default();
        for i in 0..CAPACITY {
            cache.insert(digest(&i.to_string()), allowed(&i.to_string()), 1000);
        }
        // Re-inserting an entry makes it the newest.
        cache.insert(digest("0"), allowed("0"), 1000);
        cache.insert(digest("new"), allowed("new"), 1000);
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(&digest("1"), 0).is_none(), "oldest went");
        for key in ["0", "2", "new"] {
            assert_eq!(user_of(cache.get(&digest(key), 0)).as_deref(), Some(key));
        }
    }

    #[test]
    fn denials_are_cached_like_successes_and_keys_are_digests() {
        let mut cache = TokenCache::default();
        let denied = Verdict::Denied {
            user: "bob".into(),
            denial: Denial::GroupOverage,
        };
        cache.insert(digest("t"), denied, 10);
        assert!(matches!(
            cache.get(&digest("t"), 5),
            Some(Verdict::Denied { user, denial: Denial::GroupOverage }) if user == "bob"
        ));
        assert!(cache.get(&digest("u"), 5).is_none());
        assert_ne!(digest("t"), digest("u"));
        assert_eq!(digest("").len(), 32);
    }
}
