//! The `entra-proxy-wasm` binary: output and exit codes of each subcommand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_entra-proxy-wasm"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn image_prints_the_same_digests_for_the_same_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write(dir.path(), "f.wasm", b"\0asm\x01\0\0\0 module");
    let out_a = dir.path().join("a");
    let out_b = dir.path().join("b");
    let a = run(&["image", "--wasm", &wasm, "--out", out_a.to_str().unwrap()]);
    let b = run(&[
        "image",
        "--wasm",
        &wasm,
        "--out",
        out_b.to_str().unwrap(),
        "--variant",
        "both",
    ]);
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert_eq!(text(&a.stdout), text(&b.stdout));
    let stdout = text(&a.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("compat manifest digest sha256:"));
    let hex = lines[0].rsplit(':').next().unwrap();
    assert_eq!(lines[1], format!("compat WasmPlugin sha256: {hex}"));
    assert!(lines[2].starts_with("artifact manifest digest sha256:"));
    assert_eq!(
        std::fs::read(out_a.join("index.json")).unwrap(),
        std::fs::read(out_b.join("index.json")).unwrap()
    );
}

#[test]
fn image_refuses_a_file_that_is_not_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = write(dir.path(), "x.wasm", b"#!/bin/sh");
    let out = run(&[
        "image",
        "--wasm",
        &not_wasm,
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a WebAssembly module"));
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["image", "--wasm", "x"],
        &["image", "--wasm", "x", "--out", "y", "--variant", "docker"],
        &["convert"],
        &["convert", "--toml", "/dev/null", "--format", "json"],
        &["push", "--layout", "l", "--image", "Bad/Ref"],
    ] {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn convert_exits_0_when_accepted_and_2_when_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.toml",
        br#"provider = "entra-id"
oidc_issuer_url = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
client_id = "c"
client_secret = "s"
cookie_secret = "0123456789abcdef0123456789abcdef"
email_domains = ["*"]
reverse_proxy = true
"#,
    );
    let out = run(&["convert", "--toml", &good]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(config["clusters"]["login.microsoftonline.com"], "entra");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("not carried over: reverse_proxy: not used inside Envoy"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ok: the filter accepts this configuration"),
        "{stderr}"
    );

    let bad = write(dir.path(), "bad.toml", b"client_id = \"c\"\n");
    let out = run(&["convert", "--toml", &bad, "--format", "envoy"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("rejected by the filter: oidc_issuer_url: is required"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("envoy.filters.http.wasm"));
}
