//! `[auths.NAME]`: SNMP, Redfish and IPMI credentials apart from devices, with their secrets
//! loaded from `env:`
//! or `file:` references. A broken auth is kept as `None`, so the devices naming it are not
//! also reported as naming an unknown auth.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::inventory::{Auth, IpmiCipherSuite, IpmiPrivilege, RedfishAuth, TlsTrust, V3Security};
use super::raw::{RawAuth, RawRedfish};
use crate::secret::{Secret, SecretRef};

/// Auths by name; `None` where the auth is present but broken (so devices do not also
/// report it as unknown).
pub(super) fn check_auths(
    c: &mut Checker<'_>,
    v: Option<toml::Value>,
) -> BTreeMap<String, Option<Auth>> {
    let mut out = BTreeMap::new();
    let table = match v {
        None => return out,
        Some(toml::Value::Table(t)) => t,
        Some(_) => {
            c.push("auths", "expected a table of named auths ([auths.NAME])");
            return out;
        }
    };
    for (name, value) in table {
        let key = format!("auths.{name}");
        let raw = c.section::<RawAuth>(&key, value);
        let auth = raw.and_then(|raw| auth_secrets(c, &key, raw));
        out.insert(name, auth);
    }
    out
}

/// Loads an auth's secrets; every missing one is a problem naming its key.
fn auth_secrets(c: &mut Checker<'_>, key: &str, raw: RawAuth) -> Option<Auth> {
    let load = |c: &mut Checker<'_>, field: &str, reference: &str| {
        load_secret(c, &format!("{key}.{field}"), reference)
    };
    // RFC 3414 §11.2: a v3 passphrase shorter than 8 characters is refused by agents; say so
    // here, by key and never by value, rather than as an authentication failure at every poll.
    let v3_key = |c: &mut Checker<'_>, field: &str, reference: &str| {
        let s = load(c, field, reference)?;
        // Unresolved (`--no-secrets`), there is no value to measure.
        if c.resolve_secrets && s.expose().chars().count() < 8 {
            c.push(
                &format!("{key}.{field}"),
                "an SNMPv3 key must be at least 8 characters (RFC 3414)",
            );
            return None;
        }
        Some(s)
    };
    match raw {
        RawAuth::V1 { community } => {
            load(c, "community", &community).map(|s| Auth::SnmpV1 { community: s })
        }
        RawAuth::V2c { community } => {
            load(c, "community", &community).map(|s| Auth::SnmpV2c { community: s })
        }
        RawAuth::V3 {
            user,
            auth_protocol,
            auth_key,
            priv_protocol,
            priv_key,
        } => {
            let security = match (auth_protocol, auth_key, priv_protocol, priv_key) {
                (None, None, None, None) => V3Security::NoAuthNoPriv,
                (Some(protocol), Some(k), None, None) => V3Security::AuthNoPriv {
                    protocol,
                    key: v3_key(c, "auth_key", &k)?,
                },
                (Some(protocol), Some(k), Some(cipher), Some(pk)) => {
                    let key_secret = v3_key(c, "auth_key", &k);
                    let priv_secret = v3_key(c, "priv_key", &pk);
                    V3Security::AuthPriv {
                        protocol,
                        key: key_secret?,
                        cipher,
                        priv_key: priv_secret?,
                    }
                }
                (ap, ak, pp, pk) => {
                    let missing: Vec<&str> = [
                        (ap.is_none(), "auth_protocol"),
                        (ak.is_none(), "auth_key"),
                        (pp.is_none() && pk.is_some(), "priv_protocol"),
                        (pk.is_none() && pp.is_some(), "priv_key"),
                    ]
                    .into_iter()
                    .filter_map(|(m, k)| m.then_some(k))
                    .collect();
                    c.push(
                        key,
                        format!(
                            "incomplete v3 security: missing {}; give auth_protocol and auth_key (authNoPriv), plus priv_protocol and priv_key (authPriv), or none (noAuthNoPriv)",
                            missing.join(", ")
                        ),
                    );
                    return None;
                }
            };
            Some(Auth::SnmpV3 { user, security })
        }
        RawAuth::Redfish(raw) => redfish_auth(c, key, raw),
        RawAuth::Ipmi {
            user,
            password,
            cipher_suite,
            privilege,
        } => {
            let suite = match cipher_suite {
                None => Some(IpmiCipherSuite::default()),
                Some(id) => IpmiCipherSuite::from_id(id).or_else(|| {
                    c.push(
                        &format!("{key}.cipher_suite"),
                        format!(
                            "cipher suite {id} is not supported; use 17 (RAKP-HMAC-SHA256, AES-CBC-128) or 3 (RAKP-HMAC-SHA1, AES-CBC-128)"
                        ),
                    );
                    None
                }),
            };
            let privilege = match privilege.as_deref() {
                None | Some("user") => Some(IpmiPrivilege::User),
                Some("operator") => Some(IpmiPrivilege::Operator),
                Some("administrator" | "admin") => Some(IpmiPrivilege::Administrator),
                Some(other) => {
                    c.push(
                        &format!("{key}.privilege"),
                        format!(
                            "unknown privilege level '{other}'; use user, operator or administrator"
                        ),
                    );
                    None
                }
            };
            // IPMI 2.0 §13.31: user names are at most 16 bytes, passwords at most 20.
            if user.len() > 16 {
                c.push(
                    &format!("{key}.user"),
                    "an IPMI user name is at most 16 bytes",
                );
                return None;
            }
            let password = load(c, "password", &password)?;
            if password.expose().len() > 20 {
                c.push(
                    &format!("{key}.password"),
                    "an IPMI 2.0 password is at most 20 bytes",
                );
                return None;
            }
            Some(Auth::Ipmi {
                user,
                password,
                cipher_suite: suite?,
                privilege: privilege?,
            })
        }
    }
}

/// A Redfish account: its password loaded, and at most one way of trusting the certificate.
fn redfish_auth(c: &mut Checker<'_>, key: &str, raw: RawRedfish) -> Option<Auth> {
    let RawRedfish {
        user,
        password,
        session,
        ca_file,
        pin_sha256,
        insecure,
    } = raw;
    let password = load_secret(c, &format!("{key}.password"), &password);
    let chosen = [ca_file.is_some(), pin_sha256.is_some(), insecure];
    if chosen.iter().filter(|b| **b).count() > 1 {
        c.push(
            key,
            "give at most one of 'ca_file', 'pin_sha256' and 'insecure': they are different ways of trusting the BMC's certificate",
        );
        return None;
    }
    let trust = if let Some(path) = ca_file {
        match std::fs::read(&path) {
            Ok(pem) if pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => {
                TlsTrust::Ca(pem)
            }
            Ok(_) => {
                c.push(
                    &format!("{key}.ca_file"),
                    format!("'{}' holds no PEM certificate", path.display()),
                );
                return None;
            }
            Err(e) => {
                c.push(
                    &format!("{key}.ca_file"),
                    format!("cannot read '{}': {e}", path.display()),
                );
                return None;
            }
        }
    } else if let Some(pin) = pin_sha256 {
        match parse_pin(&pin) {
            Some(p) => TlsTrust::Pin(p),
            None => {
                c.push(
                    &format!("{key}.pin_sha256"),
                    "expected the certificate's SHA-256 as 64 hex digits (colons allowed), as `openssl x509 -noout -fingerprint -sha256` prints it",
                );
                return None;
            }
        }
    } else if insecure {
        TlsTrust::Insecure
    } else {
        TlsTrust::System
    };
    Some(Auth::Redfish(RedfishAuth {
        user,
        password: password?,
        session: session.unwrap_or(true),
        trust,
    }))
}

/// `AB:CD:…` or `abcd…`: 32 bytes.
fn parse_pin(s: &str) -> Option<[u8; 32]> {
    let hex: String = s
        .trim()
        .trim_start_matches("sha256 Fingerprint=")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Loads the secret `reference` names; a problem at `key` when it cannot, naming the variable
/// or file but never the value.
pub(super) fn load_secret(c: &mut Checker<'_>, key: &str, reference: &str) -> Option<Secret> {
    let resolve = c.resolve_secrets;
    let loaded = SecretRef::parse(reference).and_then(|r| {
        if resolve {
            r.load()
        } else {
            Ok(Secret::new(String::new()))
        }
    });
    match loaded {
        Ok(s) => Some(s),
        Err(e) => {
            c.push(key, format!("missing secret: {e}"));
            None
        }
    }
}
