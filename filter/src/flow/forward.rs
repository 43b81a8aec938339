//! The signed-in path: open the session cookie and forward with identity headers. This runs on
//! every request of every signed-in user, so it does no callouts unless a refresh is due.

use std::rc::Rc;

use crate::config::Config;
use crate::headers::is_owned_header;
use crate::metrics::Metric;
use crate::session::crypto::CookieError;
use crate::session::Session;

use super::action::{Action, LogLevel, Outcome};
use super::cookies::{self, CookieEdit, RequestCookies};
use super::failure::Failure;
use super::prepared::Prepared;
use super::session_cache::{KnownHeader, Opened};
use super::{group_cache, groups, refresh, Context, Request};

/// Why a request has no usable session.
#[derive(Debug)]
pub enum NoSession {
    /// No session cookie at all.
    Missing,
    /// The cookie could not be opened (tampered, truncated, foreign name, unknown key).
    Invalid(CookieError),
    /// The session's lifetime is over (or its refresh failed past the grace period).
    Expired,
}

impl NoSession {
    /// Short label for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            NoSession::Missing => "no session",
            NoSession::Invalid(_) => "invalid session",
            NoSession::Expired => "expired session",
        }
    }
}

/// Open the request's session cookie: a copy of the session cached for this cookie value and
/// worker (see [`open_known`]).
pub fn open_session(ctx: &Context, req: &Request) -> Result<Session, NoSession> {
    open_known(ctx, req).map(|known| known.opened.session.clone())
}

/// The request's session and what forwarding does to its `Cookie` header: from the header cache
/// when the browser sent this exact header before, else from a scan of its cookies.
fn open_known(ctx: &Context, req: &Request) -> Result<KnownHeader, NoSession> {
    if let Some(known) = &ctx.known_cookie {
        return Ok(known.clone());
    }
    let header = cookies::single_header(req);
    let cached = header.and_then(|h| ctx.session_cache.borrow().header(h.as_bytes(), ctx.now));
    if let Some(known) = cached {
        return Ok(known);
    }
    let scanned = RequestCookies::scan(ctx.config, req);
    let known = KnownHeader {
        opened: open_scanned(ctx, &scanned)?,
        edit: scanned.edit(),
    };
    if let Some(header) = header {
        ctx.session_cache
            .borrow_mut()
            .insert_header(header.to_owned(), known.clone());
    }
    Ok(known)
}

/// The session in the request's scanned cookies, opened once per sealed value and worker.
fn open_scanned(ctx: &Context, cookies: &RequestCookies) -> Result<Rc<Opened>, NoSession> {
    let config = ctx.config;
    let parts = cookies.session.as_deref().ok_or(NoSession::Missing)?;
    if let Some(opened) = ctx.session_cache.borrow().get(parts, ctx.now) {
        return Ok(opened);
    }
    let value = parts.concat();
    match Session::open(&config.cipher, &config.cookie.name, &value, ctx.now) {
        Ok(session) => {
            let opened = Rc::new(Opened::new(session));
            ctx.session_cache
                .borrow_mut()
                .insert(value, Rc::clone(&opened));
            Ok(opened)
        }
        Err(CookieError::Expired) => Err(NoSession::Expired),
        Err(other) => Err(NoSession::Invalid(other)),
    }
}

/// Open the session; on success, forward (or refresh first when due).
pub fn with_session(ctx: &Context, req: &Request) -> Result<Outcome, NoSession> {
    let KnownHeader { opened, edit } = open_known(ctx, req)?;
    if let Some(outcome) = refresh::maybe_refresh(ctx, &opened.session)? {
        return Ok(outcome);
    }
    let prepared = match opened.prepared.get() {
        Some(prepared) => Rc::clone(prepared),
        None => {
            let mut session = opened.session.clone();
            if group_cache::expand(ctx.store, ctx.store_prefix, &mut session).is_err() {
                return match groups::refill(ctx, session) {
                    Ok(outcome) => Ok(outcome),
                    Err(_) => Err(NoSession::Expired),
                };
            }
            Rc::clone(
                opened
                    .prepared
                    .get_or_init(|| Rc::new(Prepared::render(ctx.config, &session))),
            )
        }
    };
    Ok(forward_prepared(ctx, req, &edit, &prepared, Vec::new()))
}

/// Forward with `session`'s identity, unless the group rule (which may have changed since
/// sign-in) refuses it. `cookies` are `Set-Cookie` values for the response (after a refresh).
pub fn forward_or_deny(
    ctx: &Context,
    req: &Request,
    session: &Session,
    cookies: Vec<String>,
) -> Outcome {
    let prepared = Prepared::render(ctx.config, session);
    let edit = RequestCookies::scan(ctx.config, req).edit();
    forward_prepared(ctx, req, &edit, &prepared, cookies)
}

/// [`forward_or_deny`] with the session's headers already rendered.
fn forward_prepared(
    ctx: &Context,
    req: &Request,
    edit: &CookieEdit,
    prepared: &Prepared,
    cookies: Vec<String>,
) -> Outcome {
    if !prepared.allowed {
        return Failure::GroupDenied.outcome(req).with_log(
            LogLevel::Info,
            format!(
                "user={} not in allowed_groups request_id={}",
                prepared.user,
                req.request_id()
            ),
        );
    }
    let mut response: Vec<(String, String)> = cookies
        .into_iter()
        .map(|c| ("set-cookie".to_string(), c))
        .collect();
    response.extend(prepared.response.iter().cloned());
    Outcome::new(
        forward_action(ctx.config, req, edit, prepared, response),
        Metric::SessionValid,
    )
}

/// Forward a request that needs no identity (skipped routes), still without spoofed headers.
pub fn anonymous(config: &Config, req: &Request, metric: Metric) -> Outcome {
    let mut remove = strip_list(config, req);
    let mut set = Vec::new();
    strip_our_cookies(
        &RequestCookies::scan(config, req).edit(),
        &mut remove,
        &mut set,
    );
    Outcome::new(
        Action::Forward {
            remove,
            identity: Rc::from([]),
            set,
            response: Vec::new(),
        },
        metric,
    )
}

/// Strip what the client may not send, and set what the upstream may trust.
pub fn forward_action(
    config: &Config,
    req: &Request,
    cookies: &CookieEdit,
    prepared: &Prepared,
    response: Vec<(String, String)>,
) -> Action {
    let mut remove = strip_list(config, req);
    // preserveRequestValue: a value the client sent wins over the injected one.
    let mut set: Vec<(String, String)> = prepared
        .preserved
        .iter()
        .filter(|(name, _)| req.header(name).is_none())
        .cloned()
        .collect();
    strip_our_cookies(cookies, &mut remove, &mut set);
    Action::Forward {
        remove,
        identity: Rc::clone(&prepared.request),
        set,
        response,
    }
}

/// Every incoming header the filter owns: identity headers (any case, `_` for `-`) and the
/// names `injectRequestHeaders` sets, unless they preserve the client's value.
fn strip_list(config: &Config, req: &Request) -> Vec<String> {
    let mut remove: Vec<String> = Vec::new();
    for (name, _) in &req.headers {
        let injected = config
            .inject_request
            .iter()
            .any(|h| !h.preserve_request_value && same_header(&h.name, name));
        if (is_owned_header(name) || injected)
            && !remove.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            remove.push(name.to_ascii_lowercase());
        }
    }
    remove
}

fn same_header(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            x.eq_ignore_ascii_case(&y) || matches!((x, y), (b'-', b'_') | (b'_', b'-'))
        })
}

/// The upstream never needs our cookies, and an upstream that logs request headers would
/// otherwise write working sessions into its logs.
fn strip_our_cookies(edit: &CookieEdit, remove: &mut Vec<String>, set: &mut Vec<(String, String)>) {
    match edit {
        CookieEdit::Keep => {}
        CookieEdit::Remove => remove.push("cookie".to_string()),
        CookieEdit::Set(rest) => set.push(("cookie".to_string(), rest.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::store::MemoryStore;
    use std::cell::RefCell;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const NOW: u64 = 1_800_000_000;

    fn config() -> Config {
        Config::from_json(
            br#"{"oidc_issuer_url":"https://login.microsoftonline.com/t/v2.0","client_id":"c","client_secret":"s",
                "cookie_secret":"0123456789abcdef","email_domains":"*","pass_authorization_header":true,
                "clusters":{"login.microsoftonline.com":"e"}}"#,
        )
        .unwrap()
    }

    fn request(cookie: &str) -> Request {
        Request::new(vec![
            (":path".into(), "/app".into()),
            ("cookie".into(), cookie.into()),
            ("x-forwarded-user".into(), "mallory".into()),
        ])
    }

    /// `remove`, `identity` and `set` of a forward.
    type Forwarded = (Vec<String>, Rc<[(String, String)]>, Vec<(String, String)>);

    fn forwarded(outcome: Outcome) -> Forwarded {
        match outcome.action {
            Action::Forward {
                remove,
                identity,
                set,
                ..
            } => (remove, identity, set),
            other => panic!("not forwarded: {other:?}"),
        }
    }

    #[test]
    fn a_cached_session_shares_its_rendered_headers_and_each_request_keeps_its_own_cookies() {
        let config = config();
        let session = Session {
            user: "alice-oid".into(),
            email: Some("alice@example.com".into()),
            groups: vec!["g1".into(), "g2".into()],
            id_token: Some("header.payload.sig".into()),
            created_at: NOW,
            expires_at: NOW + 3600,
            ..Default::default()
        };
        let sealed = session.seal(&config.cipher, &config.cookie.name, [7; 24]);
        let (bearer, session_cache) = (RefCell::default(), RefCell::default());
        let store = MemoryStore::default();
        let ctx = Context {
            config: &config,
            provider: None,
            now: NOW,
            store: &store,
            store_prefix: "p",
            bearer_cache: &bearer,
            session_cache: &session_cache,
            known_cookie: None,
        };
        let first = request(&format!("_oauth2_proxy={sealed}"));
        let second = request(&format!("theme=dark; _oauth2_proxy={sealed}; lang=en"));
        let (remove, identity, set) = forwarded(with_session(&ctx, &first).unwrap());
        assert_eq!(remove, ["x-forwarded-user", "cookie"]);
        assert!(set.is_empty(), "only our cookie was sent: the header goes");
        assert_eq!(
            identity
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>(),
            [
                "x-forwarded-user: alice-oid",
                "x-forwarded-email: alice@example.com",
                "x-forwarded-groups: g1,g2",
                "authorization: Bearer header.payload.sig",
            ]
        );
        let (remove, again, set) = forwarded(with_session(&ctx, &second).unwrap());
        assert!(
            Rc::ptr_eq(&identity, &again),
            "rendered once per session and worker"
        );
        assert_eq!(remove, ["x-forwarded-user"]);
        assert_eq!(
            set,
            [("cookie".to_string(), "theme=dark; lang=en".to_string())]
        );
        assert_eq!(session_cache.borrow().len(), 1);
        assert_eq!(
            session_cache.borrow().headers_len(),
            2,
            "one per Cookie header"
        );
        // The same headers again are header-cache hits with the same answers: in particular our
        // cookie is still taken out of what the upstream gets.
        let want = [
            (&first, vec!["x-forwarded-user", "cookie"], vec![]),
            (&second, vec!["x-forwarded-user"], set),
        ];
        for (req, want_remove, want_set) in &want {
            let (remove, again, set) = forwarded(with_session(&ctx, req).unwrap());
            assert!(Rc::ptr_eq(&identity, &again));
            assert_eq!(&remove, want_remove);
            assert_eq!(&set, want_set);
        }
        assert_eq!(session_cache.borrow().headers_len(), 2);
        // The adapter's byte lookup hands the hit over in the context; the answer is the same.
        for (req, want_remove, want_set) in &want {
            let header = cookies::single_header(req).unwrap();
            let known = session_cache.borrow().header(header.as_bytes(), NOW);
            assert!(known.is_some());
            let ctx = Context {
                known_cookie: known,
                ..ctx
            };
            let (remove, again, set) = forwarded(with_session(&ctx, req).unwrap());
            assert!(Rc::ptr_eq(&identity, &again));
            assert_eq!(&remove, want_remove);
            assert_eq!(&set, want_set);
        }
        // The same value one byte shorter is another (invalid) cookie, not a cache hit.
        let cut = request(&format!("_oauth2_proxy={}", &sealed[..sealed.len() - 1]));
        assert!(matches!(
            with_session(&ctx, &cut),
            Err(NoSession::Invalid(_))
        ));
        // Past its end the cached session is not served.
        let later = Context {
            now: NOW + 3600,
            ..ctx
        };
        assert!(with_session(&later, &first).is_err());
    }
}
