//! Several tenants and personal Microsoft accounts, signed in through tenant and alias URLs.

use super::*;
use crate::emulator::{CONSUMERS_TENANT_ID, FABRIKAM_TENANT_ID, WOODGROVE_TENANT_ID};

const SCOPE: &str = "openid profile email";

fn claims_of(emu: &Emulator, resp: &Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    verify_with_jwks(emu, body["id_token"].as_str().unwrap())
        .unwrap()
        .1
}

#[test]
fn each_user_gets_their_home_tenant_in_iss_and_tid() {
    let emu = Emulator::start(EmulatorConfig::multi_tenant());
    // (segment, user, password, tenant in the token)
    let cases = [
        ("common", "alice", "alice-password", DEFAULT_TENANT_ID),
        (
            "common",
            "frank@fabrikam.example",
            "frank-password",
            FABRIKAM_TENANT_ID,
        ),
        (
            "organizations",
            "wendy",
            "wendy-password",
            WOODGROVE_TENANT_ID,
        ),
        (
            "common",
            "pat@outlook.com",
            "pat-password",
            CONSUMERS_TENANT_ID,
        ),
        ("consumers", "pat", "pat-password", CONSUMERS_TENANT_ID),
        (
            FABRIKAM_TENANT_ID,
            "frank",
            "frank-password",
            FABRIKAM_TENANT_ID,
        ),
        (
            "fabrikam.example",
            "frank",
            "frank-password",
            FABRIKAM_TENANT_ID,
        ),
        (
            CONSUMERS_TENANT_ID,
            "pat",
            "pat-password",
            CONSUMERS_TENANT_ID,
        ),
    ];
    for (segment, user, password, tenant) in cases {
        let claims = claims_of(&emu, &sign_in(&emu, segment, user, password, SCOPE));
        assert_eq!(claims["iss"], emu.issuer(tenant), "{segment} {user}");
        assert_eq!(claims["tid"], tenant, "{segment} {user}");
    }
    let pat = claims_of(&emu, &sign_in(&emu, "common", "pat", "pat-password", SCOPE));
    assert_eq!(
        pat["iss"],
        format!(
            "{}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            emu.base_url()
        )
    );
    assert_eq!(pat["email"], "pat@outlook.com");
    assert!(pat["oid"]
        .as_str()
        .unwrap()
        .starts_with("00000000-0000-0000-"));
}

#[test]
fn authorities_refuse_accounts_they_do_not_admit() {
    let emu = Emulator::start(EmulatorConfig::multi_tenant());
    // (segment, user, password)
    let cases = [
        ("organizations", "pat", "pat-password"),
        ("consumers", "alice", "alice-password"),
        (DEFAULT_TENANT_ID, "frank", "frank-password"),
        (WOODGROVE_TENANT_ID, "pat", "pat-password"),
    ];
    for (segment, user, password) in cases {
        let resp = sign_in(&emu, segment, user, password, SCOPE);
        assert_eq!(resp.status, 200, "{segment} {user}");
        assert!(
            resp.body.contains("AADSTS50020"),
            "{segment} {user}: {}",
            resp.body
        );
        assert!(resp.header("location").is_none());
    }
}

#[test]
fn discovery_serves_every_tenant_and_templates_the_multi_tenant_aliases() {
    let emu = Emulator::start(EmulatorConfig::multi_tenant());
    let base = emu.base_url();
    // (segment, issuer)
    let cases = [
        ("common", format!("{base}/{{tenantid}}/v2.0")),
        ("organizations", format!("{base}/{{tenantid}}/v2.0")),
        ("consumers", format!("{base}/{CONSUMERS_TENANT_ID}/v2.0")),
        (
            FABRIKAM_TENANT_ID,
            format!("{base}/{FABRIKAM_TENANT_ID}/v2.0"),
        ),
        (
            "woodgrove.example",
            format!("{base}/{WOODGROVE_TENANT_ID}/v2.0"),
        ),
        (
            CONSUMERS_TENANT_ID,
            format!("{base}/{CONSUMERS_TENANT_ID}/v2.0"),
        ),
    ];
    for (segment, issuer) in cases {
        let resp = get(&format!(
            "{}/.well-known/openid-configuration",
            emu.issuer_url_for(segment)
        ));
        assert_eq!(resp.status, 200, "{segment}");
        let doc = resp.json();
        assert_eq!(doc["issuer"], issuer, "{segment}");
        assert_eq!(
            doc["token_endpoint"],
            format!("{base}/{segment}/oauth2/v2.0/token")
        );
    }
}
