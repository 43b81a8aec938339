//! Headless Debian Chromium, driven over the DevTools protocol, for real sign-ins in tests.
//!
//! Every wait is on a condition with a bound (see [`crate::wait`]); a wait that fails takes a
//! screenshot and panics with the current URL and page text. Files (Chromium's own log,
//! screenshots) go to a `browser[-N]` directory in the test's log dir; the profile is a fresh
//! temporary directory, removed on drop, so no cookie survives from one test to the next.

mod cdp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::wait::wait_until;
use cdp::Cdp;

/// Flags that make Chromium work on a closed-network, root, GPU-less machine: without the
/// background-networking ones it keeps trying (and failing) to reach Google at every start.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--password-store=basic",
    "--mute-audio",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
];

/// How long Chromium may take to start and expose its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long Chromium may take to exit after `Browser.close`.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

static PROFILE_SEQ: AtomicU64 = AtomicU64::new(0);

/// A cookie as the browser stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Domain it is sent to.
    pub domain: String,
    /// Path it is sent to.
    pub path: String,
    /// Expiry as seconds since the epoch; `None` for a session cookie.
    pub expires: Option<f64>,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite` (`Strict`, `Lax`, `None`) if set.
    pub same_site: Option<String>,
}

/// A running headless Chromium with one page.
pub struct Browser {
    child: Child,
    profile: PathBuf,
    dir: PathBuf,
    cdp: Cdp,
    nav_seq: u64,
    shot_seq: u32,
    /// Bound for every `wait_for_*` and navigation.
    pub timeout: Duration,
}

impl Browser {
    /// Starts Chromium and opens an empty page; files go to a fresh `browser[-N]` dir in `log_dir`.
    pub fn start(log_dir: &Path) -> Browser {
        let dir = crate::paths::unique_subdir(log_dir, "browser");
        let profile = std::env::temp_dir().join(format!(
            "entra-proxy-chromium-{}-{}",
            std::process::id(),
            PROFILE_SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap_or_else(|e| panic!("profile dir: {e}"));
        let log = std::fs::File::create(dir.join("chromium.log"))
            .unwrap_or_else(|e| panic!("chromium.log: {e}"));
        let mut child = Command::new(crate::paths::chromium_bin())
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chromium: {e}"));
        let cdp = match connect(&mut child, &profile) {
            Ok(cdp) => cdp,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&profile);
                panic!("{e}; chromium log: {}", dir.join("chromium.log").display());
            }
        };
        Browser {
            child,
            profile,
            dir,
            cdp,
            nav_seq: 0,
            shot_seq: 0,
            timeout: Duration::from_secs(20),
        }
    }

    /// Opens `url` and waits until the new document (after any redirects) has loaded.
    pub fn goto(&mut self, url: &str) {
        self.navigating(&format!("goto {url}"), |b| {
            let r = b.cdp.call("Page.navigate", json!({ "url": url }))?;
            match r["errorText"].as_str() {
                Some(err) if !err.is_empty() => Err(format!("navigation to {url} failed: {err}")),
                _ => Ok(()),
            }
        });
    }

    /// Clicks the first element matching `css` (no wait).
    pub fn click(&mut self, css: &str) {
        self.try_click(css).unwrap_or_else(|e| self.fail(&e));
    }

    /// Clicks the first element matching `css` and waits for the page it leads to to load.
    pub fn click_and_wait(&mut self, css: &str) {
        self.navigating(&format!("click {css}"), |b| b.try_click(css));
    }

    /// Replaces the value of the input matching `css` with `text`, typed as real input events.
    pub fn type_into(&mut self, css: &str, text: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; \
             e.focus(); e.value = ''; return true; }})()",
            js_str(css)
        ));
        if found != json!(true) {
            self.fail(&format!("no element matches {css:?}"));
        }
        if let Err(e) = self.cdp.call("Input.insertText", json!({ "text": text })) {
            self.fail(&e);
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value (promises awaited).
    pub fn eval(&mut self, js: &str) -> Value {
        self.try_eval(js).unwrap_or_else(|e| self.fail(&e))
    }

    /// The page's visible text (`document.body.innerText`).
    pub fn text(&mut self) -> String {
        self.eval("document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML.
    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The current URL.
    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The HTTP status of the current document (0 if unknown, e.g. `about:blank`).
    pub fn status(&mut self) -> u16 {
        let v =
            self.eval("(performance.getEntriesByType('navigation')[0] || {}).responseStatus || 0");
        v.as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0)
    }

    /// Waits until an element matches `css`.
    pub fn wait_for_selector(&mut self, css: &str) {
        let js = format!("document.querySelector({}) !== null", js_str(css));
        self.wait_for_js(&format!("selector {css:?}"), &js);
    }

    /// Waits until the page text contains `needle`.
    pub fn wait_for_text(&mut self, needle: &str) {
        let js = format!(
            "!!document.body && document.body.innerText.includes({})",
            js_str(needle)
        );
        self.wait_for_js(&format!("text {needle:?}"), &js);
    }

    /// Waits until the URL contains `part`.
    pub fn wait_for_url(&mut self, part: &str) {
        let js = format!("location.href.includes({})", js_str(part));
        self.wait_for_js(&format!("URL containing {part:?}"), &js);
    }

    /// Waits until a JavaScript expression is `true`.
    pub fn wait_for_js(&mut self, what: &str, js: &str) {
        let timeout = self.timeout;
        let cdp = &mut self.cdp;
        let r = wait_until(what, timeout, || {
            (eval_in(cdp, js).ok()? == json!(true)).then_some(())
        });
        if let Err(e) = r {
            self.fail(&e);
        }
    }

    /// Saves a PNG of the page as `<name>.png` in the browser's log dir and returns its path.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        self.try_screenshot(name)
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"))
    }

    /// Cookies the browser would send to the current page.
    pub fn cookies(&mut self) -> Vec<Cookie> {
        let r = self
            .cdp
            .call("Network.getCookies", json!({}))
            .unwrap_or_else(|e| self.fail(&e));
        r["cookies"]
            .as_array()
            .map(|list| list.iter().map(cookie_from).collect())
            .unwrap_or_default()
    }

    /// Forgets every cookie.
    pub fn clear_cookies(&mut self) {
        if let Err(e) = self.cdp.call("Network.clearBrowserCookies", json!({})) {
            self.fail(&e);
        }
    }

    /// The directory with Chromium's log and the screenshots.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The OS process id of the browser process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `action`, which starts a navigation, and waits until a new document has loaded. A
    /// marker on the old `window` tells the documents apart: it is gone once the new one exists.
    fn navigating(&mut self, what: &str, action: impl FnOnce(&mut Browser) -> Result<(), String>) {
        self.nav_seq += 1;
        let marker = self.nav_seq;
        if let Err(e) = self.try_eval(&format!("window.__entraNav = {marker}; true")) {
            self.fail(&e);
        }
        if let Err(e) = action(self) {
            self.fail(&e);
        }
        let js = format!("window.__entraNav !== {marker} && document.readyState === 'complete'");
        self.wait_for_js(&format!("the page after {what} to load"), &js);
    }

    fn try_click(&mut self, css: &str) -> Result<(), String> {
        let clicked = self.try_eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
            js_str(css)
        ))?;
        if clicked == json!(true) {
            Ok(())
        } else {
            Err(format!("no element matches {css:?}"))
        }
    }

    fn try_eval(&mut self, js: &str) -> Result<Value, String> {
        eval_in(&mut self.cdp, js)
    }

    fn try_screenshot(&mut self, name: &str) -> Result<PathBuf, String> {
        let r = self
            .cdp
            .call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let data = r["data"].as_str().ok_or("no screenshot data")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string())?;
        let path = self.dir.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Panics with what the page showed, after saving a screenshot of it.
    fn fail(&mut self, problem: &str) -> ! {
        self.shot_seq += 1;
        let shot = self.try_screenshot(&format!("failure-{}", self.shot_seq));
        let url = self.try_eval("location.href").unwrap_or_default();
        let text = self
            .try_eval("document.body ? document.body.innerText : ''")
            .unwrap_or_default();
        let excerpt: String = text
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(600)
            .collect();
        panic!(
            "browser: {problem}\n  url: {url}\n  screenshot: {}\n  page text: {excerpt}",
            shot.map(|p| p.display().to_string())
                .unwrap_or_else(|e| format!("(failed: {e})"))
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Browser.close is a browser-level command: send it outside the page session.
        self.cdp.leave_session();
        self.cdp.timeout = Duration::from_secs(2);
        let closed = self.cdp.call("Browser.close", json!({})).is_ok()
            && wait_until("chromium to exit", STOP_TIMEOUT, || {
                self.child.try_wait().ok().flatten()
            })
            .is_ok();
        if !closed {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
        if std::thread::panicking() {
            eprintln!("browser files kept in {}", self.dir.display());
        }
    }
}

/// Waits for `DevToolsActivePort`, connects and attaches to a new page target.
fn connect(child: &mut Child, profile: &Path) -> Result<Cdp, String> {
    let (port, path) = wait_until("chromium's DevToolsActivePort", START_TIMEOUT, || {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(Err(format!("chromium exited at start-up with {status}")));
        }
        browser_endpoint(profile).ok().map(Ok)
    })??;
    let mut cdp = Cdp::connect(port, &path)?;
    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }))?;
    let target_id = target["targetId"]
        .as_str()
        .ok_or("createTarget: no targetId")?;
    let attached = cdp.call(
        "Target.attachToTarget",
        json!({ "targetId": target_id, "flatten": true }),
    )?;
    let session = attached["sessionId"]
        .as_str()
        .ok_or("attachToTarget: no sessionId")?;
    cdp.use_session(session.to_string());
    Ok(cdp)
}

/// Port and websocket path from `<profile>/DevToolsActivePort` (two lines, written once ready).
fn browser_endpoint(profile: &Path) -> Result<(u16, String), String> {
    let text =
        std::fs::read_to_string(profile.join("DevToolsActivePort")).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let port = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("no port yet")?;
    let path = lines
        .next()
        .map(str::trim)
        .filter(|p| p.starts_with('/'))
        .ok_or("no path yet")?;
    Ok((port, path.to_string()))
}

fn eval_in(cdp: &mut Cdp, js: &str) -> Result<Value, String> {
    let r = cdp.call(
        "Runtime.evaluate",
        json!({ "expression": js, "returnByValue": true, "awaitPromise": true }),
    )?;
    if let Some(ex) = r.get("exceptionDetails") {
        return Err(format!(
            "javascript error: {}",
            ex["exception"]["description"].as_str().unwrap_or("?")
        ));
    }
    Ok(r["result"]["value"].clone())
}

fn cookie_from(c: &Value) -> Cookie {
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Cookie {
        name: s("name"),
        value: s("value"),
        domain: s("domain"),
        path: s("path"),
        expires: c["expires"]
            .as_f64()
            .filter(|_| !c["session"].as_bool().unwrap_or(false)),
        http_only: c["httpOnly"].as_bool().unwrap_or(false),
        secure: c["secure"].as_bool().unwrap_or(false),
        same_site: c["sameSite"].as_str().map(str::to_string),
    }
}

/// A JavaScript string literal (JSON strings are valid JavaScript).
fn js_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_from_devtools_json() {
        let c = cookie_from(&json!({
            "name": "_oauth2_proxy", "value": "v", "domain": "127.0.0.1", "path": "/",
            "expires": -1, "session": true, "httpOnly": true, "secure": false, "sameSite": "Lax"
        }));
        assert_eq!(c.name, "_oauth2_proxy");
        assert_eq!(c.expires, None);
        assert!(c.http_only && !c.secure);
        assert_eq!(c.same_site.as_deref(), Some("Lax"));
        let persistent = cookie_from(&json!({"name": "a", "expires": 1.5e9, "session": false}));
        assert_eq!(persistent.expires, Some(1.5e9));
        assert_eq!(persistent.same_site, None);
    }

    #[test]
    fn js_str_quotes_selectors_safely() {
        assert_eq!(
            js_str(r#"input[name="login"]"#),
            r#""input[name=\"login\"]""#
        );
    }
}
