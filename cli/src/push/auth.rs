//! Registry credentials (environment, `~/.docker/config.json`, credential helpers) and the
//! `WWW-Authenticate` challenges that say how to use them.
//!
//! Credentials are never printed: errors name where they came from, not what they are.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use serde::Deserialize;

/// What the user gave us to authenticate with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password (or a registry access token used as password).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in the Docker config, as `az acr login` writes).
    IdentityToken(String),
}

impl std::fmt::Debug for Credentials {
    // Never show secrets, even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credentials::IdentityToken(_) => write!(f, "IdentityToken(<redacted>)"),
        }
    }
}

impl Credentials {
    /// `Basic base64(user:password)`, when these are basic credentials.
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credentials::IdentityToken(_) => None,
        }
    }
}

/// Where credentials are looked up; [`CredentialSources::from_env`] is the real one.
#[derive(Debug, Clone, Default)]
pub struct CredentialSources {
    /// `REGISTRY_USERNAME`.
    pub username: Option<String>,
    /// `REGISTRY_PASSWORD`.
    pub password: Option<String>,
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
}

impl CredentialSources {
    /// Read the process environment.
    pub fn from_env() -> CredentialSources {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let docker_config = var("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".docker")))
            .map(|dir| dir.join("config.json"));
        CredentialSources {
            username: var("REGISTRY_USERNAME"),
            password: var("REGISTRY_PASSWORD"),
            docker_config,
        }
    }

    /// Credentials for `registry`: the environment wins, then the Docker config's `auths`, then
    /// its `credHelpers` / `credsStore`. `Ok(None)` means anonymous.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, String> {
        match (&self.username, &self.password) {
            (Some(username), Some(password)) => {
                return Ok(Some(Credentials::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err("set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither".into())
            }
            (None, None) => {}
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let config: DockerConfig = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a Docker config file: {e}", path.display()))?;
        config.credentials_for(registry, path)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl DockerConfig {
    fn credentials_for(
        &self,
        registry: &str,
        path: &std::path::Path,
    ) -> Result<Option<Credentials>, String> {
        let wanted = normalize_registry(registry);
        let entry = self
            .auths
            .iter()
            .find(|(key, _)| normalize_registry(key) == wanted);
        if let Some((key, entry)) = entry {
            if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
                return Ok(Some(Credentials::IdentityToken(token.clone())));
            }
            if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .and_then(|text| {
                        text.split_once(':')
                            .map(|(u, p)| (u.to_string(), p.to_string()))
                    });
                return match decoded {
                    Some((username, password)) => {
                        Ok(Some(Credentials::Basic { username, password }))
                    }
                    None => Err(format!(
                        "{}: auths[{key:?}].auth is not base64 of \"user:password\"",
                        path.display()
                    )),
                };
            }
            if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
                return Ok(Some(Credentials::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }));
            }
        }
        let helper = self
            .cred_helpers
            .iter()
            .find(|(key, _)| normalize_registry(key) == wanted)
            .map(|(_, helper)| helper)
            .or(self.creds_store.as_ref());
        match helper {
            Some(helper) => run_credential_helper(helper, registry),
            None => Ok(None),
        }
    }
}

/// `https://index.docker.io/v1/` → `docker.io`, `http://host:5000/` → `host:5000`.
fn normalize_registry(key: &str) -> String {
    let key = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// Ask `docker-credential-<helper> get` (the protocol `docker login` stores through).
fn run_credential_helper(helper: &str, registry: &str) -> Result<Option<Credentials>, String> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let server = if normalize_registry(registry) == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("credential helper {program}: {e} (or set REGISTRY_USERNAME/REGISTRY_PASSWORD)")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| format!("credential helper {program}: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("credential helper {program}: {e}"))?;
    if !output.status.success() {
        // "credentials not found" is the helper's way of saying anonymous.
        return Ok(None);
    }
    let reply: HelperReply = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("credential helper {program}: unexpected output: {e}"))?;
    Ok(Some(if reply.username == "<token>" {
        Credentials::IdentityToken(reply.secret)
    } else {
        Credentials::Basic {
            username: reply.username,
            password: reply.secret,
        }
    }))
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer` (lower-cased).
    pub scheme: String,
    /// Parameters (`realm`, `service`, `scope`, …) with lower-cased names.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parse `Bearer realm="…",service="…",scope="…"` (quoted values may contain commas).
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if name.trim().is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek().copied() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
            params.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources_with_config(json: &str) -> (tempfile::TempDir, CredentialSources) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        let sources = CredentialSources {
            docker_config: Some(path),
            ..Default::default()
        };
        (dir, sources)
    }

    fn basic(username: &str, password: &str) -> Option<Credentials> {
        Some(Credentials::Basic {
            username: username.into(),
            password: password.into(),
        })
    }

    #[test]
    fn environment_wins_over_the_docker_config() {
        let (_dir, mut sources) = sources_with_config(r#"{"auths":{"r.io":{"auth":"dTpw"}}}"#);
        sources.username = Some("env-user".into());
        sources.password = Some("env-pass".into());
        assert_eq!(
            sources.lookup("r.io").unwrap(),
            basic("env-user", "env-pass")
        );
    }

    #[test]
    fn half_of_the_environment_pair_is_an_error() {
        let sources = CredentialSources {
            username: Some("u".into()),
            ..Default::default()
        };
        assert!(sources.lookup("r.io").is_err());
    }

    #[test]
    fn docker_config_entries_are_matched_by_normalized_registry() {
        // "dTpw" = base64("u:p"), "YTpiOmM=" = base64("a:b:c") (passwords may hold ':').
        let (_dir, sources) = sources_with_config(
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"dTpw"},
                "http://127.0.0.1:5000/":{"auth":"YTpiOmM="},
                "acr.azurecr.io":{"identitytoken":"refresh"},
                "plain.io":{"username":"x","password":"y"}
            }}"#,
        );
        assert_eq!(sources.lookup("docker.io").unwrap(), basic("u", "p"));
        assert_eq!(sources.lookup("127.0.0.1:5000").unwrap(), basic("a", "b:c"));
        assert_eq!(
            sources.lookup("acr.azurecr.io").unwrap(),
            Some(Credentials::IdentityToken("refresh".into()))
        );
        assert_eq!(sources.lookup("plain.io").unwrap(), basic("x", "y"));
        assert_eq!(sources.lookup("other.io").unwrap(), None);
    }

    #[test]
    fn a_missing_docker_config_means_anonymous_and_a_broken_one_is_an_error() {
        let sources = CredentialSources {
            docker_config: Some("/nonexistent/config.json".into()),
            ..Default::default()
        };
        assert_eq!(sources.lookup("r.io").unwrap(), None);
        let (_dir, sources) = sources_with_config("not json");
        assert!(sources.lookup("r.io").is_err());
        let (_dir, sources) = sources_with_config(r#"{"auths":{"r.io":{"auth":"!!"}}}"#);
        let err = sources.lookup("r.io").unwrap_err();
        assert!(err.contains("auths[\"r.io\"].auth"), "{err}");
    }

    #[test]
    fn a_missing_credential_helper_is_reported_by_name() {
        let (_dir, sources) = sources_with_config(r#"{"credsStore":"no-such-helper-xyz"}"#);
        let err = sources.lookup("r.io").unwrap_err();
        assert!(
            err.contains("docker-credential-no-such-helper-xyz"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let text = format!("{:?}", basic("user", "hunter2").unwrap());
        assert!(!text.contains("hunter2"), "{text}");
        let text = format!("{:?}", Credentials::IdentityToken("tok".into()));
        assert!(!text.contains("tok)"), "{text}");
    }

    #[test]
    fn challenges_parse_with_quoted_commas() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["service"], "registry.example");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
        let c = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], "Registry Realm");
        let c = Challenge::parse("Bearer realm=https://x/t, service=svc").unwrap();
        assert_eq!(c.params["realm"], "https://x/t");
        assert_eq!(c.params["service"], "svc");
        assert_eq!(Challenge::parse(""), None);
    }
}
