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
pub enum SecretRef {
    Env(String),
    File(String),
}

impl SecretRef {
    pub fn parse(s: &str) -> Result<SecretRef, String> {
        if let Some(name) = s.strip_prefix("env:") {
            if name.is_empty() {
                return Err("empty variable name after 'env:'".into());
            }
            Ok(SecretRef::Env(name.to_owned()))
        } else if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err("empty path after 'file:'".into());
            }
            Ok(SecretRef::File(path.to_owned()))
        } else {
            // Never echo the value: it may be the secret itself.
            Err(
                "expected 'env:NAME' or 'file:PATH' (secrets are never written in the config)"
                    .into(),
            )
        }
    }

    /// Reads the secret. Errors name the variable or file, never the value.
    pub fn load(&self) -> Result<Secret, String> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                Ok(_) => Err(format!("environment variable '{name}' is empty")),
                Err(_) => Err(format!("environment variable '{name}' is not set")),
            },
            SecretRef::File(path) => match private(path).and_then(|()| {
                std::fs::read_to_string(path)
                    .map_err(|e| format!("secret file '{path}': {}", e.kind()))
            }) {
                Ok(v) => {
                    let v = v.trim_end_matches(['\n', '\r']);
                    if v.is_empty() {
                        Err(format!("secret file '{path}' is empty"))
                    } else {
                        Ok(Secret(v.to_owned()))
                    }
                }
                Err(e) => Err(e),
            },
        }
    }
}

/// A secret file others can read is a leaked secret: refuse it, saying how to fix it.
#[cfg(unix)]
fn private(path: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o004 != 0 => Err(format!(
            "secret file '{path}' is readable by every user (mode {:03o}); make it private: chmod 600 '{path}'",
            m.permissions().mode() & 0o777
        )),
        // A missing file is reported by the read, with its reason.
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn private(_: &str) -> Result<(), String> {
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
        let e = SecretRef::parse("public").unwrap_err();
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
        let e = r.load().unwrap_err();
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
