//! `POST …/checkMemberGroups` and `POST …/getMemberObjects`.

use serde_json::{json, Value};

use super::errors::GraphError;
use super::members::memberships;
use crate::emulator::config::{EmulatorConfig, User};
use crate::emulator::ids::is_guid;

/// Graph's limit on `groupIds` per `checkMemberGroups` call.
pub const CHECK_MEMBER_GROUPS_LIMIT: usize = 20;

fn collection(base_url: &str, ids: Vec<String>) -> Value {
    json!({
        "@odata.context": format!("{base_url}/v1.0/$metadata#Collection(Edm.String)"),
        "value": ids,
    })
}

fn parse_body(body: &[u8]) -> Result<Value, GraphError> {
    serde_json::from_slice(body).map_err(|_| GraphError::unreadable_body())
}

/// The body's `name` parameter as `get` reads it; `kind` says what it must be.
fn parameter<'a, T>(
    body: &'a Value,
    name: &str,
    kind: &str,
    get: impl FnOnce(&'a Value) -> Option<T>,
) -> Result<T, GraphError> {
    body.get(name).and_then(get).ok_or_else(|| {
        GraphError::bad_request(&format!(
            "The '{name}' parameter is required and must be {kind}."
        ))
    })
}

/// Which of `groupIds` (at most 20 GUIDs) the user is a member of, transitively; directory
/// roles never match, as on Graph. Answers in request order.
pub fn check_member_groups(base_url: &str, body: &[u8], user: &User) -> Result<Value, GraphError> {
    let body = parse_body(body)?;
    let ids = parameter(&body, "groupIds", "an array of strings", Value::as_array)?;
    if ids.len() > CHECK_MEMBER_GROUPS_LIMIT {
        return Err(GraphError::bad_request(&format!(
            "The number of group ids ({}) exceeds the limit of {CHECK_MEMBER_GROUPS_LIMIT}.",
            ids.len()
        )));
    }
    let mut found = Vec::new();
    for id in ids {
        let id = id.as_str().filter(|s| is_guid(s)).ok_or_else(|| {
            GraphError::bad_request(&format!(
                "Invalid object identifier '{}'.",
                id.as_str().unwrap_or(&id.to_string())
            ))
        })?;
        if user.groups.iter().any(|g| g.eq_ignore_ascii_case(id)) {
            found.push(id.to_string());
        }
    }
    Ok(collection(base_url, found))
}

/// Every group id (`securityEnabledOnly: true`; every emulated group is a security group) or
/// every group and directory role id (`false`).
pub fn get_member_objects(
    cfg: &EmulatorConfig,
    base_url: &str,
    body: &[u8],
    user: &User,
) -> Result<Value, GraphError> {
    let body = parse_body(body)?;
    let security_only = parameter(&body, "securityEnabledOnly", "a boolean", Value::as_bool)?;
    let ids = memberships(cfg, user)
        .into_iter()
        .filter(|o| !security_only || o.role_template_id.is_none())
        .map(|o| o.id)
        .collect();
    Ok(collection(base_url, ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::users::{alice, user_with_groups};
    use crate::emulator::ALICE_GROUPS;

    fn codes(r: Result<Value, GraphError>) -> Result<Vec<String>, &'static str> {
        r.map(|v| {
            v["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        })
        .map_err(|e| e.code)
    }

    #[test]
    fn check_member_groups_table() {
        let a = alice();
        let outsider = "cccccccc-0000-4000-8000-000000000000";
        let upper = ALICE_GROUPS[1].to_uppercase();
        let too_many: Vec<String> = (0..21).map(|_| outsider.to_string()).collect();
        let cases: Vec<(String, Result<Vec<String>, &str>)> = vec![
            (
                json!({"groupIds": [outsider, ALICE_GROUPS[2]]}).to_string(),
                Ok(vec![ALICE_GROUPS[2].into()]),
            ),
            (
                json!({"groupIds": [upper]}).to_string(),
                Ok(vec![upper.clone()]),
            ),
            (json!({"groupIds": []}).to_string(), Ok(vec![])),
            (
                json!({"groupIds": too_many}).to_string(),
                Err("Request_BadRequest"),
            ),
            (
                json!({"groupIds": ["not-a-guid"]}).to_string(),
                Err("Request_BadRequest"),
            ),
            (json!({"ids": []}).to_string(), Err("Request_BadRequest")),
            ("{not json".into(), Err("BadRequest")),
        ];
        for (body, want) in cases {
            assert_eq!(
                codes(check_member_groups("http://h", body.as_bytes(), &a)),
                want,
                "{body}"
            );
        }
    }

    #[test]
    fn get_member_objects_includes_roles_only_when_asked() {
        let cfg = EmulatorConfig::default();
        let user = user_with_groups("groups250@contoso.example", 250);
        let security = codes(get_member_objects(
            &cfg,
            "http://h",
            br#"{"securityEnabledOnly":true}"#,
            &user,
        ))
        .unwrap();
        let all = codes(get_member_objects(
            &cfg,
            "http://h",
            br#"{"securityEnabledOnly":false}"#,
            &user,
        ))
        .unwrap();
        assert_eq!(security, user.groups);
        assert_eq!(all.len(), 251);
        assert_eq!(
            codes(get_member_objects(&cfg, "http://h", b"{}", &user)),
            Err("Request_BadRequest")
        );
    }
}
