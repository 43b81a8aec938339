//! ID-token and bearer-token validation with real RS256 signatures.

use super::*;
use crate::oidc::test_support::{b64, hs256, key_set, sign_rs256, test_keys};
use rsa::pkcs1::EncodeRsaPublicKey as _;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const LEEWAY: u64 = 60;
const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const PUBLIC: &str = "https://login.microsoftonline.com";
const US_GOV: &str = "https://login.microsoftonline.us";
const NONCE: &str = "n-0S6_WzA2Mj";

/// A realistic Entra v2.0 ID token's claims (no `email`, as for many work accounts).
fn entra_claims() -> Map<String, Value> {
    serde_json::from_value(json!({
        "aud": CLIENT,
        "iss": format!("{PUBLIC}/{TENANT}/v2.0"),
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 3600,
        "name": "Abe Lincoln",
        "nonce": NONCE,
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "preferred_username": "abe@contoso.com",
        "rh": "I",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0"
    }))
    .unwrap()
}

/// `entra_claims` changed by `edit`, signed by the published key `k1`.
fn token(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut claims = entra_claims();
    edit(&mut claims);
    sign_rs256(
        &test_keys().primary,
        &json!({"typ":"JWT","alg":"RS256","kid":"k1"}),
        &Value::Object(claims),
    )
}

fn set(name: &'static str, value: Value) -> impl FnOnce(&mut Map<String, Value>) {
    move |c| {
        c.insert(name.to_owned(), value);
    }
}

fn remove(name: &'static str) -> impl FnOnce(&mut Map<String, Value>) {
    move |c| {
        c.remove(name);
    }
}

fn multi_tenant(authority: &str, allowed: Option<&[&str]>) -> IssuerRule {
    IssuerRule::EntraTenant {
        authority: authority.to_owned(),
        allowed_tenants: allowed.map(|a| a.iter().map(|t| (*t).to_owned()).collect()),
    }
}

fn validate(token: &str, rule: &IssuerRule, nonce: Option<&str>) -> Result<IdClaims, TokenError> {
    let expect = Expectations {
        issuer: rule,
        audience: CLIENT,
        nonce,
        now: NOW,
        leeway_secs: LEEWAY,
    };
    validate_id_token(token, key_set(), &expect)
}

#[test]
fn id_token_table() {
    let k = test_keys();
    let any_tenant = multi_tenant(PUBLIC, None);
    let exact = IssuerRule::Exact(format!("{PUBLIC}/{TENANT}/v2.0"));
    let gov = multi_tenant(US_GOV, None);
    let only_other = multi_tenant(PUBLIC, Some(&[OTHER_TENANT]));
    let only_ours_lower = multi_tenant(PUBLIC, Some(&[OTHER_TENANT, TENANT]));
    let upper = TENANT.to_ascii_uppercase();
    let only_ours_upper = multi_tenant(PUBLIC, Some(&[upper.as_str()]));
    let gov_iss = format!("{US_GOV}/{TENANT}/v2.0");
    let issuer_err = |iss: &str| {
        Err(TokenError::Issuer {
            found: iss.to_owned(),
        })
    };
    let public_der = k.primary.to_public_key().to_pkcs1_der().unwrap();
    let claims_json = Value::Object(entra_claims());

    let cases: Vec<(
        &str,
        String,
        &IssuerRule,
        Option<&str>,
        Result<(), TokenError>,
    )> = vec![
        (
            "valid, multi-tenant",
            token(|_| {}),
            &any_tenant,
            Some(NONCE),
            Ok(()),
        ),
        (
            "valid, exact issuer",
            token(|_| {}),
            &exact,
            Some(NONCE),
            Ok(()),
        ),
        (
            "valid, allowed tenant",
            token(|_| {}),
            &only_ours_lower,
            Some(NONCE),
            Ok(()),
        ),
        (
            "wrong iss under exact",
            token(set("iss", json!(format!("{PUBLIC}/{OTHER_TENANT}/v2.0")))),
            &exact,
            None,
            issuer_err(&format!("{PUBLIC}/{OTHER_TENANT}/v2.0")),
        ),
        (
            "v1 sts.windows.net issuer",
            token(set(
                "iss",
                json!(format!("https://sts.windows.net/{TENANT}/")),
            )),
            &any_tenant,
            None,
            issuer_err(&format!("https://sts.windows.net/{TENANT}/")),
        ),
        (
            "invalid_tenant path",
            token(set("iss", json!(format!("{PUBLIC}/invalid_tenant/v2.0")))),
            &any_tenant,
            None,
            issuer_err(&format!("{PUBLIC}/invalid_tenant/v2.0")),
        ),
        (
            "36 characters with underscores",
            token(set(
                "iss",
                json!(format!("{PUBLIC}/{}/v2.0", TENANT.replace('-', "_"))),
            )),
            &any_tenant,
            None,
            issuer_err(&format!("{PUBLIC}/{}/v2.0", TENANT.replace('-', "_"))),
        ),
        (
            "template left unexpanded",
            token(set("iss", json!(format!("{PUBLIC}/{{tenantid}}/v2.0")))),
            &any_tenant,
            None,
            issuer_err(&format!("{PUBLIC}/{{tenantid}}/v2.0")),
        ),
        (
            "US Gov authority configured",
            token(set("iss", json!(gov_iss))),
            &gov,
            None,
            Ok(()),
        ),
        (
            "US Gov token, public authority configured",
            token(set("iss", json!(gov_iss))),
            &any_tenant,
            None,
            issuer_err(&gov_iss),
        ),
        (
            "public token, US Gov authority configured",
            token(|_| {}),
            &gov,
            None,
            issuer_err(&format!("{PUBLIC}/{TENANT}/v2.0")),
        ),
        (
            "iss tenant differs from tid",
            token(set("tid", json!(OTHER_TENANT))),
            &any_tenant,
            None,
            Err(TokenError::TenantMismatch),
        ),
        (
            "missing tid",
            token(remove("tid")),
            &any_tenant,
            None,
            Err(TokenError::MissingClaim("tid")),
        ),
        (
            "missing iss",
            token(remove("iss")),
            &exact,
            None,
            Err(TokenError::MissingClaim("iss")),
        ),
        (
            "iss not a string",
            token(set("iss", json!(7))),
            &exact,
            None,
            Err(TokenError::InvalidClaim("iss")),
        ),
        (
            "tenant not allowed",
            token(|_| {}),
            &only_other,
            None,
            Err(TokenError::TenantNotAllowed(TENANT.to_owned())),
        ),
        (
            "uppercase GUID in token, lowercase allow-list",
            token(|c| {
                c.insert("iss".into(), json!(format!("{PUBLIC}/{upper}/v2.0")));
                c.insert("tid".into(), json!(upper));
            }),
            &only_ours_lower,
            None,
            Ok(()),
        ),
        (
            "lowercase token, uppercase allow-list",
            token(|_| {}),
            &only_ours_upper,
            None,
            Ok(()),
        ),
        (
            "uppercase tid only",
            token(set("tid", json!(upper))),
            &only_ours_lower,
            None,
            Ok(()),
        ),
        (
            "wrong aud",
            token(set("aud", json!("another-app"))),
            &any_tenant,
            None,
            Err(TokenError::Audience),
        ),
        (
            "aud missing",
            token(remove("aud")),
            &any_tenant,
            None,
            Err(TokenError::MissingClaim("aud")),
        ),
        (
            "aud a number",
            token(set("aud", json!(1))),
            &any_tenant,
            None,
            Err(TokenError::InvalidClaim("aud")),
        ),
        (
            "aud empty array",
            token(set("aud", json!([]))),
            &any_tenant,
            None,
            Err(TokenError::Audience),
        ),
        (
            "aud array with us",
            token(set("aud", json!(["api://x", CLIENT]))),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "aud array, azp is us",
            token(|c| {
                c.insert("aud".into(), json!(["api://x", CLIENT]));
                c.insert("azp".into(), json!(CLIENT));
            }),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "aud array, azp is another party",
            token(|c| {
                c.insert("aud".into(), json!(["api://x", CLIENT]));
                c.insert("azp".into(), json!("api://x"));
            }),
            &any_tenant,
            None,
            Err(TokenError::Audience),
        ),
        (
            "single aud in array, azp not checked",
            token(|c| {
                c.insert("aud".into(), json!([CLIENT]));
                c.insert("azp".into(), json!("other"));
            }),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "aud array without us",
            token(set("aud", json!(["a", "b"]))),
            &any_tenant,
            None,
            Err(TokenError::Audience),
        ),
        (
            "expired",
            token(set("exp", json!(NOW - LEEWAY - 1))),
            &any_tenant,
            None,
            Err(TokenError::Expired),
        ),
        (
            "expired exactly at leeway",
            token(set("exp", json!(NOW - LEEWAY))),
            &any_tenant,
            None,
            Err(TokenError::Expired),
        ),
        (
            "expired within leeway",
            token(set("exp", json!(NOW - LEEWAY + 1))),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "fractional exp",
            token(set("exp", json!(NOW as f64 + 0.5))),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "exp missing",
            token(remove("exp")),
            &any_tenant,
            None,
            Err(TokenError::MissingClaim("exp")),
        ),
        (
            "exp a string",
            token(set("exp", json!("4102444800"))),
            &any_tenant,
            None,
            Err(TokenError::InvalidClaim("exp")),
        ),
        (
            "exp negative",
            token(set("exp", json!(-1))),
            &any_tenant,
            None,
            Err(TokenError::InvalidClaim("exp")),
        ),
        (
            "nbf in the future",
            token(set("nbf", json!(NOW + LEEWAY + 1))),
            &any_tenant,
            None,
            Err(TokenError::NotYetValid),
        ),
        (
            "nbf within leeway",
            token(set("nbf", json!(NOW + LEEWAY))),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "iat in the future",
            token(set("iat", json!(NOW + LEEWAY + 1))),
            &any_tenant,
            None,
            Err(TokenError::NotYetValid),
        ),
        (
            "wrong nonce",
            token(set("nonce", json!("n-other"))),
            &any_tenant,
            Some(NONCE),
            Err(TokenError::Nonce),
        ),
        (
            "nonce prefix",
            token(set("nonce", json!(&NONCE[..4]))),
            &any_tenant,
            Some(NONCE),
            Err(TokenError::Nonce),
        ),
        (
            "missing nonce when expected",
            token(remove("nonce")),
            &any_tenant,
            Some(NONCE),
            Err(TokenError::MissingClaim("nonce")),
        ),
        (
            "nonce present, none expected",
            token(|_| {}),
            &any_tenant,
            None,
            Ok(()),
        ),
        (
            "sub missing",
            token(remove("sub")),
            &any_tenant,
            None,
            Err(TokenError::MissingClaim("sub")),
        ),
        (
            "sub empty",
            token(set("sub", json!(""))),
            &any_tenant,
            None,
            Err(TokenError::MissingClaim("sub")),
        ),
        (
            "email not a string",
            token(set("email", json!(["a"]))),
            &any_tenant,
            None,
            Err(TokenError::InvalidClaim("email")),
        ),
        (
            "groups not a list",
            token(set("groups", json!("g1"))),
            &any_tenant,
            None,
            Err(TokenError::InvalidClaim("groups")),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","kid":"k1"}"#),
                b64(claims_json.to_string().as_bytes())
            ),
            &any_tenant,
            None,
            Err(TokenError::Algorithm("none".into())),
        ),
        (
            "HS256 with the RSA public key as HMAC secret",
            hs256(
                public_der.as_bytes(),
                &json!({"alg":"HS256","kid":"k1"}),
                &claims_json,
            ),
            &any_tenant,
            None,
            Err(TokenError::Algorithm("HS256".into())),
        ),
        (
            "kid of another published key",
            sign_rs256(&k.primary, &json!({"alg":"RS256","kid":"k2"}), &claims_json),
            &any_tenant,
            None,
            Err(TokenError::Signature),
        ),
        (
            "unknown kid",
            sign_rs256(
                &k.primary,
                &json!({"alg":"RS256","kid":"new-key"}),
                &claims_json,
            ),
            &any_tenant,
            None,
            Err(TokenError::UnknownKid("new-key".into())),
        ),
        (
            "attacker key with jku",
            sign_rs256(
                &k.attacker,
                &json!({"alg":"RS256","kid":"evil","jku":"https://evil.example/jwks"}),
                &claims_json,
            ),
            &any_tenant,
            None,
            Err(TokenError::UnknownKid("evil".into())),
        ),
        (
            "attacker key with jku and a real kid",
            sign_rs256(
                &k.attacker,
                &json!({"alg":"RS256","kid":"k1","jku":"https://evil.example/jwks"}),
                &claims_json,
            ),
            &any_tenant,
            None,
            Err(TokenError::Signature),
        ),
    ];
    for (name, token, rule, nonce, want) in cases {
        let got = validate(&token, rule, nonce).map(|_| ());
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn valid_token_yields_its_claims() {
    let t = token(set("upn", json!("abe@contoso.com")));
    let claims = validate(&t, &multi_tenant(PUBLIC, None), Some(NONCE)).unwrap();
    assert_eq!(claims.iss, format!("{PUBLIC}/{TENANT}/v2.0"));
    assert_eq!(claims.sub, "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ");
    assert_eq!(claims.tid.as_deref(), Some(TENANT));
    assert_eq!(
        claims.oid.as_deref(),
        Some("00000000-0000-0000-66f3-3332eca7ea81")
    );
    assert_eq!(claims.email, None);
    assert_eq!(
        claims.preferred_username.as_deref(),
        Some("abe@contoso.com")
    );
    assert_eq!(claims.upn.as_deref(), Some("abe@contoso.com"));
    assert_eq!(claims.name.as_deref(), Some("Abe Lincoln"));
    assert!(claims.groups.is_empty());
    assert!(!claims.groups_overage);
    assert_eq!(claims.exp, NOW + 3600);
    assert_eq!(claims.iat, Some(NOW - 10));
    assert_eq!(claims.raw.get("ver"), Some(&json!("2.0")));
    assert_eq!(claims.raw.get("exp"), Some(&json!(NOW + 3600)));
}

#[test]
fn groups_and_overage_table() {
    let cases: Vec<(&str, Value, Vec<&str>, bool)> = vec![
        ("no groups", json!({}), vec![], false),
        (
            "groups listed",
            json!({"groups": ["g1", "g2"]}),
            vec!["g1", "g2"],
            false,
        ),
        (
            "code-flow overage",
            json!({"_claim_names": {"groups": "src1"},
                   "_claim_sources": {"src1": {"endpoint": "https://graph.windows.net/x/users/y/getMemberObjects"}}}),
            vec![],
            true,
        ),
        (
            "implicit-flow overage",
            json!({"hasgroups": true}),
            vec![],
            true,
        ),
        (
            "hasgroups false",
            json!({"hasgroups": false}),
            vec![],
            false,
        ),
        (
            "claim names for something else",
            json!({"_claim_names": {"roles": "src1"}}),
            vec![],
            false,
        ),
    ];
    for (name, extra, groups, overage) in cases {
        let t = token(|c| {
            if let Value::Object(extra) = extra {
                c.extend(extra);
            }
        });
        let claims = validate(&t, &multi_tenant(PUBLIC, None), None).unwrap();
        assert_eq!(claims.groups, groups, "{name}");
        assert_eq!(claims.groups_overage, overage, "{name}");
    }
}

#[test]
fn bearer_token_table() {
    let any_tenant = multi_tenant(PUBLIC, None);
    let only_other = multi_tenant(PUBLIC, Some(&[OTHER_TENANT]));
    let api = "api://orders".to_owned();
    let auds = vec![api.clone(), CLIENT.to_owned()];
    let cases: Vec<(
        &str,
        String,
        &IssuerRule,
        Vec<String>,
        Result<(), TokenError>,
    )> = vec![
        (
            "client id audience",
            token(|_| {}),
            &any_tenant,
            auds.clone(),
            Ok(()),
        ),
        (
            "api audience",
            token(set("aud", json!(api))),
            &any_tenant,
            auds.clone(),
            Ok(()),
        ),
        (
            "nonce is not checked",
            token(set("nonce", json!("whatever"))),
            &any_tenant,
            auds.clone(),
            Ok(()),
        ),
        (
            "foreign audience",
            token(set("aud", json!("api://other"))),
            &any_tenant,
            auds.clone(),
            Err(TokenError::Audience),
        ),
        (
            "no audiences configured",
            token(|_| {}),
            &any_tenant,
            vec![],
            Err(TokenError::Audience),
        ),
        (
            "tenant rule applies to bearer tokens",
            token(|_| {}),
            &only_other,
            auds.clone(),
            Err(TokenError::TenantNotAllowed(TENANT.to_owned())),
        ),
        (
            "expired",
            token(set("exp", json!(NOW - LEEWAY))),
            &any_tenant,
            auds.clone(),
            Err(TokenError::Expired),
        ),
    ];
    for (name, token, rule, audiences, want) in cases {
        let got =
            validate_bearer_token(&token, key_set(), rule, &audiences, NOW, LEEWAY).map(|_| ());
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn oversized_token_is_rejected_before_parsing() {
    let t = token(set("pad", json!("x".repeat(16 * 1024))));
    assert_eq!(
        validate(&t, &multi_tenant(PUBLIC, None), None),
        Err(TokenError::TooLarge)
    );
}

#[test]
fn peek_kid_is_reexported() {
    assert_eq!(peek_kid(&token(|_| {})).as_deref(), Some("k1"));
}
