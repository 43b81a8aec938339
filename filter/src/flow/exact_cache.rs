//! A bounded per-VM cache keyed by the exact bytes of a credential (a sealed session cookie, a
//! bearer token), for work that depends only on those bytes and the configuration.
//!
//! Why exact bytes and not a digest: a signed-in request must cost close to nothing, and inside
//! wasm hashing a 9 KB token with SHA-256 costs more than everything else on that path. The
//! lookup instead hashes a few dozen bytes (a fingerprint) and then compares the whole key byte
//! for byte, so a value that differs anywhere — a forged cookie, a token with another payload
//! under a copied signature — can never hit another value's entry. Callers store only values
//! that verified, so nobody can fill the cache at no cost; a fingerprint collision costs a miss,
//! never a wrong answer. The keys are credentials, so the cache's `Debug` prints none of them.

use std::collections::HashMap;
use std::fmt;

/// Bytes from each end of the key that go into the fingerprint: a sealed cookie starts with its
/// random 24-byte nonce, a JWT ends with its signature, so either end tells values apart.
const FINGERPRINT_BYTES: usize = 32;

/// A key given as consecutive parts (the chunks of a session cookie), so a lookup needs no
/// concatenation.
pub type KeyParts<'a> = &'a [&'a str];

/// The cache: at most `capacity` entries; when full, the oldest insertion goes.
pub struct ExactCache<V> {
    slots: Vec<Slot<V>>,
    /// Fingerprint → slot. A colliding insert takes the fingerprint over; the older entry then
    /// just ages out.
    index: HashMap<u64, usize>,
    /// The slot the next insert overwrites once every slot is used.
    next: usize,
    capacity: usize,
}

struct Slot<V> {
    fingerprint: u64,
    key: Box<str>,
    value: V,
    valid_until: u64,
}

impl<V> ExactCache<V> {
    /// An empty cache that holds at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        ExactCache {
            slots: Vec::new(),
            index: HashMap::new(),
            next: 0,
            capacity: capacity.max(1),
        }
    }

    /// The value stored for exactly `parts` (concatenated), while `now` is before its end. The
    /// parts may be bytes not yet known to be text: a hit proves they are the stored key's text.
    pub fn get<P: AsRef<[u8]>>(&self, parts: &[P], now: u64) -> Option<&V> {
        let fingerprint = fingerprint(parts);
        let slot = self.slots.get(*self.index.get(&fingerprint)?)?;
        (slot.fingerprint == fingerprint && now < slot.valid_until && equals(&slot.key, parts))
            .then_some(&slot.value)
    }

    /// Remember `value` for `key` until `valid_until` (Unix seconds, exclusive).
    pub fn insert(&mut self, key: String, value: V, valid_until: u64) {
        let fingerprint = fingerprint(&[key.as_str()]);
        let slot = Slot {
            fingerprint,
            key: key.into_boxed_str(),
            value,
            valid_until,
        };
        let position = match self.index.get(&fingerprint) {
            // The same fingerprint (the same key, or a collision): reuse its slot.
            Some(&at) if at < self.slots.len() => at,
            _ if self.slots.len() < self.capacity => {
                self.slots.push(slot);
                self.index.insert(fingerprint, self.slots.len() - 1);
                return;
            }
            _ => {
                let at = self.next;
                self.next = (self.next + 1) % self.capacity;
                at
            }
        };
        if let Some(old) = self.slots.get_mut(position) {
            if self.index.get(&old.fingerprint) == Some(&position) {
                self.index.remove(&old.fingerprint);
            }
            *old = slot;
            self.index.insert(fingerprint, position);
        }
    }

    /// Number of entries (expired ones included until they are overwritten).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing was stored yet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

impl<V> fmt::Debug for ExactCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExactCache")
            .field("entries", &self.slots.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The total length and up to [`FINGERPRINT_BYTES`] from each end of the key, mixed eight bytes
/// at a time (FNV-style multiply). Not collision resistant, and it need not be: a hit still
/// compares the whole key. The ends are first gathered into one buffer, because a chunked key
/// may split them anywhere.
fn fingerprint<P: AsRef<[u8]>>(parts: &[P]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let total: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    let mut ends = [0u8; 2 * FINGERPRINT_BYTES];
    // Byte ranges of the whole key, mapped onto the parts without walking what lies between;
    // a key shorter than both ends together leaves zeros, and its length still tells apart.
    let ranges = [
        (0, FINGERPRINT_BYTES.min(total)),
        (total.saturating_sub(FINGERPRINT_BYTES), total),
    ];
    let mut filled = 0;
    for (from, to) in ranges {
        let mut offset = 0;
        for part in parts {
            let part = part.as_ref();
            let start = from.max(offset) - offset;
            let end = to.min(offset + part.len()).saturating_sub(offset);
            let piece = part.get(start..end).unwrap_or_default();
            if let Some(slot) = ends.get_mut(filled..filled + piece.len()) {
                slot.copy_from_slice(piece);
                filled += piece.len();
            }
            offset += part.len();
        }
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ total as u64;
    for word in ends.chunks_exact(8) {
        let word = <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes);
        hash = (hash ^ word).wrapping_mul(PRIME);
        // Fold the high bits down, so every input byte reaches the low bits of the index.
        hash ^= hash >> 29;
    }
    hash
}

/// Whether `key` is exactly the concatenation of `parts`.
fn equals<P: AsRef<[u8]>>(key: &str, parts: &[P]) -> bool {
    let total: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    if total != key.len() {
        return false;
    }
    let mut rest = key.as_bytes();
    for part in parts {
        let part = part.as_ref();
        // The lengths add up (checked above), so this never fails; no panic path either way.
        let Some((here, after)) = rest.split_at_checked(part.len()) else {
            return false;
        };
        if !crate::words::equal(here, part) {
            return false;
        }
        rest = after;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn value_of(i: usize) -> String {
        format!("{i:040}-{}", "x".repeat(i % 7))
    }

    #[test]
    fn hits_only_the_exact_value_in_any_split_before_its_end() {
        let mut cache = ExactCache::new(4);
        let key =
            "nonce-nonce-nonce-nonce-nonce-nonce-body-body-body-body-tag-tag-tag-tag-tag-tag-tag";
        cache.insert(key.to_string(), 7, 100);
        assert_eq!(cache.get(&[key], 99), Some(&7));
        let (a, b) = key.split_at(30);
        let (b, c) = b.split_at(17);
        assert_eq!(
            cache.get(&[a, b, c], 99),
            Some(&7),
            "chunks of the same value"
        );
        assert_eq!(cache.get(&[key], 100), None, "the end is exclusive");
        // Same length, same ends, one byte different in the middle: same fingerprint, no hit.
        let forged = key.replacen("body-body", "body-bodx", 1);
        assert_eq!(fingerprint(&[&forged]), fingerprint(&[key]));
        assert_eq!(cache.get(&[&forged], 0), None);
        assert_eq!(cache.get(&[&key[1..]], 0), None);
        assert_eq!(cache.get(&[key, "x"], 0), None);
        assert_eq!(cache.get::<&str>(&[], 0), None);
        // Raw bytes find the same entry; bytes that are not the key (here not even UTF-8) miss.
        assert_eq!(cache.get(&[key.as_bytes()], 99), Some(&7));
        let mut bad = key.as_bytes().to_vec();
        bad[40] = 0xff;
        assert_eq!(cache.get(&[bad.as_slice()], 99), None);
    }

    #[test]
    fn stays_bounded_and_the_oldest_goes_first() {
        let mut cache = ExactCache::new(3);
        for i in 0..3 {
            cache.insert(value_of(i), i, 100);
        }
        cache.insert(value_of(3), 3, 100);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&[&value_of(0)], 0), None, "the oldest made room");
        for i in 1..4 {
            assert_eq!(cache.get(&[&value_of(i)], 0), Some(&i));
        }
        for i in 4..50 {
            cache.insert(value_of(i), i, 100);
            assert_eq!(cache.get(&[&value_of(i)], 0), Some(&i));
            assert_eq!(cache.get(&[&value_of(i - 3)], 0), None);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.index.len(), 3, "the index forgets evicted entries");
    }

    #[test]
    fn storing_a_value_again_replaces_it_in_place() {
        let mut cache = ExactCache::new(2);
        cache.insert(value_of(1), "old", 10);
        cache.insert(value_of(1), "new", 20);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&[&value_of(1)], 15), Some(&"new"));
    }

    #[test]
    fn debug_output_holds_no_key() {
        let mut cache = ExactCache::new(2);
        cache.insert("secret-cookie-value".to_string(), (), 10);
        assert!(!format!("{cache:?}").contains("secret"));
    }
}
