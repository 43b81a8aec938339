//! Group overage: when a user is in more groups than fit in a token (200 for Entra), the token
//! carries `_claim_names.groups` instead of `groups`, and the list must come from Microsoft
//! Graph. oauth2-proxy silently continues with zero groups when that fails; here a sign-in that
//! needs groups fails closed instead.

use serde_json::Value;

use crate::config::{authority_of, Config};
use crate::metrics::Metric;
use crate::session::csrf::CsrfState;
use crate::session::Session;

use super::action::{Action, CallResponse, GroupsFor, LogLevel, OutboundCall, Outcome, Pending};
use super::failure::Failure;
use super::forward::forward_or_deny;
use super::identity;
use super::{callback, refresh, Context, Entropy, Request};

/// At most this many Graph pages (999 ids each) per sign-in: enough for any real user, and a
/// bound on the work one sign-in can cause.
pub const MAX_GRAPH_PAGES: u32 = 20;
/// `checkMemberGroups` takes at most 20 ids per call.
pub const CHECK_MEMBER_GROUPS_MAX: usize = 20;

/// Start resolving overage groups for a sign-in, or skip it when nothing depends on groups.
pub fn resolve(
    ctx: &Context,
    req: &Request,
    csrf: CsrfState,
    session: Session,
    access_token: &str,
    rng: &mut dyn Entropy,
) -> Result<Outcome, Failure> {
    if !groups_needed(ctx.config) {
        // No rule or header uses groups: an empty list is the truth as far as this app cares.
        return Ok(callback::complete(ctx, req, &csrf, session, rng));
    }
    start(ctx, GroupsFor::SignIn(csrf), session, access_token)
}

/// Read a cached group list again from Graph after a cache miss, then forward.
pub fn refill(ctx: &Context, session: Session) -> Result<Outcome, Failure> {
    let token = session.access_token.clone().unwrap_or_default();
    if token.is_empty() {
        return Err(Failure::GraphUnavailable(
            "no access token to refill the group cache".into(),
        ));
    }
    start(ctx, GroupsFor::Refill, session, &token)
}

/// Resolve overage groups again for a refreshed session. On failure, hands back what the
/// caller needs to serve the old session.
pub fn resolve_refresh(
    ctx: &Context,
    req: &Request,
    session: Session,
    old: Session,
    lease: String,
    access_token: &str,
    rng: &mut dyn Entropy,
) -> Result<Outcome, Box<(Session, String, Failure)>> {
    if !groups_needed(ctx.config) {
        return Ok(refresh::complete(ctx, req, session, &old, &lease, rng));
    }
    let purpose = GroupsFor::Refresh {
        old: Box::new(old.clone()),
        lease: lease.clone(),
    };
    start(ctx, purpose, session, access_token).map_err(|failure| Box::new((old, lease, failure)))
}

fn groups_needed(config: &Config) -> bool {
    !config.allowed_groups.is_empty() || identity::groups_header_wanted(config)
}

fn start(
    ctx: &Context,
    purpose: GroupsFor,
    session: Session,
    access_token: &str,
) -> Result<Outcome, Failure> {
    let config = ctx.config;
    let header_wanted = identity::groups_header_wanted(config);
    let graph = config
        .graph_url
        .as_deref()
        .ok_or(Failure::GraphUnavailable(
            "group overage needs Microsoft Graph: set entra_id_graph_url".into(),
        ))?;
    if access_token.is_empty() {
        return Err(Failure::GraphUnavailable(
            "no access token to call Graph with".into(),
        ));
    }
    let small_rule =
        !config.allowed_groups.is_empty() && config.allowed_groups.len() <= CHECK_MEMBER_GROUPS_MAX;
    let (call, pending) = if small_rule && !header_wanted {
        let body = serde_json::json!({ "groupIds": config.allowed_groups }).to_string();
        let call = graph_call(
            config,
            &format!("{graph}/v1.0/me/checkMemberGroups"),
            access_token,
            Some(body),
        )?;
        (
            call,
            Pending::GraphCheck {
                purpose,
                retries: 0,
                session: Box::new(session),
                access_token: access_token.to_string(),
            },
        )
    } else {
        let url = format!("{graph}/v1.0/me/transitiveMemberOf?$select=id&$top=999");
        let call = graph_call(config, &url, access_token, None)?;
        let pending = Pending::GraphPages {
            purpose,
            url,
            retries: 0,
            session: Box::new(session),
            access_token: access_token.to_string(),
            pages: 1,
            found: Vec::new(),
        };
        (call, pending)
    };
    Ok(Outcome::call(call, pending))
}

fn graph_call(
    config: &Config,
    url: &str,
    access_token: &str,
    body: Option<String>,
) -> Result<OutboundCall, Failure> {
    let parsed = url::Url::parse(url)
        .map_err(|_| Failure::GraphUnavailable(format!("bad Graph URL {url:?}")))?;
    let authority = authority_of(url)
        .ok_or_else(|| Failure::GraphUnavailable(format!("bad Graph URL {url:?}")))?;
    let cluster = config
        .cluster_for(&authority)
        .ok_or_else(|| Failure::NoCluster(authority.clone()))?;
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path.push('?');
        path.push_str(query);
    }
    let mut headers = vec![
        (
            "authorization".to_string(),
            format!("Bearer {access_token}"),
        ),
        ("consistencylevel".to_string(), "eventual".to_string()),
        ("accept".to_string(), "application/json".to_string()),
    ];
    if body.is_some() {
        headers.push(("content-type".to_string(), "application/json".to_string()));
    }
    Ok(OutboundCall {
        cluster: cluster.to_string(),
        method: if body.is_some() { "POST" } else { "GET" },
        authority,
        path,
        headers,
        body: body.map(String::into_bytes),
        timeout_ms: config.http_timeout_ms,
    })
}

/// A Graph answer arrived for a paused sign-in or refresh.
pub fn on_graph_response(
    ctx: &Context,
    req: &Request,
    pending: Pending,
    response: CallResponse,
    rng: &mut dyn Entropy,
) -> Outcome {
    match pending {
        Pending::GraphPages {
            purpose,
            url,
            retries,
            mut session,
            access_token,
            pages,
            mut found,
        } => {
            if let Some(until) = throttled_until(ctx, &response, retries) {
                return match graph_call(ctx.config, &url, &access_token, None) {
                    Ok(call) => {
                        let pending = Pending::GraphPages {
                            purpose,
                            url,
                            retries: retries + 1,
                            session,
                            access_token,
                            pages,
                            found,
                        };
                        wait(until, call, pending, &response)
                    }
                    Err(failure) => give_up(ctx, req, purpose, failure, rng),
                };
            }
            let page = match parse_page(&response) {
                Ok(page) => page,
                Err(failure) => return give_up(ctx, req, purpose, failure, rng),
            };
            found.extend(page.groups);
            let Some(next) = page.next else {
                // A list too long for the cookie is cached; a refill after a cache miss needs
                // the access token, so the session keeps it.
                if found.len() > super::group_cache::MAX_COOKIE_GROUPS {
                    session.access_token = Some(access_token);
                }
                session.groups = found;
                return finish(ctx, req, purpose, *session, rng);
            };
            if pages >= MAX_GRAPH_PAGES {
                let failure = Failure::GraphUnavailable(format!(
                    "more than {MAX_GRAPH_PAGES} pages of groups; refusing to guess"
                ));
                return give_up(ctx, req, purpose, failure, rng);
            }
            let graph = ctx.config.graph_url.as_deref().unwrap_or_default();
            // The next link comes from the response: only follow it to the Graph host we were
            // configured with, so a forged answer cannot aim our bearer token elsewhere.
            if authority_of(&next).is_none() || authority_of(&next) != authority_of(graph) {
                return give_up(
                    ctx,
                    req,
                    purpose,
                    Failure::GraphUnavailable("Graph nextLink points to another host".into()),
                    rng,
                );
            }
            match graph_call(ctx.config, &next, &access_token, None) {
                Ok(call) => Outcome::call(
                    call,
                    Pending::GraphPages {
                        purpose,
                        url: next,
                        retries: 0,
                        session,
                        access_token,
                        pages: pages + 1,
                        found,
                    },
                ),
                Err(failure) => give_up(ctx, req, purpose, failure, rng),
            }
        }
        Pending::GraphCheck {
            purpose,
            retries,
            session,
            access_token,
        } if throttled_until(ctx, &response, retries).is_some() => {
            let until = throttled_until(ctx, &response, retries).unwrap_or(ctx.now);
            let graph = ctx.config.graph_url.as_deref().unwrap_or_default();
            let body = serde_json::json!({ "groupIds": ctx.config.allowed_groups }).to_string();
            match graph_call(
                ctx.config,
                &format!("{graph}/v1.0/me/checkMemberGroups"),
                &access_token,
                Some(body),
            ) {
                Ok(call) => wait(
                    until,
                    call,
                    Pending::GraphCheck {
                        purpose,
                        retries: retries + 1,
                        session,
                        access_token,
                    },
                    &response,
                ),
                Err(failure) => give_up(ctx, req, purpose, failure, rng),
            }
        }
        Pending::GraphCheck {
            purpose,
            mut session,
            ..
        } => match parse_page(&response) {
            Ok(page) => {
                session.groups = page.groups;
                finish(ctx, req, purpose, *session, rng)
            }
            Err(failure) => give_up(ctx, req, purpose, failure, rng),
        },
        _ => Failure::BadRequest("unexpected Graph state").outcome(req),
    }
}

/// Graph throttles with 429 and `Retry-After`. Waiting is worth it while the wait is short and
/// this is one of the first retries; beyond that the sign-in fails closed (a user waiting a
/// minute for a page is worse than a clear "try again").
pub const MAX_THROTTLE_RETRIES: u32 = 2;
/// Longest `Retry-After` honoured, in seconds.
pub const MAX_THROTTLE_WAIT_SECS: u64 = 10;

/// When to ask again, if this answer is a throttle worth waiting out.
fn throttled_until(ctx: &Context, response: &CallResponse, retries: u32) -> Option<u64> {
    if response.status != 429 || retries >= MAX_THROTTLE_RETRIES {
        return None;
    }
    let after = response.retry_after.unwrap_or(1).max(1);
    (after <= MAX_THROTTLE_WAIT_SECS).then(|| ctx.now.saturating_add(after))
}

fn wait(until: u64, call: OutboundCall, pending: Pending, response: &CallResponse) -> Outcome {
    let log = format!(
        "Microsoft Graph throttled (429); asking again in {}s",
        response.retry_after.unwrap_or(1)
    );
    Outcome {
        action: Action::Wait {
            until,
            call,
            pending: Box::new(pending),
        },
        metric: Some(Metric::GraphThrottled),
        also: Vec::new(),
        log: None,
        publish: None,
    }
    .with_log(LogLevel::Info, log)
}

fn finish(
    ctx: &Context,
    req: &Request,
    purpose: GroupsFor,
    session: Session,
    rng: &mut dyn Entropy,
) -> Outcome {
    let outcome = match purpose {
        GroupsFor::SignIn(csrf) => callback::complete(ctx, req, &csrf, session, rng),
        GroupsFor::Refill => {
            if let Some(handle) = session.groups_ref.as_deref() {
                super::group_cache::store_as(ctx.store, ctx.store_prefix, handle, &session.groups);
            }
            return forward_or_deny(ctx, req, &session, Vec::new()).with_log(
                LogLevel::Info,
                format!(
                    "group cache refilled from Graph user={} groups={} request_id={}",
                    session.user,
                    session.groups.len(),
                    req.request_id()
                ),
            );
        }
        GroupsFor::Refresh { old, lease } => {
            refresh::complete(ctx, req, session, &old, &lease, rng)
        }
    };
    with_metric(outcome, Metric::GraphGroupsResolved)
}

fn give_up(
    ctx: &Context,
    req: &Request,
    purpose: GroupsFor,
    failure: Failure,
    rng: &mut dyn Entropy,
) -> Outcome {
    match purpose {
        GroupsFor::SignIn(_) => callback::fail(ctx, req, failure),
        GroupsFor::Refill => {
            // The groups are gone and cannot be read again: the session cannot be served
            // as it claims to be, so sign in again (never forward with the groups missing).
            let why = failure.summary();
            let mut outcome =
                super::signin::unauthenticated(ctx, req, rng, super::forward::NoSession::Expired);
            outcome.also.push(Metric::GraphFailure);
            outcome.with_log(
                LogLevel::Warn,
                format!(
                    "group cache refill failed: {why} request_id={}",
                    req.request_id()
                ),
            )
        }
        GroupsFor::Refresh { old, lease } => {
            let why = format!("groups could not be refreshed: {}", failure.summary());
            let mut outcome = refresh::unavailable(ctx, req, &old, &lease, why, rng);
            if outcome.also.is_empty() {
                outcome.also.push(Metric::GraphFailure);
            }
            outcome
        }
    }
}

fn with_metric(mut outcome: Outcome, metric: Metric) -> Outcome {
    if matches!(
        outcome.metric,
        Some(Metric::CallbackSuccess | Metric::SessionValid)
    ) {
        outcome.also.push(metric);
    }
    outcome
}

/// One page of group ids.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// Ids of groups (not directory roles or administrative units).
    pub groups: Vec<String>,
    /// `@odata.nextLink`.
    pub next: Option<String>,
}

/// Parse a `transitiveMemberOf` page or a `checkMemberGroups` answer; map Graph errors to the
/// failure a person can act on.
pub fn parse_page(response: &CallResponse) -> Result<Page, Failure> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    if response.status != 200 {
        let code = body
            .as_ref()
            .and_then(|b| b.pointer("/error/code"))
            .and_then(Value::as_str)
            .unwrap_or("-")
            .chars()
            .take(64)
            .collect::<String>();
        let request_id = body
            .as_ref()
            .and_then(|b| b.pointer("/error/innerError/request-id"))
            .and_then(Value::as_str)
            .unwrap_or("-")
            .chars()
            .take(64)
            .collect::<String>();
        return Err(Failure::Graph {
            status: response.status,
            code,
            request_id,
        });
    }
    let body = body.ok_or(Failure::Graph {
        status: 200,
        code: "malformed_json".into(),
        request_id: "-".into(),
    })?;
    let items = body
        .get("value")
        .and_then(Value::as_array)
        .ok_or(Failure::Graph {
            status: 200,
            code: "no_value".into(),
            request_id: "-".into(),
        })?;
    let mut groups = Vec::with_capacity(items.len());
    for item in items {
        match item {
            // checkMemberGroups answers bare ids.
            Value::String(id) => groups.push(id.clone()),
            Value::Object(object) => {
                let kind = object
                    .get("@odata.type")
                    .and_then(Value::as_str)
                    .unwrap_or("#microsoft.graph.group");
                if kind == "#microsoft.graph.group" {
                    if let Some(id) = object.get("id").and_then(Value::as_str) {
                        groups.push(id.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let next = body
        .get("@odata.nextLink")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Page { groups, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn response(status: u16, body: &str) -> CallResponse {
        CallResponse {
            retry_after: None,
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn pages_keep_groups_only_and_follow_next_links() {
        let page = parse_page(&response(
            200,
            r##"{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1"},{"@odata.type":"#microsoft.graph.directoryRole","id":"r1"},{"id":"g2"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/transitiveMemberOf?$skiptoken=x"}"##,
        ))
        .unwrap();
        assert_eq!(page.groups, vec!["g1", "g2"]);
        assert_eq!(
            page.next.as_deref(),
            Some("https://graph.microsoft.com/v1.0/me/transitiveMemberOf?$skiptoken=x")
        );
        let check = parse_page(&response(200, r#"{"value":["a","b"]}"#)).unwrap();
        assert_eq!(
            check,
            Page {
                groups: vec!["a".into(), "b".into()],
                next: None
            }
        );
    }

    #[test]
    fn graph_errors_carry_code_and_request_id() {
        let err = parse_page(&response(
            403,
            r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges","innerError":{"request-id":"rid-1"}}}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(err, Failure::Graph { status: 403, ref code, ref request_id } if code == "Authorization_RequestDenied" && request_id == "rid-1")
        );
        assert!(matches!(
            parse_page(&response(200, "{")),
            Err(Failure::Graph { status: 200, .. })
        ));
        assert!(matches!(
            parse_page(&response(0, "")),
            Err(Failure::Graph { status: 0, .. })
        ));
    }
}
