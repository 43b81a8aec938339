//! Values for `injectRequestHeaders` / `injectResponseHeaders`.

use crate::config::InjectHeader;
use crate::session::Session;

/// The `(name, value)` pairs for `headers`, skipping headers whose claims are all missing.
pub fn render(headers: &[InjectHeader], session: &Session) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for header in headers {
        let values: Vec<String> = header
            .values
            .iter()
            .filter_map(|v| {
                claim(session, &v.claim)
                    .filter(|c| !c.is_empty())
                    .map(|c| format!("{}{c}", v.prefix))
            })
            .collect();
        if !values.is_empty() {
            out.push((header.name.clone(), values.join(",")));
        }
    }
    out
}

/// A session claim by the names oauth2-proxy's alpha config uses.
pub fn claim(session: &Session, name: &str) -> Option<String> {
    match name {
        "id_token" => session.id_token.clone(),
        "access_token" => session.access_token.clone(),
        "user" => Some(session.user.clone()),
        "email" => session.email.clone(),
        "groups" => Some(session.groups.join(",")),
        "preferred_username" => session.preferred_username.clone(),
        "name" => session.name.clone(),
        other => session.claims.get(other).cloned(),
    }
}
