//! The two image shapes Istio's Wasm image fetcher accepts, built in memory.
//!
//! - **compat**: a standard OCI image manifest whose last (only) layer is
//!   `application/vnd.oci.image.layer.v1.tar+gzip` holding `plugin.wasm`, annotated
//!   `module.wasm.image/variant: compat`; any registry and any OCI tool handles it.
//! - **artifact**: the Wasm artifact image spec: exactly two layers, the runtime config
//!   (`application/vnd.module.wasm.config.v1+json`) and the raw module
//!   (`application/vnd.module.wasm.content.layer.v1+wasm`). Istio counts the layers and picks the
//!   wasm one by media type.
//!
//! Every JSON document is serialized from structs with a fixed field order and no timestamps, so
//! the manifest digest depends on the wasm bytes alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::targz;

/// OCI image manifest media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config media type.
pub const IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzipped tar layer: what the compat variant's last layer must be.
pub const TAR_GZIP_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Wasm artifact spec: the raw module layer.
pub const WASM_CONTENT_MEDIA_TYPE: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// Wasm artifact spec: the runtime config (both the manifest config and the first layer).
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.module.wasm.config.v1+json";
/// The annotation Istio's compat spec asks for on an OCI-typed compat image.
pub const VARIANT_ANNOTATION: &str = "module.wasm.image/variant";
/// Standard annotation naming a layer's file.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The filter's root context id (the `root_id` in Envoy's wasm config).
pub const ROOT_ID: &str = "entra-proxy-wasm";

/// Which image shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// OCI manifest, one tar+gzip layer with `plugin.wasm`.
    Compat,
    /// Wasm artifact spec, two layers.
    Artifact,
}

impl Variant {
    /// The name used on the command line and as the layout's `ref.name`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Compat => "compat",
            Variant::Artifact => "artifact",
        }
    }

    /// Parse `compat` or `artifact`.
    pub fn parse(name: &str) -> Option<Variant> {
        match name {
            "compat" => Some(Variant::Compat),
            "artifact" => Some(Variant::Artifact),
            _ => None,
        }
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Optional annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// Describe `bytes` as `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
        }
    }

    fn titled(mut self, title: &str) -> Descriptor {
        self.annotations
            .insert(TITLE_ANNOTATION.to_string(), title.to_string());
        self
    }
}

/// An OCI image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MANIFEST_MEDIA_TYPE`].
    pub media_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
    /// Manifest annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One built image: the manifest bytes and every blob it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Which shape.
    pub variant: Variant,
    /// The serialized manifest (its sha256 is the manifest digest).
    pub manifest: Vec<u8>,
    /// Config and layer blobs, each once, by digest.
    pub blobs: BTreeMap<String, Vec<u8>>,
}

impl Image {
    /// `sha256:<hex>` of the manifest: what a registry and Istio's `sha256` field identify.
    pub fn manifest_digest(&self) -> String {
        sha256_digest(&self.manifest)
    }
}

/// `sha256:<lower hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Build `variant` for `wasm`.
pub fn build(variant: Variant, wasm: &[u8]) -> std::io::Result<Image> {
    match variant {
        Variant::Compat => build_compat(wasm),
        Variant::Artifact => Ok(build_artifact(wasm)),
    }
}

fn build_compat(wasm: &[u8]) -> std::io::Result<Image> {
    let layer = targz::plugin_layer(wasm)?;
    // A complete OCI image config, so generic tools (skopeo inspect, crane) accept the image.
    // No `created` or `history`: they would carry the build time into the digest.
    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip1",
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": [sha256_digest(&layer.tar)] },
    });
    let config = json_bytes(&config);
    let config_descriptor = Descriptor::of(IMAGE_CONFIG_MEDIA_TYPE, &config);
    let layer_descriptor =
        Descriptor::of(TAR_GZIP_MEDIA_TYPE, &layer.gzip).titled(targz::PLUGIN_FILE);
    let mut annotations = BTreeMap::new();
    annotations.insert(VARIANT_ANNOTATION.to_string(), "compat".to_string());
    let manifest = Manifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE.to_string(),
        config: config_descriptor.clone(),
        layers: vec![layer_descriptor.clone()],
        annotations,
    };
    let mut blobs = BTreeMap::new();
    blobs.insert(config_descriptor.digest, config);
    blobs.insert(layer_descriptor.digest, layer.gzip);
    Ok(Image {
        variant: Variant::Compat,
        manifest: json_bytes(&manifest),
        blobs,
    })
}

fn build_artifact(wasm: &[u8]) -> Image {
    let runtime_config = serde_json::json!({
        "type": "envoy_proxy",
        "abiVersions": ["proxy_abi_version_0_2_1"],
        "config": { "rootIds": [ROOT_ID] },
    });
    let runtime_config = json_bytes(&runtime_config);
    let config_descriptor = Descriptor::of(WASM_CONFIG_MEDIA_TYPE, &runtime_config);
    let wasm_descriptor = Descriptor::of(WASM_CONTENT_MEDIA_TYPE, wasm).titled("plugin.wasm");
    let manifest = Manifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE.to_string(),
        config: config_descriptor.clone(),
        // The spec's two layers: Istio rejects an artifact image with any other layer count.
        layers: vec![
            config_descriptor.clone().titled("runtime-config.json"),
            wasm_descriptor.clone(),
        ],
        annotations: BTreeMap::new(),
    };
    let mut blobs = BTreeMap::new();
    blobs.insert(config_descriptor.digest, runtime_config);
    blobs.insert(wasm_descriptor.digest, wasm.to_vec());
    Image {
        variant: Variant::Artifact,
        manifest: json_bytes(&manifest),
        blobs,
    }
}

/// Compact JSON. Serializing a struct or a `json!` map cannot fail, and the field order is
/// fixed (structs: declaration order; maps: sorted keys), which reproducibility relies on.
fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_of(image: &Image) -> Manifest {
        serde_json::from_slice(&image.manifest).unwrap()
    }

    #[test]
    fn compat_has_one_tar_gzip_layer_the_variant_annotation_and_a_valid_config() {
        let image = build(Variant::Compat, b"\0asm\x01\0\0\0").unwrap();
        let manifest = manifest_of(&image);
        assert_eq!(manifest.schema_version, 2);
        assert_eq!(manifest.media_type, MANIFEST_MEDIA_TYPE);
        assert_eq!(manifest.layers.len(), 1);
        assert_eq!(manifest.layers[0].media_type, TAR_GZIP_MEDIA_TYPE);
        assert_eq!(
            manifest
                .annotations
                .get(VARIANT_ANNOTATION)
                .map(String::as_str),
            Some("compat")
        );
        assert_eq!(manifest.config.media_type, IMAGE_CONFIG_MEDIA_TYPE);
        let config: serde_json::Value =
            serde_json::from_slice(&image.blobs[&manifest.config.digest]).unwrap();
        let tar = targz::plugin_layer(b"\0asm\x01\0\0\0").unwrap().tar;
        assert_eq!(config["rootfs"]["diff_ids"][0], sha256_digest(&tar));
        assert_eq!(config["rootfs"]["type"], "layers");
    }

    #[test]
    fn artifact_has_exactly_the_config_and_raw_wasm_layers() {
        let wasm = b"\0asm\x01\0\0\0raw";
        let image = build(Variant::Artifact, wasm).unwrap();
        let manifest = manifest_of(&image);
        let types: Vec<&str> = manifest
            .layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect();
        assert_eq!(types, [WASM_CONFIG_MEDIA_TYPE, WASM_CONTENT_MEDIA_TYPE]);
        assert_eq!(image.blobs[&manifest.layers[1].digest], wasm);
        assert_eq!(manifest.config.media_type, WASM_CONFIG_MEDIA_TYPE);
    }

    #[test]
    fn every_descriptor_matches_its_blob() {
        for variant in [Variant::Compat, Variant::Artifact] {
            let image = build(variant, b"some wasm").unwrap();
            let manifest = manifest_of(&image);
            for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
                let blob = &image.blobs[&d.digest];
                assert_eq!(sha256_digest(blob), d.digest);
                assert_eq!(blob.len() as u64, d.size);
            }
        }
    }

    #[test]
    fn manifest_digests_are_reproducible_and_follow_the_wasm() {
        for variant in [Variant::Compat, Variant::Artifact] {
            let a = build(variant, b"wasm A").unwrap();
            let b = build(variant, b"wasm A").unwrap();
            let c = build(variant, b"wasm B").unwrap();
            assert_eq!(a.manifest_digest(), b.manifest_digest(), "{variant:?}");
            assert_ne!(a.manifest_digest(), c.manifest_digest(), "{variant:?}");
        }
    }

    #[test]
    fn digest_is_lower_hex_sha256() {
        assert_eq!(
            sha256_digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn variant_names_round_trip() {
        for v in [Variant::Compat, Variant::Artifact] {
            assert_eq!(Variant::parse(v.name()), Some(v));
        }
        assert_eq!(Variant::parse("docker"), None);
    }
}
