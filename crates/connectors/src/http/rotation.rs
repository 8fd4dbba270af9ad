//! Refresh tokens that rotate: every grant returns a new refresh token and the redeemed one stops
//! working (Keap). The token written in `accord.toml` only starts the chain; every later one is
//! kept in a token file, replaced atomically (a temporary file, `fsync`, `rename`, `fsync` of the
//! folder) as soon as the token response is read, before the access token that came with it is
//! used for anything.
//!
//! Why a file written at once, and not the store's source state (the cursor): a cursor is
//! committed with the page that follows the refresh, so a process killed between the grant and
//! that commit would restart with the redeemed, dead token, and the user would have to authorize
//! again. The file narrows that window to the one atomic write after the answer is read; a kill
//! before the rename leaves the previous file whole (never a torn or empty one). No client can
//! close the window entirely when the vendor invalidates the old token the instant it issues the
//! new one; the error then names the file and says to paste a new refresh token into the config.
//!
//! The file records a digest of the configured token it descends from: when the user replaces the
//! token in the config (a new authorization), that one is used and the chain starts again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use accord_core::secret::SecretString;
use serde::{Deserialize, Serialize};

/// The current refresh token of a source whose refresh tokens rotate.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    seed: SecretString,
    /// A token this process could not save: used until a save succeeds. (Otherwise the file is
    /// read on every grant, so processes that take turns continue one chain.)
    unsaved: Mutex<Option<SecretString>>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    refresh_token: String,
    /// blake3 of the configured token the chain started from.
    seed: String,
    saved_at: chrono::DateTime<chrono::Utc>,
}

fn digest(token: &SecretString) -> String {
    blake3::hash(token.expose().as_bytes()).to_hex().to_string()
}

impl TokenFile {
    /// The chain started by `seed` (the configured refresh token), kept at `path`.
    pub fn new(path: PathBuf, seed: SecretString) -> Self {
        Self { path, seed, unsaved: Mutex::new(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<SecretString>> {
        self.unsaved.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The refresh token to redeem next: one this process could not save, else the file's (unless
    /// the configured token changed since), else the configured one.
    pub fn current(&self) -> Result<SecretString, String> {
        if let Some(t) = self.slot().clone() {
            return Ok(t);
        }
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self.seed.clone()),
            Err(e) => return Err(format!("cannot read the refresh token file {}: {e}", self.path.display())),
        };
        let saved: Saved = serde_json::from_str(&text).map_err(|e| {
            format!(
                "the refresh token file {} is not one accord wrote ({e}); delete it and put a new refresh token in the config",
                self.path.display()
            )
        })?;
        if saved.seed != digest(&self.seed) {
            tracing::info!(file = %self.path.display(), "the configured refresh token changed: starting a new chain from it");
            return Ok(self.seed.clone());
        }
        Ok(SecretString::new(saved.refresh_token))
    }

    /// Keeps `next`, the token a grant returned, durably in the file; in memory when that fails.
    pub fn save(&self, next: &SecretString) -> Result<(), String> {
        *self.slot() = Some(next.clone());
        let saved =
            Saved { refresh_token: next.expose().to_owned(), seed: digest(&self.seed), saved_at: chrono::Utc::now() };
        let body = serde_json::to_vec(&saved).map_err(|e| e.to_string())?;
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename itself is durable once the folder is.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| format!("cannot save the rotated refresh token to {}: {e}", self.path.display()))?;
        *self.slot() = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_starts_at_the_configured_token_and_continues_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keap.refresh_token");
        let f = TokenFile::new(path.clone(), SecretString::new("r1"));
        assert_eq!(f.current().unwrap().expose(), "r1");
        f.save(&SecretString::new("r2")).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("r1"), "the seed itself is not written");
        // A new process with the same config continues the chain.
        let again = TokenFile::new(path.clone(), SecretString::new("r1"));
        assert_eq!(again.current().unwrap().expose(), "r2");
        // A new token in the config starts a new chain.
        let reauthorized = TokenFile::new(path.clone(), SecretString::new("fresh"));
        assert_eq!(reauthorized.current().unwrap().expose(), "fresh");
        std::fs::write(&path, "garbage").unwrap();
        let e = TokenFile::new(path, SecretString::new("r1")).current().unwrap_err();
        assert!(e.contains("keap.refresh_token") && e.contains("new refresh token"), "{e}");
    }

    #[test]
    fn a_token_that_cannot_be_saved_is_still_used_by_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        // The token file's folder is a file: the save fails, the process keeps the token.
        let f = TokenFile::new(blocked.join("t"), SecretString::new("r1"));
        let e = f.save(&SecretString::new("r2")).unwrap_err();
        assert!(e.contains("cannot save the rotated refresh token"), "{e}");
        assert_eq!(f.current().unwrap().expose(), "r2");
    }
}
