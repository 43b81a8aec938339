//! Request header helpers: cookie parsing, the headers the filter owns (and so strips from
//! every incoming request), and `Set-Cookie` rendering.

use crate::config::{CookieSettings, SameSite};

/// Headers the filter may set on the upstream request. Clients must never be able to send their
/// own copies: an upstream that trusts `X-Forwarded-User` would otherwise believe anyone.
pub const OWNED_HEADERS: &[&str] = &[
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-forwarded-preferred-username",
    "x-forwarded-access-token",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-preferred-username",
    "x-auth-request-access-token",
    "authorization",
];

/// Whether a request header name is one the filter owns. Compared case-insensitively and with `_`
/// equal to `-`, because many upstream frameworks (CGI, WSGI, PHP) fold `X_Forwarded_User` and
/// `X-Forwarded-User` into the same variable.
pub fn is_owned_header(name: &str) -> bool {
    // Every owned name starts with `x` or `a`: most request headers (pseudo-headers, `cookie`,
    // `accept…` aside) are told apart by their first byte, on every request.
    if !matches!(name.as_bytes().first(), Some(b'x' | b'X' | b'a' | b'A')) {
        return false;
    }
    OWNED_HEADERS.iter().any(|owned| {
        owned.len() == name.len()
            && owned.bytes().zip(name.bytes()).all(|(o, n)| {
                let n = n.to_ascii_lowercase();
                o == n || (o == b'-' && n == b'_')
            })
    })
}

/// All `name=value` pairs from every `Cookie` header, in order. HTTP/2 clients send one header
/// per cookie, so every header must be read, not just the first. Malformed pieces are skipped.
pub fn parse_cookies(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, value)| parse_cookie_header(value))
        .collect()
}

/// The pairs of one `Cookie` header value.
pub fn parse_cookie_header(value: &str) -> impl Iterator<Item = (String, String)> + '_ {
    cookie_header_pairs(value).map(|(n, v)| (n.to_string(), v.to_string()))
}

/// The pairs of one `Cookie` header value, borrowed.
fn cookie_header_pairs(value: &str) -> impl Iterator<Item = (&str, &str)> {
    crate::words::split(value, b';').filter_map(cookie_pair)
}

/// One `name=value` piece of a `Cookie` header: name and value trimmed, the value unquoted.
/// None for a piece without `=` or with an empty name.
pub fn cookie_pair(piece: &str) -> Option<(&str, &str)> {
    let (name, value) = piece.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then(|| (name, value.trim().trim_matches('"')))
}

/// First value of a request header (case-insensitive name).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Renders `Set-Cookie` values with the configured attributes.
pub struct CookieWriter<'a> {
    settings: &'a CookieSettings,
    domain: Option<&'a str>,
    now: u64,
}

impl<'a> CookieWriter<'a> {
    /// A writer for a request to `host` (without port) at time `now`.
    pub fn new(settings: &'a CookieSettings, host: &str, now: u64) -> Self {
        let host = host.to_ascii_lowercase();
        let domain = settings
            .domains
            .iter()
            .find(|d| {
                let bare = d.trim_start_matches('.');
                host == bare || host.ends_with(&format!(".{bare}"))
            })
            .map(String::as_str);
        CookieWriter {
            settings,
            domain,
            now,
        }
    }

    /// A cookie that lives `max_age` seconds.
    pub fn set(&self, name: &str, value: &str, max_age: u64) -> String {
        self.render(name, value, max_age, self.now.saturating_add(max_age))
    }

    /// A cookie that the browser must delete now.
    pub fn clear(&self, name: &str) -> String {
        // Expires in the past as well as Max-Age=0: old browsers ignore Max-Age.
        self.render(name, "", 0, self.now.saturating_sub(3600))
    }

    fn render(&self, name: &str, value: &str, max_age: u64, expires: u64) -> String {
        let mut out = format!("{name}={value}; Path={}", self.settings.path);
        if let Some(domain) = self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        out.push_str(&format!(
            "; Expires={}; Max-Age={max_age}",
            http_date(expires)
        ));
        if self.settings.httponly {
            out.push_str("; HttpOnly");
        }
        if self.settings.secure {
            out.push_str("; Secure");
        }
        match self.settings.samesite {
            Some(SameSite::Lax) => out.push_str("; SameSite=Lax"),
            Some(SameSite::Strict) => out.push_str("; SameSite=Strict"),
            Some(SameSite::None) => out.push_str("; SameSite=None"),
            None => {}
        }
        out
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for a Unix time.
pub fn http_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month_name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), Howard Hinnant's civil algorithm.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn owned_headers_match_case_and_underscore_variants() {
        for name in [
            "X-Forwarded-User",
            "x_forwarded_user",
            "X_FORWARDED-EMAIL",
            "Authorization",
            "x-auth-request-groups",
        ] {
            assert!(is_owned_header(name), "{name}");
        }
        // Also guards the first-byte shortcut against a new name that starts elsewhere.
        for name in OWNED_HEADERS {
            assert!(is_owned_header(name), "{name}");
            assert!(is_owned_header(
                &name.to_ascii_uppercase().replace('-', "_")
            ));
        }
        for name in [
            "x-forwarded-for",
            "x-forwarded-users",
            "cookie",
            "x-forwarded-proto",
            "authorizatio",
        ] {
            assert!(!is_owned_header(name), "{name}");
        }
    }

    #[test]
    fn cookies_come_from_every_cookie_header() {
        let headers = vec![
            ("cookie".to_string(), "a=1; b=2".to_string()),
            ("x-other".to_string(), "c=3".to_string()),
            ("Cookie".to_string(), "c=\"3\";;=bad; d".to_string()),
        ];
        let cookies = parse_cookies(&headers);
        let names: Vec<_> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(names, ["a=1", "b=2", "c=3"]);
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT");
    }

    #[test]
    fn cookie_attributes_follow_settings() {
        let settings = CookieSettings {
            name: "_oauth2_proxy".into(),
            domains: vec![".example.com".into()],
            path: "/".into(),
            secure: true,
            httponly: true,
            samesite: Some(SameSite::Lax),
            expire_secs: 60,
            csrf_expire_secs: 60,
        };
        let writer = CookieWriter::new(&settings, "app.example.com", 0);
        assert_eq!(
            writer.set("n", "v", 60),
            "n=v; Path=/; Domain=.example.com; Expires=Thu, 01 Jan 1970 00:01:00 GMT; Max-Age=60; HttpOnly; Secure; SameSite=Lax"
        );
        let other = CookieWriter::new(&settings, "evil.com", 7200);
        assert_eq!(
            other.clear("n"),
            "n=; Path=/; Expires=Thu, 01 Jan 1970 01:00:00 GMT; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
        );
    }
}
