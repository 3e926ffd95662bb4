//! Where an InfluxDB sink writes and reads: v1 (`/write`, `db`, `rp`) or v2 (`/api/v2/write`,
//! `org`, `bucket`), from a URL such as `http://host:8086?db=kilowatch` or
//! `http://host:8086?org=ops&bucket=kilowatch`. Credentials never travel in the URL.

use std::fmt;

use kilowatch_core::secret::Secret;

use super::InfluxError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfluxApi {
    /// InfluxDB 1.x `/write` (also 2.x/3.x v1 compatibility).
    V1 { db: String, rp: Option<String> },
    /// `/api/v2/write` (InfluxDB 2.x, 3.x, VictoriaMetrics).
    V2 { org: String, bucket: String },
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
        }
    }
}

impl InfluxTarget {
    /// Parses the `--influx` URL. `token` and `password` come from the environment
    /// (`KILOWATCH_INFLUX_TOKEN`, `KILOWATCH_INFLUX_PASSWORD`) or the config's secrets.
    pub fn parse(
        s: &str,
        token: Option<Secret>,
        password: Option<Secret>,
    ) -> Result<InfluxTarget, InfluxError> {
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
        let ca = match q("ca") {
            Some(path) => {
                let pem = std::fs::read(&path).map_err(|e| InfluxError::CaFile {
                    path: path.clone(),
                    kind: e.kind(),
                })?;
                match reqwest::Certificate::from_pem_bundle(&pem) {
                    Ok(certs) if !certs.is_empty() => {}
                    Ok(_) => return Err(InfluxError::CaEmpty { path }),
                    Err(source) => return Err(InfluxError::CaPem { path, source }),
                }
                Some(pem)
            }
            None => None,
        };
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
            InfluxApi::V1 { .. } => "write",
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
            }
            p.append_pair("epoch", "ms");
            p.append_pair("q", q);
        }
        u
    }

    pub fn ping_url(&self) -> url::Url {
        self.endpoint("ping")
    }

    fn endpoint(&self, path: &str) -> url::Url {
        let mut u = self.base.clone();
        let prefix = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{prefix}/{path}"));
        u
    }

    /// The `Authorization` header value, if any.
    pub fn authorization(&self) -> Option<String> {
        let secret = self.secret.as_ref()?;
        Some(match (&self.api, &self.user) {
            (InfluxApi::V1 { .. }, Some(user)) => {
                format!("Basic {}", base64(&format!("{user}:{}", secret.expose())))
            }
            _ => format!("Token {}", secret.expose()),
        })
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
}
