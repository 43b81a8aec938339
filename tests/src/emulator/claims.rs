//! Claims of the ID and access tokens, shaped like Entra's v2.0 ID tokens and Graph tokens.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::config::User;
use super::ids::{b64url, random_token};
use super::scopes;
use super::tenants::token_issuer;

/// Above this many groups Entra leaves `groups` out and points at Graph instead ("overage").
pub const GROUPS_LIMIT: usize = 200;
/// Microsoft Graph's application id, the `aud` of Graph access tokens.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Who a token is for and when it was issued.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The signed-in user.
    pub user: &'a User,
    /// The client the token is issued to.
    pub client_id: &'a str,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// SSO session id.
    pub session_id: &'a str,
    /// Issue time, Unix seconds.
    pub now: u64,
    /// Lifetime in seconds.
    pub lifetime: u64,
}

/// Entra's pairwise `sub`: stable per (user, application), different across applications, so
/// two apps cannot correlate a user by `sub`.
pub fn pairwise_sub(oid: &str, client_id: &str) -> String {
    let digest = Sha256::digest(format!(
        "{}|{}",
        oid.to_ascii_lowercase(),
        client_id.to_ascii_lowercase()
    ));
    b64url(&digest)
}

/// ID token claims. `name`/`preferred_username` need the `profile` scope and `email` the
/// `email` scope plus a mail address, as on Entra; `nonce` only when the request had one
/// (refreshed ID tokens carry none).
pub fn id_token(base_url: &str, s: &Subject<'_>, nonce: Option<&str>) -> Value {
    let u = s.user;
    let mut c = Map::new();
    c.insert("aud".into(), json!(s.client_id));
    c.insert("iss".into(), json!(token_issuer(base_url, &u.tenant)));
    c.insert("iat".into(), json!(s.now));
    c.insert("nbf".into(), json!(s.now));
    c.insert("exp".into(), json!(s.now + s.lifetime));
    c.insert("aio".into(), json!(random_token(48)));
    if scopes::has(s.scopes, "profile") {
        c.insert("name".into(), json!(u.name));
        c.insert("preferred_username".into(), json!(u.username));
    }
    if let (true, Some(email)) = (scopes::has(s.scopes, "email"), &u.email) {
        c.insert("email".into(), json!(email));
    }
    if let Some(nonce) = nonce {
        c.insert("nonce".into(), json!(nonce));
    }
    c.insert("oid".into(), json!(u.oid));
    c.insert("rh".into(), json!(format!("0.A{}.", random_token(42))));
    c.insert("sid".into(), json!(s.session_id));
    c.insert("sub".into(), json!(pairwise_sub(&u.oid, s.client_id)));
    c.insert("tid".into(), json!(u.tenant));
    c.insert("uti".into(), json!(random_token(16)));
    c.insert("ver".into(), json!("2.0"));
    add_groups(&mut c, u);
    Value::Object(c)
}

/// The `_claim_sources.src1.endpoint` of an overage token. Entra still points at the retired
/// Azure AD Graph (`graph.windows.net`), not Microsoft Graph, so clients must not call it as
/// is: they read the user from the token and ask Microsoft Graph instead.
pub fn overage_endpoint(tid: &str, oid: &str) -> String {
    format!("https://graph.windows.net/{tid}/users/{oid}/getMemberObjects")
}

/// `groups`, or past [`GROUPS_LIMIT`] the overage markers pointing at Graph.
fn add_groups(c: &mut Map<String, Value>, u: &User) {
    if u.groups.is_empty() {
        return;
    }
    if u.groups.len() <= GROUPS_LIMIT {
        c.insert("groups".into(), json!(u.groups));
        return;
    }
    c.insert("_claim_names".into(), json!({"groups": "src1"}));
    c.insert(
        "_claim_sources".into(),
        json!({"src1": {"endpoint": overage_endpoint(&u.tenant, &u.oid)}}),
    );
}

/// Graph access token claims (Entra issues Graph tokens in the v1.0 format). Clients must treat
/// access tokens as opaque; the emulator signs them so a Graph emulator can trust them.
pub fn access_token(s: &Subject<'_>) -> Value {
    let u = s.user;
    json!({
        "aud": GRAPH_APP_ID,
        "iss": format!("https://sts.windows.net/{}/", u.tenant),
        "iat": s.now,
        "nbf": s.now,
        "exp": s.now + s.lifetime,
        "appid": s.client_id,
        "appidacr": "1",
        "idtyp": "user",
        "name": u.name,
        "oid": u.oid,
        "scp": scopes::resource_scopes(s.scopes).join(" "),
        "sub": pairwise_sub(&u.oid, GRAPH_APP_ID),
        "tid": u.tenant,
        "unique_name": u.username,
        "upn": u.username,
        "uti": random_token(16),
        "ver": "1.0",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::users::{alice, bob};

    fn subject<'a>(user: &'a User, scopes: &'a [String]) -> Subject<'a> {
        Subject {
            user,
            client_id: "client-a",
            scopes,
            session_id: "sid-1",
            now: 1_000,
            lifetime: 3600,
        }
    }

    #[test]
    fn id_token_claims_follow_scopes_and_user() {
        let full = scopes::parse("openid profile email");
        let bare = scopes::parse("openid");
        let (alice, bob) = (alice(), bob());
        // (user, scopes, nonce, present, absent)
        type Case<'a> = (
            &'a User,
            &'a [String],
            Option<&'a str>,
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: [Case; 4] = [
            (
                &alice,
                &full,
                Some("n"),
                &["email", "name", "preferred_username", "nonce", "groups"],
                &["_claim_names"],
            ),
            (
                &bob,
                &full,
                Some("n"),
                &["name", "preferred_username"],
                &["email", "groups"],
            ),
            (
                &alice,
                &bare,
                None,
                &["oid", "tid", "sub", "sid"],
                &["email", "name", "preferred_username", "nonce"],
            ),
            (
                &alice,
                &full,
                None,
                &["ver", "aio", "uti", "rh"],
                &["nonce"],
            ),
        ];
        for (user, scopes, nonce, present, absent) in cases {
            let c = id_token("http://h", &subject(user, scopes), nonce);
            for p in present {
                assert!(c.get(*p).is_some(), "{p} missing for {}", user.username);
            }
            for a in absent {
                assert!(c.get(*a).is_none(), "{a} present for {}", user.username);
            }
            assert_eq!(c["iss"], format!("http://h/{}/v2.0", user.tenant));
            assert_eq!(c["exp"], 4600);
            assert_eq!(c["ver"], "2.0");
        }
    }

    #[test]
    fn groups_overage_starts_above_two_hundred() {
        let scopes = scopes::parse("openid");
        for (n, inline) in [(200, true), (201, false)] {
            let user = User {
                groups: (0..n).map(|i| format!("g-{i}")).collect(),
                ..alice()
            };
            let c = id_token("http://h", &subject(&user, &scopes), None);
            assert_eq!(c.get("groups").is_some(), inline, "{n}");
            assert_eq!(c.get("_claim_names").is_some(), !inline, "{n}");
            if !inline {
                assert_eq!(c["_claim_names"], json!({"groups": "src1"}));
                assert_eq!(
                    c["_claim_sources"]["src1"]["endpoint"],
                    format!(
                        "https://graph.windows.net/{}/users/{}/getMemberObjects",
                        user.tenant, user.oid
                    )
                );
            }
        }
    }

    #[test]
    fn sub_is_pairwise() {
        let a = pairwise_sub("oid-1", "app-1");
        assert_eq!(a, pairwise_sub("OID-1", "app-1"));
        assert_ne!(a, pairwise_sub("oid-1", "app-2"));
        assert_ne!(a, pairwise_sub("oid-2", "app-1"));
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn access_token_is_for_graph_with_scp() {
        let scopes = scopes::parse("openid offline_access User.Read Mail.Read");
        let c = access_token(&subject(&alice(), &scopes));
        assert_eq!(c["aud"], GRAPH_APP_ID);
        assert_eq!(c["scp"], "User.Read Mail.Read");
        assert_eq!(c["oid"], alice().oid);
    }
}
