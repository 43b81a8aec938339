//! Go-style durations ("168h", "15m", "1h30m", "5s", "250ms"), the way oauth2-proxy writes them.

/// Parse a Go-style duration into milliseconds. A bare "0" is zero; a bare number without unit is
/// rejected because oauth2-proxy would reject it too and guessing the unit hides mistakes.
pub fn parse_millis(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "0" {
        return Some(0);
    }
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 12 {
            return None;
        }
        let (number, tail) = rest.split_at(digits);
        let value: u64 = number.parse().ok()?;
        let unit_len = tail.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        total = total.checked_add(value.checked_mul(scale)?)?;
        rest = tail;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_millis;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("168h", Some(168 * 3_600_000)),
            ("15m", Some(900_000)),
            ("1h30m", Some(5_400_000)),
            ("5s", Some(5_000)),
            ("250ms", Some(250)),
            ("0", Some(0)),
            ("", None),
            ("10", None),
            ("5d", None),
            ("h", None),
            ("-5s", None),
            ("9999999999999h", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_millis(text), want, "{text:?}");
        }
    }
}
