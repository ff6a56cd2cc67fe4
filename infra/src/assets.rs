//! The function zips `cargo lambda build --release --arm64 --output-format zip` writes to
//! `<target>/lambda/<binary>/bootstrap.zip`, found, checked and named by content for upload.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::functions::LambdaFunction;

/// Why the function zips cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// A zip is missing.
    #[error("{} not found: build the functions first with `cargo lambda build --release --arm64 --output-format zip` (in the workspace root; pass --target-dir if CARGO_TARGET_DIR points elsewhere)", path.display())]
    Missing { path: PathBuf },
    /// A zip cannot be read.
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    /// The file is not a zip archive.
    #[error("{} is not a zip archive (expected the `PK` signature); rebuild with `--output-format zip`", path.display())]
    NotZip { path: PathBuf },
}

/// One function's zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// The function it holds.
    pub function: LambdaFunction,
    /// Where it is.
    pub path: PathBuf,
    /// Its lowercase hex SHA-256.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Asset {
    /// The S3 key it is uploaded to: content-addressed, so a changed build gets a new key and
    /// CloudFormation updates the function's code, while an unchanged one is not uploaded again.
    pub fn key(&self, stack_name: &str) -> String {
        format!("{stack_name}/{}/{}.zip", self.function.binary(), self.sha256)
    }
}

/// Where `cargo lambda build` puts `function`'s zip under `target_dir`.
pub fn zip_path(target_dir: &Path, function: LambdaFunction) -> PathBuf {
    target_dir.join("lambda").join(function.binary()).join("bootstrap.zip")
}

/// Finds and hashes the zips of all three functions.
pub fn discover(target_dir: &Path) -> Result<Vec<Asset>, AssetError> {
    LambdaFunction::ALL
        .into_iter()
        .map(|function| {
            let path = zip_path(target_dir, function);
            if !path.is_file() {
                return Err(AssetError::Missing { path });
            }
            let bytes = std::fs::read(&path)
                .map_err(|error| AssetError::Read { path: path.clone(), error })?;
            if !bytes.starts_with(b"PK\x03\x04") {
                return Err(AssetError::NotZip { path });
            }
            Ok(Asset {
                function,
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                path,
            })
        })
        .collect()
}

/// The target directory: `--target-dir`, else `$CARGO_TARGET_DIR`, else `./target`.
pub fn target_dir(flag: Option<PathBuf>, cargo_target_dir: Option<String>) -> PathBuf {
    flag.or_else(|| cargo_target_dir.filter(|d| !d.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("quarry-infra-assets-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The smallest valid zip: an empty archive's end-of-central-directory record preceded by a
    /// local header signature, enough for the signature check.
    fn write_zip(target: &Path, function: LambdaFunction, body: &[u8]) {
        let path = zip_path(target, function);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(body);
        std::fs::write(path, bytes).expect("zip written");
    }

    #[test]
    fn finds_the_three_zips_where_cargo_lambda_writes_them() {
        let target = TempDir::new("found");
        for function in LambdaFunction::ALL {
            write_zip(&target.0, function, function.binary().as_bytes());
        }
        let assets = discover(&target.0).expect("all three");
        assert_eq!(
            assets.iter().map(|a| a.function).collect::<Vec<_>>(),
            LambdaFunction::ALL.to_vec()
        );
        let invoke = &assets[0];
        assert!(invoke.path.ends_with("lambda/quarry-invoke/bootstrap.zip"));
        assert_eq!(invoke.size, 4 + "quarry-invoke".len() as u64);
        let expected = hex::encode(Sha256::digest(b"PK\x03\x04quarry-invoke"));
        assert_eq!(invoke.sha256, expected);
        assert_eq!(invoke.key("quarry"), format!("quarry/quarry-invoke/{expected}.zip"));
        assert_ne!(assets[0].sha256, assets[1].sha256, "content-addressed");
    }

    #[test]
    fn a_missing_zip_says_how_to_build_it() {
        let target = TempDir::new("missing");
        write_zip(&target.0, LambdaFunction::Invoke, b"x");
        let err = discover(&target.0).expect_err("ingest missing").to_string();
        assert!(err.contains("lambda/quarry-ingest/bootstrap.zip not found"), "{err}");
        assert!(err.contains("cargo lambda build --release --arm64 --output-format zip"), "{err}");
    }

    #[test]
    fn a_binary_instead_of_a_zip_is_refused() {
        let target = TempDir::new("notzip");
        for function in LambdaFunction::ALL {
            write_zip(&target.0, function, b"x");
        }
        std::fs::write(zip_path(&target.0, LambdaFunction::CatalogSync), b"\x7fELF")
            .expect("overwrite");
        let err = discover(&target.0).expect_err("not a zip");
        assert!(matches!(err, AssetError::NotZip { .. }), "{err}");
    }

    #[test]
    fn the_target_dir_follows_flag_then_environment_then_default() {
        assert_eq!(target_dir(Some("/a".into()), Some("/b".into())), PathBuf::from("/a"));
        assert_eq!(target_dir(None, Some("/b".into())), PathBuf::from("/b"));
        assert_eq!(target_dir(None, Some(String::new())), PathBuf::from("target"));
        assert_eq!(target_dir(None, None), PathBuf::from("target"));
    }
}
