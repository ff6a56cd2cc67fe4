//! Figure 5: what each Lambda function ships — the arm64 release zip `cargo lambda build --release
//! --arm64 --output-format zip` writes to `<target>/lambda/<function>/bootstrap.zip`, and the
//! binary in it — against what LiteLLM's proxy would ship: its installed packages (the venv's
//! `site-packages`), which Lambda would have to hold unzipped.
//!
//! `bench/run` builds the zips; when that build fails, its log is kept and its last lines become
//! the figure's explanation, so the report says why nothing was measured.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};

/// The workspace's Lambda functions (their binary names).
pub const FUNCTIONS: [&str; 3] = ["quarry-invoke", "quarry-ingest", "quarry-catalog-sync"];

/// One function's artefacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSize {
    pub function: String,
    /// The deployment zip, bytes.
    pub zip_bytes: u64,
    /// The `bootstrap` binary in it, bytes (unzipped).
    pub binary_bytes: Option<u64>,
}

/// Figure 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeResults {
    /// The target the zips are built for.
    pub architecture: String,
    pub functions: Vec<FunctionSize>,
    /// Why the zips are missing, when they are.
    pub build_error: Option<String>,
    /// LiteLLM's installed packages (the venv's site-packages), bytes, when the venv exists.
    pub litellm_site_packages_bytes: Option<u64>,
}

/// Measures the zips under `<target_dir>/lambda`; `build_log` is what `bench/run` kept of the
/// zip build; `venv` is LiteLLM's.
pub fn run(target_dir: &Path, build_log: &Path, venv: &Path) -> Result<SizeResults> {
    let mut functions = Vec::new();
    for function in FUNCTIONS {
        let dir = target_dir.join("lambda").join(function);
        let Ok(zip) = std::fs::metadata(dir.join("bootstrap.zip")) else { continue };
        // The zip holds the binary cargo built for the target (`bootstrap` is only kept beside
        // the zip with `--output-format binary`).
        let built = target_dir.join("aarch64-unknown-linux-gnu").join("release").join(function);
        let binary_bytes = [built, dir.join("bootstrap")]
            .iter()
            .find_map(|path| std::fs::metadata(path).ok())
            .map(|m| m.len());
        functions.push(FunctionSize {
            function: function.to_owned(),
            zip_bytes: zip.len(),
            binary_bytes,
        });
    }
    let build_error = (functions.len() < FUNCTIONS.len()).then(|| {
        let log = std::fs::read_to_string(build_log).unwrap_or_else(|_| {
            format!("no zip build log at {} (bench/run writes it)", build_log.display())
        });
        tail(&log, 15)
    });
    let litellm_site_packages_bytes = site_packages(venv).map(|dir| dir_bytes(&dir)).transpose()?;
    Ok(SizeResults {
        architecture: "aarch64-unknown-linux-gnu (arm64)".to_owned(),
        functions,
        build_error,
        litellm_site_packages_bytes,
    })
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `<venv>/lib/python3.X/site-packages`, if there is one.
fn site_packages(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.flatten().map(|entry| entry.path().join("site-packages")).find(|path| path.is_dir())
}

/// The bytes of every file under `dir` (symbolic links not followed).
pub fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(BenchError::at("listing", &dir))?;
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                total += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_measured_and_a_missing_one_brings_the_build_log() {
        let target = tempfile::tempdir().expect("tempdir");
        let invoke = target.path().join("lambda/quarry-invoke");
        std::fs::create_dir_all(&invoke).expect("mkdir");
        std::fs::write(invoke.join("bootstrap.zip"), vec![0u8; 1234]).expect("zip");
        let built = target.path().join("aarch64-unknown-linux-gnu/release");
        std::fs::create_dir_all(&built).expect("mkdir");
        std::fs::write(built.join("quarry-invoke"), vec![0u8; 4321]).expect("binary");
        let log = target.path().join("zip-build.log");
        std::fs::write(&log, "Compiling quarry\nerror: linker `zig` not found\n").expect("log");
        let venv = target.path().join("venv/lib/python3.11/site-packages/litellm");
        std::fs::create_dir_all(&venv).expect("mkdir");
        std::fs::write(venv.join("main.py"), "x = 1\n").expect("py");

        let sizes = run(target.path(), &log, &target.path().join("venv")).expect("sizes");
        assert_eq!(
            sizes.functions,
            vec![FunctionSize {
                function: "quarry-invoke".into(),
                zip_bytes: 1234,
                binary_bytes: Some(4321)
            }]
        );
        assert!(sizes.build_error.as_deref().is_some_and(|e| e.contains("linker `zig` not found")));
        assert_eq!(sizes.litellm_site_packages_bytes, Some(6));
    }
}
