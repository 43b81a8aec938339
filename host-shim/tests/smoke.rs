//! Proves the shim against a tiny proxy-wasm 0.2.5 filter (`support/mod.rs`): every host-call
//! path the real filter relies on, driven and inspected through the public API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use host_shim::{
    Action, Host, LogLevel, MetricKind, Outcome, SharedStore, SplitMix64, Status,
    DEFAULT_TIME_UNIX_SECS,
};
use std::time::{Duration, UNIX_EPOCH};

fn started() -> Host {
    let host = Host::reset();
    host.set_vm_config("vm-1");
    host.set_plugin_config("cfg");
    host.set_property(&["plugin_name"], "sso");
    assert!(host.start(support::register));
    host
}

#[test]
fn start_runs_vm_start_and_configure_with_their_buffers() {
    let host = started();
    assert!(host.logs().iter().any(|l| l.message == "vm config vm-1"));
    assert_eq!(host.tick_period(), Some(Duration::from_secs(5)));
    let gauge = host.metric("config_bytes").unwrap();
    assert_eq!((gauge.kind, gauge.value), (MetricKind::Gauge, 3));
    assert_eq!(host.metric("sizes").unwrap().samples, vec![3]);
    assert!(host.warnings().is_empty(), "{:?}", host.warnings());
}

#[test]
fn configure_or_vm_start_returning_false_fails_start() {
    let cases = [("vm-1", "reject"), ("fail-vm", "cfg")];
    for (vm, plugin) in cases {
        let host = Host::reset();
        host.set_vm_config(vm);
        host.set_plugin_config(plugin);
        assert!(!host.start(support::register), "{vm} {plugin}");
    }
}

#[test]
fn request_header_edits_follow_envoy() {
    let host = started();
    host.set_random_seed(42);
    let stream = host.new_stream();
    let action = stream.request_headers(
        &[
            (":path", "/edit"),
            ("Cookie", "a=1"),
            ("cookie", "b=2"),
            ("x-remove", "gone"),
            ("x-empty", ""),
        ],
        true,
    );
    assert_eq!(action, Action::Continue);
    let headers = stream.request_header_map();
    assert_eq!(headers.get_all("cookie"), vec!["a=1", "b=2"]);
    assert_eq!(headers.get("x-cookies"), Some("2"));
    assert!(!headers.contains("x-remove"));
    assert_eq!(headers.get_all("x-added"), vec!["1", "2"]);
    assert_eq!(headers.get("x-missing-is-none"), Some("true"));
    assert_eq!(headers.get("x-empty-is"), Some("Some(\"\")"));
    assert_eq!(headers.get("x-plugin"), Some("sso"));
    assert_eq!(headers.get("x-unset-property-is-none"), Some("true"));
    assert_eq!(
        headers.get("x-time"),
        Some(DEFAULT_TIME_UNIX_SECS.to_string().as_str())
    );

    let mut expected = [0u8; 12];
    SplitMix64::new(42).fill(&mut expected);
    let hex: String = expected.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(headers.get("x-rand"), Some(hex.as_str()));
    assert_eq!(host.random_draws(), vec![expected.to_vec()]);

    assert_eq!(stream.outcome(), Outcome::Forwarded);
    assert_eq!(host.metric("requests").unwrap().value, 1);
    let debug = host
        .logs()
        .into_iter()
        .find(|l| l.message == "edited")
        .unwrap();
    assert_eq!(
        (debug.level, debug.context_id),
        (LogLevel::Debug, stream.id())
    );
    assert!(host.warnings().is_empty(), "{:?}", host.warnings());
}

#[test]
fn non_utf8_header_values_pass_through_as_bytes() {
    let host = started();
    let stream = host.new_stream();
    let raw: &[u8] = b"a\xffb";
    stream.request_headers_raw(&[(":path", b"/bytes"), ("x-raw", raw)], true);
    let headers = stream.request_header_map();
    assert_eq!(headers.get("x-raw-len"), Some("3"));
    assert_eq!(headers.get_bytes("x-raw-copy"), Some(raw));
    assert_eq!(headers.get("x-raw-copy"), Some("a\u{fffd}b"));
}

#[test]
fn clock_is_pinned_and_settable() {
    let host = started();
    host.set_time(UNIX_EPOCH + Duration::from_secs(1000));
    host.advance(Duration::from_secs(5));
    assert_eq!(host.now(), UNIX_EPOCH + Duration::from_secs(1005));
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/edit")], true);
    assert_eq!(stream.request_header_map().get("x-time"), Some("1005"));
}

#[test]
fn dispatched_call_is_recorded_and_success_resumes_the_stream() {
    let host = started();
    let stream = host.new_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/call")], true),
        Action::Pause
    );
    assert_eq!(stream.outcome(), Outcome::Pending);

    let calls = host.pending_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, "idp");
    assert_eq!(
        (call.method(), call.path(), call.authority()),
        ("POST", "/token", "login.example")
    );
    assert_eq!(call.body_text(), "grant_type=x");
    assert_eq!(call.headers.get("content-length"), Some("12"));
    assert_eq!(call.timeout, Duration::from_millis(1500));
    assert_eq!(call.context_id, stream.id());
    assert_eq!(stream.request_header_map().get("x-token"), Some("ok"));

    host.respond(call.token, 200, &[("content-type", "text/plain")], b"hello");
    assert!(host.pending_calls().is_empty());
    assert_eq!(host.dispatched_calls().len(), 1);
    assert!(stream.request_resumed());
    assert_eq!(
        stream.request_header_map().get("x-upstream-body"),
        Some("hello")
    );
    assert_eq!(stream.outcome(), Outcome::Forwarded);
}

#[test]
fn call_error_status_becomes_a_local_response_with_duplicate_headers() {
    let host = started();
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/call")], true);
    let token = host.pending_calls()[0].token;
    host.respond(token, 400, &[], b"{\"error\":\"invalid_grant\"}");
    let Outcome::Responded(response) = stream.outcome() else {
        panic!("expected a local response, got {:?}", stream.outcome());
    };
    assert_eq!(response.status, 401);
    assert_eq!(response.headers.get_all("set-cookie"), vec!["a=1", "b=2"]);
    assert_eq!(response.header("x-status"), Some("400"));
    assert_eq!(response.body_text(), "{\"error\":\"invalid_grant\"}");
    assert_eq!(response.grpc_status, -1);
    assert!(!stream.request_resumed());
}

#[test]
fn failed_call_arrives_with_zero_headers_and_a_reset_status() {
    let host = started();
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/call")], true);
    host.fail(host.pending_calls()[0].token);
    let response = stream.local_response().unwrap();
    assert_eq!(response.status, 502);
    assert_eq!(response.body_text(), "11 reset");
}

#[test]
fn timed_out_call_arrives_as_envoys_504() {
    let host = started();
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/call")], true);
    host.timeout(host.pending_calls()[0].token);
    let response = stream.local_response().unwrap();
    assert_eq!(response.header("x-status"), Some("504"));
    assert_eq!(response.body_text(), "upstream request timeout");
}

#[test]
fn responses_reach_the_stream_that_dispatched_even_out_of_order() {
    let host = started();
    let first = host.new_stream();
    let second = host.new_stream();
    first.request_headers(&[(":path", "/call")], true);
    second.request_headers(&[(":path", "/call")], true);
    let calls = host.pending_calls();
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0].token, calls[1].token);
    host.respond(calls[1].token, 200, &[], b"second");
    host.respond(calls[0].token, 200, &[], b"first");
    assert_eq!(
        first.request_header_map().get("x-upstream-body"),
        Some("first")
    );
    assert_eq!(
        second.request_header_map().get("x-upstream-body"),
        Some("second")
    );
    assert!(host.warnings().is_empty(), "{:?}", host.warnings());
}

#[test]
fn bad_calls_fail_with_bad_argument_like_envoy() {
    let host = started();
    host.set_cluster_unknown("nowhere");
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/bad-calls")], true);
    let headers = stream.request_header_map();
    assert_eq!(headers.get("x-unknown"), Some("BadArgument"));
    assert_eq!(headers.get("x-no-authority"), Some("BadArgument"));
    assert!(host.pending_calls().is_empty());
    assert_eq!(host.warnings().len(), 2, "{:?}", host.warnings());
}

#[test]
fn known_cluster_list_rejects_everything_else() {
    let host = started();
    host.set_known_clusters(&["other"]);
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/call")], true);
    assert_eq!(
        stream.request_header_map().get("x-token"),
        Some("BadArgument")
    );
}

#[test]
fn local_response_from_headers() {
    let host = started();
    let stream = host.new_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/deny")], true),
        Action::Pause
    );
    let response = stream.local_response().unwrap();
    assert_eq!(
        (response.status, response.body_text()),
        (403, "no".to_string())
    );
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
}

#[test]
fn root_call_tick_shared_data_and_lease_cas() {
    let host = started();
    host.tick();
    let call = host.pending_calls().remove(0);
    assert_eq!(call.context_id, host.root_id());
    host.respond(call.token, 200, &[], b"{\"issuer\":\"x\"}");
    assert_eq!(
        host.shared_data("discovery").unwrap().0,
        b"{\"issuer\":\"x\"}"
    );
    assert_eq!(host.metric("refreshes").unwrap().value, 1);

    // Nobody else wrote the lease: the renewal with the remembered CAS succeeds.
    host.tick();
    // Another worker takes the lease: the next renewal must lose.
    let (_, cas) = host.shared_data("lease").unwrap();
    assert_eq!(host.set_shared_data("lease", b"other", cas), Status::Ok);
    assert_eq!(
        host.set_shared_data("lease", b"stale", cas),
        Status::CasMismatch
    );
    host.tick();
    let outcomes: Vec<String> = host
        .logs()
        .into_iter()
        .filter(|l| l.message.starts_with("lease"))
        .map(|l| l.message)
        .collect();
    assert_eq!(outcomes, vec!["lease renewed", "lease lost"]);
    assert_eq!(host.shared_data("lease").unwrap().0, b"other");
}

#[test]
fn failed_root_call_reaches_the_root() {
    let host = started();
    host.tick();
    host.fail(host.pending_calls()[0].token);
    assert!(host.logs().iter().any(|l| l.message == "root call failed"));
    assert_eq!(host.shared_data("discovery"), None);
}

#[test]
fn workers_on_threads_share_one_store() {
    let store = SharedStore::new();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let store = store.clone();
            scope.spawn(move || {
                let host = started();
                host.use_shared_store(store);
                host.tick();
                host.respond(host.pending_calls()[0].token, 200, &[], b"doc");
            });
        }
    });
    assert_eq!(store.get("discovery").unwrap().0, b"doc");
    assert_eq!(
        store.keys(),
        vec!["discovery".to_string(), "lease".to_string()]
    );
}

#[test]
fn body_is_buffered_while_paused_and_edits_are_forwarded() {
    let host = started();
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/upload")], false);
    assert_eq!(stream.request_body(b"ab", false), Action::Pause);
    assert_eq!(stream.request_body(b"cd", true), Action::Continue);
    assert_eq!(stream.forwarded_request_body(), b"ABCD!");
}

#[test]
fn response_headers_and_log_phase() {
    let host = started();
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/plain")], true);
    stream.response_headers(&[(":status", "200")], true);
    assert_eq!(
        stream.response_header_map().get("x-seen-status"),
        Some("200")
    );
    assert!(stream.done());
    // on_log read the request path although the request had long continued.
    assert!(host.logs().iter().any(|l| l.message == "log /plain"));
    assert!(host.warnings().is_empty(), "{:?}", host.warnings());
}

#[test]
fn unsupported_calls_fail_softly_and_are_reported() {
    let host = started();
    let stream = host.new_stream();
    stream.request_headers(&[(":path", "/unsupported")], true);
    assert_eq!(
        stream.request_header_map().get("x-unsupported"),
        Some("true true")
    );
    assert_eq!(host.warnings().len(), 2, "{:?}", host.warnings());
}

#[test]
#[should_panic(expected = "no pending HTTP call with token 999")]
fn responding_to_an_unknown_token_is_a_test_error() {
    started().respond(999, 200, &[], b"");
}

#[test]
#[should_panic(expected = "is done")]
fn a_finished_stream_cannot_be_driven() {
    let host = started();
    let stream = host.new_stream();
    stream.done();
    stream.request_headers(&[(":path", "/")], true);
}

#[test]
fn a_thread_can_run_several_hosts_in_sequence() {
    for _ in 0..3 {
        let host = started();
        let stream = host.new_stream();
        stream.request_headers(&[(":path", "/call")], true);
        host.respond(host.pending_calls()[0].token, 200, &[], b"x");
        assert_eq!(stream.outcome(), Outcome::Forwarded);
    }
}
