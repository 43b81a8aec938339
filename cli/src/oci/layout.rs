//! An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), as written by
//! `entra-proxy-wasm image` and read back by `push` (and by `skopeo … oci:DIR:<variant>`).
//!
//! Each image's index entry carries `org.opencontainers.image.ref.name` = the variant name, so a
//! tool can address `oci:DIR:compat` or `oci:DIR:artifact`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::{sha256_digest, Descriptor, Image, Variant, MANIFEST_MEDIA_TYPE};

/// Annotation naming an image inside a layout.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// Why a layout could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `index.json` or a manifest is not the JSON it should be.
    #[error("{path}: not a valid OCI document: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The index has no image for the requested variant.
    #[error("{dir}: no `{variant}` image in index.json (build it with `entra-proxy-wasm image --variant {variant}`)")]
    MissingVariant {
        /// The layout directory.
        dir: PathBuf,
        /// The variant asked for.
        variant: &'static str,
    },
    /// A blob's content does not hash to its name: the layout was modified or is corrupt.
    #[error("{path}: content does not match digest {digest}")]
    DigestMismatch {
        /// The blob file.
        path: PathBuf,
        /// The expected digest.
        digest: String,
    },
    /// A digest that is not `sha256:<64 hex>` (it would otherwise name a path outside blobs/).
    #[error("unsupported digest {0:?}: only sha256:<64 lower-case hex digits> is accepted")]
    BadDigest(String),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    #[serde(default)]
    media_type: String,
    manifests: Vec<Descriptor>,
}

/// Write `images` into `dir` (created if missing). `index.json` lists exactly these images.
pub fn write_layout(dir: &Path, images: &[Image]) -> Result<(), LayoutError> {
    let blob_dir = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blob_dir).map_err(|source| io(&blob_dir, source))?;
    write_file(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    let mut manifests = Vec::new();
    for image in images {
        for (digest, bytes) in &image.blobs {
            write_file(&blob_path(dir, digest)?, bytes)?;
        }
        let mut descriptor = Descriptor::of(MANIFEST_MEDIA_TYPE, &image.manifest);
        write_file(&blob_path(dir, &descriptor.digest)?, &image.manifest)?;
        descriptor.annotations.insert(
            REF_NAME_ANNOTATION.to_string(),
            image.variant.name().to_string(),
        );
        manifests.push(descriptor);
    }
    let index = Index {
        schema_version: 2,
        media_type: INDEX_MEDIA_TYPE.to_string(),
        manifests,
    };
    let index = serde_json::to_vec(&index).map_err(|source| LayoutError::Json {
        path: dir.join("index.json"),
        source,
    })?;
    write_file(&dir.join("index.json"), &index)
}

/// Read the `variant` image back from `dir`, checking every blob against its digest.
pub fn read_image(dir: &Path, variant: Variant) -> Result<Image, LayoutError> {
    let index_path = dir.join("index.json");
    let index: Index = read_json(&index_path)?;
    let entry = index
        .manifests
        .iter()
        .find(|d| {
            d.annotations.get(REF_NAME_ANNOTATION).map(String::as_str) == Some(variant.name())
        })
        .ok_or_else(|| LayoutError::MissingVariant {
            dir: dir.to_path_buf(),
            variant: variant.name(),
        })?;
    let manifest = read_blob(dir, &entry.digest)?;
    let parsed: super::manifest::Manifest =
        serde_json::from_slice(&manifest).map_err(|source| LayoutError::Json {
            path: blob_path(dir, &entry.digest).unwrap_or_default(),
            source,
        })?;
    let mut blobs = BTreeMap::new();
    for descriptor in std::iter::once(&parsed.config).chain(&parsed.layers) {
        if !blobs.contains_key(&descriptor.digest) {
            blobs.insert(
                descriptor.digest.clone(),
                read_blob(dir, &descriptor.digest)?,
            );
        }
    }
    Ok(Image {
        variant,
        manifest,
        blobs,
    })
}

/// The path of blob `digest` under `dir`; refuses anything but a sha256 digest.
pub fn blob_path(dir: &Path, digest: &str) -> Result<PathBuf, LayoutError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| LayoutError::BadDigest(digest.to_string()))?;
    Ok(dir.join("blobs").join("sha256").join(hex))
}

fn read_blob(dir: &Path, digest: &str) -> Result<Vec<u8>, LayoutError> {
    let path = blob_path(dir, digest)?;
    let bytes = std::fs::read(&path).map_err(|source| io(&path, source))?;
    if sha256_digest(&bytes) != digest {
        return Err(LayoutError::DigestMismatch {
            path,
            digest: digest.to_string(),
        });
    }
    Ok(bytes)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, LayoutError> {
    let bytes = std::fs::read(path).map_err(|source| io(path, source))?;
    serde_json::from_slice(&bytes).map_err(|source| LayoutError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    std::fs::write(path, bytes).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> LayoutError {
    LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::manifest::build;

    fn images(wasm: &[u8]) -> Vec<Image> {
        vec![
            build(Variant::Compat, wasm).unwrap(),
            build(Variant::Artifact, wasm).unwrap(),
        ]
    }

    #[test]
    fn a_written_layout_reads_back_identically_for_both_variants() {
        let dir = tempfile::tempdir().unwrap();
        let built = images(b"\0asm module");
        write_layout(dir.path(), &built).unwrap();
        assert!(dir.path().join("oci-layout").is_file());
        for image in &built {
            assert_eq!(&read_image(dir.path(), image.variant).unwrap(), image);
        }
    }

    #[test]
    fn index_names_each_image_by_variant() {
        let dir = tempfile::tempdir().unwrap();
        write_layout(dir.path(), &images(b"m")).unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        let names: Vec<&str> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["annotations"][REF_NAME_ANNOTATION].as_str().unwrap())
            .collect();
        assert_eq!(names, ["compat", "artifact"]);
    }

    #[test]
    fn a_tampered_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let built = images(b"original");
        write_layout(dir.path(), &built).unwrap();
        let manifest: super::super::manifest::Manifest =
            serde_json::from_slice(&built[1].manifest).unwrap();
        let wasm_blob = blob_path(dir.path(), &manifest.layers[1].digest).unwrap();
        std::fs::write(&wasm_blob, b"replaced").unwrap();
        let err = read_image(dir.path(), Variant::Artifact).unwrap_err();
        assert!(matches!(err, LayoutError::DigestMismatch { .. }), "{err}");
    }

    #[test]
    fn a_missing_variant_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        write_layout(dir.path(), &images(b"m")[..1]).unwrap();
        let err = read_image(dir.path(), Variant::Artifact).unwrap_err();
        assert!(err.to_string().contains("--variant artifact"), "{err}");
    }

    #[test]
    fn digests_that_could_escape_the_blob_directory_are_refused() {
        for digest in [
            "sha256:../../etc/passwd",
            "sha512:00",
            "sha256:ABC",
            &format!("sha256:{}", "A".repeat(64)),
        ] {
            assert!(blob_path(Path::new("/x"), digest).is_err(), "{digest}");
        }
        let ok = format!("sha256:{}", "0a".repeat(32));
        assert!(blob_path(Path::new("/x"), &ok).is_ok());
    }
}
