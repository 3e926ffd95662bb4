//! The one HTTP client type for an InfluxDB target: built in one place with the target's trust
//! roots (the system's and a site CA from `?ca=`) and a timeout, and sending credentials only in
//! the `Authorization` header, never in a URL. The sink drives it asynchronously on the
//! collector's runtime; reports and `publish` block on it.

use std::time::Duration;

use super::InfluxError;
use super::target::InfluxTarget;

#[derive(Debug)]
pub struct Client<H> {
    pub target: InfluxTarget,
    http: H,
}

/// For the sink, on the collector's runtime.
pub type AsyncClient = Client<reqwest::Client>;
/// For commands that read or write once and wait (reports, `publish`, the TUI's loader).
pub type BlockingClient = Client<reqwest::blocking::Client>;

/// An answer: its HTTP status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `HTTP 400: message` with the body trimmed to 500 characters, for errors and logs.
    pub fn describe(&self) -> String {
        format!(
            "HTTP {}: {}",
            self.status,
            self.body.trim().chars().take(500).collect::<String>()
        )
    }
}

/// What a failed request says, short: reqwest's errors would print the URL.
pub fn transport(e: reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

impl AsyncClient {
    pub fn new(target: InfluxTarget, timeout: Duration) -> Result<AsyncClient, InfluxError> {
        crate::install_tls_provider();
        let http = target
            .ca_certificates()?
            .into_iter()
            .fold(reqwest::Client::builder().timeout(timeout), |b, ca| {
                b.add_root_certificate(ca)
            })
            .build()
            .map_err(InfluxError::Client)?;
        Ok(Client { target, http })
    }

    /// Posts line protocol (gzipped if `gzip`) to the write endpoint.
    pub async fn write(&self, body: bytes::Bytes, gzip: bool) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .post(self.target.write_url())
            .header("Content-Type", "text/plain; charset=utf-8");
        if let Some(auth) = self.target.authorization() {
            req = req.header("Authorization", auth);
        }
        if gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        let resp = req.body(body).send().await?;
        let status = resp.status().as_u16();
        let body = if resp.status().is_success() {
            String::new()
        } else {
            resp.text().await.unwrap_or_default()
        };
        Ok(Answer { status, body })
    }
}

impl BlockingClient {
    pub fn new(target: InfluxTarget, timeout: Duration) -> Result<BlockingClient, InfluxError> {
        crate::install_tls_provider();
        let http = target
            .ca_certificates()?
            .into_iter()
            .fold(
                reqwest::blocking::Client::builder().timeout(timeout),
                |b, ca| b.add_root_certificate(ca),
            )
            .build()
            .map_err(InfluxError::Client)?;
        Ok(Client { target, http })
    }

    /// Posts plain line protocol to the write endpoint.
    pub fn write(&self, body: String) -> Result<Answer, InfluxError> {
        let mut req = self
            .http
            .post(self.target.write_url())
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body);
        if let Some(auth) = self.target.authorization() {
            req = req.header("Authorization", auth);
        }
        self.answer(req, "write: ")
    }

    /// Runs one InfluxQL statement.
    pub fn query(&self, q: &str) -> Result<Answer, InfluxError> {
        let mut req = self.http.get(self.target.query_url(q));
        if let Some(auth) = self.target.authorization() {
            req = req.header("Authorization", auth);
        }
        self.answer(req, "")
    }

    /// Posts a form (`application/x-www-form-urlencoded`) to `url`, e.g. VictoriaMetrics'
    /// `/api/v1/export`: a long series selector fits in a body where a URL might not.
    pub fn post_form(&self, url: url::Url, form: &[(&str, &str)]) -> Result<Answer, InfluxError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = self
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(auth) = self.target.authorization() {
            req = req.header("Authorization", auth);
        }
        let fail = |e: reqwest::Error| self.error(transport(e));
        let resp = req.send().map_err(fail)?;
        let status = resp.status().as_u16();
        let body = resp.text().map_err(fail)?;
        Ok(Answer { status, body })
    }

    fn answer(
        &self,
        req: reqwest::blocking::RequestBuilder,
        what: &str,
    ) -> Result<Answer, InfluxError> {
        let fail = |e: reqwest::Error| self.error(format!("{what}{}", e.without_url()));
        let resp = req.send().map_err(fail)?;
        let status = resp.status().as_u16();
        let body = resp.text().map_err(fail)?;
        Ok(Answer { status, body })
    }

    /// An error naming this target.
    pub fn error(&self, detail: String) -> InfluxError {
        InfluxError::Request {
            target: self.target.to_string(),
            detail,
        }
    }
}
