use std::time::{Duration, Instant};

use super::*;
use crate::emulator::{Endpoint, Fault};

fn discovery_url(emu: &Emulator) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        emu.issuer_url_for(DEFAULT_TENANT_ID)
    )
}

fn jwks_url(emu: &Emulator) -> String {
    format!("{}/{DEFAULT_TENANT_ID}/discovery/v2.0/keys", emu.base_url())
}

#[test]
fn status_faults_answer_entra_shaped_errors_and_count() {
    let emu = auto_login_emulator();
    emu.set_fault(Endpoint::Jwks, Fault::Status(503));
    emu.set_fault(Endpoint::Authorize, Fault::Status(500));
    let jwks = get(&jwks_url(&emu));
    assert_eq!(jwks.status, 503);
    assert_eq!(jwks.json()["error"], "temporarily_unavailable");
    assert_eq!(jwks.aadsts(), 90033);
    assert_eq!(jwks.header("retry-after"), Some("1"));
    let authz = get(&authorize_url(&emu, DEFAULT_TENANT_ID, &[]));
    assert_eq!(authz.status, 500);
    assert!(authz.body.contains("AADSTS90033"));
    assert_eq!(
        get(&discovery_url(&emu)).status,
        200,
        "other endpoints unaffected"
    );
    assert_eq!((emu.counts().jwks, emu.counts().authorize), (1, 1));

    emu.clear_faults();
    assert_eq!(get(&jwks_url(&emu)).status, 200);
}

#[test]
fn limited_faults_recover_by_themselves() {
    let emu = auto_login_emulator();
    emu.set_fault_times(Endpoint::Discovery, Fault::Status(429), 2);
    let statuses: Vec<u16> = (0..3).map(|_| get(&discovery_url(&emu)).status).collect();
    assert_eq!(statuses, vec![429, 429, 200]);
}

#[test]
fn malformed_json_is_a_200_that_does_not_parse() {
    let emu = auto_login_emulator();
    emu.set_fault(Endpoint::Discovery, Fault::MalformedJson);
    let resp = get(&discovery_url(&emu));
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert!(serde_json::from_str::<Value>(&resp.body).is_err());
}

#[test]
fn close_drops_the_connection_without_a_response() {
    let emu = auto_login_emulator();
    emu.set_fault(Endpoint::Token, Fault::Close);
    let err = agent_post_err(&token_url(&emu));
    assert!(!err.is_empty());
    assert_eq!(emu.counts().token, 1);
    // Raw socket view: the server sends nothing before closing.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", emu.port())).unwrap();
    s.write_all(format!("POST /{DEFAULT_TENANT_ID}/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
}

fn agent_post_err(url: &str) -> String {
    let r = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build()
        .post(url)
        .send_form(&[("grant_type", "authorization_code")]);
    match r {
        Err(ureq::Error::Transport(t)) => t.to_string(),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn delay_holds_one_endpoint_while_others_answer() {
    let emu = auto_login_emulator();
    emu.set_fault(Endpoint::Jwks, Fault::Delay(Duration::from_millis(1500)));
    let slow = {
        let url = jwks_url(&emu);
        std::thread::spawn(move || {
            let start = Instant::now();
            let status = get(&url).status;
            (status, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    assert_eq!(get(&discovery_url(&emu)).status, 200);
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "discovery was not held up"
    );
    let (status, took) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(1500), "{took:?}");
}
