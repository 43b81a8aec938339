//! The slice of the OCI distribution API a push needs: blob HEAD, monolithic upload (POST then
//! PUT with the digest), manifest PUT. A 401 is answered once by following the registry's
//! `WWW-Authenticate` challenge (Basic, or a Bearer token from its token service), after which the
//! authorization is reused for the rest of the push.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::auth::{Challenge, Credentials};
use super::error::{body_excerpt, registry_errors, PushError};
use super::reference::ImageRef;

/// A registry session for one repository.
pub struct Registry {
    agent: ureq::Agent,
    base: String,
    image: ImageRef,
    credentials: Option<Credentials>,
    authorization: Option<String>,
}

/// The parts of a response we use.
struct Reply {
    status: u16,
    location: Option<String>,
    content_digest: Option<String>,
    challenge: Option<String>,
    body: String,
}

impl Registry {
    /// A session for `image`'s repository over https, or plain http when `plain_http`.
    pub fn new(image: &ImageRef, plain_http: bool, credentials: Option<Credentials>) -> Registry {
        let scheme = if plain_http { "http" } else { "https" };
        Registry {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(15))
                .timeout(Duration::from_secs(300))
                .user_agent(concat!("entra-proxy-wasm/", env!("CARGO_PKG_VERSION")))
                .build(),
            base: format!("{scheme}://{}", image.api_host()),
            image: image.clone(),
            credentials,
            authorization: None,
        }
    }

    /// Whether the registry already has blob `digest` in this repository.
    pub fn blob_exists(&mut self, digest: &str) -> Result<bool, PushError> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.image.repository);
        let reply = self.send("check blob", "HEAD", &url, None, None)?;
        match reply.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(http_error("check blob", "HEAD", &url, &reply)),
        }
    }

    /// Upload blob `digest` in one request (POST to open an upload, PUT with the content).
    pub fn upload_blob(&mut self, digest: &str, bytes: &[u8]) -> Result<(), PushError> {
        let url = format!("{}/v2/{}/blobs/uploads/", self.base, self.image.repository);
        let reply = self.send("start blob upload", "POST", &url, None, Some(&[]))?;
        if reply.status != 202 {
            return Err(http_error("start blob upload", "POST", &url, &reply));
        }
        let location = reply.location.as_deref().ok_or_else(|| PushError::Http {
            step: "start blob upload",
            method: "POST".into(),
            url: url.clone(),
            status: reply.status,
            errors: vec!["no Location header in the 202 answer".into()],
            body: String::new(),
        })?;
        let mut put_url = url::Url::parse(&url)
            .and_then(|base| base.join(location))
            .map_err(|e| PushError::Http {
                step: "start blob upload",
                method: "POST".into(),
                url: url.clone(),
                status: reply.status,
                errors: vec![format!("unusable Location {location:?}: {e}")],
                body: String::new(),
            })?;
        put_url.query_pairs_mut().append_pair("digest", digest);
        let put_url = put_url.to_string();
        let reply = self.send(
            "upload blob",
            "PUT",
            &put_url,
            Some("application/octet-stream"),
            Some(bytes),
        )?;
        match reply.status {
            201 | 204 => Ok(()),
            _ => Err(http_error("upload blob", "PUT", &put_url, &reply)),
        }
    }

    /// Put the manifest under `tag`; returns the digest the registry reports, if any.
    pub fn put_manifest(
        &mut self,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Option<String>, PushError> {
        let url = format!("{}/v2/{}/manifests/{tag}", self.base, self.image.repository);
        let reply = self.send("put manifest", "PUT", &url, Some(media_type), Some(bytes))?;
        match reply.status {
            200..=202 => Ok(reply.content_digest),
            _ => Err(http_error("put manifest", "PUT", &url, &reply)),
        }
    }

    /// Send a request; on 401 follow the challenge once and retry.
    fn send(
        &mut self,
        step: &'static str,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Reply, PushError> {
        let reply = self.raw(step, method, url, content_type, body)?;
        if reply.status != 401 {
            return Ok(reply);
        }
        // Also when we already sent an authorization: a bearer token may have expired mid-push.
        let Some(challenge) = reply.challenge.clone() else {
            return Err(self.unauthorized(step, &reply));
        };
        self.authenticate(step, &challenge, &reply)?;
        let retry = self.raw(step, method, url, content_type, body)?;
        if retry.status == 401 {
            return Err(self.unauthorized(step, &retry));
        }
        Ok(retry)
    }

    fn raw(
        &self,
        step: &'static str,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Reply, PushError> {
        let mut request = self.agent.request(method, url);
        if let Some(authorization) = &self.authorization {
            refuse_plain_http_credentials(url)?;
            request = request.set("Authorization", authorization);
        }
        if let Some(content_type) = content_type {
            request = request.set("Content-Type", content_type);
        }
        let result = match body {
            Some(bytes) => request.send_bytes(bytes),
            None => request.call(),
        };
        reply_of(step, method, url, result)
    }

    fn authenticate(
        &mut self,
        step: &'static str,
        header: &str,
        reply: &Reply,
    ) -> Result<(), PushError> {
        let challenge = Challenge::parse(header).ok_or_else(|| PushError::Challenge {
            registry: self.image.registry.clone(),
            challenge: header.to_string(),
        })?;
        match challenge.scheme.as_str() {
            "basic" => {
                let header = self
                    .credentials
                    .as_ref()
                    .and_then(Credentials::basic_header)
                    .ok_or_else(|| self.unauthorized(step, reply))?;
                self.authorization = Some(header);
                Ok(())
            }
            "bearer" => {
                let token = self.fetch_token(&challenge)?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            _ => Err(PushError::Challenge {
                registry: self.image.registry.clone(),
                challenge: header.to_string(),
            }),
        }
    }

    /// The token flow of the distribution spec: GET the realm with service and scope (Basic
    /// credentials if we have them), or POST an OAuth2 refresh-token grant for an identity token.
    fn fetch_token(&self, challenge: &Challenge) -> Result<String, PushError> {
        let realm = challenge
            .params
            .get("realm")
            .ok_or_else(|| PushError::Challenge {
                registry: self.image.registry.clone(),
                challenge: "Bearer challenge without realm".into(),
            })?;
        let service = challenge.params.get("service").cloned().unwrap_or_default();
        // Always ask for push: the challenge of a HEAD may only name pull.
        let scope = format!("repository:{}:pull,push", self.image.repository);
        let result = match &self.credentials {
            Some(Credentials::IdentityToken(refresh)) => {
                refuse_plain_http_credentials(realm)?;
                self.agent.post(realm).send_form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("service", &service),
                    ("scope", &scope),
                    ("client_id", "entra-proxy-wasm"),
                ])
            }
            Some(basic) => {
                refuse_plain_http_credentials(realm)?;
                let mut request = self
                    .agent
                    .get(realm)
                    .query("service", &service)
                    .query("scope", &scope);
                if let Some(header) = basic.basic_header() {
                    request = request.set("Authorization", &header);
                }
                request.call()
            }
            None => self
                .agent
                .get(realm)
                .query("service", &service)
                .query("scope", &scope)
                .call(),
        };
        let reply = reply_of("fetch registry token", "GET", realm, result)?;
        if reply.status != 200 {
            let errors = registry_errors(&reply.body);
            return Err(PushError::Token {
                realm: realm.clone(),
                status: reply.status,
                body: body_excerpt(&reply.body, &errors),
                errors,
            });
        }
        #[derive(Deserialize)]
        struct TokenReply {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let parsed: TokenReply =
            serde_json::from_str(&reply.body).map_err(|e| PushError::Token {
                realm: realm.clone(),
                status: reply.status,
                errors: vec![format!("answer is not token JSON: {e}")],
                body: String::new(),
            })?;
        let token = if parsed.token.is_empty() {
            parsed.access_token
        } else {
            parsed.token
        };
        if token.is_empty() {
            return Err(PushError::Token {
                realm: realm.clone(),
                status: reply.status,
                errors: vec!["answer has neither token nor access_token".into()],
                body: String::new(),
            });
        }
        Ok(token)
    }

    fn unauthorized(&self, step: &'static str, reply: &Reply) -> PushError {
        let registry = self.image.registry.clone();
        let hint = if self.credentials.is_some() {
            format!("check the credentials for {registry} (REGISTRY_USERNAME/REGISTRY_PASSWORD or ~/.docker/config.json) and their push permission on {}", self.image.repository)
        } else {
            format!("set REGISTRY_USERNAME and REGISTRY_PASSWORD, or `docker login {registry}`")
        };
        PushError::Unauthorized {
            step,
            registry,
            had_credentials: self.credentials.is_some(),
            errors: registry_errors(&reply.body),
            hint,
        }
    }
}

fn reply_of(
    step: &'static str,
    method: &str,
    url: &str,
    result: Result<ureq::Response, ureq::Error>,
) -> Result<Reply, PushError> {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(transport)) => {
            return Err(PushError::Transport {
                step,
                method: method.to_string(),
                url: url.to_string(),
                detail: transport.to_string(),
            })
        }
    };
    let header = |name: &str| response.header(name).map(str::to_string);
    let status = response.status();
    let location = header("Location");
    let content_digest = header("Docker-Content-Digest");
    let challenge = header("WWW-Authenticate");
    let body = if method == "HEAD" {
        String::new()
    } else {
        response.into_string().unwrap_or_default()
    };
    Ok(Reply {
        status,
        location,
        content_digest,
        challenge,
        body,
    })
}

fn http_error(step: &'static str, method: &str, url: &str, reply: &Reply) -> PushError {
    let errors = registry_errors(&reply.body);
    PushError::Http {
        step,
        method: method.to_string(),
        url: url.to_string(),
        status: reply.status,
        body: body_excerpt(&reply.body, &errors),
        errors,
    }
}

/// Credentials sent over plain HTTP are readable by anyone on the path; allow it only when the
/// path never leaves this machine.
fn refuse_plain_http_credentials(url: &str) -> Result<(), PushError> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(());
    };
    if parsed.scheme() != "http" {
        return Ok(());
    }
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(PushError::PlainHttpCredentials(host.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_credentials_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:5000/v2/",
            "http://localhost/v2/",
            "http://[::1]:5000/v2/",
            "https://registry.example/v2/",
        ] {
            assert!(refuse_plain_http_credentials(ok).is_ok(), "{ok}");
        }
        for bad in ["http://registry.example/v2/", "http://10.0.0.5:5000/token"] {
            assert!(refuse_plain_http_credentials(bad).is_err(), "{bad}");
        }
    }
}
