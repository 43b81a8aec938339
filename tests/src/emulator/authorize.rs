//! `/{tenant}/oauth2/v2.0/authorize`: request validation, sign-in, code issuance.
//!
//! Checks, in Entra's order:
//! 1. tenant segment resolves (else error page);
//! 2. `client_id` present and registered (else error page, AADSTS900144 / 700016);
//! 3. `redirect_uri` present and registered (else error page, AADSTS50011) — never redirect to
//!    an unregistered URI, or the error redirect itself would leak `state` to an attacker;
//! 4. from here errors go back to the redirect URI: `response_mode`, `response_type=code`,
//!    `scope`, PKCE parameters;
//! 5. who signs in: `auto_login`, a `login_hint` (when allowed), the SSO cookie (unless
//!    `prompt=login`); `prompt=none` without one fails with `login_required`; else the form.

use sha2::{Digest, Sha256};
use url::Url;

use super::config::User;
use super::errors::EntraError;
use super::http::{Params, Request, Response};
use super::ids::{b64url, random_guid, random_token};
use super::pages;
use super::redirect;
use super::scopes;
use super::state::{lock, Shared};
use super::store::{ChallengeMethod, CodeGrant};
use super::tenants::Authority;

/// Name of the SSO session cookie (Entra's is also called ESTSAUTH).
pub const SESSION_COOKIE: &str = "ESTSAUTH";

/// How the result travels back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// Where (and how) results for a request go.
#[derive(Debug, Clone)]
struct ReturnTo {
    redirect_uri: String,
    state: Option<String>,
    mode: ResponseMode,
}

/// A validated authorize request.
#[derive(Debug, Clone)]
struct AuthRequest {
    authority: Authority,
    client_id: String,
    ret: ReturnTo,
    scopes: Vec<String>,
    nonce: Option<String>,
    challenge: Option<(String, ChallengeMethod)>,
    prompt: Option<String>,
    login_hint: Option<String>,
}

enum Rejection {
    /// Shown to the user; the request is not trusted enough to redirect anywhere.
    Page(EntraError),
    /// Sent back to the (registered) redirect URI.
    Redirect(ReturnTo, EntraError),
}

/// Handles GET and POST to the authorize endpoint (a POST with `ctx` is a login form post).
pub fn handle(shared: &Shared, req: &Request, segment: &str) -> Response {
    let authority = match Authority::resolve(&shared.cfg, segment) {
        Ok(a) => a,
        Err(e) => return shared.error_page(req, &e),
    };
    let (params, login) = match req.method.as_str() {
        "GET" | "HEAD" => (req.query_params(), None),
        "POST" => {
            let form = req.form_params();
            match form.get("ctx") {
                Some(ctx) => {
                    let creds = (
                        form.get("username").unwrap_or("").to_string(),
                        form.get("password").unwrap_or("").to_string(),
                    );
                    (Params::parse(ctx.as_bytes()), Some(creds))
                }
                None => (form, None),
            }
        }
        other => {
            return shared.error_page(req, &EntraError::method_not_allowed("GET, POST", other))
        }
    };
    let request = match validate(shared, authority, &params) {
        Ok(r) => r,
        Err(Rejection::Page(e)) => return shared.error_page(req, &e),
        Err(Rejection::Redirect(ret, e)) => return error_redirect(shared, req, &ret, &e),
    };
    let action = format!("/{segment}/oauth2/v2.0/authorize");
    if let Some((username, password)) = login {
        return login_post(
            shared, req, &request, &params, &action, &username, &password,
        );
    }
    choose_user(shared, req, &request, &params, &action)
}

fn validate(shared: &Shared, authority: Authority, p: &Params) -> Result<AuthRequest, Rejection> {
    let client_id = p
        .get("client_id")
        .ok_or_else(|| Rejection::Page(EntraError::missing_param("client_id")))?;
    let client = shared.cfg.client(client_id).ok_or_else(|| {
        Rejection::Page(EntraError::unknown_client(client_id, &authority.display()))
    })?;
    let redirect_uri = p
        .get("redirect_uri")
        .ok_or_else(|| Rejection::Page(EntraError::missing_param("redirect_uri")))?;
    if !redirect::any_matches(&client.redirect_uris, redirect_uri) {
        return Err(Rejection::Page(EntraError::redirect_uri_mismatch(
            redirect_uri,
            &client.client_id,
        )));
    }
    let mut ret = ReturnTo {
        redirect_uri: redirect_uri.to_string(),
        state: p.get("state").map(str::to_string),
        mode: ResponseMode::Query,
    };
    let reject = |ret: &ReturnTo, e: EntraError| Rejection::Redirect(ret.clone(), e);
    ret.mode = match p.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some(other) => return Err(reject(&ret, EntraError::bad_response_mode(other))),
    };
    match p.get("response_type") {
        None => return Err(reject(&ret, EntraError::missing_param("response_type"))),
        Some("code") => {}
        Some(other) => return Err(reject(&ret, EntraError::unsupported_response_type(other))),
    }
    let scope = p
        .get("scope")
        .ok_or_else(|| reject(&ret, EntraError::missing_param("scope")))?;
    let challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, _) => None,
        (Some(c), method) => {
            // RFC 7636 §4.2: 43..=128 characters; shorter ones are too weak to bind the code.
            if !(43..=128).contains(&c.len()) {
                return Err(reject(&ret, EntraError::bad_code_challenge()));
            }
            let method = match method {
                None | Some("plain") => ChallengeMethod::Plain,
                Some("S256") => ChallengeMethod::S256,
                Some(other) => {
                    return Err(reject(&ret, EntraError::bad_code_challenge_method(other)))
                }
            };
            Some((c.to_string(), method))
        }
    };
    Ok(AuthRequest {
        authority,
        client_id: client.client_id.clone(),
        ret,
        scopes: scopes::parse(scope),
        nonce: p.get("nonce").map(str::to_string),
        challenge,
        prompt: p.get("prompt").map(str::to_ascii_lowercase),
        login_hint: p.get("login_hint").map(str::to_string),
    })
}

fn choose_user(
    shared: &Shared,
    req: &Request,
    request: &AuthRequest,
    params: &Params,
    action: &str,
) -> Response {
    if let Some(name) = &shared.cfg.auto_login {
        return match shared.cfg.user(name) {
            Some(user) => complete(shared, req, request, user),
            None => shared.error_page(
                req,
                &EntraError::unknown_user(name, &request.authority.display()),
            ),
        };
    }
    if shared.cfg.login_hint_skips_form {
        if let Some(user) = request
            .login_hint
            .as_deref()
            .and_then(|h| shared.cfg.user(h))
        {
            return complete(shared, req, request, user);
        }
    }
    if request.prompt.as_deref() != Some("login") {
        if let Some(user) = session_user(shared, req) {
            if request.authority.admits(&user) {
                return complete(shared, req, request, &user);
            }
        }
    }
    if request.prompt.as_deref() == Some("none") {
        return error_redirect(shared, req, &request.ret, &EntraError::login_required());
    }
    let hint = request.login_hint.as_deref().unwrap_or("");
    Response::html(200, pages::login_form(action, &params.encode(), hint, None))
}

fn login_post(
    shared: &Shared,
    req: &Request,
    request: &AuthRequest,
    params: &Params,
    action: &str,
    username: &str,
    password: &str,
) -> Response {
    let failure = match shared.cfg.user(username) {
        None => EntraError::unknown_user(username, &request.authority.display()),
        Some(user) if user.password != password => EntraError::invalid_credentials(),
        Some(user) if !request.authority.admits(user) => {
            EntraError::user_not_in_tenant(&user.username, &request.authority.display())
        }
        Some(user) => return complete(shared, req, request, user),
    };
    let message = format!("AADSTS{}: {}", failure.code, failure.message);
    Response::html(
        200,
        pages::login_form(action, &params.encode(), username, Some(&message)),
    )
}

/// The user of a valid SSO cookie, if any.
fn session_user(shared: &Shared, req: &Request) -> Option<User> {
    let value = cookie(req, SESSION_COOKIE)?;
    let store = lock(&shared.store);
    let (username, _) = store.sessions.get(&value)?;
    shared.cfg.user(username).cloned()
}

/// Value of a request cookie.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers
        .iter()
        .filter(|(k, _)| k == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Issues the code and sends it back, opening (or reusing) the SSO session.
fn complete(shared: &Shared, req: &Request, request: &AuthRequest, user: &User) -> Response {
    if !request.authority.admits(user) {
        let e = EntraError::user_not_in_tenant(&user.username, &request.authority.display());
        return shared.error_page(req, &e);
    }
    let code = random_token(48);
    let mut store = lock(&shared.store);
    let existing = cookie(req, SESSION_COOKIE).and_then(|c| {
        store
            .sessions
            .get(&c)
            .filter(|(u, _)| *u == user.username)
            .map(|(_, sid)| (c.clone(), sid.clone()))
    });
    let (cookie_value, session_id) = existing.unwrap_or_else(|| (random_token(32), random_guid()));
    store.sessions.insert(
        cookie_value.clone(),
        (user.username.clone(), session_id.clone()),
    );
    store.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: request.client_id.clone(),
            redirect_uri: request.ret.redirect_uri.clone(),
            scopes: request.scopes.clone(),
            nonce: request.nonce.clone(),
            challenge: request.challenge.clone(),
            username: user.username.clone(),
            session_id: session_id.clone(),
            issued_at: shared.clock.now(),
            redeemed: false,
        },
    );
    drop(store);
    let mut fields = vec![("code".to_string(), code)];
    if let Some(state) = &request.ret.state {
        fields.push(("state".into(), state.clone()));
    }
    fields.push(("session_state".into(), session_id));
    deliver(&request.ret, &fields).with_header(
        "Set-Cookie",
        &format!("{SESSION_COOKIE}={cookie_value}; Path=/; HttpOnly; SameSite=Lax"),
    )
}

fn error_redirect(shared: &Shared, req: &Request, ret: &ReturnTo, e: &EntraError) -> Response {
    let ids = shared.error_ids(req);
    let mut fields = vec![
        ("error".to_string(), e.error.to_string()),
        ("error_description".to_string(), e.description(&ids)),
    ];
    if let Some(state) = &ret.state {
        fields.push(("state".into(), state.clone()));
    }
    deliver(ret, &fields)
}

/// Sends `fields` to the redirect URI in the requested response mode.
fn deliver(ret: &ReturnTo, fields: &[(String, String)]) -> Response {
    let Ok(mut url) = Url::parse(&ret.redirect_uri) else {
        // Registered URIs are URLs; a prefix pattern could admit garbage, so show it instead.
        return Response::html(400, pages::not_found(&ret.redirect_uri));
    };
    match ret.mode {
        ResponseMode::Query => {
            url.query_pairs_mut().extend_pairs(fields.iter());
            Response::redirect(url.as_str())
        }
        ResponseMode::Fragment => {
            let encoded = Params(fields.to_vec()).encode();
            url.set_fragment(Some(&encoded));
            Response::redirect(url.as_str())
        }
        ResponseMode::FormPost => Response::html(200, pages::form_post(&ret.redirect_uri, fields)),
    }
}

/// RFC 7636 §4.6: does `verifier` answer `challenge`?
pub fn pkce_matches(challenge: &str, method: ChallengeMethod, verifier: &str) -> bool {
    let derived = match method {
        ChallengeMethod::Plain => verifier.to_string(),
        ChallengeMethod::S256 => b64url(&Sha256::digest(verifier.as_bytes())),
    };
    derived == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_table() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let cases = [
            (challenge, ChallengeMethod::S256, verifier, true),
            (challenge, ChallengeMethod::S256, "x", false),
            (challenge, ChallengeMethod::Plain, verifier, false),
            (verifier, ChallengeMethod::Plain, verifier, true),
        ];
        for (c, m, v, want) in cases {
            assert_eq!(pkce_matches(c, m, v), want, "{c} {m:?} {v}");
        }
    }

    #[test]
    fn cookie_lookup() {
        let req = Request {
            headers: vec![("cookie".into(), "a=1; ESTSAUTH=xyz; b=2".into())],
            ..Request::default()
        };
        assert_eq!(cookie(&req, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&req, "c"), None);
    }

    #[test]
    fn deliver_modes() {
        let fields = vec![
            ("code".to_string(), "c 1".to_string()),
            ("state".into(), "s&t".into()),
        ];
        let mk = |mode| ReturnTo {
            redirect_uri: "http://127.0.0.1:9/cb?keep=1".into(),
            state: None,
            mode,
        };
        let q = deliver(&mk(ResponseMode::Query), &fields);
        assert_eq!(
            q.header("Location"),
            Some("http://127.0.0.1:9/cb?keep=1&code=c+1&state=s%26t")
        );
        let f = deliver(&mk(ResponseMode::Fragment), &fields);
        assert_eq!(
            f.header("Location"),
            Some("http://127.0.0.1:9/cb?keep=1#code=c+1&state=s%26t")
        );
        let p = deliver(&mk(ResponseMode::FormPost), &fields);
        assert_eq!(p.status, 200);
        assert!(String::from_utf8(p.body)
            .unwrap()
            .contains("name=\"state\" value=\"s&amp;t\""));
    }
}
