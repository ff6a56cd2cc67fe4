//! Who holds a data directory, and where the stack running on it listens.
//!
//! A running stack holds an exclusive lock on `<data-dir>/stack.lock` ([`DataDirLock`]): a second
//! stack on the same directory is refused, and the operating system releases the lock when the
//! process ends, however it ends — a lock is never stale. While it runs, `<data-dir>/stack.json`
//! ([`StackState`]) names its URLs and buckets, so `quarry-local put` finds the local S3; it is
//! removed at a clean shutdown, and one left by a killed stack is recognised as stale because its
//! lock is free.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file, in the data directory.
pub const STATE_FILE: &str = "stack.json";

/// The lock file, in the data directory.
pub const LOCK_FILE: &str = "stack.lock";

/// Where the stack running on a data directory listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackState {
    /// The stack's process id.
    pub pid: u32,
    /// quarry's API.
    pub api_url: String,
    /// The local Bedrock endpoint.
    pub bedrock_url: String,
    /// The local S3 (path-style; `test`/`test`).
    pub s3_url: String,
    /// The region the stack plays.
    pub region: String,
    /// The bucket whose uploads are ingested.
    pub documents_bucket: String,
    /// The bucket holding the model catalog.
    pub catalog_bucket: String,
}

/// What can go wrong reading the state of a data directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "no stack is running on {}: start one with `cargo run -p quarry-local` (with the same --data-dir), or pass --s3-url",
        dir.display()
    )]
    NotRunning { dir: PathBuf },
    #[error("could not read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not a stack state file ({source}); restart the stack to rewrite it", path.display())]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("the data directory {} is in use by another stack (pid {holder}, API {api_url}); stop it, or pass another --data-dir", dir.display())]
    InUse { dir: PathBuf, holder: u32, api_url: String },
    #[error("the data directory {} is in use by another process; stop it, or pass another --data-dir", dir.display())]
    Locked { dir: PathBuf },
    #[error("could not lock {}: {source}", path.display())]
    Lock { path: PathBuf, source: std::io::Error },
    #[error("could not write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl StackState {
    /// The state of the stack running on `data_dir`; [`StateError::NotRunning`] when none runs
    /// (no state file, or one whose stack is gone: its lock is free).
    pub fn of_running(data_dir: &Path) -> Result<StackState, StateError> {
        let not_running = || StateError::NotRunning { dir: data_dir.to_owned() };
        let state = StackState::read(data_dir)?.ok_or_else(not_running)?;
        match DataDirLock::acquire(data_dir) {
            // Nobody holds the lock: the file was left by a stack that was killed.
            Ok(_free) => Err(not_running()),
            Err(StateError::InUse { .. } | StateError::Locked { .. }) => Ok(state),
            Err(error) => Err(error),
        }
    }

    /// The state file of `data_dir`, if there is one (it may be stale; see [`Self::of_running`]).
    pub fn read(data_dir: &Path) -> Result<Option<StackState>, StateError> {
        let path = data_dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|source| StateError::Parse { path, source })
    }

    /// Writes the state file through a temporary file and a rename (never seen half written).
    pub fn write(&self, data_dir: &Path) -> Result<(), StateError> {
        let path = data_dir.join(STATE_FILE);
        let temporary = data_dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(&temporary, text + "\n")
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|source| StateError::Write { path, source })
    }

    /// Removes the state file of `data_dir` (nothing if there is none).
    pub fn remove(data_dir: &Path) {
        let path = data_dir.join(STATE_FILE);
        if let Err(error) = std::fs::remove_file(&path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %error, "could not remove the state file");
        }
    }
}

/// The exclusive lock on a data directory, held while the value lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` (which must exist), or says who holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, StateError> {
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StateError::Lock { path: path.clone(), source })?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(TryLockError::WouldBlock) => match StackState::read(data_dir) {
                Ok(Some(state)) => Err(StateError::InUse {
                    dir: data_dir.to_owned(),
                    holder: state.pid,
                    api_url: state.api_url,
                }),
                _ => Err(StateError::Locked { dir: data_dir.to_owned() }),
            },
            Err(TryLockError::Error(source)) => Err(StateError::Lock { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> StackState {
        StackState {
            pid: 42,
            api_url: "http://127.0.0.1:3000".into(),
            bedrock_url: "http://127.0.0.1:41000".into(),
            s3_url: "http://127.0.0.1:3001".into(),
            region: "us-east-1".into(),
            documents_bucket: "documents".into(),
            catalog_bucket: "quarry-local-catalog".into(),
        }
    }

    #[test]
    fn the_lock_is_exclusive_and_names_the_holder() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let held = DataDirLock::acquire(dir.path()).expect("a free directory");
        state().write(dir.path()).expect("written");
        let error = DataDirLock::acquire(dir.path()).expect_err("held");
        let message = error.to_string();
        assert!(
            message.contains("pid 42") && message.contains("http://127.0.0.1:3000"),
            "{message}"
        );
        assert_eq!(StackState::of_running(dir.path()).expect("running"), state());
        drop(held);
        DataDirLock::acquire(dir.path()).expect("free again once the holder is gone");
    }

    #[test]
    fn a_state_file_without_its_lock_is_stale() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert!(matches!(StackState::of_running(dir.path()), Err(StateError::NotRunning { .. })));
        state().write(dir.path()).expect("written");
        assert_eq!(StackState::read(dir.path()).expect("read"), Some(state()));
        let error = StackState::of_running(dir.path()).expect_err("nobody holds the lock");
        assert!(error.to_string().contains("no stack is running"), "{error}");
        StackState::remove(dir.path());
        assert_eq!(StackState::read(dir.path()).expect("read"), None);
    }
}
