//! Splitting a sealed value over several cookies (`<name>_0`, `<name>_1`, …) and joining it back.
//!
//! Chunks are slices of one sealed value, so the AEAD covers them together: dropping, reordering
//! or mixing chunks from two sessions makes the joined value fail to open.

/// Largest cookie value we emit in one cookie (leaves room for name and attributes under
/// browsers' 4096-byte limit).
///
/// Browsers guarantee at least 4096 bytes per cookie; Chrome and Firefox count name + value,
/// some implementations and proxies count the whole `Set-Cookie` line. 3800 leaves 296 bytes
/// for `<name>_<n>=` (a 64-byte name is generous) plus `Path`, `Domain`, `Expires`, `Max-Age`,
/// `HttpOnly`, `Secure` and `SameSite` (~150 bytes with a long domain), so we stay under 4096
/// either way. oauth2-proxy's 4000 for the whole line is the same budget.
pub const MAX_CHUNK_VALUE: usize = 3800;

/// Most chunks `join` reassembles. Bounds the work one request can cause and matches
/// [`super::crypto::MAX_SEALED_LEN`]; real sessions need 1–3.
pub const MAX_CHUNKS: usize = 64;

/// `[(name, value)]` when it fits, else `[(name_0, part0), (name_1, part1), …]`.
///
/// Cuts only on char boundaries (sealed values are ASCII, so every part is exactly `max_len`
/// bytes except the last). A `max_len` of 0 is treated as 1 so the loop always progresses.
pub fn split(name: &str, value: &str, max_len: usize) -> Vec<(String, String)> {
    if value.len() <= max_len {
        return vec![(name.to_string(), value.to_string())];
    }
    let max_len = max_len.max(1);
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut cut = max_len.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // A single char wider than max_len: emit it whole rather than loop forever.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (part, tail) = rest.split_at(cut);
        parts.push((format!("{name}_{}", parts.len()), part.to_string()));
        rest = tail;
    }
    parts
}

/// Reassemble from the request's cookies (all `Cookie` headers already parsed into pairs, in
/// order). See [`parts`] for which cookies count.
pub fn join(name: &str, cookies: &[(String, String)]) -> Option<String> {
    parts(name, cookies.iter().map(|(n, v)| (n.as_str(), v.as_str()))).map(|p| p.concat())
}

/// The pieces of the sealed value, borrowed from the request's cookies, in order: unchunked
/// `name` wins if present; else `name_0`, `name_1`, … contiguous from 0 (stop at the first
/// gap). None if absent. Bound the work: at most 64 chunks.
///
/// When a cookie name repeats (e.g. set for two paths) the first occurrence is used; a wrong
/// pick just fails to open.
pub fn parts<'a>(
    name: &str,
    cookies: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Vec<&'a str>> {
    // One pass over the cookies instead of one search per index.
    let mut slots: [Option<&str>; MAX_CHUNKS] = [None; MAX_CHUNKS];
    for (cookie_name, value) in cookies {
        if cookie_name == name {
            return Some(vec![value]);
        }
        let Some(index) = chunk_index(name, cookie_name) else {
            continue;
        };
        if let Some(slot) = slots.get_mut(index) {
            slot.get_or_insert(value);
        }
    }
    let parts: Vec<&str> = slots.iter().map_while(|slot| *slot).collect();
    (!parts.is_empty()).then_some(parts)
}

/// Names of every cookie in the request that belongs to this session (`name`, `name_<digits>`),
/// so sign-out and re-sign-in can clear stale chunks. Must NOT match `name_csrf` or other
/// suffixes. Each name appears once, in request order.
pub fn present_names(name: &str, cookies: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (cookie_name, _) in cookies {
        let ours = cookie_name == name || digit_suffix(name, cookie_name).is_some();
        if ours && !names.contains(cookie_name) {
            names.push(cookie_name.clone());
        }
    }
    names
}

/// The `<digits>` of `<name>_<digits>`, if `cookie_name` has that shape.
fn digit_suffix<'a>(name: &str, cookie_name: &'a str) -> Option<&'a str> {
    let digits = cookie_name.strip_prefix(name)?.strip_prefix('_')?;
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    all_digits.then_some(digits)
}

/// Index of a chunk cookie we would have written: canonical decimal (no leading zeros, so
/// `name_01` cannot stand in for `name_1`) and below [`MAX_CHUNKS`].
fn chunk_index(name: &str, cookie_name: &str) -> Option<usize> {
    let digits = digit_suffix(name, cookie_name)?;
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().filter(|i| *i < MAX_CHUNKS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Cookies as written in a table row: `(name, value)` pairs.
    type Jar<'a> = &'a [(&'a str, &'a str)];

    fn pairs(list: Jar) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn split_table() {
        let cases: &[(&str, usize, Jar)] = &[
            ("", 4, &[("s", "")]),
            ("abcd", 4, &[("s", "abcd")]),
            ("abcde", 4, &[("s_0", "abcd"), ("s_1", "e")]),
            ("abcdefgh", 4, &[("s_0", "abcd"), ("s_1", "efgh")]),
            ("abc", 0, &[("s_0", "a"), ("s_1", "b"), ("s_2", "c")]),
            ("aéb", 2, &[("s_0", "a"), ("s_1", "é"), ("s_2", "b")]),
            ("é", 0, &[("s_0", "é")]),
        ];
        for (value, max, want) in cases {
            assert_eq!(split("s", value, *max), pairs(want), "{value} / {max}");
        }
    }

    #[test]
    fn split_then_join_round_trips_large_values() {
        let value: String = (0..20_000)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let parts = split("_oauth2_proxy", &value, MAX_CHUNK_VALUE);
        let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "_oauth2_proxy_0",
                "_oauth2_proxy_1",
                "_oauth2_proxy_2",
                "_oauth2_proxy_3",
                "_oauth2_proxy_4",
                "_oauth2_proxy_5"
            ]
        );
        assert!(parts.iter().all(|(_, v)| v.len() <= MAX_CHUNK_VALUE));
        // Other cookies around and between the chunks, in shuffled order.
        let mut cookies = pairs(&[("other", "x"), ("_oauth2_proxy_csrf", "c")]);
        cookies.extend(parts.iter().rev().cloned());
        assert_eq!(join("_oauth2_proxy", &cookies), Some(value));
    }

    #[test]
    fn join_table() {
        let cases: &[(Jar, Option<&str>)] = &[
            (&[], None),
            (&[("other", "x"), ("s_csrf", "c")], None),
            (&[("s", "whole"), ("s_0", "a"), ("s_1", "b")], Some("whole")),
            (&[("s_0", "a"), ("s", "whole")], Some("whole")),
            (&[("s_0", "a"), ("s_1", "b")], Some("ab")),
            (&[("s_1", "b"), ("s_0", "a")], Some("ab")),
            // Missing middle chunk: stop at the gap (the truncated value then fails to open).
            (&[("s_0", "a"), ("s_2", "c")], Some("a")),
            (&[("s_1", "b"), ("s_2", "c")], None),
            // Duplicates: first wins.
            (&[("s_0", "a"), ("s_0", "z"), ("s_1", "b")], Some("ab")),
            // Non-canonical or foreign suffixes are not chunks.
            (&[("s_00", "a"), ("s_01", "b")], None),
            (&[("s_0", "a"), ("s_01", "b")], Some("a")),
            (
                &[("s_x", "a"), ("s_", "b"), ("s_-1", "c"), ("S_0", "d")],
                None,
            ),
            (&[("s_0", "a"), ("s_1", "")], Some("a")),
        ];
        for (cookies, want) in cases {
            assert_eq!(join("s", &pairs(cookies)).as_deref(), *want, "{cookies:?}");
        }
    }

    #[test]
    fn join_reads_at_most_max_chunks() {
        let cookies: Vec<(String, String)> = (0..MAX_CHUNKS + 10)
            .map(|i| (format!("s_{i}"), "x".to_string()))
            .collect();
        assert_eq!(join("s", &cookies).map(|v| v.len()), Some(MAX_CHUNKS));
    }

    #[test]
    fn present_names_table() {
        let cases: &[(Jar, &[&str])] = &[
            (&[], &[]),
            (
                &[
                    ("s", "v"),
                    ("s_0", "a"),
                    ("s_12", "b"),
                    ("s_csrf", "c"),
                    ("s_0x", "d"),
                    ("s_", "e"),
                    ("sx_0", "f"),
                    ("other", "g"),
                    ("s_0", "dup"),
                ],
                &["s", "s_0", "s_12"],
            ),
            (&[("s_csrf", "c")], &[]),
            (&[("s_007", "x")], &["s_007"]),
        ];
        for (cookies, want) in cases {
            assert_eq!(present_names("s", &pairs(cookies)), *want, "{cookies:?}");
        }
    }
}
