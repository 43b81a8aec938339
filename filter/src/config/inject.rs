//! oauth2-proxy's alpha `injectRequestHeaders` / `injectResponseHeaders`: a header whose value
//! comes from a session claim, with an optional prefix.

use serde_json::Value;

use super::reader::Reader;

/// One injected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectHeader {
    /// Header name, lower-cased.
    pub name: String,
    /// Values joined with "," when several claims are listed.
    pub values: Vec<ClaimValue>,
    /// Keep a client-sent value instead of stripping it (request headers only).
    pub preserve_request_value: bool,
}

/// A value taken from a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimValue {
    /// `id_token`, `access_token`, `user`, `email`, `groups`, `preferred_username`, or any ID
    /// token claim name.
    pub claim: String,
    /// Prepended to the value, e.g. `Bearer `.
    pub prefix: String,
}

/// Claims the session knows without keeping the raw claim.
pub const BUILTIN_CLAIMS: &[&str] = &[
    "id_token",
    "access_token",
    "user",
    "email",
    "groups",
    "preferred_username",
    "name",
];

/// Read one of the two injection lists.
pub fn read_inject(r: &mut Reader, key: &'static str) -> Vec<InjectHeader> {
    let Some(value) = r.raw(key) else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        r.problem(key, "expected a list of {name, values: [{claim, prefix}]}");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match parse_header(item) {
            Ok(header) => out.push(header),
            Err(why) => r.problem(key, format!("entry {index}: {why}")),
        }
    }
    out
}

fn parse_header(item: &Value) -> Result<InjectHeader, String> {
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .ok_or("needs a \"name\"")?;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("{name:?} is not a valid header name"));
    }
    let preserve_request_value = item
        .get("preserveRequestValue")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let values = item
        .get("values")
        .and_then(Value::as_array)
        .ok_or("needs \"values\"")?;
    let mut out = Vec::new();
    for value in values {
        if value.get("value").is_some() || value.get("secretSource").is_some() {
            return Err("static values and secretSource are not supported; use a claim".into());
        }
        let claim = value
            .get("claim")
            .and_then(Value::as_str)
            .ok_or("each value needs a \"claim\"")?;
        let prefix = value
            .get("prefix")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if value.get("basicAuthPassword").is_some() {
            return Err("basicAuthPassword is not supported".into());
        }
        out.push(ClaimValue {
            claim: claim.to_string(),
            prefix,
        });
    }
    if out.is_empty() {
        return Err("\"values\" must not be empty".into());
    }
    Ok(InjectHeader {
        name: name.to_ascii_lowercase(),
        values: out,
        preserve_request_value,
    })
}
