//! The subcommands: parse flags, call the library, print results. Exit codes: 0 success,
//! 1 failure, 2 `convert` produced a configuration the filter would reject, 64 usage error.

use std::io::Write;
use std::path::Path;

use crate::args::Flags;
use crate::convert::{self, render, ClusterNaming, Input};
use crate::oci::{self, Variant};
use crate::push::{self, CredentialSources, ImageRef};

/// Success.
pub const EXIT_OK: i32 = 0;
/// Something failed (I/O, registry, parse).
pub const EXIT_FAILURE: i32 = 1;
/// `convert`: the filter would reject the produced configuration.
pub const EXIT_REJECTED: i32 = 2;
/// Bad command line.
pub const EXIT_USAGE: i32 = 64;

/// Usage text.
pub const USAGE: &str = "\
usage:
  entra-proxy-wasm image   --wasm PATH --out DIR [--variant compat|artifact|both]
  entra-proxy-wasm push    --layout DIR --image REGISTRY/REPO:TAG [--variant compat|artifact|both] [--insecure]
  entra-proxy-wasm convert [--toml FILE] [--alpha-yaml FILE] [--format plugin-config|envoy|wasmplugin]
                           [--url oci://REGISTRY/REPO:TAG] [--sha256 HEX]

image    writes a reproducible OCI image layout (default: both variants) and prints the manifest
         digests; the hex digest is WasmPlugin.spec.sha256.
push     pushes image(s) from the layout (default variant: compat). With both, the artifact variant
         goes to TAG-artifact. --insecure talks plain HTTP (local registries). Credentials:
         REGISTRY_USERNAME/REGISTRY_PASSWORD, else ~/.docker/config.json ($DOCKER_CONFIG).
convert  prints the filter configuration for an oauth2-proxy TOML and/or alpha YAML (bare alpha
         config or Helm values); what cannot be carried over is listed on stderr. Exit code 2
         when the filter would reject the result. Cluster names: `entra`/`graph` (plugin-config,
         envoy), `outbound|443||<host>` (wasmplugin).
";

/// Run the command line `args` (without the program name).
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let Some((command, rest)) = args.split_first() else {
        let _ = write!(err, "{USAGE}");
        return EXIT_USAGE;
    };
    let result = match command.as_str() {
        "image" => image(rest, out),
        "push" => push(rest, out),
        "convert" => convert(rest, out, err),
        "help" | "--help" | "-h" => {
            let _ = write!(out, "{USAGE}");
            return EXIT_OK;
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            let _ = writeln!(err, "error: {message}\n\n{USAGE}");
            EXIT_USAGE
        }
        Err(Failure::Failed(message)) => {
            let _ = writeln!(err, "error: {message}");
            EXIT_FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

fn variants(flags: &Flags, default: &str) -> Result<Vec<Variant>, Failure> {
    match flags.get("variant").unwrap_or(default) {
        "both" => Ok(vec![Variant::Compat, Variant::Artifact]),
        name => Variant::parse(name).map(|v| vec![v]).ok_or_else(|| {
            Failure::Usage(format!(
                "--variant {name:?}: expected compat, artifact or both"
            ))
        }),
    }
}

fn image(args: &[String], out: &mut dyn Write) -> Result<i32, Failure> {
    let flags = Flags::parse(args, &["wasm", "out", "variant"], &[]).map_err(Failure::Usage)?;
    let wasm_path = flags.require("wasm").map_err(Failure::Usage)?;
    let out_dir = flags.require("out").map_err(Failure::Usage)?;
    let variants = variants(&flags, "both")?;
    let wasm = std::fs::read(wasm_path).map_err(|e| failed(format!("{wasm_path}: {e}")))?;
    if !wasm.starts_with(b"\0asm") {
        return Err(failed(format!("{wasm_path}: not a WebAssembly module")));
    }
    let images = variants
        .iter()
        .map(|v| oci::build(*v, &wasm))
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    oci::write_layout(Path::new(out_dir), &images).map_err(failed)?;
    for image in &images {
        let digest = image.manifest_digest();
        let hex = digest.trim_start_matches("sha256:");
        let _ = writeln!(out, "{} manifest digest {digest}", image.variant.name());
        let _ = writeln!(out, "{} WasmPlugin sha256: {hex}", image.variant.name());
    }
    Ok(EXIT_OK)
}

fn push(args: &[String], out: &mut dyn Write) -> Result<i32, Failure> {
    let flags = Flags::parse(args, &["layout", "image", "variant"], &["insecure"])
        .map_err(Failure::Usage)?;
    let layout = flags.require("layout").map_err(Failure::Usage)?;
    let target =
        ImageRef::parse(flags.require("image").map_err(Failure::Usage)?).map_err(Failure::Usage)?;
    let variants = variants(&flags, "compat")?;
    let credentials = CredentialSources::from_env()
        .lookup(&target.registry)
        .map_err(|e| failed(push::PushError::Credentials(e)))?;
    for variant in &variants {
        let image = oci::read_image(Path::new(layout), *variant).map_err(failed)?;
        let tag_target = if *variant == Variant::Artifact && variants.len() > 1 {
            target.with_tag(&format!("{}-artifact", target.tag))
        } else {
            target.clone()
        };
        let report = push::push_image(
            &image,
            &tag_target,
            flags.has("insecure"),
            credentials.clone(),
        )
        .map_err(failed)?;
        let _ = writeln!(
            out,
            "pushed {} to {} (manifest {}; {} blobs uploaded, {} already present)",
            variant.name(),
            report.target,
            report.manifest_digest,
            report.uploaded.len(),
            report.skipped.len()
        );
        let _ = writeln!(
            out,
            "  WasmPlugin: url: oci://{}  sha256: {}",
            report.target,
            report.manifest_digest.trim_start_matches("sha256:")
        );
    }
    Ok(EXIT_OK)
}

fn convert(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Failure> {
    let flags = Flags::parse(
        args,
        &["toml", "alpha-yaml", "format", "url", "sha256"],
        &[],
    )
    .map_err(Failure::Usage)?;
    let read = |name: &str| -> Result<Option<String>, Failure> {
        flags
            .get(name)
            .map(|path| std::fs::read_to_string(path).map_err(|e| failed(format!("{path}: {e}"))))
            .transpose()
    };
    let input = Input {
        toml: read("toml")?,
        alpha_yaml: read("alpha-yaml")?,
    };
    if input.toml.is_none() && input.alpha_yaml.is_none() {
        return Err(Failure::Usage(
            "give --toml FILE and/or --alpha-yaml FILE".into(),
        ));
    }
    let format_name = flags.get("format").unwrap_or("plugin-config");
    let format = render::Format::parse(format_name).ok_or_else(|| {
        Failure::Usage(format!(
            "--format {format_name:?}: expected plugin-config, envoy or wasmplugin"
        ))
    })?;
    let naming = match format {
        render::Format::WasmPlugin => ClusterNaming::Istio,
        _ => ClusterNaming::Envoy,
    };
    let mut image = render::ImageSource::default();
    if let Some(url) = flags.get("url") {
        image.url = url.to_string();
    }
    if let Some(sha) = flags.get("sha256") {
        let hex = sha.trim_start_matches("sha256:");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::Usage(format!(
                "--sha256 {sha:?}: expected 64 hex digits"
            )));
        }
        image.sha256 = Some(hex.to_ascii_lowercase());
    }
    let conversion = convert::convert(&input, naming).map_err(failed)?;
    let _ = write!(
        out,
        "{}",
        render::render(&conversion.config, format, &image)
    );
    for note in &conversion.notes {
        let _ = writeln!(err, "{note}");
    }
    if conversion.accepted() {
        let _ = writeln!(err, "ok: the filter accepts this configuration");
        Ok(EXIT_OK)
    } else {
        for problem in &conversion.problems {
            let _ = writeln!(err, "rejected by the filter: {problem}");
        }
        let _ = writeln!(
            err,
            "the filter would reject this configuration ({} problem(s)); fix them before deploying",
            conversion.problems.len()
        );
        Ok(EXIT_REJECTED)
    }
}
