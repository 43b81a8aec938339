//! The one `tar+gzip` layer of the Istio "compat" image: a tar holding `plugin.wasm`, gzipped.
//!
//! Reproducible by construction: every header field that usually carries the build machine's
//! state (mtime, uid/gid, user/group names, mode) is fixed, the gzip header has no timestamp and
//! no file name, and the compression level is fixed. The same wasm bytes therefore always give
//! the same layer digest, and so the same manifest digest for `WasmPlugin.spec.sha256`.

use std::io::Write;

use flate2::{Compression, GzBuilder};

/// The file name Istio's image fetcher looks for inside the layer.
pub const PLUGIN_FILE: &str = "plugin.wasm";

/// The tar layer, uncompressed and gzipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The uncompressed tar (its digest is the image config's `diff_id`).
    pub tar: Vec<u8>,
    /// The gzipped tar: the blob that is pushed.
    pub gzip: Vec<u8>,
}

/// Build the layer for `wasm`.
pub fn plugin_layer(wasm: &[u8]) -> std::io::Result<Layer> {
    let tar = plugin_tar(wasm)?;
    // No mtime (0), no file name, no comment: GzBuilder writes none of them unless asked. The OS
    // byte is flate2's fixed "unknown" value on every platform.
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    encoder.write_all(&tar)?;
    let gzip = encoder.finish()?;
    Ok(Layer { tar, gzip })
}

fn plugin_tar(wasm: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(wasm.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_username("")?;
    header.set_groupname("")?;
    builder.append_data(&mut header, PLUGIN_FILE, wasm)?;
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_layer_is_a_gzipped_tar_holding_plugin_wasm_with_fixed_metadata() {
        let wasm = b"\0asm\x01\0\0\0 some module bytes";
        let layer = plugin_layer(wasm).unwrap();
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(layer.gzip.as_slice())
            .read_to_end(&mut tar_bytes)
            .unwrap();
        assert_eq!(tar_bytes, layer.tar);
        let mut archive = tar::Archive::new(layer.tar.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some(PLUGIN_FILE));
        let header = entry.header().clone();
        assert_eq!(header.mtime().unwrap(), 0);
        assert_eq!(header.uid().unwrap(), 0);
        assert_eq!(header.gid().unwrap(), 0);
        assert_eq!(header.mode().unwrap(), 0o644);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, wasm);
        assert!(entries.next().is_none(), "exactly one file in the layer");
    }

    #[test]
    fn the_gzip_header_has_no_timestamp_and_no_file_name() {
        let layer = plugin_layer(b"wasm").unwrap();
        let gzip = &layer.gzip;
        assert_eq!(&gzip[..3], &[0x1f, 0x8b, 8], "gzip magic + deflate");
        assert_eq!(gzip[3], 0, "FLG: no FNAME, FCOMMENT or FEXTRA");
        assert_eq!(&gzip[4..8], &[0, 0, 0, 0], "MTIME is zero");
    }

    #[test]
    fn the_same_wasm_gives_identical_bytes_and_another_wasm_does_not() {
        let a = plugin_layer(b"module one").unwrap();
        let b = plugin_layer(b"module one").unwrap();
        let c = plugin_layer(b"module two").unwrap();
        assert_eq!(a, b);
        assert_ne!(a.gzip, c.gzip);
    }
}
