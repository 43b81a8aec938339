//! Redirect URI matching, as Entra does it.
//!
//! Entra compares redirect URIs exactly (case-sensitive path, no trailing-slash forgiveness), so
//! an attacker cannot get a code sent to a look-alike URL. The one documented exception is the
//! loopback rule of RFC 8252 §7.3: for `http://localhost`, `http://127.0.0.1` and
//! `http://[::1]` the port is ignored, because native and local apps get a random port.
//! Emulator extension (not Entra): a registered value ending in `*` is a prefix pattern.

use url::Url;

/// True when `requested` may receive codes for an app that registered `registered`.
pub fn matches(registered: &str, requested: &str) -> bool {
    if let Some(prefix) = registered.strip_suffix('*') {
        return requested.starts_with(prefix) && Url::parse(requested).is_ok();
    }
    if registered == requested {
        return true;
    }
    match (Url::parse(registered), Url::parse(requested)) {
        (Ok(reg), Ok(req)) => is_loopback_http(&reg) && same_except_port(&reg, &req),
        _ => false,
    }
}

/// True when any of `registered` matches `requested`.
pub fn any_matches(registered: &[String], requested: &str) -> bool {
    registered.iter().any(|r| matches(r, requested))
}

fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && matches!(
            url.host_str(),
            Some("localhost") | Some("127.0.0.1") | Some("[::1]")
        )
}

fn same_except_port(reg: &Url, req: &Url) -> bool {
    reg.scheme() == req.scheme()
        && reg.host_str() == req.host_str()
        && reg.path() == req.path()
        && reg.query() == req.query()
        && req.fragment().is_none()
        && req.username().is_empty()
        && req.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_matching_table() {
        let cases = [
            // (registered, requested, allowed)
            ("https://app.example/cb", "https://app.example/cb", true),
            ("https://app.example/cb", "https://app.example/cb/", false),
            ("https://app.example/cb", "https://app.example/CB", false),
            (
                "https://app.example/cb",
                "https://app.example:8443/cb",
                false,
            ),
            ("https://app.example/cb", "https://evil.example/cb", false),
            (
                "http://127.0.0.1/oauth2/callback",
                "http://127.0.0.1:8080/oauth2/callback",
                true,
            ),
            (
                "http://127.0.0.1/oauth2/callback",
                "http://127.0.0.1/oauth2/callback",
                true,
            ),
            (
                "http://localhost/oauth2/callback",
                "http://localhost:1234/oauth2/callback",
                true,
            ),
            (
                "http://localhost/oauth2/callback",
                "http://localhost:1234/oauth2/other",
                false,
            ),
            (
                "http://localhost/oauth2/callback",
                "http://127.0.0.1:1234/oauth2/callback",
                false,
            ),
            (
                "http://localhost/oauth2/callback",
                "https://localhost:1234/oauth2/callback",
                false,
            ),
            ("http://localhost/cb", "http://localhost:1/cb#frag", false),
            ("http://localhost/cb", "http://user@localhost:1/cb", false),
            (
                "http://localhost/cb",
                "http://localhost.evil.example:1/cb",
                false,
            ),
            (
                "https://app.example/*",
                "https://app.example/any/path",
                true,
            ),
            ("https://app.example/*", "https://app.example.evil/x", false),
            ("https://app.example/cb", "not a url", false),
        ];
        for (registered, requested, want) in cases {
            assert_eq!(
                matches(registered, requested),
                want,
                "{registered} vs {requested}"
            );
        }
    }
}
