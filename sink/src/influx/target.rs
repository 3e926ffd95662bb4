//! Where a line-protocol sink writes and reads: InfluxDB v1 (`/write`, `db`, `rp`) or v2
//! (`/api/v2/write`, `org`, `bucket`), from a URL such as `http://host:8086?db=kilowatch` or
//! `http://host:8086?org=ops&bucket=kilowatch`; or VictoriaMetrics from `vm://HOST:PORT[/PREFIX]`
//! (plain HTTP) or `vm+https://HOST[:PORT][/PREFIX][?ca=PATH]`: line protocol to
//! `{PREFIX}/write` (no `db`, so VictoriaMetrics adds no `db` label), reads from
//! `{PREFIX}/api/v1/...` ([`crate::victoria`]). A VictoriaMetrics cluster takes writes at
//! vminsert and answers at vmselect: `vm://vminsert:8480/insert/0/influx` for `collect`,
//! `vm://vmselect:8481/select/0/prometheus` for reading (tenant 0). Credentials never travel in
//! the URL: VictoriaMetrics gets a bearer token from the caller (`KILOWATCH_VM_TOKEN`).

use std::fmt;

use kilowatch_core::secret::Secret;

use super::InfluxError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfluxApi {
    /// InfluxDB 1.x `/write` (also 2.x/3.x v1 compatibility).
    V1 { db: String, rp: Option<String> },
    /// `/api/v2/write` (InfluxDB 2.x, 3.x, VictoriaMetrics).
    V2 { org: String, bucket: String },
    /// VictoriaMetrics as the central engine (`vm://`, `vm+https://`): `{prefix}/write` without
    /// `db`, read back through its Prometheus API (`{prefix}/api/v1/...`).
    Victoria,
}

/// VictoriaMetrics' own HTTP port, for a `vm://` URL without one.
pub const VICTORIA_PORT: u16 = 8428;

/// Whether `url` names VictoriaMetrics (`vm://` or `vm+https://`), so a caller can pick its
/// credential (`KILOWATCH_VM_TOKEN`) before parsing.
pub fn is_victoria_url(url: &str) -> bool {
    victoria_scheme(url).is_some()
}

/// `Some(true)` for `vm+https://`, `Some(false)` for `vm://`, any letter case.
fn victoria_scheme(url: &str) -> Option<bool> {
    let (scheme, _) = url.trim_start().split_once("://")?;
    match scheme.to_ascii_lowercase().as_str() {
        "vm" => Some(false),
        "vm+https" => Some(true),
        _ => None,
    }
}

#[derive(Clone, PartialEq)]
pub struct InfluxTarget {
    /// Scheme, host, port and any path prefix, without query.
    base: url::Url,
    pub api: InfluxApi,
    /// v1 user (basic auth with the password secret).
    pub user: Option<String>,
    /// v1 password, or an API token (v2, or v1 with token auth).
    pub secret: Option<Secret>,
    /// An extra trusted root for `https://` (`?ca=PATH`, PEM): a site's own CA.
    pub ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for InfluxTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Safe to log: no credentials.
impl fmt::Display for InfluxTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.base.host_str().unwrap_or_default();
        let port = self.base.port_or_known_default().unwrap_or_default();
        match &self.api {
            InfluxApi::V1 { db, .. } => write!(f, "influxdb v1 {host}:{port} db '{db}'"),
            InfluxApi::V2 { org, bucket } => {
                write!(f, "influxdb v2 {host}:{port} org '{org}' bucket '{bucket}'")
            }
            // The prefix tells a cluster's tenants (and so the outbox cursors) apart.
            InfluxApi::Victoria => {
                let prefix = self.base.path().trim_end_matches('/');
                write!(f, "victoriametrics {host}:{port}{prefix}")
            }
        }
    }
}

impl InfluxTarget {
    /// Parses the `--influx` URL. `token` and `password` come from the environment
    /// (`KILOWATCH_INFLUX_TOKEN`, `KILOWATCH_INFLUX_PASSWORD`; for VictoriaMetrics the caller
    /// passes `KILOWATCH_VM_TOKEN` as `token`) or the config's secrets.
    pub fn parse(
        s: &str,
        token: Option<Secret>,
        password: Option<Secret>,
    ) -> Result<InfluxTarget, InfluxError> {
        if let Some(https) = victoria_scheme(s) {
            return InfluxTarget::parse_victoria(s, https, token);
        }
        let url = url::Url::parse(s)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InfluxError::Scheme(url.scheme().to_owned()));
        }
        if url.password().is_some() {
            return Err(InfluxError::PasswordInUrl);
        }
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let api = match (q("db"), q("org"), q("bucket")) {
            (Some(db), None, None) => InfluxApi::V1 { db, rp: q("rp") },
            (None, Some(org), Some(bucket)) => InfluxApi::V2 { org, bucket },
            _ => return Err(InfluxError::NoDatabase),
        };
        for (k, _) in url.query_pairs() {
            if !["db", "rp", "org", "bucket", "ca"].contains(&k.as_ref()) {
                return Err(InfluxError::UnknownParameter(k.into_owned()));
            }
        }
        let ca = q("ca").map(read_ca).transpose()?;
        let user = (!url.username().is_empty()).then(|| url.username().to_owned());
        let mut base = url.clone();
        base.set_query(None);
        let _ = base.set_username("");
        let secret = match (&api, &user) {
            (InfluxApi::V1 { .. }, Some(_)) => password,
            _ => token.or(password),
        };
        Ok(InfluxTarget {
            base,
            api,
            user,
            secret,
            ca_pem: ca,
        })
    }

    /// `vm://HOST[:PORT][/PREFIX]` (HTTP, port 8428 by default) or
    /// `vm+https://HOST[:PORT][/PREFIX][?ca=PATH]`; the only credential is a bearer token.
    fn parse_victoria(
        s: &str,
        https: bool,
        token: Option<Secret>,
    ) -> Result<InfluxTarget, InfluxError> {
        // Parsed under its own scheme first: an `http` URL would drop an explicit `:80`.
        let url = url::Url::parse(s.trim())?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InfluxError::CredentialsInVictoriaUrl);
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(InfluxError::NoHost);
        };
        let mut ca = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "ca" if https => ca = Some(read_ca(v.into_owned())?),
                _ => return Err(InfluxError::VictoriaParameter(k.into_owned())),
            }
        }
        let (scheme, port) = if https {
            ("https", url.port().unwrap_or(443))
        } else {
            ("http", url.port().unwrap_or(VICTORIA_PORT))
        };
        let prefix = url.path().trim_end_matches('/');
        let base = url::Url::parse(&format!("{scheme}://{host}:{port}{prefix}"))?;
        Ok(InfluxTarget {
            base,
            api: InfluxApi::Victoria,
            user: None,
            secret: token,
            ca_pem: ca,
        })
    }

    /// The engine, as people call it in messages.
    pub fn engine(&self) -> &'static str {
        match self.api {
            InfluxApi::Victoria => "VictoriaMetrics",
            InfluxApi::V1 { .. } | InfluxApi::V2 { .. } => "InfluxDB",
        }
    }

    pub fn is_victoria(&self) -> bool {
        self.api == InfluxApi::Victoria
    }

    /// Plain HTTP to another machine: credentials and readings cross the network in clear.
    pub fn cleartext_over_network(&self) -> bool {
        let loopback = match self.base.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => true,
        };
        self.base.scheme() == "http" && !loopback
    }

    /// The site CA certificates to trust besides the system's, if `?ca=` named a file.
    pub fn ca_certificates(&self) -> Result<Vec<reqwest::Certificate>, InfluxError> {
        match &self.ca_pem {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem).map_err(InfluxError::Client),
            None => Ok(Vec::new()),
        }
    }

    /// A stable name for this target's outbox cursor.
    pub fn sink_name(&self) -> String {
        self.to_string()
    }

    pub fn write_url(&self) -> url::Url {
        let mut u = self.endpoint(match self.api {
            InfluxApi::V1 { .. } | InfluxApi::Victoria => "write",
            InfluxApi::V2 { .. } => "api/v2/write",
        });
        {
            let mut q = u.query_pairs_mut();
            match &self.api {
                InfluxApi::V1 { db, rp } => {
                    q.append_pair("db", db);
                    if let Some(rp) = rp {
                        q.append_pair("rp", rp);
                    }
                }
                InfluxApi::V2 { org, bucket } => {
                    q.append_pair("org", org);
                    q.append_pair("bucket", bucket);
                }
                // No `db`: VictoriaMetrics would keep it as a label on every series.
                InfluxApi::Victoria => {}
            }
            q.append_pair("precision", "ms");
        }
        u
    }

    /// InfluxQL `/query`; with v2 the bucket is queried through its DBRP mapping by name.
    pub fn query_url(&self, q: &str) -> url::Url {
        let mut u = self.endpoint("query");
        {
            let mut p = u.query_pairs_mut();
            match &self.api {
                InfluxApi::V1 { db, rp } => {
                    p.append_pair("db", db);
                    if let Some(rp) = rp {
                        p.append_pair("rp", rp);
                    }
                }
                InfluxApi::V2 { bucket, .. } => {
                    p.append_pair("db", bucket);
                }
                InfluxApi::Victoria => {}
            }
            p.append_pair("epoch", "ms");
            p.append_pair("q", q);
        }
        u
    }

    pub fn ping_url(&self) -> url::Url {
        self.endpoint("ping")
    }

    /// `path` under the URL's prefix, e.g. `api/v1/series` for VictoriaMetrics' reads.
    pub fn endpoint(&self, path: &str) -> url::Url {
        let mut u = self.base.clone();
        let prefix = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{prefix}/{path}"));
        u
    }

    /// The `Authorization` header value, if any.
    pub fn authorization(&self) -> Option<String> {
        let secret = self.secret.as_ref()?;
        Some(match (&self.api, &self.user) {
            (InfluxApi::Victoria, _) => format!("Bearer {}", secret.expose()),
            (InfluxApi::V1 { .. }, Some(user)) => {
                format!("Basic {}", base64(&format!("{user}:{}", secret.expose())))
            }
            _ => format!("Token {}", secret.expose()),
        })
    }
}

/// A site CA (`?ca=PATH`): the file's PEM, checked to hold a certificate.
fn read_ca(path: String) -> Result<Vec<u8>, InfluxError> {
    let pem = std::fs::read(&path).map_err(|e| InfluxError::CaFile {
        path: path.clone(),
        kind: e.kind(),
    })?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err(InfluxError::CaEmpty { path }),
        Err(source) => Err(InfluxError::CaPem { path, source }),
    }
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_urls() {
        let t = InfluxTarget::parse("http://127.0.0.1:8086?db=kw&rp=autogen", None, None).unwrap();
        assert_eq!(
            t.write_url().as_str(),
            "http://127.0.0.1:8086/write?db=kw&rp=autogen&precision=ms"
        );
        let t = InfluxTarget::parse(
            "https://h/influx?org=ops&bucket=dc",
            Some(Secret::new("tok")),
            None,
        )
        .unwrap();
        assert_eq!(
            t.write_url().as_str(),
            "https://h/influx/api/v2/write?org=ops&bucket=dc&precision=ms"
        );
        assert_eq!(t.authorization().as_deref(), Some("Token tok"));
        assert_eq!(t.to_string(), "influxdb v2 h:443 org 'ops' bucket 'dc'");
    }

    #[test]
    fn user_gets_basic_auth_and_passwords_stay_out_of_urls() {
        let t =
            InfluxTarget::parse("http://kw@h:8086?db=x", None, Some(Secret::new("pw"))).unwrap();
        assert_eq!(t.authorization().as_deref(), Some("Basic a3c6cHc="));
        assert!(!t.write_url().as_str().contains("kw@"));
        assert!(InfluxTarget::parse("http://kw:pw@h:8086?db=x", None, None).is_err());
        assert!(InfluxTarget::parse("http://h:8086?database=x", None, None).is_err());
    }

    #[test]
    fn victoria_urls_write_without_db_and_read_under_the_prefix() {
        let t = InfluxTarget::parse("vm://127.0.0.1:8428", None, None).unwrap();
        assert!(t.is_victoria() && t.engine() == "VictoriaMetrics");
        assert_eq!(
            t.write_url().as_str(),
            "http://127.0.0.1:8428/write?precision=ms"
        );
        assert_eq!(
            t.endpoint("api/v1/export").as_str(),
            "http://127.0.0.1:8428/api/v1/export"
        );
        assert_eq!(t.to_string(), "victoriametrics 127.0.0.1:8428");
        assert_eq!(t.authorization(), None);
        // A cluster: vminsert's and vmselect's prefixes, and the default port.
        let t = InfluxTarget::parse("VM://vminsert:8480/insert/0/influx/", None, None).unwrap();
        assert_eq!(
            t.write_url().as_str(),
            "http://vminsert:8480/insert/0/influx/write?precision=ms"
        );
        assert_eq!(
            t.to_string(),
            "victoriametrics vminsert:8480/insert/0/influx"
        );
        let t = InfluxTarget::parse("vm://vmselect:8481/select/0/prometheus", None, None).unwrap();
        assert_eq!(
            t.endpoint("api/v1/series").as_str(),
            "http://vmselect:8481/select/0/prometheus/api/v1/series"
        );
        let t = InfluxTarget::parse("vm://vm.example", None, None).unwrap();
        assert_eq!(
            t.write_url().as_str(),
            "http://vm.example:8428/write?precision=ms"
        );
        assert!(t.cleartext_over_network());
        // An explicit :80 stays 80 (an http URL would have dropped it as the default).
        let t = InfluxTarget::parse("vm://h:80", None, None).unwrap();
        assert_eq!(t.to_string(), "victoriametrics h:80");
        let t = InfluxTarget::parse("vm://[::1]:9428", None, None).unwrap();
        assert_eq!(
            t.write_url().as_str(),
            "http://[::1]:9428/write?precision=ms"
        );
        assert!(!t.cleartext_over_network());
        assert!(is_victoria_url("vm+https://h") && !is_victoria_url("http://h?db=x"));
    }

    #[test]
    fn victoria_over_https_takes_a_token_and_a_site_ca_only() {
        let t = InfluxTarget::parse(
            "vm+https://vm.example/vmauth",
            Some(Secret::new("s3cret")),
            None,
        )
        .unwrap();
        assert_eq!(
            t.write_url().as_str(),
            "https://vm.example/vmauth/write?precision=ms"
        );
        assert_eq!(t.authorization().as_deref(), Some("Bearer s3cret"));
        assert_eq!(t.to_string(), "victoriametrics vm.example:443/vmauth");
        assert!(!format!("{t:?}").contains("s3cret"));

        let dir = std::env::temp_dir().join(format!("kw-vm-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = InfluxTarget::parse(
            &format!("vm+https://h:8443?ca={}", junk.display()),
            None,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("junk.pem") && e.contains("not a PEM certificate"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let e = InfluxTarget::parse("vm+https://h?ca=/no/such.pem", None, None).unwrap_err();
        assert!(matches!(e, InfluxError::CaFile { .. }), "{e}");
    }

    #[test]
    fn victoria_urls_refuse_credentials_and_influx_parameters() {
        for url in [
            "vm://user:pw@127.0.0.1:8428",
            "vm://user@127.0.0.1:8428",
            "vm+https://:pw@h",
        ] {
            let e = InfluxTarget::parse(url, None, None).unwrap_err();
            assert!(
                matches!(e, InfluxError::CredentialsInVictoriaUrl),
                "{url}: {e}"
            );
            assert!(!e.to_string().contains("pw"), "{e}");
        }
        for url in [
            "vm://h:8428?db=kw",
            "vm://h:8428?ca=/etc/ssl/ca.pem",
            "vm+https://h?org=a&bucket=b",
        ] {
            let e = InfluxTarget::parse(url, None, None).unwrap_err();
            assert!(matches!(e, InfluxError::VictoriaParameter(_)), "{url}: {e}");
        }
        let e = InfluxTarget::parse("vmx://h:8428", None, None).unwrap_err();
        assert!(e.to_string().contains("vm or vm+https"), "{e}");
        assert!(InfluxTarget::parse("vm://", None, None).is_err());
        assert!(InfluxTarget::parse("vm://:8428/x", None, None).is_err());
    }
}
