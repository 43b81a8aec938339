use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::emulator::{alice, pairwise_sub, User, ALICE_GROUPS, GROUPS_LIMIT};

fn sign_in_with_form(emu: &Emulator, extra: &[(&str, &str)], user: &str, password: &str) -> Resp {
    let form = get(&authorize_url(emu, DEFAULT_TENANT_ID, extra));
    assert_eq!(form.status, 200, "{}", form.body);
    let action = format!(
        "{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/authorize",
        emu.base_url()
    );
    post_form(
        &action,
        &[
            ("ctx", &form_ctx(&form.body)),
            ("username", user),
            ("password", password),
        ],
        &[],
    )
}

#[test]
fn login_form_then_pkce_redemption_yields_a_verifiable_entra_id_token() {
    let emu = Emulator::start(EmulatorConfig::default());
    let pkce = pkce();
    let extra = [
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let form = get(&authorize_url(&emu, DEFAULT_TENANT_ID, &extra));
    for id in ["id=\"username\"", "id=\"password\"", "id=\"submit\""] {
        assert!(form.body.contains(id), "{id}");
    }
    let wrong = sign_in_with_form(&emu, &extra, "alice", "guess");
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("AADSTS50126"), "{}", wrong.body);
    assert!(wrong.header("location").is_none());
    let unknown = sign_in_with_form(&emu, &extra, "mallory@contoso.example", "x");
    assert!(unknown.body.contains("AADSTS50034"), "{}", unknown.body);

    let ok = sign_in_with_form(&emu, &extra, "alice@contoso.example", "alice-password");
    assert_eq!(ok.status, 302, "{}", ok.body);
    assert!(ok
        .header("location")
        .unwrap()
        .starts_with(&format!("{REDIRECT}?")));
    let params = ok.location_params();
    assert_eq!(params.get("state"), Some("state-123"));
    assert!(params.get("session_state").is_some());
    let code = params.get("code").unwrap().to_string();

    let resp = redeem(&emu, &code, Some(&pkce.verifier), &[]);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control"), Some("no-store, no-cache"));
    let body = resp.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600, "a number, as in v2.0");
    assert_eq!(body["ext_expires_in"], 3600);
    assert_eq!(body["scope"], "openid profile email User.Read");
    assert!(
        body["refresh_token"].is_string(),
        "offline_access was granted"
    );

    let (header, claims) = verify_with_jwks(&emu, body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header["typ"], "JWT");
    let a = alice();
    assert_eq!(claims["iss"], emu.issuer(DEFAULT_TENANT_ID));
    assert_eq!(claims["aud"], DEFAULT_CLIENT_ID);
    assert_eq!(claims["tid"], DEFAULT_TENANT_ID);
    assert_eq!(claims["oid"], a.oid);
    assert_eq!(claims["sub"], pairwise_sub(&a.oid, DEFAULT_CLIENT_ID));
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["preferred_username"], a.username);
    assert_eq!(claims["email"], a.email.unwrap());
    assert_eq!(claims["name"], a.name);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["groups"], serde_json::json!(ALICE_GROUPS));
    assert_eq!(claims["sid"], params.get("session_state").unwrap());
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!(iat.abs_diff(emu.now()) < 5);

    let grant = emu
        .access_token_grant(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (grant.oid.as_str(), grant.scopes.join(" ")),
        (a.oid.as_str(), "User.Read".into())
    );
    let (_, at) = verify_with_jwks(&emu, body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(at["aud"], crate::emulator::GRAPH_APP_ID);

    let again = redeem(&emu, &code, Some(&pkce.verifier), &[]);
    assert_eq!((again.status, again.aadsts()), (400, 54005));
    assert_eq!(again.json()["error"], "invalid_grant");
}

#[test]
fn sso_cookie_skips_the_form_unless_prompt_login() {
    let emu = Emulator::start(EmulatorConfig::default());
    let first = sign_in_with_form(&emu, &[], "alice", "alice-password");
    let cookie = first.session_cookie();
    let cookie_header = [("Cookie", cookie.as_str())];

    let silent = get_with(&authorize_url(&emu, DEFAULT_TENANT_ID, &[]), &cookie_header);
    assert_eq!(silent.status, 302);
    assert_eq!(
        silent.location_params().get("session_state"),
        first.location_params().get("session_state"),
        "same session"
    );
    let forced = get_with(
        &authorize_url(&emu, DEFAULT_TENANT_ID, &[("prompt", "login")]),
        &cookie_header,
    );
    assert_eq!(forced.status, 200, "prompt=login shows the form");

    let none = get(&authorize_url(
        &emu,
        DEFAULT_TENANT_ID,
        &[("prompt", "none")],
    ));
    assert_eq!(none.status, 302);
    let p = none.location_params();
    assert_eq!(p.get("error"), Some("login_required"));
    assert!(p
        .get("error_description")
        .unwrap()
        .starts_with("AADSTS50058:"));
    assert_eq!(p.get("state"), Some("state-123"));
}

#[test]
fn claims_follow_user_and_scopes() {
    // (auto-login user, scope, claims present, claims absent, id_token issued)
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str], bool);
    let cases: [Case; 4] = [
        (
            "bob",
            "openid profile email",
            &["preferred_username", "name"],
            &["email", "groups"],
            true,
        ),
        (
            "alice",
            "openid",
            &["oid", "tid", "sub"],
            &["email", "name", "preferred_username"],
            true,
        ),
        ("alice", "openid email", &["email"], &["name"], true),
        ("alice", "offline_access User.Read", &[], &[], false),
    ];
    for (user, scope, present, absent, has_id_token) in cases {
        let emu = Emulator::start(EmulatorConfig {
            auto_login: Some(user.into()),
            ..EmulatorConfig::default()
        });
        let code = auto_code(&emu, &[("scope", scope)]);
        let body = redeem(&emu, &code, None, &[]).json();
        assert_eq!(body["id_token"].is_string(), has_id_token, "{user} {scope}");
        assert!(body["access_token"].is_string());
        if !has_id_token {
            continue;
        }
        let (_, claims) = verify_with_jwks(&emu, body["id_token"].as_str().unwrap()).unwrap();
        for p in present {
            assert!(claims.get(*p).is_some(), "{p} for {user} {scope}");
        }
        for a in absent {
            assert!(claims.get(*a).is_none(), "{a} for {user} {scope}");
        }
        assert!(
            body.get("refresh_token").is_none(),
            "no offline_access: {scope}"
        );
    }
}

#[test]
fn more_than_two_hundred_groups_become_an_overage_pointer() {
    let many = User {
        username: "carol@contoso.example".into(),
        oid: "cccccccc-3333-4333-8333-000000000003".into(),
        groups: (0..=GROUPS_LIMIT)
            .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
            .collect(),
        ..alice()
    };
    let emu = Emulator::start(EmulatorConfig {
        users: vec![many.clone()],
        auto_login: Some("carol".into()),
        ..EmulatorConfig::default()
    });
    let code = auto_code(&emu, &[]);
    let body = redeem(&emu, &code, None, &[]).json();
    let (_, claims) = verify_with_jwks(&emu, body["id_token"].as_str().unwrap()).unwrap();
    assert!(claims.get("groups").is_none());
    assert_eq!(claims["_claim_names"]["groups"], "src1");
    assert_eq!(
        claims["_claim_sources"]["src1"]["endpoint"],
        format!(
            "https://graph.windows.net/{DEFAULT_TENANT_ID}/users/{}/getMemberObjects",
            many.oid
        ),
        "Entra still points overage at the retired Azure AD Graph"
    );
}

#[test]
fn multi_tenant_authorities_issue_tenant_specific_issuers_and_enforce_membership() {
    let guest_tenant = "44444444-4444-4444-4444-444444444444";
    let mut cfg = EmulatorConfig::default();
    cfg.tenants.push(crate::emulator::Tenant {
        id: guest_tenant.into(),
        name: "fabrikam.example".into(),
    });
    cfg.users.push(User {
        username: "dave@fabrikam.example".into(),
        tenant: guest_tenant.into(),
        ..alice()
    });
    cfg.auto_login = Some("dave@fabrikam.example".into());
    let emu = Emulator::start(cfg);
    let via_common = get(&authorize_url(&emu, "common", &[]));
    let code = via_common
        .location_params()
        .get("code")
        .unwrap()
        .to_string();
    let body = redeem(&emu, &code, None, &[]).json();
    let (_, claims) = verify_with_jwks(&emu, body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["iss"], emu.issuer(guest_tenant));
    assert_eq!(claims["tid"], guest_tenant);

    let wrong_tenant = get(&authorize_url(&emu, DEFAULT_TENANT_ID, &[]));
    assert_eq!(wrong_tenant.status, 400);
    assert!(
        wrong_tenant.body.contains("AADSTS50020"),
        "{}",
        wrong_tenant.body
    );
    let consumers = get(&authorize_url(&emu, "consumers", &[]));
    assert!(consumers.body.contains("AADSTS50020"));
}

#[test]
fn login_hint_signs_in_directly_when_allowed() {
    let emu = Emulator::start(EmulatorConfig {
        login_hint_skips_form: true,
        ..EmulatorConfig::default()
    });
    let hinted = get(&authorize_url(
        &emu,
        DEFAULT_TENANT_ID,
        &[("login_hint", "bob@contoso.example")],
    ));
    assert_eq!(hinted.status, 302);
    let code = hinted.location_params().get("code").unwrap().to_string();
    let body = redeem(&emu, &code, None, &[]).json();
    let (_, claims) = verify_with_jwks(&emu, body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["preferred_username"], "bob@contoso.example");
    let unknown = get(&authorize_url(
        &emu,
        DEFAULT_TENANT_ID,
        &[("login_hint", "nobody")],
    ));
    assert_eq!(unknown.status, 200, "unknown hint falls back to the form");
}

#[test]
fn client_secret_basic_and_form_post_response_mode_work() {
    let emu = auto_login_emulator();
    let resp = get(&authorize_url(
        &emu,
        DEFAULT_TENANT_ID,
        &[("response_mode", "form_post")],
    ));
    assert_eq!(resp.status, 200);
    assert!(resp.body.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(resp.body.contains("name=\"state\" value=\"state-123\""));
    let start = resp.body.find("name=\"code\" value=\"").unwrap() + 19;
    let code = &resp.body[start..start + resp.body[start..].find('"').unwrap()];

    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &STANDARD,
            format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}")
        )
    );
    let token = post_form(
        &token_url(&emu),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ],
        &[("Authorization", &basic)],
    );
    assert_eq!(token.status, 200, "{}", token.body);
}

#[test]
fn plain_pkce_is_accepted_like_entra() {
    let emu = auto_login_emulator();
    let verifier = "v".repeat(43);
    let code = auto_code(&emu, &[("code_challenge", &verifier)]);
    assert_eq!(redeem(&emu, &code, Some(&verifier), &[]).status, 200);
}
