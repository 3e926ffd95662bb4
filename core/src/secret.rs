//! Secrets (SNMP communities, keys, tokens) that must never reach a log, error or report.

use std::fmt;

/// A loaded secret. `Debug` and `Display` print `<redacted>`; only [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it to a device or server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a secret comes from: `env:NAME` or `file:PATH`. Literal values are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretRef {
    Env(String),
    File(String),
}

/// Why a secret reference was refused or could not be loaded. Names the variable or file,
/// never the value: a refused reference may be the secret itself.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    #[error("empty variable name after 'env:'")]
    EmptyEnvName,
    #[error("empty path after 'file:'")]
    EmptyPath,
    #[error("expected 'env:NAME' or 'file:PATH' (secrets are never written in the config)")]
    NotAReference,
    #[error("environment variable '{name}' is not set")]
    EnvUnset {
        name: String,
        #[source]
        source: std::env::VarError,
    },
    #[error("environment variable '{name}' is empty")]
    EnvEmpty { name: String },
    #[error("secret file '{path}': {}", .source.kind())]
    FileUnreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file '{path}' is empty")]
    FileEmpty { path: String },
    #[error(
        "secret file '{path}' is readable by every user (mode {mode:03o}); make it private: chmod 600 '{path}'"
    )]
    WorldReadable { path: String, mode: u32 },
}

impl SecretRef {
    pub fn parse(s: &str) -> Result<SecretRef, SecretError> {
        if let Some(name) = s.strip_prefix("env:") {
            if name.is_empty() {
                return Err(SecretError::EmptyEnvName);
            }
            Ok(SecretRef::Env(name.to_owned()))
        } else if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretError::EmptyPath);
            }
            Ok(SecretRef::File(path.to_owned()))
        } else {
            // Never echo the value: it may be the secret itself.
            Err(SecretError::NotAReference)
        }
    }

    /// Reads the secret. Errors name the variable or file, never the value.
    pub fn load(&self) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                Ok(_) => Err(SecretError::EnvEmpty { name: name.clone() }),
                Err(source) => Err(SecretError::EnvUnset {
                    name: name.clone(),
                    source,
                }),
            },
            SecretRef::File(path) => {
                private(path)?;
                let v = std::fs::read_to_string(path).map_err(|source| {
                    SecretError::FileUnreadable {
                        path: path.clone(),
                        source,
                    }
                })?;
                let v = v.trim_end_matches(['\n', '\r']);
                if v.is_empty() {
                    Err(SecretError::FileEmpty { path: path.clone() })
                } else {
                    Ok(Secret(v.to_owned()))
                }
            }
        }
    }
}

/// A secret file others can read is a leaked secret: refuse it, saying how to fix it.
#[cfg(unix)]
fn private(path: &str) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o004 != 0 => Err(SecretError::WorldReadable {
            path: path.to_owned(),
            mode: m.permissions().mode() & 0o777,
        }),
        // A missing file is reported by the read, with its reason.
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn private(_: &str) -> Result<(), SecretError> {
    Ok(())
}

/// Writes a secret file only its owner can read (for tests and for `demo`).
#[cfg(unix)]
pub fn write_private(path: &std::path::Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2-community");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2-community");
    }

    #[test]
    fn literal_secret_is_refused_without_echo() {
        let e = SecretRef::parse("public").unwrap_err().to_string();
        assert!(!e.contains("public"), "{e}");
    }

    #[test]
    fn file_secret_trims_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        write_private(&p, "s3cret\n").unwrap();
        let r = SecretRef::parse(&format!("file:{}", p.display())).unwrap();
        assert_eq!(r.load().unwrap().expose(), "s3cret");
    }

    #[test]
    fn a_world_readable_secret_file_is_refused_without_echo() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        std::fs::write(&p, "s3cret-value").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = SecretRef::parse(&format!("file:{}", p.display())).unwrap();
        let e = r.load().unwrap_err().to_string();
        assert!(
            e.contains("readable by every user") && e.contains("chmod 600"),
            "{e}"
        );
        assert!(!e.contains("s3cret-value"), "{e}");
        // Group-readable is allowed (a service group may share it).
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(r.load().unwrap().expose(), "s3cret-value");
    }
}
