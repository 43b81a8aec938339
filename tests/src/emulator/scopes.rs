//! Scope handling: which scopes are OpenID Connect ones and which name an API (Graph).

/// Scopes that shape the ID token and refresh token rather than naming an API.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// Entra's resource prefix for Microsoft Graph; `https://graph.microsoft.com/User.Read` and
/// `User.Read` mean the same delegated permission.
const GRAPH_PREFIX: &str = "https://graph.microsoft.com/";

/// Splits a `scope` parameter, dropping duplicates but keeping order.
pub fn parse(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_whitespace() {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            out.push(s.to_string());
        }
    }
    out
}

/// True when `scopes` contains `name` (case-insensitive, as Entra compares scopes).
pub fn has(scopes: &[String], name: &str) -> bool {
    scopes.iter().any(|s| s.eq_ignore_ascii_case(name))
}

fn is_oidc(scope: &str) -> bool {
    OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(scope))
}

/// The delegated Graph permissions an access token carries in `scp`. With only OIDC scopes
/// requested, Entra issues a Graph token for `User.Read`; `.default` means the same here.
pub fn resource_scopes(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes.iter().filter(|s| !is_oidc(s)) {
        let short = s.strip_prefix(GRAPH_PREFIX).unwrap_or(s);
        let short = if short == ".default" {
            "User.Read"
        } else {
            short
        };
        if !has(&out, short) {
            out.push(short.to_string());
        }
    }
    if out.is_empty() {
        out.push("User.Read".to_string());
    }
    out
}

/// The `scope` field of a token response: the OIDC scopes granted (not `offline_access`,
/// which Entra does not echo) followed by the resource permissions.
pub fn response_scope(scopes: &[String]) -> String {
    let mut out: Vec<String> = scopes
        .iter()
        .filter(|s| is_oidc(s) && !s.eq_ignore_ascii_case("offline_access"))
        .cloned()
        .collect();
    out.extend(resource_scopes(scopes));
    out.join(" ")
}

/// The scopes of `requested` a refresh may not add: API permissions absent from `granted`.
pub fn not_consented(requested: &[String], granted: &[String]) -> Vec<String> {
    let granted = resource_scopes(granted);
    requested
        .iter()
        .filter(|s| !is_oidc(s))
        .filter(|s| {
            let short = resource_scopes(std::slice::from_ref(*s));
            !short.iter().all(|x| has(&granted, x))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        parse(s)
    }

    #[test]
    fn resource_and_response_scope_table() {
        let cases = [
            (
                "openid profile email offline_access",
                "User.Read",
                "openid profile email User.Read",
            ),
            ("openid User.Read", "User.Read", "openid User.Read"),
            (
                "openid https://graph.microsoft.com/User.Read GroupMember.Read.All",
                "User.Read GroupMember.Read.All",
                "openid User.Read GroupMember.Read.All",
            ),
            (
                "openid https://graph.microsoft.com/.default",
                "User.Read",
                "openid User.Read",
            ),
            ("openid openid OPENID", "User.Read", "openid User.Read"),
        ];
        for (scope, resource, response) in cases {
            assert_eq!(resource_scopes(&v(scope)).join(" "), resource, "{scope}");
            assert_eq!(response_scope(&v(scope)), response, "{scope}");
        }
    }

    #[test]
    fn refresh_may_narrow_but_not_widen() {
        let granted = v("openid offline_access User.Read");
        let cases = [
            ("openid", vec![]),
            (
                "openid email offline_access https://graph.microsoft.com/User.Read",
                vec![],
            ),
            ("openid Mail.Read", vec!["Mail.Read"]),
        ];
        for (requested, want) in cases {
            assert_eq!(not_consented(&v(requested), &granted), want, "{requested}");
        }
    }
}
