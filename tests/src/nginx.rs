//! A real nginx (Debian's `nginx`, which has `auth_request`) configured the way ingress-nginx
//! turns the `auth-url`, `auth-signin` and `auth-response-headers` annotations into nginx config,
//! so the filter's `/oauth2/auth` endpoint is tested against the client it was designed for.
//!
//! Per protected location nginx gets:
//! - `auth_request` to an internal location that proxies to `auth-url` with the request's
//!   cookies and no body;
//! - `auth_request_set` + `proxy_set_header` for every `auth-response-headers` entry, so the
//!   backend receives what the auth service answered;
//! - `error_page 401 = @signin`, a `302` to `auth-signin` (nginx variables are expanded).
//!
//! Files, all in one directory under the test's log dir: `nginx.conf` (what ran), `error.log`,
//! `access.log`, `stderr.log`, `nginx.pid`, `tmp/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait::wait_until;

/// How many fresh ports to try when another process takes the chosen one first.
const BIND_ATTEMPTS: usize = 5;
/// How long nginx may take to answer its readiness probe (a lost bind race costs nginx's own
/// five bind retries, 2.5 s, before it exits).
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a `SIGTERM` (fast shutdown) may take before the master is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Path of the readiness probe; answers a per-start random token.
const READY_PATH: &str = "/__nginx_ready";
/// Lines of the error log printed when a test panics.
const LOG_TAIL_LINES: usize = 30;

/// One protected location, as one Ingress with the auth annotations would produce it.
#[derive(Debug, Clone)]
pub struct AuthLocation {
    /// Location prefix, e.g. `/dashboard/`.
    pub path: String,
    /// `nginx.ingress.kubernetes.io/auth-url`: where the subrequest goes (query kept as is).
    pub auth_url: String,
    /// `nginx.ingress.kubernetes.io/auth-signin`: where a 401 redirects; may use nginx variables
    /// such as `$scheme`, `$http_host`, `$request_uri`. `None` lets the 401 through.
    pub auth_signin: Option<String>,
    /// `nginx.ingress.kubernetes.io/auth-response-headers`: copied from the auth answer to the
    /// backend request.
    pub auth_response_headers: Vec<String>,
}

impl AuthLocation {
    /// A location guarded by `auth_url`, redirecting 401s to `auth_signin`, passing `headers`.
    pub fn new(path: &str, auth_url: &str, auth_signin: Option<&str>, headers: &[&str]) -> Self {
        AuthLocation {
            path: path.to_string(),
            auth_url: auth_url.to_string(),
            auth_signin: auth_signin.map(str::to_string),
            auth_response_headers: headers.iter().map(|h| h.to_string()).collect(),
        }
    }
}

/// What nginx serves: protected locations in front of one backend on 127.0.0.1.
#[derive(Debug, Clone)]
pub struct NginxConfig {
    /// Port on 127.0.0.1 of the backend every location proxies to.
    pub backend_port: u16,
    /// The protected locations.
    pub locations: Vec<AuthLocation>,
}

/// A running nginx master (with one worker), stopped by pid on drop.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    /// Writes the config into a fresh `nginx[-N]` dir in `log_dir`, starts nginx on a free port
    /// and waits until it answers; retries with another port if the chosen one was taken in the
    /// meantime. Panics with the error log if nginx does not come up.
    pub fn start(config: &NginxConfig, log_dir: &Path) -> Nginx {
        let dir = crate::paths::unique_subdir(log_dir, "nginx");
        // nginx creates the temp paths' last component only.
        std::fs::create_dir_all(dir.join("tmp"))
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.join("tmp").display()));
        let mut last_error = String::new();
        for _ in 0..BIND_ATTEMPTS {
            let port = free_port();
            let token = format!("ready-{:016x}", rand::random::<u64>());
            let conf = render(config, &dir, port, &token);
            match Nginx::spawn(&dir, &conf, port, &token) {
                Ok(nginx) => return nginx,
                Err(StartFailure::PortTaken(log)) => last_error = log,
                Err(StartFailure::Other(why)) => panic!(
                    "nginx did not start: {why} (files in {})\n--- error log (tail) ---\n{}",
                    dir.display(),
                    tail(&read(&dir, "error.log"), LOG_TAIL_LINES)
                ),
            }
        }
        panic!("nginx: every port tried was taken ({BIND_ATTEMPTS} attempts):\n{last_error}");
    }

    fn spawn(dir: &Path, conf: &str, port: u16, token: &str) -> Result<Nginx, StartFailure> {
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf)
            .map_err(|e| StartFailure::Other(format!("cannot write nginx.conf: {e}")))?;
        // A previous attempt's log would make a later failure look like a lost bind race.
        let _ = std::fs::remove_file(dir.join("error.log"));
        let stderr = std::fs::File::create(dir.join("stderr.log"))
            .map_err(|e| StartFailure::Other(e.to_string()))?;
        let child = Command::new(nginx_bin())
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            // Before it reads the config nginx opens its compiled-in error log
            // (/var/log/nginx/error.log); -e keeps even that in the test's directory.
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(
                stderr
                    .try_clone()
                    .map_err(|e| StartFailure::Other(e.to_string()))?,
            )
            .stderr(stderr)
            .spawn()
            .map_err(|e| StartFailure::Other(format!("cannot run nginx: {e}")))?;
        let mut nginx = Nginx {
            child,
            dir: dir.to_path_buf(),
            port,
        };
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(1))
            .build();
        let probe = format!("http://127.0.0.1:{port}{READY_PATH}");
        let mut exited = None;
        // The token proves the answer is from this nginx, not from whatever took the port.
        let ready = wait_until("nginx to answer its readiness probe", START_TIMEOUT, || {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                exited = Some(status);
                return Some(false);
            }
            let body = agent.get(&probe).call().ok()?.into_string().ok()?;
            (body == token).then_some(true)
        });
        match (ready, exited) {
            (Ok(true), _) => Ok(nginx),
            (Ok(false), status) => {
                let log = format!("{}{}", read(dir, "error.log"), read(dir, "stderr.log"));
                if log.contains("Address already in use") {
                    Err(StartFailure::PortTaken(log))
                } else {
                    Err(StartFailure::Other(format!("nginx exited with {status:?}")))
                }
            }
            (Err(why), _) => {
                drop(nginx);
                Err(StartFailure::Other(why))
            }
        }
    }

    /// The port nginx listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The directory with `nginx.conf` and the logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        read(&self.dir, "error.log")
    }

    /// The access log so far (one line per request nginx finished, subrequests excluded).
    pub fn access_log(&self) -> String {
        read(&self.dir, "access.log")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.child);
        if std::thread::panicking() {
            eprintln!(
                "nginx files kept in {}\n--- nginx error log (tail) ---\n{}",
                self.dir.display(),
                tail(&self.error_log(), LOG_TAIL_LINES)
            );
        }
    }
}

/// Why one start attempt failed.
enum StartFailure {
    /// Someone bound the port between our probe and nginx's bind: try another one.
    PortTaken(String),
    /// Anything else: a broken config or a missing binary, not worth retrying.
    Other(String),
}

/// `SIGTERM` to the master (nginx's fast shutdown also ends its workers, which a `SIGKILL` of
/// the master would orphan), then `SIGKILL` if it lingers; always reaps.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let gone = wait_until("nginx to exit", STOP_TIMEOUT, || {
        child.try_wait().ok().flatten()
    });
    if gone.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The nginx binary: `$NGINX_BIN`, else `/usr/sbin/nginx` (Debian's path, which is not on a
/// normal user's `PATH`). Panics, saying how to get it, when missing: a test that skipped
/// silently would pass on a machine that never ran it.
pub fn nginx_bin() -> PathBuf {
    let path = match std::env::var_os("NGINX_BIN") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("/usr/sbin/nginx"),
    };
    if !path.is_file() {
        panic!(
            "nginx not found at {} (NGINX_BIN): run `make tools` (apt-get install nginx)",
            path.display()
        );
    }
    path
}

/// A port that was free a moment ago: bind port 0, read it, release it. Another process may
/// take it before nginx binds; [`Nginx::start`] retries then.
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// The complete `nginx.conf`.
pub fn render(config: &NginxConfig, dir: &Path, port: u16, token: &str) -> String {
    let d = |name: &str| quote(&dir.join(name).to_string_lossy());
    let mut locations = String::new();
    for (i, loc) in config.locations.iter().enumerate() {
        locations.push_str(&render_location(i, loc, config.backend_port));
    }
    format!(
        "worker_processes 1;
pid {pid};
error_log {error_log} info;
events {{ worker_connections 256; }}
http {{
    access_log {access_log};
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # Entra tokens and chunked session cookies are large (the seed's proxy-buffer-size
    # annotations say the same for the auth answer).
    large_client_header_buffers 4 64k;
    proxy_buffer_size 256k;
    proxy_buffers 4 256k;
    proxy_busy_buffers_size 256k;
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        location = {READY_PATH} {{ return 200 {token}; }}
{locations}    }}
}}
",
        pid = d("nginx.pid"),
        error_log = d("error.log"),
        access_log = d("access.log"),
        tmp = dir.join("tmp").to_string_lossy(),
        token = quote(token),
    )
}

/// One protected location plus its internal auth subrequest and sign-in redirect, shaped like
/// ingress-nginx's template for the auth annotations.
fn render_location(i: usize, loc: &AuthLocation, backend_port: u16) -> String {
    let mut copy = String::new();
    for (j, header) in loc.auth_response_headers.iter().enumerate() {
        let var = format!(
            "$upstream_http_{}",
            header.to_ascii_lowercase().replace('-', "_")
        );
        copy.push_str(&format!(
            "            auth_request_set $auth_{i}_{j} {var};\n            proxy_set_header {} $auth_{i}_{j};\n",
            quote(header)
        ));
    }
    let signin = match &loc.auth_signin {
        Some(url) => format!(
            "            error_page 401 = @signin_{i};
        }}
        location @signin_{i} {{
            internal;
            add_header Set-Cookie $auth_cookie_{i};
            return 302 {url};
",
            url = quote(url)
        ),
        None => String::new(),
    };
    format!(
        "        location = /_external-auth-{i} {{
            internal;
            proxy_pass_request_body off;
            proxy_set_header Content-Length \"\";
            proxy_set_header Cookie $http_cookie;
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Auth-Request-Redirect $request_uri;
            proxy_http_version 1.1;
            set $target_{i} {auth_url};
            proxy_pass $target_{i};
        }}
        location {path} {{
            auth_request /_external-auth-{i};
            auth_request_set $auth_cookie_{i} $upstream_http_set_cookie;
            add_header Set-Cookie $auth_cookie_{i};
{copy}            proxy_pass http://127.0.0.1:{backend_port};
{signin}        }}
",
        auth_url = quote(&loc.auth_url),
        path = loc.path,
    )
}

/// An nginx double-quoted string (variables inside are still expanded).
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_wires_auth_request_headers_and_signin_like_ingress_nginx() {
        let config = NginxConfig {
            backend_port: 9000,
            locations: vec![AuthLocation::new(
                "/app/",
                "http://127.0.0.1:8000/oauth2/auth?allowed_groups=a",
                Some("http://127.0.0.1:8000/oauth2/start?rd=$scheme://$http_host$request_uri"),
                &["Authorization", "X-Auth-Request-User"],
            )],
        };
        let conf = render(&config, Path::new("/logs/n"), 4321, "tok");
        for want in [
            "listen 127.0.0.1:4321;",
            "auth_request /_external-auth-0;",
            "set $target_0 \"http://127.0.0.1:8000/oauth2/auth?allowed_groups=a\";",
            "auth_request_set $auth_0_0 $upstream_http_authorization;",
            "proxy_set_header \"Authorization\" $auth_0_0;",
            "auth_request_set $auth_0_1 $upstream_http_x_auth_request_user;",
            "error_page 401 = @signin_0;",
            "return 302 \"http://127.0.0.1:8000/oauth2/start?rd=$scheme://$http_host$request_uri\";",
            "proxy_pass http://127.0.0.1:9000;",
            "pid \"/logs/n/nginx.pid\";",
            "return 200 \"tok\";",
        ] {
            assert!(conf.contains(want), "missing {want:?} in\n{conf}");
        }
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }

    #[test]
    fn without_signin_the_401_is_not_redirected() {
        let config = NginxConfig {
            backend_port: 1,
            locations: vec![AuthLocation::new("/", "http://a/oauth2/auth", None, &[])],
        };
        let conf = render(&config, Path::new("/d"), 2, "t");
        assert!(!conf.contains("error_page"), "{conf}");
        assert!(!conf.contains("@signin"), "{conf}");
    }

    #[test]
    fn quote_escapes_quotes_and_backslashes() {
        let cases = [("plain", "\"plain\""), ("a\"b\\c", "\"a\\\"b\\\\c\"")];
        for (input, want) in cases {
            assert_eq!(quote(input), want);
        }
    }
}
