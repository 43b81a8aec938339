//! ID-token and bearer-token validation with real RS256 signatures.

use super::*;
// `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
use crate::oidc::test_support::{b64, hs256, key_set, sign_rs256, test_keys};
use rsa::pkcs1::EncodeRsaPublicKey as _;
use serde_json::json;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

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

/// What validating a case should give.
type Outcome = Result<(), TokenError>;
/// (case name, token, expected outcome).
type Case = (&'static str, String, Outcome);

fn run(rule: &IssuerRule, nonce: Option<&str>, cases: Vec<Case>) {
    for (name, token, want) in cases {
        assert_eq!(validate(&token, rule, nonce).map(|_| ()), want, "{name}");
    }
}

fn with_iss(iss: &str) -> String {
    token(set("iss", json!(iss)))
}

fn wrong_issuer(iss: &str) -> Outcome {
    Err(TokenError::Issuer {
        found: iss.to_owned(),
    })
}

#[test]
fn multi_tenant_issuer_table() {
    let v1 = format!("https://sts.windows.net/{TENANT}/");
    let invalid = format!("{PUBLIC}/invalid_tenant/v2.0");
    let underscores = format!("{PUBLIC}/{}/v2.0", TENANT.replace('-', "_"));
    let template = format!("{PUBLIC}/{{tenantid}}/v2.0");
    let gov = format!("{US_GOV}/{TENANT}/v2.0");
    let mismatch = token(set("tid", json!(OTHER_TENANT)));
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("valid", token(|_| {}), Ok(())),
        ("v1 sts.windows.net issuer", with_iss(&v1), wrong_issuer(&v1)),
        ("invalid_tenant path", with_iss(&invalid), wrong_issuer(&invalid)),
        ("36 chars with underscores", with_iss(&underscores), wrong_issuer(&underscores)),
        ("template left unexpanded", with_iss(&template), wrong_issuer(&template)),
        ("US Gov token, public authority", with_iss(&gov), wrong_issuer(&gov)),
        ("iss tenant differs from tid", mismatch, Err(TokenError::TenantMismatch)),
        ("missing tid", token(remove("tid")), Err(TokenError::MissingClaim("tid"))),
        ("missing iss", token(remove("iss")), Err(TokenError::MissingClaim("iss"))),
        ("iss not a string", token(set("iss", json!(7))), Err(TokenError::InvalidClaim("iss"))),
    ];
    run(&multi_tenant(PUBLIC, None), None, cases);
}

#[test]
fn sovereign_cloud_authority_when_configured() {
    let gov = format!("{US_GOV}/{TENANT}/v2.0");
    let public = format!("{PUBLIC}/{TENANT}/v2.0");
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("US Gov token", with_iss(&gov), Ok(())),
        ("public-cloud token", token(|_| {}), wrong_issuer(&public)),
    ];
    run(&multi_tenant(US_GOV, None), None, cases);
}

#[test]
fn exact_issuer_table() {
    let ours = format!("{PUBLIC}/{TENANT}/v2.0");
    let other = format!("{PUBLIC}/{OTHER_TENANT}/v2.0");
    let slash = format!("{ours}/");
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("same issuer", token(|_| {}), Ok(())),
        ("another tenant", with_iss(&other), wrong_issuer(&other)),
        ("trailing slash", with_iss(&slash), wrong_issuer(&slash)),
        ("tid not required", token(remove("tid")), Ok(())),
    ];
    run(&IssuerRule::Exact(ours), None, cases);
}

#[test]
fn allowed_tenants_table() {
    let upper = TENANT.to_ascii_uppercase();
    let upper_token = token(|c| {
        c.insert("iss".into(), json!(format!("{PUBLIC}/{upper}/v2.0")));
        c.insert("tid".into(), json!(upper));
    });
    let not_allowed = || Err(TokenError::TenantNotAllowed(TENANT.to_owned()));
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<&str>, String, Outcome)> = vec![
        ("listed", vec![OTHER_TENANT, TENANT], token(|_| {}), Ok(())),
        ("not listed", vec![OTHER_TENANT], token(|_| {}), not_allowed()),
        ("empty list", vec![], token(|_| {}), not_allowed()),
        ("uppercase token, lowercase list", vec![TENANT], upper_token, Ok(())),
        ("lowercase token, uppercase list", vec![&upper], token(|_| {}), Ok(())),
        ("uppercase tid only", vec![TENANT], token(set("tid", json!(upper))), Ok(())),
    ];
    for (name, allowed, token, want) in cases {
        let rule = multi_tenant(PUBLIC, Some(&allowed));
        assert_eq!(validate(&token, &rule, None).map(|_| ()), want, "{name}");
    }
}

#[test]
fn audience_table() {
    let azp = |aud: Value, azp: &str| {
        token(|c| {
            c.insert("aud".into(), aud);
            c.insert("azp".into(), json!(azp));
        })
    };
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("wrong aud", token(set("aud", json!("another-app"))), Err(TokenError::Audience)),
        ("aud missing", token(remove("aud")), Err(TokenError::MissingClaim("aud"))),
        ("aud a number", token(set("aud", json!(1))), Err(TokenError::InvalidClaim("aud"))),
        ("aud empty array", token(set("aud", json!([]))), Err(TokenError::Audience)),
        ("aud array with us", token(set("aud", json!(["api://x", CLIENT]))), Ok(())),
        ("aud array without us", token(set("aud", json!(["a", "b"]))), Err(TokenError::Audience)),
        ("several aud, azp is us", azp(json!(["api://x", CLIENT]), CLIENT), Ok(())),
        ("several aud, azp another", azp(json!(["api://x", CLIENT]), "api://x"), Err(TokenError::Audience)),
        ("single aud, azp not checked", azp(json!([CLIENT]), "other"), Ok(())),
    ];
    run(&multi_tenant(PUBLIC, None), None, cases);
}

#[test]
fn time_table() {
    let exp = |t: u64| token(set("exp", json!(t)));
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("expired", exp(NOW - LEEWAY - 1), Err(TokenError::Expired)),
        ("expired exactly at leeway", exp(NOW - LEEWAY), Err(TokenError::Expired)),
        ("expired within leeway", exp(NOW - LEEWAY + 1), Ok(())),
        ("fractional exp", token(set("exp", json!(NOW as f64 + 0.5))), Ok(())),
        ("exp missing", token(remove("exp")), Err(TokenError::MissingClaim("exp"))),
        ("exp a string", token(set("exp", json!("4102444800"))), Err(TokenError::InvalidClaim("exp"))),
        ("exp negative", token(set("exp", json!(-1))), Err(TokenError::InvalidClaim("exp"))),
        ("nbf in the future", token(set("nbf", json!(NOW + LEEWAY + 1))), Err(TokenError::NotYetValid)),
        ("nbf within leeway", token(set("nbf", json!(NOW + LEEWAY))), Ok(())),
        ("iat in the future", token(set("iat", json!(NOW + LEEWAY + 1))), Err(TokenError::NotYetValid)),
    ];
    run(&multi_tenant(PUBLIC, None), None, cases);
}

#[test]
fn nonce_subject_and_claim_types_table() {
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("matching nonce", token(|_| {}), Ok(())),
        ("wrong nonce", token(set("nonce", json!("n-other"))), Err(TokenError::Nonce)),
        ("nonce prefix", token(set("nonce", json!(&NONCE[..4]))), Err(TokenError::Nonce)),
        ("nonce missing", token(remove("nonce")), Err(TokenError::MissingClaim("nonce"))),
        ("sub missing", token(remove("sub")), Err(TokenError::MissingClaim("sub"))),
        ("sub empty", token(set("sub", json!(""))), Err(TokenError::MissingClaim("sub"))),
        ("email a list", token(set("email", json!(["a"]))), Err(TokenError::InvalidClaim("email"))),
        ("groups a string", token(set("groups", json!("g1"))), Err(TokenError::InvalidClaim("groups"))),
    ];
    run(&multi_tenant(PUBLIC, None), Some(NONCE), cases);
    // Without an expected nonce, the token's nonce is not looked at.
    let other_nonce = token(set("nonce", json!("n-other")));
    assert!(validate(&other_nonce, &multi_tenant(PUBLIC, None), None).is_ok());
}

/// The signature layer has its own table in `jws`; these prove validation goes through it.
#[test]
fn signature_attacks_table() {
    let k = test_keys();
    let claims = Value::Object(entra_claims());
    let public_der = k.primary.to_public_key().to_pkcs1_der().unwrap();
    let header = |h: &str| b64(h.as_bytes());
    let unsigned = format!(
        "{}.{}.",
        header(r#"{"alg":"none","kid":"k1"}"#),
        b64(claims.to_string().as_bytes())
    );
    let jku = "https://evil.example/jwks";
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("alg none", unsigned, Err(TokenError::Algorithm("none".into()))),
        (
            "HS256 keyed with the RSA public key",
            hs256(
                public_der.as_bytes(),
                &json!({"alg":"HS256","kid":"k1"}),
                &claims,
            ),
            Err(TokenError::Algorithm("HS256".into())),
        ),
        (
            "kid of another published key",
            sign_rs256(&k.primary, &json!({"alg":"RS256","kid":"k2"}), &claims),
            Err(TokenError::Signature),
        ),
        (
            "unknown kid",
            sign_rs256(&k.primary, &json!({"alg":"RS256","kid":"new"}), &claims),
            Err(TokenError::UnknownKid("new".into())),
        ),
        (
            "attacker key behind jku",
            sign_rs256(
                &k.attacker,
                &json!({"alg":"RS256","kid":"evil","jku":jku}),
                &claims,
            ),
            Err(TokenError::UnknownKid("evil".into())),
        ),
        (
            "attacker key behind jku, real kid",
            sign_rs256(
                &k.attacker,
                &json!({"alg":"RS256","kid":"k1","jku":jku}),
                &claims,
            ),
            Err(TokenError::Signature),
        ),
    ];
    run(&multi_tenant(PUBLIC, None), None, cases);
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
    let auds = vec!["api://orders".to_owned(), CLIENT.to_owned()];
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &IssuerRule, &[String], Outcome)> = vec![
        ("client id audience", token(|_| {}), &any_tenant, &auds, Ok(())),
        ("api audience", token(set("aud", json!("api://orders"))), &any_tenant, &auds, Ok(())),
        ("nonce not checked", token(set("nonce", json!("x"))), &any_tenant, &auds, Ok(())),
        ("foreign audience", token(set("aud", json!("api://other"))), &any_tenant, &auds, Err(TokenError::Audience)),
        ("no audiences configured", token(|_| {}), &any_tenant, &[], Err(TokenError::Audience)),
        (
            "tenant rule applies (oauth2-proxy #2698)",
            token(|_| {}),
            &only_other,
            &auds,
            Err(TokenError::TenantNotAllowed(TENANT.to_owned())),
        ),
        ("expired", token(set("exp", json!(NOW - LEEWAY))), &any_tenant, &auds, Err(TokenError::Expired)),
    ];
    for (name, token, rule, audiences, want) in cases {
        let got = validate_bearer_token(&token, key_set(), rule, audiences, NOW, LEEWAY);
        assert_eq!(got.map(|_| ()), want, "{name}");
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
