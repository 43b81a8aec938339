//! Validation of post-sign-in and post-sign-out redirect targets (`rd`).
//!
//! An open redirect on the sign-in path lets a phishing link start at a trusted host and end at
//! the attacker's; so a target is either a plain relative path on this host, or an absolute
//! http(s) URL whose host is explicitly allowed by `whitelist_domains`.

/// The target if it is safe to redirect to, else None (callers fall back to "/").
pub fn validate_redirect(target: &str, whitelist: &[String]) -> Option<String> {
    // Browsers strip tabs and newlines from URLs and treat backslashes as slashes, so any of them
    // can turn "/\evil.com" or "/\t/evil.com" into a scheme-relative URL. Refuse them outright.
    if target.is_empty()
        || target.len() > 4096
        || target
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
        || !target.is_ascii()
    {
        return None;
    }
    if target.starts_with('/') {
        return is_safe_relative(target).then(|| target.to_string());
    }
    let lower = target.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let url = url::Url::parse(target).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        // "https://allowed.com@evil.com/" reads as allowed.com to a person, evil.com to a browser.
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let port = url.port();
    whitelist
        .iter()
        .any(|entry| host_allowed(entry, &host, port))
        .then(|| target.to_string())
}

fn is_safe_relative(target: &str) -> bool {
    // "//evil.com" is scheme-relative. Percent-encoded slashes are refused too: some servers and
    // frameworks decode the path before redirecting again.
    let second = target.as_bytes().get(1).copied();
    if second == Some(b'/') {
        return false;
    }
    let lower = target.to_ascii_lowercase();
    !(lower.starts_with("/%2f") || lower.starts_with("/%5c") || lower.contains("/%2f%2f"))
}

/// `entry` is `host`, `.domain` (the domain and its subdomains), either with `:port` or `:*`.
/// An entry without a port admits only URLs without an explicit port.
fn host_allowed(entry: &str, host: &str, port: Option<u16>) -> bool {
    let entry = entry.trim();
    let (entry_host, entry_port) = match entry.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (p == "*" || p.parse::<u16>().is_ok()) => (h, Some(p)),
        _ => (entry, None),
    };
    let port_ok = match (entry_port, port) {
        (None, None) | (Some("*"), _) => true,
        (Some(p), Some(actual)) => p.parse::<u16>().ok() == Some(actual),
        _ => false,
    };
    if !port_ok {
        return false;
    }
    let entry_host = entry_host.to_ascii_lowercase();
    match entry_host.strip_prefix('.') {
        Some(domain) => host == domain || host.ends_with(&format!(".{domain}")),
        None => host == entry_host,
    }
}

#[cfg(test)]
mod tests {
    use super::validate_redirect;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn redirect_targets() {
        let whitelist = vec![
            ".example.com".to_string(),
            "app.test:8443".to_string(),
            "dev.test:*".to_string(),
        ];
        let allowed = [
            "/",
            "/dashboard?x=1#frag",
            "/a/b//c",
            "https://example.com/",
            "https://a.b.example.com/path",
            "HTTPS://App.Example.com/",
            "https://app.test:8443/x",
            "http://dev.test:1234/",
        ];
        for target in allowed {
            assert_eq!(
                validate_redirect(target, &whitelist).as_deref(),
                Some(target),
                "{target}"
            );
        }
        let refused = [
            "",
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            " /x",
            "/%2f%2fevil.com",
            "/%5cevil.com",
            "https://evil.com/",
            "https://example.com.evil.com/",
            "https://evilexample.com/",
            "https://example.com@evil.com/",
            "https://user:pw@app.example.com/",
            "https://app.test/",
            "https://app.test:9000/",
            "https://example.com:444/",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "evil.com",
            "ftp://example.com/",
            "https://exämple.com/",
        ];
        for target in refused {
            assert_eq!(validate_redirect(target, &whitelist), None, "{target:?}");
        }
    }
}
