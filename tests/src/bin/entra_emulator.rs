//! `entra-emulator`: the test Entra ID as a standalone server, for `make demo`.

use std::io::Write;
use std::process::ExitCode;

use entra_proxy_tests::emulator::{Emulator, EmulatorConfig, User, DEFAULT_TENANT_ID};
use sha2::{Digest, Sha256};

const HELP: &str = "\
entra-emulator: a local Microsoft Entra ID (v2.0 endpoints) for demos and tests

USAGE:
    entra-emulator [OPTIONS]

OPTIONS:
    --port N                 Port on 127.0.0.1 (default 0: pick a free one)
    --port-file PATH         Write the chosen port to PATH once listening (readiness signal)
    --user NAME:PASSWORD[:EMAIL]
                             Add a user to the default tenant (repeatable). NAME is the UPN;
                             without EMAIL the ID token has no email claim
    --auto-login NAME        Sign NAME in without showing the login form
    --redirect-uri URI       Register another redirect URI for the default client (repeatable;
                             a trailing * makes it a prefix pattern)
    --client-id ID           Default client's id (default 22222222-2222-2222-2222-222222222222)
    --client-secret SECRET   Default client's secret (default test-client-secret)
    -h, --help               Show this help

DEFAULTS:
    tenant  11111111-1111-1111-1111-111111111111 (alias contoso.example)
    client  redirect URIs http://127.0.0.1/oauth2/callback and http://localhost/oauth2/callback
            (any port, as Entra does for loopback)
    users   alice@contoso.example / alice-password (email, 3 groups)
            bob@contoso.example / bob-password (no email)

Prints `entra-emulator listening on http://127.0.0.1:PORT`, then serves until killed.
Issuer URL for a proxy config: http://127.0.0.1:PORT/<tenant|common|organizations>/v2.0
";

struct Args {
    cfg: EmulatorConfig,
    port_file: Option<String>,
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("entra-emulator: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::try_start(args.cfg) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("entra-emulator: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.port_file {
        // Write then rename, so a watcher never reads a half-written file.
        let tmp = format!("{path}.tmp");
        let written = std::fs::write(&tmp, format!("{}\n", emulator.port()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            eprintln!("entra-emulator: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("entra-emulator listening on {}", emulator.base_url());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

fn parse(argv: Vec<String>) -> Result<Option<Args>, String> {
    let mut cfg = EmulatorConfig::default();
    let mut port_file = None;
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                cfg.port = v.parse().map_err(|_| format!("--port: not a port: {v}"))?;
            }
            "--port-file" => port_file = Some(value()?),
            "--user" => cfg.users.push(user(&value()?)?),
            "--auto-login" => cfg.auto_login = Some(value()?),
            "--redirect-uri" => cfg.clients[0].redirect_uris.push(value()?),
            "--client-id" => cfg.clients[0].client_id = value()?,
            "--client-secret" => cfg.clients[0].secret = Some(value()?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if let Some(name) = &cfg.auto_login {
        if cfg.user(name).is_none() {
            return Err(format!("--auto-login: no user {name}"));
        }
    }
    Ok(Some(Args { cfg, port_file }))
}

/// `NAME:PASSWORD[:EMAIL]` → a user of the default tenant with an oid derived from the name.
fn user(spec: &str) -> Result<User, String> {
    let mut parts = spec.splitn(3, ':');
    let (name, password) = match (parts.next(), parts.next()) {
        (Some(n), Some(p)) if !n.is_empty() && !p.is_empty() => (n, p),
        _ => {
            return Err(format!(
                "--user: expected NAME:PASSWORD[:EMAIL], got {spec}"
            ))
        }
    };
    let hex: String = Sha256::digest(name.to_ascii_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let oid = format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    Ok(User {
        username: name.to_string(),
        password: password.to_string(),
        tenant: DEFAULT_TENANT_ID.to_string(),
        oid,
        name: name.split('@').next().unwrap_or(name).to_string(),
        email: parts.next().filter(|e| !e.is_empty()).map(str::to_string),
        groups: Vec::new(),
    })
}
