//! The ABI's header-map wire format: a little-endian `u32` count, then one `(u32 key length,
//! u32 value length)` pair per entry, then every key and value followed by a NUL byte.

/// Serializes `pairs` in the ABI format (what the SDK's `deserialize_map` reads).
pub(crate) fn serialize(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let strings: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + strings);
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (key, value) in pairs {
        out.extend_from_slice(&len_u32(key.len()).to_le_bytes());
        out.extend_from_slice(&len_u32(value.len()).to_le_bytes());
    }
    for (key, value) in pairs {
        out.extend_from_slice(key.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// Parses the ABI format. Empty input is an empty map (the SDK sends that for "no trailers");
/// `None` means the bytes are malformed (truncated, or a missing NUL terminator).
///
/// Values stay raw bytes (the SDK's `set_map_bytes` may send any); names are decoded lossily.
pub(crate) fn parse(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = usize::try_from(read_u32(bytes, 0)?).ok()?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    let mut pairs = Vec::with_capacity(count.min(1024));
    for index in 0..count {
        let sizes = 4 + index * 8;
        let key_len = usize::try_from(read_u32(bytes, sizes)?).ok()?;
        let value_len = usize::try_from(read_u32(bytes, sizes + 4)?).ok()?;
        let (key, next) = read_terminated(bytes, data, key_len)?;
        let (value, next) = read_terminated(bytes, next, value_len)?;
        data = next;
        pairs.push((String::from_utf8_lossy(key).into_owned(), value.to_vec()));
    }
    Some(pairs)
}

/// Splits a NUL-separated property path (`["a", "b"]` arrives as `a\0b`) into its parts.
pub(crate) fn split_path(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// Reads `len` bytes at `at` that must be followed by a NUL; returns them and the next offset.
fn read_terminated(bytes: &[u8], at: usize, len: usize) -> Option<(&[u8], usize)> {
    let end = at.checked_add(len)?;
    let text = bytes.get(at..end)?;
    (*bytes.get(end)? == 0).then_some((text, end + 1))
}

/// Lengths in the format are `u32`; header maps never come near 4 GiB, so saturate.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a [u8])> {
        pairs.iter().map(|(k, v)| (*k, v.as_bytes())).collect()
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[rustfmt::skip]
    const TWO_PAIRS: &[u8] = &[
        2, 0, 0, 0,
        5, 0, 0, 0, 1, 0, 0, 0,
        1, 0, 0, 0, 0, 0, 0, 0,
        b':', b'p', b'a', b't', b'h', 0, b'/', 0,
        b'x', 0, 0,
    ];

    #[test]
    fn serializes_the_sdk_layout() {
        assert_eq!(serialize(&raw(&[(":path", "/"), ("x", "")])), TWO_PAIRS);
        assert_eq!(serialize(&[]), [0, 0, 0, 0]);
    }

    #[test]
    fn parses_what_it_serializes_including_duplicates() {
        let cases: &[&[(&str, &str)]] = &[
            &[],
            &[(":method", "GET")],
            &[("cookie", "a=1"), ("cookie", "b=2"), ("x-empty", "")],
        ];
        for case in cases {
            assert_eq!(parse(&serialize(&raw(case))), Some(owned(case)));
        }
    }

    #[test]
    fn rejects_malformed_input() {
        let cases: &[(&str, &[u8])] = &[
            ("short count", &[1, 0]),
            ("count without sizes", &[1, 0, 0, 0]),
            ("truncated strings", &TWO_PAIRS[..TWO_PAIRS.len() - 1]),
            (
                "missing terminator",
                &[1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', 0],
            ),
            ("huge count", &[255, 255, 255, 255]),
        ];
        for (name, bytes) in cases {
            assert_eq!(parse(bytes), None, "{name}");
        }
    }

    #[test]
    fn empty_input_is_an_empty_map() {
        assert_eq!(parse(&[]), Some(Vec::new()));
    }

    #[test]
    fn splits_property_paths() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"", &[]),
            (b"plugin_name", &["plugin_name"]),
            (
                b"node\0metadata\0ISTIO_VERSION",
                &["node", "metadata", "ISTIO_VERSION"],
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(split_path(raw), want.to_vec());
        }
    }
}
