//! The filter's OCI images, end to end: `entra-proxy-wasm image` builds both variants
//! reproducibly, `push` publishes them to Debian's `docker-registry` on loopback (anonymous and
//! with Basic auth), and `skopeo` pulls them back. What comes back must have the same digests,
//! the same wasm bytes, and the shape Istio's image fetcher accepts.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entra_proxy_tests::paths::{wasm_path, TestLogs};
use entra_proxy_wasm_cli::oci::manifest::{
    TAR_GZIP_MEDIA_TYPE, VARIANT_ANNOTATION, WASM_CONFIG_MEDIA_TYPE, WASM_CONTENT_MEDIA_TYPE,
};
use entra_proxy_wasm_cli::oci::{self, sha256_digest, Image, Manifest, Variant};
use entra_proxy_wasm_cli::push::{push_image, Credentials, ImageRef, PushError};

/// bcrypt (cost 4) of "push-test-password" for user "pusher": docker-registry's htpasswd file
/// takes bcrypt only. A fixed hash keeps a bcrypt implementation out of the test build.
const HTPASSWD: &str = "pusher:$2b$04$hfa6UH533vHYlk/X20xR1u3pB6F45iUvbBHnqMyLrCeeZOPLkQjcS\n";
const PASSWORD: &str = "push-test-password";

fn binary(var: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} not found ({var}): install the Debian package {package} (`make tools`)",
        path.display()
    );
    path
}

fn skopeo() -> PathBuf {
    binary("SKOPEO_BIN", "/usr/bin/skopeo", "skopeo")
}

/// A `docker-registry` process on a loopback port with storage in `dir`; killed on drop.
struct Registry {
    child: Child,
    port: u16,
}

impl Registry {
    fn start(dir: &Path, htpasswd: Option<&str>) -> Registry {
        let bin = binary(
            "DOCKER_REGISTRY_BIN",
            "/usr/bin/docker-registry",
            "docker-registry",
        );
        // The registry needs a concrete port: take a free one from the OS, release it and retry
        // with another if something else grabbed it in between.
        for attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let storage = dir.join(format!("storage-{attempt}"));
            let mut config = format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            );
            if let Some(users) = htpasswd {
                let file = dir.join("htpasswd");
                std::fs::write(&file, users).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: entra-proxy-test\n    path: {}\n",
                    file.display()
                ));
            }
            let config_path = dir.join(format!("registry-{attempt}.yml"));
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.join(format!("registry-{attempt}.log"))).unwrap();
            let child = Command::new(&bin)
                .arg("serve")
                .arg(&config_path)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
            let mut registry = Registry { child, port };
            if registry.wait_ready() {
                return registry;
            }
        }
        panic!("docker-registry did not start; logs in {}", dir.display());
    }

    /// Poll /v2/ until it answers (200, or 401 with auth); false if the process died.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = format!("http://127.0.0.1:{}/v2/", self.port);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            match ureq::get(&url).timeout(Duration::from_secs(1)).call() {
                Ok(_) | Err(ureq::Error::Status(401, _)) => return true,
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        false
    }

    fn image_ref(&self, repo_tag: &str) -> ImageRef {
        ImageRef::parse(&format!("127.0.0.1:{}/{repo_tag}", self.port)).unwrap()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn build_both(wasm: &[u8]) -> Vec<Image> {
    [Variant::Compat, Variant::Artifact]
        .iter()
        .map(|v| oci::build(*v, wasm).unwrap())
        .collect()
}

fn run_skopeo(args: &[&str]) -> Vec<u8> {
    let output = Command::new(skopeo())
        .arg("--insecure-policy")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// What Istio's fetcher does with a pulled manifest (pkg/wasm/imagefetcher.go): the compat
/// shape first (last layer tar+gzip holding plugin.wasm), then the artifact shape (exactly two
/// layers, one of them the raw wasm). Returns which shape matched and the module.
fn istio_extract(manifest: &Manifest, blob: impl Fn(&str) -> Vec<u8>) -> (&'static str, Vec<u8>) {
    if let Some(last) = manifest.layers.last() {
        if last.media_type == TAR_GZIP_MEDIA_TYPE {
            let mut tar = Vec::new();
            flate2::read::GzDecoder::new(blob(&last.digest).as_slice())
                .read_to_end(&mut tar)
                .unwrap();
            let mut archive = tar::Archive::new(tar.as_slice());
            for entry in archive.entries().unwrap() {
                let mut entry = entry.unwrap();
                if entry.path().unwrap().file_name().and_then(|n| n.to_str()) == Some("plugin.wasm")
                {
                    let mut wasm = Vec::new();
                    entry.read_to_end(&mut wasm).unwrap();
                    return ("compat", wasm);
                }
            }
            panic!("compat layer without plugin.wasm");
        }
    }
    assert_eq!(
        manifest.layers.len(),
        2,
        "Istio requires exactly two layers for the artifact shape"
    );
    let wasm_layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == WASM_CONTENT_MEDIA_TYPE)
        .expect("no application/vnd.module.wasm.content.layer.v1+wasm layer");
    ("artifact", blob(&wasm_layer.digest))
}

/// Copy `reference` into an OCI layout with skopeo and return its manifest and blob reader.
fn pull_with_skopeo(reference: &str, dir: &Path, name: &str) -> (String, Manifest) {
    let target = format!("oci:{}:{name}", dir.display());
    run_skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        reference,
        &target,
    ]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap();
    let digest = entry["digest"].as_str().unwrap().to_string();
    let bytes = read_blob(dir, &digest);
    (digest, serde_json::from_slice(&bytes).unwrap())
}

fn read_blob(dir: &Path, digest: &str) -> Vec<u8> {
    let bytes = std::fs::read(
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    assert_eq!(
        sha256_digest(&bytes),
        digest,
        "blob content matches its digest"
    );
    bytes
}

#[test]
fn both_variants_are_byte_for_byte_reproducible() {
    let logs = TestLogs::new("image_oci_reproducible");
    let wasm = std::fs::read(wasm_path()).unwrap();
    let (a, b) = (logs.path().join("a"), logs.path().join("b"));
    oci::write_layout(&a, &build_both(&wasm)).unwrap();
    oci::write_layout(&b, &build_both(&wasm)).unwrap();
    for variant in [Variant::Compat, Variant::Artifact] {
        let (x, y) = (
            oci::read_image(&a, variant).unwrap(),
            oci::read_image(&b, variant).unwrap(),
        );
        assert_eq!(x.manifest_digest(), y.manifest_digest(), "{variant:?}");
        assert_eq!(x, y, "{variant:?}");
    }
    assert_eq!(
        std::fs::read(a.join("index.json")).unwrap(),
        std::fs::read(b.join("index.json")).unwrap()
    );
    // skopeo reads the layout we write (the compat image is a regular OCI image).
    let inspect = run_skopeo(&["inspect", &format!("oci:{}:compat", a.display())]);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect).unwrap();
    assert_eq!(
        inspect["Digest"],
        oci::read_image(&a, Variant::Compat)
            .unwrap()
            .manifest_digest()
    );
}

#[test]
fn pushed_images_pull_back_identical_and_in_the_shape_istio_fetches() {
    let logs = TestLogs::new("image_oci_push_pull");
    let wasm = std::fs::read(wasm_path()).unwrap();
    let registry = Registry::start(logs.path(), None);
    for image in build_both(&wasm) {
        let tag = format!("v1-{}", image.variant.name());
        let target = registry.image_ref(&format!("entra/proxy:{tag}"));
        let report = push_image(&image, &target, true, None).unwrap();
        assert_eq!(report.manifest_digest, image.manifest_digest());
        let reference = format!("docker://127.0.0.1:{}/entra/proxy:{tag}", registry.port);

        // The registry serves exactly the manifest we built.
        let raw = run_skopeo(&["inspect", "--raw", "--tls-verify=false", &reference]);
        assert_eq!(raw, image.manifest, "{tag}");

        let dir = logs.subdir(&format!("pulled-{}", image.variant.name()));
        let (digest, manifest) = pull_with_skopeo(&reference, &dir, image.variant.name());
        assert_eq!(
            digest,
            image.manifest_digest(),
            "{tag}: manifest digest after the round trip"
        );
        let (shape, module) = istio_extract(&manifest, |d| read_blob(&dir, d));
        assert_eq!(module, wasm, "{tag}: the wasm bytes survive the round trip");
        match image.variant {
            Variant::Compat => {
                assert_eq!(shape, "compat");
                assert_eq!(
                    manifest
                        .annotations
                        .get(VARIANT_ANNOTATION)
                        .map(String::as_str),
                    Some("compat")
                );
                // A regular image: skopeo's full inspect reads its config.
                let inspect = run_skopeo(&["inspect", "--tls-verify=false", &reference]);
                let inspect: serde_json::Value = serde_json::from_slice(&inspect).unwrap();
                assert_eq!(inspect["Digest"], image.manifest_digest());
            }
            Variant::Artifact => {
                assert_eq!(shape, "artifact");
                let types: Vec<&str> = manifest
                    .layers
                    .iter()
                    .map(|l| l.media_type.as_str())
                    .collect();
                assert_eq!(types, [WASM_CONFIG_MEDIA_TYPE, WASM_CONTENT_MEDIA_TYPE]);
            }
        }
    }
    // A second push of the same image uploads nothing.
    let again = push_image(
        &build_both(&wasm)[0],
        &registry.image_ref("entra/proxy:v1-compat"),
        true,
        None,
    )
    .unwrap();
    assert!(again.uploaded.is_empty(), "{again:?}");
}

#[test]
fn push_with_basic_auth_needs_the_right_credentials() {
    let logs = TestLogs::new("image_oci_basic_auth");
    let wasm = std::fs::read(wasm_path()).unwrap();
    let registry = Registry::start(logs.path(), Some(HTPASSWD));
    let image = oci::build(Variant::Compat, &wasm).unwrap();
    let target = registry.image_ref("entra/auth:v1");

    let err = push_image(&image, &target, true, None).unwrap_err();
    assert!(
        matches!(
            err,
            PushError::Unauthorized {
                had_credentials: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("REGISTRY_USERNAME"), "{err}");

    let wrong = Some(Credentials::Basic {
        username: "pusher".into(),
        password: "wrong".into(),
    });
    let err = push_image(&image, &target, true, wrong).unwrap_err();
    assert!(
        matches!(
            err,
            PushError::Unauthorized {
                had_credentials: true,
                ..
            }
        ),
        "{err:?}"
    );

    let right = Some(Credentials::Basic {
        username: "pusher".into(),
        password: PASSWORD.into(),
    });
    let report = push_image(&image, &target, true, right).unwrap();
    let reference = format!("docker://127.0.0.1:{}/entra/auth:v1", registry.port);
    let raw = run_skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &format!("pusher:{PASSWORD}"),
        &reference,
    ]);
    assert_eq!(sha256_digest(&raw), report.manifest_digest);
}
