//! Client authentication at the token endpoint: `client_secret_post`, `client_secret_basic`
//! and `private_key_jwt`-style `client_assertion` (workload identity federation).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::config::{AssertionContext, Client};
use super::errors::EntraError;
use super::federated;
use super::http::{Params, Request};
use super::state::Shared;

/// The only `client_assertion_type` Entra accepts.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Which client the request authenticates as, or why it does not.
pub fn authenticate<'a>(
    shared: &'a Shared,
    req: &Request,
    form: &Params,
    token_endpoint: &str,
) -> Result<&'a Client, EntraError> {
    let basic = basic_credentials(req);
    let client_id = match (&basic, form.get("client_id")) {
        (Some((id, _)), Some(body_id)) if !id.eq_ignore_ascii_case(body_id) => {
            return Err(EntraError::client_id_conflict())
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.to_string(),
        (None, None) => return Err(EntraError::missing_param("client_id")),
    };
    let client = shared
        .cfg
        .client(&client_id)
        .ok_or_else(|| EntraError::unknown_client(&client_id, "the tenant"))?;
    let secret = basic
        .map(|(_, s)| s)
        .or_else(|| form.get("client_secret").map(str::to_string));
    let assertion = form.get("client_assertion");
    match (secret, assertion) {
        (Some(_), Some(_)) => Err(EntraError::bad_client_assertion(
            "A request may authenticate with client_secret or client_assertion, not both.",
        )),
        (Some(secret), None) => match &client.secret {
            // Compared in full; an emulator does not need constant time, the filter does.
            Some(registered) if *registered == secret => Ok(client),
            _ => Err(EntraError::invalid_client_secret(&client.client_id)),
        },
        (None, Some(assertion)) => {
            if form.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(EntraError::bad_client_assertion(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                ));
            }
            check_assertion(shared, client, assertion, token_endpoint)?;
            Ok(client)
        }
        (None, None) => Err(EntraError::missing_client_credential()),
    }
}

/// A client with a [`FederatedCredential`] gets Entra's verification ([`federated::verify`]
/// against the emulator's clock). For other clients the configured [`AssertionCheck`]
/// decides; with none, any assertion is accepted.
///
/// [`FederatedCredential`]: super::federated::FederatedCredential
/// [`AssertionCheck`]: super::config::AssertionCheck
fn check_assertion(
    shared: &Shared,
    client: &Client,
    assertion: &str,
    token_endpoint: &str,
) -> Result<(), EntraError> {
    if let Some(credential) = &client.federated {
        return federated::verify(credential, assertion, shared.clock.now());
    }
    let Some(check) = &shared.cfg.assertion_check else {
        return Ok(());
    };
    let ctx = AssertionContext {
        client_id: client.client_id.clone(),
        assertion: assertion.to_string(),
        token_endpoint: token_endpoint.to_string(),
    };
    (check.0)(&ctx).map_err(|(code, message)| EntraError::assertion_rejected(code, message))
}

/// `Authorization: Basic` credentials, form-urldecoded per RFC 6749 §2.3.1.
fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::{
        AssertionCheck, EmulatorConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    };
    use std::sync::Arc;

    fn shared(cfg: EmulatorConfig) -> Shared {
        Shared::new(cfg, "http://h".into())
    }

    fn req(auth: Option<String>) -> Request {
        Request {
            headers: auth
                .map(|a| vec![("authorization".into(), a)])
                .unwrap_or_default(),
            ..Request::default()
        }
    }

    fn basic(id: &str, secret: &str) -> Option<String> {
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{id}:{secret}"))
        ))
    }

    #[test]
    fn client_authentication_table() {
        let s = shared(EmulatorConfig::default());
        let id = DEFAULT_CLIENT_ID;
        let good = DEFAULT_CLIENT_SECRET;
        let jwt = JWT_BEARER;
        // (authorization header, form, expected AADSTS code or 0 for success)
        let cases: Vec<(Option<String>, String, u32)> = vec![
            (None, format!("client_id={id}&client_secret={good}"), 0),
            (basic(id, good), String::new(), 0),
            (basic(id, good), format!("client_id={id}"), 0),
            (basic(id, "nope"), String::new(), 7000215),
            (None, format!("client_id={id}&client_secret=nope"), 7000215),
            (None, format!("client_id={id}"), 7000218),
            (None, format!("client_secret={good}"), 900144),
            (None, format!("client_id=99999999-9999-9999-9999-999999999999&client_secret={good}"), 700016),
            (basic(id, good), "client_id=99999999-9999-9999-9999-999999999999".into(), 90023),
            (None, format!("client_id={id}&client_assertion_type={jwt}&client_assertion=a.b.c"), 0),
            (None, format!("client_id={id}&client_assertion_type=other&client_assertion=a.b.c"), 50027),
            (None, format!("client_id={id}&client_secret={good}&client_assertion_type={jwt}&client_assertion=a"), 50027),
        ];
        for (auth, form, want) in cases {
            let got = authenticate(
                &s,
                &req(auth.clone()),
                &Params::parse(form.as_bytes()),
                "http://h/t",
            )
            .map(|_| 0)
            .unwrap_or_else(|e| e.code);
            assert_eq!(got, want, "{auth:?} {form}");
        }
    }

    #[test]
    fn configured_assertion_check_decides() {
        let cfg = EmulatorConfig {
            assertion_check: Some(AssertionCheck(Arc::new(|ctx: &AssertionContext| {
                if ctx.assertion == "fresh" && ctx.token_endpoint == "http://h/t" {
                    Ok(())
                } else {
                    Err((
                        700024,
                        "Client assertion is not within its valid time range.".into(),
                    ))
                }
            }))),
            ..EmulatorConfig::default()
        };
        let s = shared(cfg);
        for (assertion, want) in [("fresh", 0), ("stale", 700024)] {
            let form = format!(
                "client_id={DEFAULT_CLIENT_ID}&client_assertion_type={JWT_BEARER}&client_assertion={assertion}"
            );
            let got = authenticate(
                &s,
                &req(None),
                &Params::parse(form.as_bytes()),
                "http://h/t",
            )
            .map(|_| 0)
            .unwrap_or_else(|e| e.code);
            assert_eq!(got, want, "{assertion}");
        }
    }
}
