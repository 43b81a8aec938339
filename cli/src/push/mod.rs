//! `entra-proxy-wasm push`: publish an image from the layout to a registry.

pub mod auth;
pub mod client;
pub mod error;
pub mod reference;

pub use auth::{CredentialSources, Credentials};
pub use error::PushError;
pub use reference::ImageRef;

use crate::oci::{manifest::MANIFEST_MEDIA_TYPE, Image};
use client::Registry;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Where the manifest went.
    pub target: ImageRef,
    /// `sha256:<hex>` of the manifest.
    pub manifest_digest: String,
    /// Blobs uploaded.
    pub uploaded: Vec<String>,
    /// Blobs the registry already had.
    pub skipped: Vec<String>,
}

/// Push `image` to `target` (`plain_http` for a registry without TLS).
pub fn push_image(
    image: &Image,
    target: &ImageRef,
    plain_http: bool,
    credentials: Option<Credentials>,
) -> Result<PushReport, PushError> {
    let mut registry = Registry::new(target, plain_http, credentials);
    let mut uploaded = Vec::new();
    let mut skipped = Vec::new();
    // Blobs first: a registry refuses a manifest that references blobs it does not have.
    for (digest, bytes) in &image.blobs {
        if registry.blob_exists(digest)? {
            skipped.push(digest.clone());
        } else {
            registry.upload_blob(digest, bytes)?;
            uploaded.push(digest.clone());
        }
    }
    let manifest_digest = image.manifest_digest();
    let stored = registry.put_manifest(&target.tag, MANIFEST_MEDIA_TYPE, &image.manifest)?;
    if let Some(got) = stored {
        if got != manifest_digest {
            return Err(PushError::DigestMismatch {
                expected: manifest_digest,
                got,
            });
        }
    }
    Ok(PushReport {
        target: target.clone(),
        manifest_digest,
        uploaded,
        skipped,
    })
}
