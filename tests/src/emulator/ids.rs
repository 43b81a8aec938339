//! Random identifiers and base64url helpers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Unpadded base64url, the encoding of every JWT segment and PKCE challenge.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` random bytes as unpadded base64url. Codes and refresh tokens use this: 32 bytes make
/// them unguessable, which is what stops code and token injection by guessing.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    b64url(&bytes)
}

/// A random version-4 GUID, lower case, like Entra's trace and correlation ids.
pub fn random_guid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    guid_from_bytes(b)
}

/// A version-4-shaped GUID derived from `seed` (SHA-256), so directories built from names
/// (group ids, object ids) are the same in every run and every process.
pub fn derived_guid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    guid_from_bytes(b)
}

fn guid_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// True for the 8-4-4-4-12 hex GUID form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_guids_are_guids_and_differ() {
        let a = random_guid();
        assert!(is_guid(&a), "{a}");
        assert_ne!(a, random_guid());
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn derived_guids_are_stable_guids_that_depend_on_the_seed() {
        let a = derived_guid("groups250@contoso.example|group|0");
        assert!(is_guid(&a), "{a}");
        assert_eq!(a, derived_guid("groups250@contoso.example|group|0"));
        assert_ne!(a, derived_guid("groups250@contoso.example|group|1"));
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn guid_shape_table() {
        let cases = [
            ("11111111-1111-1111-1111-111111111111", true),
            ("9188040D-6C67-4C5B-B112-36A304B66DAD", true),
            ("common", false),
            ("11111111-1111-1111-1111-11111111111", false),
            ("1111111g-1111-1111-1111-111111111111", false),
            ("11111111111111111111111111111111", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_guid(s), want, "{s}");
        }
    }

    #[test]
    fn random_token_length_matches_byte_count() {
        assert_eq!(random_token(32).len(), 43);
        assert_ne!(random_token(32), random_token(32));
    }
}
