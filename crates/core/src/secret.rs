//! Secrets: read from an environment variable or a file, never written inline, never printed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a secret comes from, as written in `accord.toml`: `{ env = "VAR" }` or `{ file = "path" }`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretRef {
    Env { env: String },
    File { file: PathBuf },
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env { env } => write!(f, "SecretRef(env {env})"),
            SecretRef::File { file } => write!(f, "SecretRef(file {})", file.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (it holds a secret named in the config)")]
    MissingEnv(String),
    #[error("cannot read secret file {path}: {problem}")]
    File { path: String, problem: String },
    #[error("the secret from {0} is empty")]
    Empty(String),
}

impl SecretRef {
    /// Reads the secret. Relative file paths are resolved against `base` (the config's folder).
    pub fn resolve(&self, base: &Path) -> Result<SecretString, SecretError> {
        let (value, origin) = match self {
            SecretRef::Env { env } => {
                (std::env::var(env).map_err(|_| SecretError::MissingEnv(env.clone()))?, format!("${env}"))
            }
            SecretRef::File { file } => {
                let path = base.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| SecretError::File { path: path.display().to_string(), problem: e.to_string() })?;
                (text.trim_end_matches(['\n', '\r']).to_owned(), path.display().to_string())
            }
        };
        if value.is_empty() {
            return Err(SecretError::Empty(origin));
        }
        Ok(SecretString(value))
    }
}

/// A secret value. Its `Debug` and `Display` never show it; `expose()` is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = SecretString::new("hunter2");
        assert!(!format!("{s:?}{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secrets_come_from_files_and_env() {
        let dir = std::env::temp_dir().join(format!("accord-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("key"), "abc\n").unwrap();
        let r = SecretRef::File { file: "key".into() };
        assert_eq!(r.resolve(&dir).unwrap().expose(), "abc");
        let missing = SecretRef::Env { env: "ACCORD_TEST_SURELY_UNSET_VAR".into() };
        assert!(matches!(missing.resolve(&dir), Err(SecretError::MissingEnv(_))));
    }
}
