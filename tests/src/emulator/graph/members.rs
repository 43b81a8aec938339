//! `GET …/transitiveMemberOf`: a user's groups and directory roles, paged like Graph pages
//! directory objects (`$top` up to 999, default 100, `@odata.nextLink` with `$skiptoken`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::errors::GraphError;
use crate::emulator::config::{EmulatorConfig, User};
use crate::emulator::http::{Params, Request};
use crate::emulator::ids::b64url;

/// Page size when the request has no `$top` (Graph's default for directory objects).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest `$top` Graph accepts for directory objects.
pub const MAX_PAGE_SIZE: usize = 999;
/// Properties `$select` may name.
const SELECTABLE: [&str; 8] = [
    "id",
    "deletedDateTime",
    "description",
    "displayName",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "roleTemplateId",
];
/// Query options Graph has and the emulator does not model: refusing them beats silently
/// ignoring a filter a client relies on.
const UNSUPPORTED: [&str; 4] = ["$filter", "$search", "$orderby", "$expand"];

/// A group or directory role the user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryObject {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// `Some(template id)` for a directory role, `None` for a group.
    pub role_template_id: Option<String>,
}

impl DirectoryObject {
    /// The object as Graph serializes it; with `select`, `@odata.type` plus those properties.
    pub fn to_json(&self, select: Option<&[String]>) -> Value {
        let mut full = Map::new();
        let kind = match &self.role_template_id {
            None => {
                full.insert("deletedDateTime".into(), Value::Null);
                full.insert("description".into(), Value::Null);
                full.insert("displayName".into(), json!(self.display_name));
                full.insert("groupTypes".into(), json!([]));
                full.insert("mailEnabled".into(), json!(false));
                full.insert("securityEnabled".into(), json!(true));
                "#microsoft.graph.group"
            }
            Some(template) => {
                full.insert("deletedDateTime".into(), Value::Null);
                full.insert(
                    "description".into(),
                    json!(format!("{} (emulated role)", self.display_name)),
                );
                full.insert("displayName".into(), json!(self.display_name));
                full.insert("roleTemplateId".into(), json!(template));
                "#microsoft.graph.directoryRole"
            }
        };
        full.insert("id".into(), json!(self.id));
        let mut out = Map::new();
        out.insert("@odata.type".into(), json!(kind));
        for (k, v) in full {
            if select.is_none_or(|s| s.contains(&k)) {
                out.insert(k, v);
            }
        }
        Value::Object(out)
    }
}

/// The user's groups (in [`User::groups`] order), then the directory roles they hold.
pub fn memberships(cfg: &EmulatorConfig, user: &User) -> Vec<DirectoryObject> {
    let groups = user.groups.iter().map(|g| DirectoryObject {
        id: g.to_ascii_lowercase(),
        display_name: format!("Group {}", g.get(..8).unwrap_or(g)),
        role_template_id: None,
    });
    let roles = cfg
        .roles_of(&user.oid)
        .into_iter()
        .map(|r| DirectoryObject {
            id: r.id.to_ascii_lowercase(),
            display_name: r.display_name.clone(),
            role_template_id: Some(r.role_template_id.clone()),
        });
    groups.chain(roles).collect()
}

/// One page of `transitiveMemberOf` for `user` (groups only with the
/// `/microsoft.graph.group` cast).
pub fn transitive_member_of(
    cfg: &EmulatorConfig,
    base_url: &str,
    req: &Request,
    user: &User,
    only_groups: bool,
) -> Result<Value, GraphError> {
    let q = req.query_params();
    if let Some(opt) = UNSUPPORTED.iter().find(|o| q.get(o).is_some()) {
        return Err(GraphError::unsupported_query(opt));
    }
    let top = match q.get("$top") {
        None => DEFAULT_PAGE_SIZE,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| GraphError::bad_page_size(t))?,
    };
    let select = parse_select(q.get("$select"))?;
    let mut all = memberships(cfg, user);
    if only_groups {
        all.retain(|o| o.role_template_id.is_none());
    }
    let offset = match q.get("$skiptoken") {
        None => 0,
        Some(token) => decode_skiptoken(token, &user.oid)
            .filter(|o| *o <= all.len())
            .ok_or_else(GraphError::expired_page_token)?,
    };
    let end = all.len().min(offset + top.min(cfg.graph_page_limit.max(1)));
    let value: Vec<Value> = all
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .map(|o| o.to_json(select.as_deref()))
        .collect();
    let set = if only_groups {
        "groups"
    } else {
        "directoryObjects"
    };
    let context = match &select {
        Some(fields) => format!("{base_url}/v1.0/$metadata#{set}({})", fields.join(",")),
        None => format!("{base_url}/v1.0/$metadata#{set}"),
    };
    let mut body = json!({"@odata.context": context, "value": value});
    if end < all.len() {
        let link = next_link(base_url, &req.path, &q, &encode_skiptoken(end, &user.oid));
        body["@odata.nextLink"] = json!(link);
    }
    Ok(body)
}

fn parse_select(raw: Option<&str>) -> Result<Option<Vec<String>>, GraphError> {
    let Some(raw) = raw else { return Ok(None) };
    let fields: Vec<String> = raw.split(',').map(|f| f.trim().to_string()).collect();
    if let Some(bad) = fields.iter().find(|f| !SELECTABLE.contains(&f.as_str())) {
        return Err(GraphError::bad_request(&format!(
            "Could not find a property named '{bad}' on type 'microsoft.graph.directoryObject'."
        )));
    }
    Ok(Some(fields))
}

/// The next page's absolute URL: the same path and options, a new `$skiptoken`. Option names
/// keep their literal `$`, as in Graph's links.
fn next_link(base_url: &str, path: &str, q: &Params, skiptoken: &str) -> String {
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut parts: Vec<String> =
        q.0.iter()
            .filter(|(k, _)| k != "$skiptoken")
            .map(|(k, v)| format!("{}={}", enc(k).replace("%24", "$"), enc(v)))
            .collect();
    parts.push(format!("$skiptoken={}", enc(skiptoken)));
    format!("{base_url}{path}?{}", parts.join("&"))
}

/// Opaque to clients; binds the offset to the user so a link cannot page someone else.
fn encode_skiptoken(offset: usize, oid: &str) -> String {
    b64url(format!("emu1:{offset}:{}", oid.to_ascii_lowercase()).as_bytes())
}

fn decode_skiptoken(token: &str, oid: &str) -> Option<usize> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let rest = raw.strip_prefix("emu1:")?;
    let (offset, owner) = rest.split_once(':')?;
    if !owner.eq_ignore_ascii_case(oid) {
        return None;
    }
    offset.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptoken_round_trips_only_for_its_user() {
        let t = encode_skiptoken(300, "ABC");
        assert_eq!(decode_skiptoken(&t, "abc"), Some(300));
        assert_eq!(decode_skiptoken(&t, "other"), None);
        assert_eq!(decode_skiptoken("garbage!", "abc"), None);
    }

    #[test]
    fn select_keeps_odata_type_and_named_properties() {
        let group = DirectoryObject {
            id: "g".into(),
            display_name: "G".into(),
            role_template_id: None,
        };
        let role = DirectoryObject {
            role_template_id: Some("t".into()),
            ..group.clone()
        };
        let id_only = vec!["id".to_string()];
        assert_eq!(
            group.to_json(Some(&id_only)),
            json!({"@odata.type": "#microsoft.graph.group", "id": "g"})
        );
        assert_eq!(
            role.to_json(Some(&["id".into(), "roleTemplateId".into()])),
            json!({"@odata.type": "#microsoft.graph.directoryRole", "id": "g", "roleTemplateId": "t"})
        );
        assert_eq!(group.to_json(None)["securityEnabled"], true);
        assert!(parse_select(Some("id,nope")).is_err());
        assert_eq!(
            parse_select(Some("id, displayName"))
                .unwrap()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn next_link_keeps_options_and_replaces_the_skiptoken() {
        let q = Params::parse(b"%24select=id&$top=5&$skiptoken=old");
        assert_eq!(
            next_link("http://h", "/v1.0/me/transitiveMemberOf", &q, "new"),
            "http://h/v1.0/me/transitiveMemberOf?$select=id&$top=5&$skiptoken=new"
        );
    }
}
