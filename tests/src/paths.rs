//! Where the tests find their artefacts (the built wasm, the Envoy binary, Chromium) and where
//! they write logs.
//!
//! The Makefile exports `ENTRA_WASM` and `ENVOY_BIN`; without them the defaults point into the
//! workspace. A missing artefact is a loud panic that says how to get it: a test that silently
//! skips when Envoy is absent would pass on a machine that never ran it.

use std::path::{Path, PathBuf};

/// The cargo workspace root (the directory holding the top-level `Cargo.toml` and `Makefile`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The release build of the filter: `$ENTRA_WASM`, or
/// `<root>/target/wasm32-wasip1/release/entra_proxy_wasm.wasm`. Panics if the file is missing.
pub fn wasm_path() -> PathBuf {
    let path = env_or("ENTRA_WASM", || {
        workspace_root().join("target/wasm32-wasip1/release/entra_proxy_wasm.wasm")
    });
    require_file(&path, "the filter wasm (ENTRA_WASM)")
}

/// The Envoy binary: `$ENVOY_BIN`, or `<root>/.venv/bin/envoy`. Panics if the file is missing.
pub fn envoy_bin() -> PathBuf {
    let path = env_or("ENVOY_BIN", || workspace_root().join(".venv/bin/envoy"));
    require_file(&path, "the Envoy binary (ENVOY_BIN)")
}

/// The Chromium binary: `$CHROMIUM_BIN`, or `/usr/bin/chromium`. Panics if the file is missing.
pub fn chromium_bin() -> PathBuf {
    let path = env_or("CHROMIUM_BIN", || PathBuf::from("/usr/bin/chromium"));
    require_file(&path, "Chromium (CHROMIUM_BIN)")
}

/// A directory inside the workspace's `envoy-config/`.
pub fn envoy_config_dir() -> PathBuf {
    workspace_root().join("envoy-config")
}

fn env_or(var: &str, default: impl FnOnce() -> PathBuf) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default(),
    }
}

fn require_file(path: &Path, what: &str) -> PathBuf {
    if !path.is_file() {
        panic!(
            "{what} not found at {}: run `make test` (or `make tools wasm`) from the workspace root",
            path.display()
        );
    }
    path.to_path_buf()
}

/// A test's log directory, `<root>/test-logs/<test-name>/`, emptied when created.
///
/// Declare it first in a test so it drops last: on success it deletes itself (unless
/// `KEEP_TEST_LOGS` is set); when the test panics it stays and its path is printed, with the
/// Envoy log, the Chromium log and screenshots inside.
#[derive(Debug)]
pub struct TestLogs {
    dir: PathBuf,
}

impl TestLogs {
    /// Creates (or empties) `<root>/test-logs/<test_name>/`.
    pub fn new(test_name: &str) -> TestLogs {
        let safe: String = test_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = workspace_root().join("test-logs").join(safe);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create log dir {}: {e}", dir.display()));
        TestLogs { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A fresh, not yet existing subdirectory name `<prefix>`, `<prefix>-2`, `<prefix>-3`, … so
    /// that two Envoys in one test keep separate logs. The directory is created.
    pub fn subdir(&self, prefix: &str) -> PathBuf {
        unique_subdir(&self.dir, prefix)
    }
}

impl Drop for TestLogs {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test logs kept in {}", self.dir.display());
        } else if std::env::var_os("KEEP_TEST_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Creates and returns the first of `<dir>/<prefix>`, `<dir>/<prefix>-2`, … that did not exist.
pub fn unique_subdir(dir: &Path, prefix: &str) -> PathBuf {
    for n in 1u32.. {
        let name = if n == 1 {
            prefix.to_string()
        } else {
            format!("{prefix}-{n}")
        };
        let candidate = dir.join(name);
        // create_dir (not create_dir_all) fails if it exists, so two threads cannot share one.
        match std::fs::create_dir_all(dir).and_then(|_| std::fs::create_dir(&candidate)) {
            Ok(()) => return candidate,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", candidate.display()),
        }
    }
    unreachable!("u32 range exhausted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_makefile_and_workspace_manifest() {
        let root = workspace_root();
        assert!(root.join("Makefile").is_file(), "{}", root.display());
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn unique_subdir_never_reuses_a_name() {
        let logs = TestLogs::new("paths_unique_subdir_never_reuses_a_name");
        let names: Vec<String> = (0..3)
            .map(|_| {
                logs.subdir("envoy")
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["envoy", "envoy-2", "envoy-3"]);
    }

    #[test]
    fn test_logs_sanitises_the_name_into_one_path_component() {
        let logs = TestLogs::new("a/../b c");
        assert_eq!(logs.path().file_name().unwrap(), "a____b_c");
        assert!(logs.path().starts_with(workspace_root().join("test-logs")));
    }
}
