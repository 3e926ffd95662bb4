//! Device addresses as URLs: `snmp://host:port`, `modbus://host:port/unit`,
//! `redfish://host[:port]` (HTTPS; `redfish+http://` for a plain-HTTP emulator), `ipmi://host:port`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Snmp {
        host: String,
        port: u16,
    },
    Modbus {
        host: String,
        port: u16,
        unit: u8,
        framing: Framing,
    },
    /// A BMC's Redfish service: HTTPS unless `tls` is false (`redfish+http://`, `http://`).
    Redfish {
        host: String,
        port: u16,
        tls: bool,
    },
    /// A BMC over IPMI 2.0 RMCP+ (UDP, port 623 by default).
    Ipmi {
        host: String,
        port: u16,
    },
}

/// How Modbus frames travel over the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Modbus TCP (MBAP header): `modbus://`.
    Mbap,
    /// RTU frames (with CRC) tunnelled through TCP by a serial gateway: `modbus+rtu://`.
    Rtu,
}

/// What a URL carried besides the address (`snmp://community@host`, `snmpv3://user@host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Community(String),
    V3User(String),
    /// `redfish://user@host`, `ipmi://user@host`: a BMC user, whose password comes from a flag,
    /// never the URL.
    User(String),
}

/// Why a device URL was refused. The text follows `bad address URL: ` in `check-config`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("not a URL ({0})")]
    NotUrl(#[source] url::ParseError),
    #[error("missing host")]
    MissingHost,
    #[error("a password in the URL is not supported")]
    Password,
    #[error("unexpected path '{path}' in an SNMP address")]
    SnmpPath { path: String },
    #[error("unit id '{unit}' is not a number 0..=255")]
    BadUnit {
        unit: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("modbus has no credentials; remove the user part")]
    ModbusCredential,
    #[error(
        "unexpected path '{path}' in a Redfish address (the service root is always /redfish/v1)"
    )]
    RedfishPath { path: String },
    #[error(
        "unknown scheme '{scheme}'; expected snmp://, snmpv3://, modbus://, modbus+rtu://, redfish:// (https://), redfish+http:// or ipmi://"
    )]
    UnknownScheme { scheme: String },
    #[error("unexpected path '{path}' in an IPMI address")]
    IpmiPath { path: String },
}

impl Address {
    /// Parses an address; the user part of the URL is returned separately so callers decide
    /// whether a credential is allowed there (the config refuses it, `probe` accepts it).
    pub fn parse(s: &str) -> Result<(Address, Credential), AddressError> {
        let url = url::Url::parse(s).map_err(AddressError::NotUrl)?;
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_matches(['[', ']']).to_owned(),
            _ => return Err(AddressError::MissingHost),
        };
        let user = url.username();
        let user = (!user.is_empty()).then(|| percent_decode(user));
        if url.password().is_some() {
            return Err(AddressError::Password);
        }
        match url.scheme() {
            "snmp" => {
                let port = url.port().unwrap_or(161);
                no_path(&url)?;
                let cred = user.map_or(Credential::None, Credential::Community);
                Ok((Address::Snmp { host, port }, cred))
            }
            "snmpv3" => {
                let port = url.port().unwrap_or(161);
                no_path(&url)?;
                let cred = user.map_or(Credential::None, Credential::V3User);
                Ok((Address::Snmp { host, port }, cred))
            }
            scheme @ ("modbus" | "modbus+tcp" | "modbus+rtu") => {
                let framing = if scheme == "modbus+rtu" {
                    Framing::Rtu
                } else {
                    Framing::Mbap
                };
                let port = url.port().unwrap_or(502);
                let path = url.path().trim_matches('/');
                let unit = if path.is_empty() {
                    1
                } else {
                    path.parse::<u8>().map_err(|source| AddressError::BadUnit {
                        unit: path.to_owned(),
                        source,
                    })?
                };
                if user.is_some() {
                    return Err(AddressError::ModbusCredential);
                }
                Ok((
                    Address::Modbus {
                        host,
                        port,
                        unit,
                        framing,
                    },
                    Credential::None,
                ))
            }
            scheme @ ("redfish" | "https" | "redfish+https" | "redfish+http" | "http") => {
                let tls = !matches!(scheme, "redfish+http" | "http");
                let port = url.port().unwrap_or(if tls { 443 } else { 80 });
                let path = url.path().trim_end_matches('/');
                if !(path.is_empty() || path == "/redfish/v1" || path == "/redfish") {
                    return Err(AddressError::RedfishPath {
                        path: url.path().to_owned(),
                    });
                }
                let cred = user.map_or(Credential::None, Credential::User);
                Ok((Address::Redfish { host, port, tls }, cred))
            }
            "ipmi" => {
                let port = url.port().unwrap_or(623);
                let p = url.path();
                if !(p.is_empty() || p == "/") {
                    return Err(AddressError::IpmiPath { path: p.to_owned() });
                }
                let cred = user.map_or(Credential::None, Credential::User);
                Ok((Address::Ipmi { host, port }, cred))
            }
            other => Err(AddressError::UnknownScheme {
                scheme: other.to_owned(),
            }),
        }
    }

    pub fn protocol(&self) -> &'static str {
        match self {
            Address::Snmp { .. } => "snmp",
            Address::Modbus { .. } => "modbus",
            Address::Redfish { .. } => "redfish",
            Address::Ipmi { .. } => "ipmi",
        }
    }

    /// `host:port`, for connecting.
    pub fn socket(&self) -> String {
        match self {
            Address::Snmp { host, port }
            | Address::Modbus { host, port, .. }
            | Address::Redfish { host, port, .. }
            | Address::Ipmi { host, port } => {
                if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            }
        }
    }
}

fn no_path(url: &url::Url) -> Result<(), AddressError> {
    let p = url.path();
    if p.is_empty() || p == "/" {
        Ok(())
    } else {
        Err(AddressError::SnmpPath { path: p.to_owned() })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Shows the address without any credential, safe for logs.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Snmp { .. } => write!(f, "snmp {}", self.socket()),
            Address::Modbus {
                unit,
                framing: Framing::Mbap,
                ..
            } => write!(f, "modbus {} unit {unit}", self.socket()),
            Address::Modbus {
                unit,
                framing: Framing::Rtu,
                ..
            } => {
                write!(f, "modbus rtu-over-tcp {} unit {unit}", self.socket())
            }
            Address::Redfish { tls: true, .. } => write!(f, "redfish https://{}", self.socket()),
            Address::Redfish { tls: false, .. } => write!(f, "redfish http://{}", self.socket()),
            Address::Ipmi { .. } => write!(f, "ipmi {}", self.socket()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_snmp_with_community() {
        let (a, c) = Address::parse("snmp://pub%40lic@127.0.0.1:1161").unwrap();
        assert_eq!(
            a,
            Address::Snmp {
                host: "127.0.0.1".into(),
                port: 1161
            }
        );
        assert_eq!(c, Credential::Community("pub@lic".into()));
        assert_eq!(a.to_string(), "snmp 127.0.0.1:1161");
    }

    #[test]
    fn parses_modbus_unit_and_defaults() {
        let (a, _) = Address::parse("modbus://10.0.0.5/7").unwrap();
        assert_eq!(
            a,
            Address::Modbus {
                host: "10.0.0.5".into(),
                port: 502,
                unit: 7,
                framing: Framing::Mbap,
            }
        );
        assert!(Address::parse("modbus://h:502/300").is_err());
        let (rtu, _) = Address::parse("modbus+rtu://gw:4001/12").unwrap();
        assert!(matches!(
            rtu,
            Address::Modbus {
                unit: 12,
                framing: Framing::Rtu,
                ..
            }
        ));
        assert_eq!(rtu.to_string(), "modbus rtu-over-tcp gw:4001 unit 12");
        assert!(Address::parse("ftp://h").is_err());
        assert!(Address::parse("not a url").is_err());
    }

    /// Issue 19: a BMC's Redfish service over HTTPS by default, plain HTTP only when the URL
    /// says so; the user may ride in the URL, a password never.
    #[test]
    fn issue_19_parses_redfish() {
        let (a, c) = Address::parse("redfish://admin@10.1.2.3").unwrap();
        assert_eq!(
            a,
            Address::Redfish {
                host: "10.1.2.3".into(),
                port: 443,
                tls: true
            }
        );
        assert_eq!(c, Credential::User("admin".into()));
        assert_eq!(a.to_string(), "redfish https://10.1.2.3:443");
        let (a, _) = Address::parse("https://bmc:8443/redfish/v1/").unwrap();
        assert!(matches!(
            a,
            Address::Redfish {
                port: 8443,
                tls: true,
                ..
            }
        ));
        let (a, _) = Address::parse("redfish+http://127.0.0.1:8000").unwrap();
        assert!(matches!(
            a,
            Address::Redfish {
                port: 8000,
                tls: false,
                ..
            }
        ));
        assert_eq!(a.protocol(), "redfish");
        assert!(Address::parse("redfish://a:secret@bmc").is_err());
        assert!(matches!(
            Address::parse("redfish://bmc/cgi-bin/x"),
            Err(AddressError::RedfishPath { .. })
        ));
    }

    /// Issue 19: a BMC's address; the user may ride in the URL (for `probe`), never a password.
    #[test]
    fn issue_19_parses_ipmi_with_user_and_default_port() {
        let (a, c) = Address::parse("ipmi://admin@10.0.0.9").unwrap();
        assert_eq!(
            a,
            Address::Ipmi {
                host: "10.0.0.9".into(),
                port: 623
            }
        );
        assert_eq!(c, Credential::User("admin".into()));
        assert_eq!(a.to_string(), "ipmi 10.0.0.9:623");
        assert_eq!(a.protocol(), "ipmi");
        let (a, c) = Address::parse("ipmi://127.0.0.1:6230").unwrap();
        assert_eq!(a.socket(), "127.0.0.1:6230");
        assert_eq!(c, Credential::None);
        assert_eq!(
            Address::parse("ipmi://u:pw@h").unwrap_err(),
            AddressError::Password
        );
        assert!(Address::parse("ipmi://h/x").is_err());
    }

    /// Issue 18: the typed errors keep the texts `check-config` and the README show.
    #[test]
    fn issue_18_errors_keep_their_texts_and_causes() {
        use std::error::Error;
        let e = Address::parse("snmp://h:99999").unwrap_err();
        assert_eq!(e.to_string(), "not a URL (invalid port number)");
        assert!(e.source().is_some());
        let e = Address::parse("modbus://h/x").unwrap_err();
        assert_eq!(e.to_string(), "unit id 'x' is not a number 0..=255");
        assert!(e.source().is_some());
        assert_eq!(
            Address::parse("snmp://h/x").unwrap_err(),
            AddressError::SnmpPath { path: "/x".into() }
        );
    }
}
