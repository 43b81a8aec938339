//! Turning fuzz bytes into requests: a plain-text format that seed files can be written in and
//! libFuzzer can splice meaningfully (valid cookies move between requests intact).
//!
//! ```text
//! #flags                 optional; b = configuration B, r = provider keys old enough for an
//!                        unknown-kid refetch, x = the host has no entropy, j = that refetch
//!                        fails, n = provider metadata not loaded yet
//! :method: GET           one header per line, `name: value` (names may start with ':')
//! :path: /oauth2/callback?code=c&state=s
//! cookie: _oauth2_proxy_csrf=…
//!                        an empty line ends the headers; what follows is the token endpoint's
//! 200                    answer (status line, then body), used if the request gets that far
//! {"access_token":…}
//! ```

use entra_proxy_wasm::flow::entropy::EntropyError;
use entra_proxy_wasm::flow::{CallResponse, Entropy};

use crate::fixtures::Variant;

/// A request and what the world answers while it is handled.
#[derive(Debug, Clone)]
pub struct FlowInput {
    /// Which configuration applies.
    pub variant: Variant,
    /// Whether the provider's keys are old enough for an unknown-`kid` refetch.
    pub old_keys: bool,
    /// Whether [`Counter`] refuses to produce bytes.
    pub entropy_fails: bool,
    /// Whether the JWKS refetch answers 500 instead of the rotated JWKS.
    pub jwks_fails: bool,
    /// Whether discovery and keys are still missing.
    pub no_provider: bool,
    /// Request headers, pseudo-headers included.
    pub headers: Vec<(String, String)>,
    /// The token endpoint's answer.
    pub token_response: CallResponse,
}

impl FlowInput {
    /// Whether Envoy would hand this request to a filter at all. Its codecs answer 400 on their
    /// own for a request-target that does not start with '/', holds whitespace, control
    /// characters or a fragment, and a request has exactly one `:path`; the filter is not the
    /// line of defence for those, so the target skips them rather than report noise.
    pub fn envoy_accepts(&self) -> bool {
        let mut paths = self.headers.iter().filter(|(n, _)| n == ":path");
        let valid = |path: &str| {
            path.starts_with('/') && !path.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#')
        };
        match (paths.next(), paths.next()) {
            (None, _) => true,
            (Some((_, path)), None) => valid(path),
            (Some(_), Some(_)) => false,
        }
    }
}

/// Parse the text format above. Never fails: anything unparsable is skipped.
pub fn parse_flow(data: &[u8]) -> FlowInput {
    let text = String::from_utf8_lossy(data);
    let (head, tail) = match text.split_once("\n\n") {
        Some((head, tail)) => (head, tail),
        None => (text.as_ref(), ""),
    };
    let mut lines = head.split('\n').peekable();
    let mut flags = "";
    if let Some(first) = lines.peek() {
        if let Some(rest) = first.strip_prefix('#') {
            flags = rest;
            lines.next();
        }
    }
    let headers = lines.filter_map(header_line).collect();
    let (status, body) = tail.split_once('\n').unwrap_or((tail, ""));
    FlowInput {
        variant: if flags.contains('b') {
            Variant::B
        } else {
            Variant::A
        },
        old_keys: flags.contains('r'),
        entropy_fails: flags.contains('x'),
        jwks_fails: flags.contains('j'),
        no_provider: flags.contains('n'),
        headers,
        token_response: CallResponse {
            status: status.trim().parse().unwrap_or(0),
            body: body.as_bytes().to_vec(),
            retry_after: None,
        },
    }
}

/// Header lines of the text format (without flags or a body), for targets that only need
/// headers.
pub fn parse_headers(data: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(data)
        .split('\n')
        .filter_map(header_line)
        .collect()
}

/// `name: value`. Bytes Envoy's codecs never let through in a header (CR, LF, NUL and the other
/// control characters except tab) are dropped, so the filter sees only what Envoy could hand it.
fn header_line(line: &str) -> Option<(String, String)> {
    let split_from = usize::from(line.starts_with(':'));
    let colon = line.get(split_from..)?.find(':')? + split_from;
    let name = clean(line.get(..colon)?);
    let value = clean(line.get(colon + 1..)?.trim_start_matches(' '));
    (!name.is_empty()).then_some((name, value))
}

fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| *c == '\t' || !c.is_ascii_control())
        .collect()
}

/// Deterministic "random" bytes (a counter), or none at all.
#[derive(Debug, Default)]
pub struct Counter {
    next: u8,
    /// When set, every call fails like a host without randomness.
    pub fails: bool,
}

impl Counter {
    /// A counter starting at 0.
    pub fn new(fails: bool) -> Self {
        Counter { next: 0, fails }
    }
}

impl Entropy for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        if self.fails {
            return Err(EntropyError);
        }
        for byte in buf {
            *byte = self.next;
            self.next = self.next.wrapping_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_headers_and_the_token_answer() {
        let input = parse_flow(
            b"#br\n:path: /x?a=b:c\nCookie: a=1\nbad line\nx-id:\x01v\n\n200\n{\"a\":1}\n",
        );
        assert_eq!(input.variant, Variant::B);
        assert!(input.old_keys && !input.entropy_fails && !input.jwks_fails);
        let want = [(":path", "/x?a=b:c"), ("Cookie", "a=1"), ("x-id", "v")];
        let got: Vec<(&str, &str)> = input
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(input.token_response.status, 200);
        assert_eq!(input.token_response.body, b"{\"a\":1}\n");
    }

    #[test]
    fn no_flags_means_configuration_a() {
        let input = parse_flow(b":path: /");
        assert_eq!(input.variant, Variant::A);
        assert_eq!(input.token_response.status, 0);
    }

    #[test]
    fn envoy_accepts_only_origin_form_paths() {
        let cases: [(&[u8], bool); 7] = [
            (b":path: /a?b=c", true),
            (b"x: y", true),
            (b":path: //evil.com/x", true),
            (b":path: a/b", false),
            (b":path: /a b", false),
            (b":path: /a#f", false),
            (b":path: /a\n:path: /b", false),
        ];
        for (data, want) in cases {
            let shown = String::from_utf8_lossy(data);
            assert_eq!(parse_flow(data).envoy_accepts(), want, "{shown:?}");
        }
    }

    #[test]
    fn counter_counts_or_fails() {
        let mut rng = Counter::new(false);
        let mut buf = [9u8; 3];
        assert!(rng.fill(&mut buf).is_ok());
        assert_eq!(buf, [0, 1, 2]);
        assert!(Counter::new(true).fill(&mut buf).is_err());
    }
}
