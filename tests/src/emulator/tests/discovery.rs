use super::*;
use crate::emulator::{Endpoint, CONSUMERS_TENANT_ID, DEFAULT_TENANT_NAME};

fn discovery(emu: &Emulator, tenant: &str) -> Resp {
    get(&format!(
        "{}/.well-known/openid-configuration",
        emu.issuer_url_for(tenant)
    ))
}

#[test]
fn discovery_issuer_and_endpoints_per_tenant_kind() {
    let emu = Emulator::start(EmulatorConfig::default());
    let base = emu.base_url();
    let cases = [
        (
            DEFAULT_TENANT_ID,
            format!("{base}/{DEFAULT_TENANT_ID}/v2.0"),
        ),
        (
            DEFAULT_TENANT_NAME,
            format!("{base}/{DEFAULT_TENANT_ID}/v2.0"),
        ),
        ("common", format!("{base}/{{tenantid}}/v2.0")),
        ("organizations", format!("{base}/{{tenantid}}/v2.0")),
        ("consumers", format!("{base}/{CONSUMERS_TENANT_ID}/v2.0")),
    ];
    for (tenant, issuer) in cases {
        let resp = discovery(&emu, tenant);
        assert_eq!(resp.status, 200, "{tenant}");
        let doc = resp.json();
        assert_eq!(doc["issuer"], issuer, "{tenant}");
        let endpoints = [
            ("authorization_endpoint", "oauth2/v2.0/authorize"),
            ("token_endpoint", "oauth2/v2.0/token"),
            ("jwks_uri", "discovery/v2.0/keys"),
            ("end_session_endpoint", "oauth2/v2.0/logout"),
        ];
        for (field, path) in endpoints {
            assert_eq!(
                doc[field],
                format!("{base}/{tenant}/{path}"),
                "{tenant} {field}"
            );
        }
        assert_eq!(
            doc["subject_types_supported"],
            serde_json::json!(["pairwise"])
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256"])
        );
        assert!(doc["response_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"code".into()));
        assert!(doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"offline_access".into()));
        assert!(doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"tid".into()));
    }
}

#[test]
fn unknown_or_malformed_tenant_is_an_aadsts_error() {
    let emu = Emulator::start(EmulatorConfig::default());
    let cases = [
        (
            "33333333-3333-3333-3333-333333333333",
            90002,
            "invalid_tenant",
        ),
        ("nosuch.example", 90002, "invalid_tenant"),
        ("bad_tenant!", 900023, "invalid_request"),
    ];
    for (tenant, code, error) in cases {
        let resp = discovery(&emu, tenant);
        assert_eq!(resp.status, 400, "{tenant}");
        assert_eq!(resp.aadsts(), code, "{tenant}");
        assert_eq!(resp.json()["error"], error, "{tenant}");
        assert!(resp.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}: ")));
    }
}

#[test]
fn jwks_lists_keys_without_alg_and_keeps_old_keys_after_rotation() {
    let emu = Emulator::start(EmulatorConfig::default());
    let url = format!("{}/common/discovery/v2.0/keys", emu.base_url());
    let first = get(&url).json();
    let keys = first["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    for field in ["kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"] {
        assert!(keys[0].get(field).is_some(), "{field}");
    }
    assert!(keys[0].get("alg").is_none(), "Entra publishes no alg");
    assert_eq!(
        keys[0]["issuer"],
        format!("{}/{{tenantid}}/v2.0", emu.base_url())
    );
    let old_kid = keys[0]["kid"].clone();

    emu.rotate_keys();
    let kids: Vec<Value> = get(&url).json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old_kid);
    assert_eq!(
        emu.key_ids(),
        kids.iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );

    emu.retire_old_keys();
    assert_eq!(get(&url).json()["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn every_request_is_counted_per_endpoint() {
    let emu = Emulator::start(EmulatorConfig::default());
    discovery(&emu, "common");
    discovery(&emu, DEFAULT_TENANT_ID);
    get(&format!("{}/common/discovery/v2.0/keys", emu.base_url()));
    get(&format!("{}/nothing/here", emu.base_url()));
    let counts = emu.counts();
    assert_eq!(counts.get(Endpoint::Discovery), 2);
    assert_eq!(counts.get(Endpoint::Jwks), 1);
    assert_eq!(counts.get(Endpoint::Token), 0);
    assert_eq!(counts.other, 1);
    emu.reset_counts();
    assert_eq!(emu.counts().discovery, 0);
}

#[test]
fn minted_tokens_verify_against_the_served_jwks() {
    let emu = Emulator::start(EmulatorConfig::default());
    let claims = emu.id_token_claims("bob", DEFAULT_CLIENT_ID);
    assert!(claims.get("email").is_none(), "bob has no mailbox");
    let token = emu.mint_id_token(claims.clone());
    let (header, got) = verify_with_jwks(&emu, &token).unwrap();
    assert_eq!(header["kid"], emu.key_ids()[0]);
    assert_eq!(got, claims);
    let forged = emu.mint_tampered(claims, crate::emulator::Tamper::SignedByOtherKey);
    assert_eq!(
        verify_with_jwks(&emu, &forged).unwrap_err(),
        "bad signature"
    );
}
