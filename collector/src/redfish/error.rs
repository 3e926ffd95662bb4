//! Why a Redfish request failed, in the words an operator acts on. None carries a password or a
//! session token: requests are named by path, and bodies only by their first words.

#[derive(Debug, Clone, thiserror::Error)]
pub enum RedfishError {
    #[error(
        "GET {path}: HTTP 401 Unauthorized: wrong user or password, or the account may not use Redfish"
    )]
    Unauthorized { path: String },
    #[error("login to {path} refused (HTTP {status}): wrong user or password")]
    LoginRefused { path: String, status: u16 },
    #[error("GET {path}: HTTP 403 Forbidden: the account may not read this resource")]
    Forbidden { path: String },
    #[error("GET {path}: HTTP {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Status {
        path: String,
        status: u16,
        /// The service's own `error.message`, when it sent one.
        reason: Option<String>,
    },
    /// An HTML error page, a truncated body, anything that is not one JSON object.
    #[error("GET {path}: not a Redfish JSON answer: {detail}")]
    NotJson { path: String, detail: String },
    #[error("GET {path}: answer larger than {max} bytes")]
    TooLarge { path: String, max: usize },
    #[error("TLS: {detail} (trust the BMC with ca_file or pin_sha256 in its auth)")]
    Tls { detail: String },
    #[error("{path}: {detail}")]
    Connect { path: String, detail: String },
    /// A link to another host: only the BMC's own paths are followed.
    #[error("link '{link}' leaves the service")]
    ForeignLink { link: String },
}

impl RedfishError {
    /// The resource is not there (a link to nothing, or a path that moved with a firmware
    /// update): discovery skips it; a poll rediscovers.
    pub fn is_missing(&self) -> bool {
        matches!(
            self,
            RedfishError::Status {
                status: 404 | 410,
                ..
            }
        )
    }
}

/// What a body that should have been JSON looks like, for the error: an HTML page by its title,
/// else the parser's complaint (a truncated body says where it ended).
pub(crate) fn describe_body(body: &[u8], parse_error: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype") {
        let title = lower
            .find("<title>")
            .and_then(|s| {
                let start = s + "<title>".len();
                lower[start..]
                    .find("</title>")
                    .map(|e| text[start..start + e].trim().to_owned())
            })
            .filter(|t| !t.is_empty());
        return match title {
            Some(t) => format!(
                "an HTML page ('{}')",
                t.chars().take(80).collect::<String>()
            ),
            None => "an HTML page".to_owned(),
        };
    }
    if body.is_empty() {
        return "an empty body".to_owned();
    }
    if parse_error.is_eof() {
        return format!("JSON cut short after {} bytes ({parse_error})", body.len());
    }
    format!("{parse_error}")
}
