//! An ordered header map with Envoy's editing rules.

/// An ordered list of header entries that allows duplicates (several `cookie` headers, say).
///
/// Names are stored lower-case and looked up case-insensitively, because Envoy lower-cases every
/// name that crosses the ABI (`Http::LowerCaseString`). Editing follows Envoy's `HeaderMapImpl`:
/// pseudo-headers (`:path`, …) stay in front of regular ones, `replace` removes every entry of
/// the name and appends one (`setCopy`), `add` appends (`addCopy`).
///
/// Values are kept as raw bytes (Envoy allows non-UTF-8 values, and the SDK's `*_bytes`
/// accessors pass them through); the `&str` views decode them lossily (U+FFFD), `get_bytes`
/// returns them exactly.
///
/// Envoy merges some built-in "inline" headers when a second value is added; the shim keeps
/// every entry separate, which is the stricter view for a filter that must look at all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderMap {
    /// Names and lossily decoded values.
    entries: Vec<(String, String)>,
    /// The exact value bytes, index for index with `entries`.
    raw: Vec<Vec<u8>>,
}

impl HeaderMap {
    /// An empty map.
    pub fn new() -> HeaderMap {
        HeaderMap::default()
    }

    /// A map holding `pairs` in order, names lower-cased.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.add(name.as_ref(), value.as_ref().as_bytes());
        }
        map
    }

    /// Like [`HeaderMap::from_pairs`], with values as raw bytes (for non-UTF-8 values).
    pub fn from_raw_pairs<K: AsRef<str>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.add(name.as_ref(), value.as_ref());
        }
        map
    }

    /// The first value of `name`, as `proxy_get_header_map_value` returns it.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The exact bytes of the first value of `name`.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        let name = name.to_ascii_lowercase();
        let index = self.entries.iter().position(|(k, _)| *k == name)?;
        self.raw.get(index).map(Vec::as_slice)
    }

    /// Every value of `name`, in order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether at least one entry is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All entries in order (values lossily decoded).
    pub fn pairs(&self) -> &[(String, String)] {
        &self.entries
    }

    /// All entries in order, values as exact bytes.
    pub fn raw_pairs(&self) -> Vec<(&str, &[u8])> {
        self.entries
            .iter()
            .zip(&self.raw)
            .map(|((k, _), v)| (k.as_str(), v.as_slice()))
            .collect()
    }

    /// Iterates over `(name, value)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries, duplicates included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends an entry (Envoy `addCopy`); a pseudo-header goes after the last pseudo-header.
    pub(crate) fn add(&mut self, name: &str, value: &[u8]) {
        let name = name.to_ascii_lowercase();
        let at = if name.starts_with(':') {
            self.entries
                .iter()
                .take_while(|(k, _)| k.starts_with(':'))
                .count()
        } else {
            self.entries.len()
        };
        let text = String::from_utf8_lossy(value).into_owned();
        self.entries.insert(at, (name, text));
        self.raw.insert(at, value.to_vec());
    }

    /// Removes every entry named `name`, then adds one (Envoy `setCopy`).
    pub(crate) fn replace(&mut self, name: &str, value: &[u8]) {
        self.remove(name);
        self.add(name, value);
    }

    /// Removes every entry named `name`.
    pub(crate) fn remove(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        let keep: Vec<bool> = self.entries.iter().map(|(k, _)| *k != name).collect();
        let mut flags = keep.iter();
        self.entries
            .retain(|_| flags.next().copied().unwrap_or(true));
        let mut flags = keep.iter();
        self.raw.retain(|_| flags.next().copied().unwrap_or(true));
    }

    /// Replaces the whole map (Envoy `setHeaderMapPairs`: remove all, then add each).
    pub(crate) fn set_all(&mut self, pairs: &[(String, Vec<u8>)]) {
        self.entries.clear();
        self.raw.clear();
        for (name, value) in pairs {
            self.add(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_return_the_first_value() {
        let map = HeaderMap::from_pairs(&[("Cookie", "a=1"), ("X-A", "1"), ("cookie", "b=2")]);
        assert_eq!(map.get("COOKIE"), Some("a=1"));
        assert_eq!(map.get_all("cookie"), vec!["a=1", "b=2"]);
        assert!(map.contains("x-a"));
        assert!(!map.contains("x-b"));
        assert_eq!(map.pairs()[0].0, "cookie");
    }

    #[test]
    fn edits_follow_envoy() {
        struct Case {
            name: &'static str,
            edit: fn(&mut HeaderMap),
            want: &'static [(&'static str, &'static str)],
        }
        let start = [(":path", "/"), ("a", "1"), ("b", "2"), ("a", "3")];
        let cases = [
            Case {
                name: "replace drops duplicates and appends",
                edit: |m| m.replace("A", b"9"),
                want: &[(":path", "/"), ("b", "2"), ("a", "9")],
            },
            Case {
                name: "add appends a duplicate",
                edit: |m| m.add("b", b"4"),
                want: &[
                    (":path", "/"),
                    ("a", "1"),
                    ("b", "2"),
                    ("a", "3"),
                    ("b", "4"),
                ],
            },
            Case {
                name: "pseudo-headers stay in front",
                edit: |m| m.add(":authority", b"h"),
                want: &[
                    (":path", "/"),
                    (":authority", "h"),
                    ("a", "1"),
                    ("b", "2"),
                    ("a", "3"),
                ],
            },
            Case {
                name: "remove drops every entry",
                edit: |m| m.remove("a"),
                want: &[(":path", "/"), ("b", "2")],
            },
            Case {
                name: "set_all replaces everything",
                edit: |m| m.set_all(&[("Z".to_string(), b"1".to_vec())]),
                want: &[("z", "1")],
            },
        ];
        for case in cases {
            let mut map = HeaderMap::from_pairs(&start);
            (case.edit)(&mut map);
            assert_eq!(map, HeaderMap::from_pairs(case.want), "{}", case.name);
        }
    }

    #[test]
    fn raw_values_survive_and_read_lossily() {
        let mut map = HeaderMap::from_raw_pairs(&[("x", &b"a\xffb"[..]), ("y", b"ok")]);
        assert_eq!(map.get_bytes("X"), Some(&b"a\xffb"[..]));
        assert_eq!(map.get("x"), Some("a\u{fffd}b"));
        map.remove("x");
        assert_eq!(map.raw_pairs(), vec![("y", &b"ok"[..])]);
        assert_eq!(map.pairs(), &[("y".to_string(), "ok".to_string())]);
    }
}
