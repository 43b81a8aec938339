//! Push failures, each saying which step failed, what the registry answered and what to do.

use serde::Deserialize;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The `--image` reference is malformed.
    #[error("bad image reference: {0}")]
    Reference(String),
    /// The image layout could not be read.
    #[error(transparent)]
    Layout(#[from] crate::oci::LayoutError),
    /// Credentials could not be loaded.
    #[error("registry credentials: {0}")]
    Credentials(String),
    /// The registry could not be reached (DNS, connection, TLS, timeout).
    #[error("{step}: {method} {detail}")]
    Transport {
        /// What we were doing.
        step: &'static str,
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// The transport error (ureq's text starts with the URL).
        detail: String,
    },
    /// The registry answered with an unexpected status.
    #[error("{step}: {method} {url} answered HTTP {status}{}", describe(.errors, .body))]
    Http {
        /// What we were doing.
        step: &'static str,
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// Status code.
        status: u16,
        /// Registry error codes and messages (`BLOB_UNKNOWN: blob unknown to registry`).
        errors: Vec<String>,
        /// Start of a body that was not registry error JSON.
        body: String,
    },
    /// The registry wants credentials we do not have, or refused the ones we sent.
    #[error("{step}: {registry} answered HTTP 401 ({}){}: {hint}", if *.had_credentials { "credentials refused" } else { "authentication required" }, describe(.errors, ""))]
    Unauthorized {
        /// What we were doing.
        step: &'static str,
        /// The registry host.
        registry: String,
        /// Whether credentials were sent.
        had_credentials: bool,
        /// Registry error codes.
        errors: Vec<String>,
        /// What to do about it.
        hint: String,
    },
    /// The token service of a bearer challenge failed.
    #[error("token request to {realm} answered HTTP {status}{}", describe(.errors, .body))]
    Token {
        /// The token endpoint.
        realm: String,
        /// Status code.
        status: u16,
        /// Error codes, when the body was registry error JSON.
        errors: Vec<String>,
        /// Start of the body otherwise.
        body: String,
    },
    /// The registry's challenge could not be understood.
    #[error("{registry}: unsupported WWW-Authenticate challenge {challenge:?}")]
    Challenge {
        /// The registry host.
        registry: String,
        /// The header value.
        challenge: String,
    },
    /// Credentials would travel over plain HTTP to a host that is not this machine.
    #[error("refusing to send credentials over plain HTTP to {0}; use https (drop --insecure) or a loopback registry")]
    PlainHttpCredentials(String),
    /// The registry stored the manifest under another digest than the one we computed.
    #[error("registry stored the manifest as {got}, expected {expected}: it rewrote the manifest, so WasmPlugin.sha256 would not match")]
    DigestMismatch {
        /// Our digest.
        expected: String,
        /// The `Docker-Content-Digest` the registry returned.
        got: String,
    },
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: serde_json::Value,
}

/// `CODE: message (detail)` for each entry of a registry error body (distribution spec), or
/// nothing when the body is something else.
pub fn registry_errors(body: &str) -> Vec<String> {
    let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) else {
        return Vec::new();
    };
    parsed
        .errors
        .into_iter()
        .map(|e| {
            let mut text = e.code;
            if !e.message.is_empty() {
                text = format!("{text}: {}", e.message);
            }
            if !e.detail.is_null() {
                text = format!("{text} ({})", e.detail);
            }
            text
        })
        .collect()
}

/// The first 300 characters of a body, for errors that are not registry JSON.
pub fn body_excerpt(body: &str, errors: &[String]) -> String {
    if errors.is_empty() {
        body.trim().chars().take(300).collect()
    } else {
        String::new()
    }
}

fn describe(errors: &[String], body: &str) -> String {
    if !errors.is_empty() {
        format!(": {}", errors.join("; "))
    } else if !body.is_empty() {
        format!(": {body}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_json_becomes_code_message_detail() {
        let body = r#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:ab"},{"code":"DENIED","message":"no"}]}"#;
        assert_eq!(
            registry_errors(body),
            [
                "MANIFEST_BLOB_UNKNOWN: blob unknown to registry (\"sha256:ab\")",
                "DENIED: no"
            ]
        );
        assert!(registry_errors("<html>bad gateway</html>").is_empty());
    }

    #[test]
    fn http_errors_name_step_status_and_codes() {
        let err = PushError::Http {
            step: "upload blob",
            method: "PUT".into(),
            url: "http://r/v2/x/blobs/uploads/1".into(),
            status: 400,
            errors: vec!["DIGEST_INVALID: provided digest did not match".into()],
            body: String::new(),
        };
        assert_eq!(
            err.to_string(),
            "upload blob: PUT http://r/v2/x/blobs/uploads/1 answered HTTP 400: DIGEST_INVALID: provided digest did not match"
        );
        let err = PushError::Http {
            step: "put manifest",
            method: "PUT".into(),
            url: "u".into(),
            status: 502,
            errors: vec![],
            body: body_excerpt("  Bad Gateway \n", &[]),
        };
        assert!(err.to_string().ends_with("HTTP 502: Bad Gateway"), "{err}");
    }
}
