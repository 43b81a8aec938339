//! `push` against a scripted registry on loopback: the bearer token flow (Basic credentials and
//! identity tokens), relative upload locations, digest checks and the error text for each HTTP
//! failure. (The real Debian registry, with Basic auth, is exercised in tests/tests/image_oci.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine;
use entra_proxy_wasm_cli::oci::{self, sha256_digest, Variant};
use entra_proxy_wasm_cli::push::{push_image, Credentials, ImageRef, PushError};

const TOKEN: &str = "fake-registry-token";

#[derive(Default)]
struct State {
    blobs: BTreeMap<String, Vec<u8>>,
    manifests: BTreeMap<String, Vec<u8>>,
    token_requests: Vec<String>,
    /// When set, manifest PUTs fail with this status and body.
    manifest_failure: Option<(u16, String)>,
}

struct FakeRegistry {
    port: u16,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl FakeRegistry {
    fn start() -> FakeRegistry {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let thread = {
            let server = server.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(request, port, &state);
                }
            })
        };
        FakeRegistry {
            port,
            state,
            server,
            thread: Some(thread),
        }
    }

    fn image_ref(&self, repo_tag: &str) -> ImageRef {
        ImageRef::parse(&format!("127.0.0.1:{}/{repo_tag}", self.port)).unwrap()
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn header(request: &tiny_http::Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.to_string())
}

fn respond(request: tiny_http::Request, status: u16, headers: &[(&str, String)], body: &str) {
    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
    for (name, value) in headers {
        response
            .add_header(tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap());
    }
    let _ = request.respond(response);
}

fn handle(mut request: tiny_http::Request, port: u16, state: &Mutex<State>) {
    let url = request.url().to_string();
    let method = request.method().to_string();
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    if path == "/token" {
        let auth = header(&request, "Authorization").unwrap_or_default();
        let form = String::from_utf8_lossy(&body).to_string();
        state
            .lock()
            .unwrap()
            .token_requests
            .push(format!("{method} {query} {form}"));
        let good_basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("pusher:secret")
        );
        let good_refresh = method == "POST" && form.contains("refresh_token=refresh-123");
        if auth == good_basic || good_refresh {
            respond(request, 200, &[], &format!(r#"{{"token":"{TOKEN}"}}"#));
        } else {
            respond(
                request,
                401,
                &[],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
            );
        }
        return;
    }
    if header(&request, "Authorization").as_deref() != Some(&format!("Bearer {TOKEN}")) {
        let challenge = format!(
            r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake",scope="repository:r/x:pull""#
        );
        respond(
            request,
            401,
            &[("WWW-Authenticate", challenge)],
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        return;
    }
    let mut state = state.lock().unwrap();
    if let Some(digest) = path
        .strip_prefix("/v2/r/x/blobs/")
        .filter(|_| method == "HEAD")
    {
        let status = if state.blobs.contains_key(digest) {
            200
        } else {
            404
        };
        drop(state);
        respond(request, status, &[], "");
    } else if path == "/v2/r/x/blobs/uploads/" && method == "POST" {
        drop(state);
        // A relative Location with its own query, as distribution returns.
        respond(
            request,
            202,
            &[("Location", "/upload/1?_state=opaque".into())],
            "",
        );
    } else if path == "/upload/1" && method == "PUT" {
        assert!(query.contains("_state=opaque"), "{query}");
        let digest = query
            .split('&')
            .find_map(|p| p.strip_prefix("digest="))
            .unwrap()
            .replace("%3A", ":");
        if sha256_digest(&body) != digest {
            drop(state);
            respond(
                request,
                400,
                &[],
                r#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#,
            );
            return;
        }
        state.blobs.insert(digest, body);
        drop(state);
        respond(request, 201, &[], "");
    } else if let Some(tag) = path
        .strip_prefix("/v2/r/x/manifests/")
        .filter(|_| method == "PUT")
    {
        if let Some((status, body)) = state.manifest_failure.clone() {
            drop(state);
            respond(request, status, &[], &body);
            return;
        }
        let digest = sha256_digest(&body);
        state.manifests.insert(tag.to_string(), body);
        drop(state);
        respond(request, 201, &[("Docker-Content-Digest", digest)], "");
    } else {
        drop(state);
        respond(
            request,
            404,
            &[],
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"no route"}]}"#,
        );
    }
}

fn basic(username: &str, password: &str) -> Option<Credentials> {
    Some(Credentials::Basic {
        username: username.into(),
        password: password.into(),
    })
}

#[test]
fn bearer_flow_with_basic_credentials_uploads_blobs_then_the_manifest() {
    let registry = FakeRegistry::start();
    let image = oci::build(Variant::Compat, b"\0asm\x01\0\0\0 fake module").unwrap();
    let report = push_image(
        &image,
        &registry.image_ref("r/x:v1"),
        true,
        basic("pusher", "secret"),
    )
    .unwrap();
    assert_eq!(report.manifest_digest, image.manifest_digest());
    assert_eq!(report.uploaded.len(), 2);
    let state = registry.state.lock().unwrap();
    assert_eq!(state.manifests["v1"], image.manifest);
    for (digest, bytes) in &image.blobs {
        assert_eq!(&state.blobs[digest], bytes);
    }
    // One token for the whole push, asked with push scope even though the challenge said pull.
    assert_eq!(state.token_requests.len(), 1, "{:?}", state.token_requests);
    assert!(
        state.token_requests[0].contains("scope=repository%3Ar%2Fx%3Apull%2Cpush"),
        "{:?}",
        state.token_requests
    );
}

#[test]
fn a_second_push_skips_blobs_the_registry_has() {
    let registry = FakeRegistry::start();
    let image = oci::build(Variant::Artifact, b"\0asm module").unwrap();
    let target = registry.image_ref("r/x:v1");
    push_image(&image, &target, true, basic("pusher", "secret")).unwrap();
    let again = push_image(&image, &target, true, basic("pusher", "secret")).unwrap();
    assert!(again.uploaded.is_empty());
    assert_eq!(again.skipped.len(), 2);
}

#[test]
fn identity_tokens_use_the_refresh_token_grant() {
    let registry = FakeRegistry::start();
    let image = oci::build(Variant::Compat, b"\0asm m").unwrap();
    let credentials = Some(Credentials::IdentityToken("refresh-123".into()));
    push_image(&image, &registry.image_ref("r/x:v2"), true, credentials).unwrap();
    let state = registry.state.lock().unwrap();
    assert!(
        state.token_requests[0].starts_with("POST "),
        "{:?}",
        state.token_requests
    );
    assert!(state.token_requests[0].contains("grant_type=refresh_token"));
}

#[test]
fn refused_credentials_name_the_token_endpoint_and_the_registry_error() {
    let registry = FakeRegistry::start();
    let image = oci::build(Variant::Compat, b"\0asm m").unwrap();
    let err = push_image(
        &image,
        &registry.image_ref("r/x:v1"),
        true,
        basic("pusher", "wrong"),
    )
    .unwrap_err();
    assert!(
        matches!(err, PushError::Token { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("/token answered HTTP 401: UNAUTHORIZED: bad credentials"),
        "{text}"
    );
}

#[test]
fn a_manifest_failure_reports_status_and_registry_codes() {
    let registry = FakeRegistry::start();
    registry.state.lock().unwrap().manifest_failure = Some((
        400,
        r#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"bad layer"}]}"#.into(),
    ));
    let image = oci::build(Variant::Compat, b"\0asm m").unwrap();
    let err = push_image(
        &image,
        &registry.image_ref("r/x:v1"),
        true,
        basic("pusher", "secret"),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("put manifest: PUT http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("answered HTTP 400: MANIFEST_INVALID: manifest invalid (\"bad layer\")"),
        "{text}"
    );
}

#[test]
fn a_registry_that_is_down_is_a_transport_error() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let image = oci::build(Variant::Compat, b"\0asm m").unwrap();
    let target = ImageRef::parse(&format!("127.0.0.1:{port}/r/x:v1")).unwrap();
    let err = push_image(&image, &target, true, None).unwrap_err();
    assert!(
        matches!(
            err,
            PushError::Transport {
                step: "check blob",
                ..
            }
        ),
        "{err:?}"
    );
}
