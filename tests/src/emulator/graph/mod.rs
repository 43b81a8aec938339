//! Microsoft Graph (v1.0), the part a sign-in proxy needs: a user's groups and roles.
//!
//! Served at the emulator's root, so the Graph base URL is the emulator's base URL (see
//! [`crate::emulator::Emulator::graph_base_url`]):
//! - `GET /v1.0/{me|users/{id|upn}}/transitiveMemberOf[/microsoft.graph.group]` with `$top`
//!   (1–999, default 100), `$select`, `$skiptoken`; pages end in `@odata.nextLink`;
//! - `POST /v1.0/{me|users/{id}}/checkMemberGroups` `{"groupIds":[…]}` (at most 20);
//! - `POST /v1.0/{me|users/{id}}/getMemberObjects` `{"securityEnabledOnly":bool}`.
//!
//! `ConsistencyLevel: eventual` is accepted and changes nothing. Checks, in order: bearer
//! token present (401 `InvalidAuthenticationToken`) → issued by this emulator, for Graph, not
//! expired (401) → path (400/405) → target user in the caller's tenant (404) → permission in
//! `scp` (403 `Authorization_RequestDenied`): `User.Read` (or a broader directory permission)
//! for `me`, `User.Read.All`/`GroupMember.Read.All`/`Directory.Read.All` for someone else.

mod actions;
mod errors;
mod members;

pub use actions::CHECK_MEMBER_GROUPS_LIMIT;
pub use errors::GraphError;
pub use members::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use serde_json::Value;

use super::claims::GRAPH_APP_ID;
use super::config::User;
use super::http::{Request, Response};
use super::jwt::decode_unverified;
use super::scopes;
use super::state::{lock, Shared};
use errors::GraphIds;

/// Permissions that let a user read their own memberships.
const READ_SELF: [&str; 4] = [
    "User.Read",
    "User.Read.All",
    "GroupMember.Read.All",
    "Directory.Read.All",
];
/// Permissions that let a user read another user's memberships.
const READ_OTHERS: [&str; 3] = [
    "User.Read.All",
    "GroupMember.Read.All",
    "Directory.Read.All",
];
/// The cast segment that narrows `transitiveMemberOf` to groups.
const GROUP_CAST: &str = "microsoft.graph.group";

/// Handles one Graph request.
pub fn handle(shared: &Shared, req: &Request) -> Response {
    let ids = GraphIds::new(req, shared.clock.now());
    match respond(shared, req) {
        Ok(body) => errors::ok(&body, &ids),
        Err(e) => e.response(&ids),
    }
}

/// The answer to an injected fault at the Graph endpoint.
pub fn fault(shared: &Shared, req: &Request, status: u16, retry_after: Option<u32>) -> Response {
    let ids = GraphIds::new(req, shared.clock.now());
    GraphError::injected(status, retry_after).response(&ids)
}

/// A `200` whose JSON body stops halfway through a page.
pub fn malformed(shared: &Shared) -> Response {
    let body = format!(
        "{{\"@odata.context\":\"{}/v1.0/$metadata#directoryObjects(id)\",\"value\":[{{\"@odata.type\":\"#microsoft.graph.group\",\"id\":\"",
        shared.base_url
    );
    Response::new(200, "application/json; charset=utf-8", body)
}

/// What a request asks for.
enum Operation {
    TransitiveMemberOf { only_groups: bool },
    CheckMemberGroups,
    GetMemberObjects,
}

fn respond(shared: &Shared, req: &Request) -> Result<Value, GraphError> {
    let (caller, scp) = authenticate(shared, req)?;
    let path = req.path.trim_end_matches('/');
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (target, rest) = match segments.as_slice() {
        ["v1.0", "me", rest @ ..] => (caller.clone(), rest),
        ["v1.0", "users", id, rest @ ..] => (find_user(shared, &caller, id)?, rest),
        ["v1.0", other, ..] => return Err(GraphError::segment_not_found(other)),
        _ => return Err(GraphError::segment_not_found(path)),
    };
    let (operation, method) = match rest {
        [op] if op.eq_ignore_ascii_case("transitiveMemberOf") => {
            (Operation::TransitiveMemberOf { only_groups: false }, "GET")
        }
        [op, cast]
            if op.eq_ignore_ascii_case("transitiveMemberOf")
                && cast.eq_ignore_ascii_case(GROUP_CAST) =>
        {
            (Operation::TransitiveMemberOf { only_groups: true }, "GET")
        }
        [op] if op.eq_ignore_ascii_case("checkMemberGroups") => {
            (Operation::CheckMemberGroups, "POST")
        }
        [op] if op.eq_ignore_ascii_case("getMemberObjects") => {
            (Operation::GetMemberObjects, "POST")
        }
        [] => return Err(GraphError::unsupported_query("reading the user object")),
        [other, ..] => return Err(GraphError::segment_not_found(other)),
    };
    if req.method != method {
        return Err(GraphError::method_not_allowed(&req.method));
    }
    let needed: &[&str] = if target.oid == caller.oid {
        &READ_SELF
    } else {
        &READ_OTHERS
    };
    if !needed.iter().any(|p| scopes::has(&scp, p)) {
        return Err(GraphError::denied());
    }
    let base = &shared.base_url;
    match operation {
        Operation::TransitiveMemberOf { only_groups } => {
            members::transitive_member_of(&shared.cfg, base, req, &target, only_groups)
        }
        Operation::CheckMemberGroups => actions::check_member_groups(base, &req.body, &target),
        Operation::GetMemberObjects => {
            actions::get_member_objects(&shared.cfg, base, &req.body, &target)
        }
    }
}

/// The caller and their granted scopes, from `Authorization: Bearer <access token>`.
fn authenticate(shared: &Shared, req: &Request) -> Result<(User, Vec<String>), GraphError> {
    let token = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(GraphError::empty_token)?;
    // Only tokens this emulator issued count: a well-formed token signed by someone else, or
    // an ID token, must not read the directory.
    let grant = lock(&shared.store)
        .access_tokens
        .get(token)
        .cloned()
        .ok_or_else(|| GraphError::invalid_token(""))?;
    if !audience_is_graph(token) {
        return Err(GraphError::invalid_token(" Invalid audience."));
    }
    if grant.expires_at <= shared.clock.now() {
        return Err(GraphError::expired_token());
    }
    let user = shared
        .cfg
        .user(&grant.username)
        .cloned()
        .ok_or_else(|| GraphError::invalid_token(" The user no longer exists."))?;
    Ok((user, grant.scopes))
}

/// True when the token's `aud` is Microsoft Graph (by app id or URL).
fn audience_is_graph(token: &str) -> bool {
    decode_unverified(token)
        .and_then(|(_, claims)| {
            claims
                .get("aud")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .is_some_and(|aud| {
            aud == GRAPH_APP_ID || aud.trim_end_matches('/') == "https://graph.microsoft.com"
        })
}

/// `users/{id}`: by object id or UPN, only in the caller's tenant.
fn find_user(shared: &Shared, caller: &User, id: &str) -> Result<User, GraphError> {
    let id = url::form_urlencoded::parse(format!("x={id}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    shared
        .cfg
        .users
        .iter()
        .find(|u| u.oid.eq_ignore_ascii_case(&id) || u.username.eq_ignore_ascii_case(&id))
        .filter(|u| u.tenant.eq_ignore_ascii_case(&caller.tenant))
        .cloned()
        .ok_or_else(|| GraphError::no_such_object(&id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::ids::b64url;
    use serde_json::json;

    fn token_with(claims: Value) -> String {
        format!("e30.{}.sig", b64url(claims.to_string().as_bytes()))
    }

    #[test]
    fn audience_table() {
        let cases = [
            (json!({"aud": GRAPH_APP_ID}), true),
            (json!({"aud": "https://graph.microsoft.com"}), true),
            (json!({"aud": "https://graph.microsoft.com/"}), true),
            (
                json!({"aud": "22222222-2222-2222-2222-222222222222"}),
                false,
            ),
            (
                json!({"aud": ["00000003-0000-0000-c000-000000000000"]}),
                false,
            ),
            (json!({}), false),
        ];
        for (claims, want) in cases {
            assert_eq!(
                audience_is_graph(&token_with(claims.clone())),
                want,
                "{claims}"
            );
        }
        assert!(!audience_is_graph("opaque"));
    }
}
