//! `registry/repository:tag` image references, as `docker push` reads them.

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry as written (`ghcr.io`, `127.0.0.1:5000`, `docker.io` when none was given).
    pub registry: String,
    /// Repository path (`org/entra-proxy-wasm`; Docker Hub single names get `library/`).
    pub repository: String,
    /// Tag (`latest` when none was given).
    pub tag: String,
}

impl ImageRef {
    /// Parse `[registry/]repository[:tag]`. Digest references (`@sha256:…`) are refused: a push
    /// needs a tag to point at the manifest.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let text = text.strip_prefix("oci://").unwrap_or(text);
        if text.contains('@') {
            return Err(format!(
                "{text:?}: push by tag (registry/repo:tag), not by digest"
            ));
        }
        let (registry, rest) = match text.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), text.to_string()),
        };
        // A ':' after the last '/' separates the tag (a ':' before it is a registry port).
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
            _ => (rest.clone(), "latest".to_string()),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
            });
        if !valid_repo {
            return Err(format!(
                "{text:?}: repository {repository:?} must be lower-case letters, digits, '.', '_', '-' separated by '/'"
            ));
        }
        let valid_tag = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid_tag {
            return Err(format!(
                "{text:?}: tag {tag:?} must be letters, digits, '.', '_', '-' (at most 128)"
            ));
        }
        Ok(ImageRef {
            registry,
            repository,
            tag,
        })
    }

    /// The host that serves the registry API (Docker Hub's API is not on `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// The same repository with another tag.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            tag: tag.to_string(),
            ..self.clone()
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.registry, self.repository, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_reference_shapes() {
        let cases = [
            ("ghcr.io/org/entra:v1", "ghcr.io", "org/entra", "v1"),
            (
                "127.0.0.1:5000/entra/proxy:1.0",
                "127.0.0.1:5000",
                "entra/proxy",
                "1.0",
            ),
            ("127.0.0.1:5000/entra", "127.0.0.1:5000", "entra", "latest"),
            ("localhost/x/y", "localhost", "x/y", "latest"),
            (
                "oci://myacr.azurecr.io/filters/entra:0.1.0",
                "myacr.azurecr.io",
                "filters/entra",
                "0.1.0",
            ),
            ("user/image:tag", "docker.io", "user/image", "tag"),
            ("image", "docker.io", "library/image", "latest"),
        ];
        for (text, registry, repository, tag) in cases {
            let r = ImageRef::parse(text).unwrap();
            assert_eq!(
                (r.registry.as_str(), r.repository.as_str(), r.tag.as_str()),
                (registry, repository, tag),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_digests_bad_repositories_and_bad_tags() {
        for text in [
            "ghcr.io/org/x@sha256:abcd",
            "ghcr.io/Org/x:v1",
            "ghcr.io//x:v1",
            "ghcr.io/org/x:",
            "ghcr.io/org/x:bad tag",
            "ghcr.io/",
        ] {
            assert!(ImageRef::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn docker_hub_api_lives_on_registry_1() {
        assert_eq!(
            ImageRef::parse("user/i").unwrap().api_host(),
            "registry-1.docker.io"
        );
        assert_eq!(
            ImageRef::parse("ghcr.io/u/i").unwrap().api_host(),
            "ghcr.io"
        );
    }
}
