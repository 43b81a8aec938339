//! Injected Graph failures: throttling, errors, slowness, broken answers, dropped connections.

use std::time::{Duration, Instant};

use super::*;
use crate::emulator::{Endpoint, Fault};

fn setup() -> (Emulator, String, String) {
    let emu = Emulator::start(EmulatorConfig::default());
    let token = emu.issue_access_token("groups250", DEFAULT_CLIENT_ID, "openid User.Read");
    let url = format!(
        "{}/v1.0/me/transitiveMemberOf?$select=id&$top=999",
        emu.graph_base_url()
    );
    (emu, token, url)
}

fn call(url: &str, token: &str) -> Result<Resp, String> {
    try_get(url, &[("Authorization", &format!("Bearer {token}"))])
}

#[test]
fn throttled_once_then_success() {
    let (emu, token, url) = setup();
    emu.set_fault_times(Endpoint::Graph, Fault::Status(429), 1);
    let first = call(&url, &token).unwrap();
    assert_eq!(first.status, 429);
    assert_eq!(first.header("retry-after"), Some("1"));
    assert_eq!(first.json()["error"]["code"], "TooManyRequests");
    assert!(first.header("request-id").is_some());
    let second = call(&url, &token).unwrap();
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.json()["value"].as_array().unwrap().len(), 251);
    assert_eq!(emu.counts().graph, 2, "faulted calls count too");
    assert_eq!(emu.counts().get(Endpoint::Graph), 2);
}

#[test]
fn status_faults_are_graph_shaped_and_leave_entra_alone() {
    let (emu, token, url) = setup();
    // (fault, status, code, Retry-After)
    let cases = [
        (Fault::Throttled(7), 429, "TooManyRequests", Some("7")),
        (Fault::Status(503), 503, "serviceNotAvailable", Some("1")),
        (Fault::Status(500), 500, "generalException", None),
        (Fault::Status(401), 401, "InvalidAuthenticationToken", None),
        (Fault::Status(403), 403, "Authorization_RequestDenied", None),
    ];
    for (fault, status, code, retry_after) in cases {
        emu.set_fault(Endpoint::Graph, fault.clone());
        let resp = call(&url, &token).unwrap();
        assert_eq!(resp.status, status, "{fault:?}");
        assert_eq!(resp.json()["error"]["code"], code, "{fault:?}");
        assert_eq!(resp.header("retry-after"), retry_after, "{fault:?}");
        let discovery = get(&format!(
            "{}/.well-known/openid-configuration",
            emu.issuer_url_for(DEFAULT_TENANT_ID)
        ));
        assert_eq!(discovery.status, 200, "Entra endpoints unaffected");
    }
    emu.clear_faults();
    assert_eq!(call(&url, &token).unwrap().status, 200);
}

#[test]
fn throttling_entra_endpoints_sets_their_retry_after() {
    let emu = Emulator::start(EmulatorConfig::default());
    emu.set_fault_times(Endpoint::Token, Fault::Throttled(30), 1);
    let resp = post_form(&token_url(&emu), &[("grant_type", "refresh_token")], &[]);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("30"));
    assert_eq!(resp.aadsts(), 90033);
    assert_eq!(
        resp.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .count(),
        1
    );
}

#[test]
fn malformed_close_and_delay() {
    let (emu, token, url) = setup();
    emu.set_fault_times(Endpoint::Graph, Fault::MalformedJson, 1);
    let broken = call(&url, &token).unwrap();
    assert_eq!(broken.status, 200);
    assert!(broken.body.contains("\"value\":[{"), "{}", broken.body);
    assert!(serde_json::from_str::<Value>(&broken.body).is_err());

    emu.set_fault_times(Endpoint::Graph, Fault::Close, 1);
    assert!(
        call(&url, &token).is_err(),
        "connection dropped without an answer"
    );

    emu.set_fault_times(
        Endpoint::Graph,
        Fault::Delay(Duration::from_millis(1200)),
        1,
    );
    let start = Instant::now();
    assert_eq!(call(&url, &token).unwrap().status, 200);
    assert!(start.elapsed() >= Duration::from_millis(1200));
    assert_eq!(emu.counts().graph, 3);
}
