//! Workload identity: the token endpoint verifies service-account tokens like Entra.

use std::time::Duration;

use super::*;
use crate::emulator::{KubernetesIssuer, JWT_BEARER};

const CLUSTER: &str = "https://eastus.oic.prod-aks.azure.com/11111111-1111-1111-1111-111111111111/c0ffee00-0000-4000-8000-000000000000/";

/// An emulator whose default client has no secret, only a federated credential for
/// `apps/proxy` on `k8s`; alice signs in without a form.
fn federated_emulator(k8s: &KubernetesIssuer) -> Emulator {
    let mut cfg = EmulatorConfig {
        auto_login: Some("alice".into()),
        ..EmulatorConfig::default()
    };
    cfg.clients[0].secret = None;
    cfg.clients[0].federated = Some(k8s.credential("apps", "proxy"));
    Emulator::start(cfg)
}

fn with_assertion(assertion: &str) -> [(&str, &str); 3] {
    [
        ("client_secret", ""),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]
}

fn redeem_with(emu: &Emulator, assertion: &str) -> Resp {
    let code = auto_code(emu, &[]);
    redeem(emu, &code, None, &with_assertion(assertion))
}

#[test]
fn code_and_refresh_grants_accept_a_fresh_service_account_token() {
    let k8s = KubernetesIssuer::new(CLUSTER);
    let emu = federated_emulator(&k8s);
    let resp = redeem_with(&emu, &k8s.token("apps", "proxy", emu.now()));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert!(body["id_token"].is_string());
    let refresh_token = body["refresh_token"].as_str().unwrap();

    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("refresh_token", refresh_token),
    ];
    let assertion = k8s.token("apps", "proxy", emu.now());
    form.extend(
        with_assertion(&assertion)
            .into_iter()
            .filter(|(_, v)| !v.is_empty()),
    );
    let refreshed = post_form(&token_url(&emu), &form, &[]);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
}

#[test]
fn expired_token_is_700024_until_the_file_rotates() {
    let k8s = KubernetesIssuer::new(CLUSTER);
    let emu = federated_emulator(&k8s);
    let stale = redeem_with(&emu, &k8s.expired_token("apps", "proxy", emu.now()));
    assert_eq!((stale.status, stale.aadsts()), (401, 700024));
    assert_eq!(stale.json()["error"], "invalid_client");
    assert!(stale.json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS700024: Client assertion is not within its valid time range."));

    // A token valid now goes stale when the emulator's clock passes its exp.
    let current = k8s.token("apps", "proxy", emu.now());
    assert_eq!(redeem_with(&emu, &current).status, 200);
    emu.advance_clock(Duration::from_secs(3600));
    assert_eq!(redeem_with(&emu, &current).aadsts(), 700024);
    let rotated = k8s.token("apps", "proxy", emu.now());
    assert_eq!(
        redeem_with(&emu, &rotated).status,
        200,
        "the rotated token works"
    );
}

#[test]
fn mismatched_or_forged_assertions_get_entras_codes() {
    let k8s = KubernetesIssuer::new(CLUSTER);
    let emu = federated_emulator(&k8s);
    let now = emu.now();
    let other_cluster = KubernetesIssuer::new("https://oidc.other.example/");
    let impostor = KubernetesIssuer::with_key(CLUSTER, 1);
    let mut wrong_aud = k8s.claims("apps", "proxy", now, 3600);
    wrong_aud["aud"] = serde_json::json!(["https://kubernetes.default.svc.cluster.local"]);
    // (case, assertion, status, error, AADSTS)
    let cases = [
        (
            "other issuer",
            other_cluster.token("apps", "proxy", now),
            401,
            "invalid_client",
            700211,
        ),
        (
            "other service account",
            k8s.token("apps", "debug", now),
            401,
            "invalid_client",
            700213,
        ),
        (
            "other namespace",
            k8s.token("default", "proxy", now),
            401,
            "invalid_client",
            700213,
        ),
        (
            "kubernetes audience",
            k8s.sign(&wrong_aud),
            400,
            "invalid_request",
            70021,
        ),
        (
            "impostor key",
            impostor.token("apps", "proxy", now),
            401,
            "invalid_client",
            7000272,
        ),
        (
            "not a jwt",
            "not-a-jwt".to_string(),
            401,
            "invalid_client",
            50027,
        ),
    ];
    for (name, assertion, status, error, code) in cases {
        let resp = redeem_with(&emu, &assertion);
        assert_eq!(
            (resp.status, resp.aadsts()),
            (status, code),
            "{name}: {}",
            resp.body
        );
        assert_eq!(resp.json()["error"], error, "{name}");
    }
    let mismatch = redeem_with(&emu, &k8s.token("apps", "debug", now));
    assert!(mismatch.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("presented assertion subject 'system:serviceaccount:apps:debug'"));
}

#[test]
fn a_federated_only_client_refuses_secrets() {
    let k8s = KubernetesIssuer::new(CLUSTER);
    let emu = federated_emulator(&k8s);
    let code = auto_code(&emu, &[]);
    let secret = redeem(&emu, &code, None, &[]);
    assert_eq!((secret.status, secret.aadsts()), (401, 7000215));
    let nothing = redeem(&emu, &code, None, &[("client_secret", "")]);
    assert_eq!((nothing.status, nothing.aadsts()), (401, 7000218));
    assert_eq!(
        redeem(
            &emu,
            &code,
            None,
            &with_assertion(&k8s.token("apps", "proxy", emu.now()))
        )
        .status,
        200,
        "failed client authentication did not burn the code"
    );
}
