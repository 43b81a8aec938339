//! Users with many groups: what their tokens carry, signed in over HTTP.

use super::*;
use crate::emulator::{group_id, overage_endpoint, GROUP_USERS};

const SCOPE: &str = "openid profile email User.Read";

#[test]
fn tokens_of_the_group_count_users_switch_to_overage_above_two_hundred() {
    let emu = Emulator::start(EmulatorConfig::default());
    for (name, n) in GROUP_USERS {
        let local = name.split('@').next().unwrap();
        let resp = sign_in(
            &emu,
            DEFAULT_TENANT_ID,
            name,
            &format!("{local}-password"),
            SCOPE,
        );
        assert_eq!(resp.status, 200, "{name}: {}", resp.body);
        let body = resp.json();
        let (_, claims) = verify_with_jwks(&emu, body["id_token"].as_str().unwrap()).unwrap();
        let groups = claims.get("groups").and_then(Value::as_array).map(Vec::len);
        match n {
            0 => {
                assert_eq!(groups, None, "{name}");
                assert!(claims.get("_claim_names").is_none(), "{name}");
            }
            n if n <= 200 => {
                assert_eq!(groups, Some(n), "{name}");
                assert_eq!(claims["groups"][0], group_id(name, 0));
                assert!(claims.get("_claim_names").is_none(), "{name}");
            }
            _ => {
                assert_eq!(groups, None, "{name}");
                assert_eq!(
                    claims["_claim_names"],
                    serde_json::json!({"groups": "src1"})
                );
                let oid = claims["oid"].as_str().unwrap();
                let endpoint = claims["_claim_sources"]["src1"]["endpoint"]
                    .as_str()
                    .unwrap();
                assert_eq!(endpoint, overage_endpoint(DEFAULT_TENANT_ID, oid));
                assert!(
                    endpoint.starts_with("https://graph.windows.net/")
                        && endpoint.ends_with("/getMemberObjects"),
                    "{endpoint}"
                );
            }
        }
        // The ID token stays small whatever the group count: overage exists for that.
        assert!(body["id_token"].as_str().unwrap().len() < 12_000, "{name}");
    }
}

#[test]
fn user_read_in_the_authorize_scope_is_granted_and_lands_in_scp() {
    let emu = Emulator::start(EmulatorConfig::default());
    // (requested scope, response scope, scp of the access token)
    let cases = [
        (SCOPE, "openid profile email User.Read", "User.Read"),
        (
            "openid https://graph.microsoft.com/User.Read offline_access",
            "openid User.Read",
            "User.Read",
        ),
        ("openid profile", "openid profile User.Read", "User.Read"),
        ("openid Mail.Read", "openid Mail.Read", "Mail.Read"),
    ];
    for (scope, response_scope, scp) in cases {
        let resp = sign_in(
            &emu,
            DEFAULT_TENANT_ID,
            "groups250",
            "groups250-password",
            scope,
        );
        assert_eq!(resp.status, 200, "{scope}: {}", resp.body);
        let body = resp.json();
        assert_eq!(body["scope"], response_scope, "{scope}");
        let access = body["access_token"].as_str().unwrap();
        let (_, claims) = verify_with_jwks(&emu, access).unwrap();
        assert_eq!(claims["scp"], scp, "{scope}");
        assert_eq!(claims["aud"], crate::emulator::GRAPH_APP_ID);
        let grant = emu.access_token_grant(access).unwrap();
        assert_eq!(grant.scopes.join(" "), scp, "{scope}");
    }
}
