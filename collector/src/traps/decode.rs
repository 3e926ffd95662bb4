//! One datagram to one notification: SNMPv1 Trap-PDUs, SNMPv2c and SNMPv3 SNMPv2-Trap-PDUs and
//! InformRequest-PDUs, checked against the configured communities and USM users.
//!
//! Invariants: hostile bytes give a [`TrapError`], never a panic; a v1 trap is converted to a
//! snmpTrapOID as RFC 3584 §3.1 says; a community never reaches a [`Decoded`] (the v1 varbinds
//! gain snmpTrapAddress.0 and snmpTrapEnterprise.0, never snmpTrapCommunity.0). For SNMPv3 the
//! sending engine is authoritative (RFC 3414 §3.2, net-snmp `snmptrap -v3 -e ENGINEID`): the
//! user's keys are localised with the engine id carried in the message, once per (user, engine)
//! and cached, at most [`LOCALISE_PER_S`] new engines a second so a flood of invented engine ids
//! cannot make us hash a megabyte per datagram.

use std::net::Ipv4Addr;
use std::time::Instant;

use kilowatch_core::config::{Auth, V3Security};
use kilowatch_core::secret::Secret;
use snmp2::{AsnReader, MessageType, Pdu, Value, v3};

use crate::dotted;

/// snmpTrapOID.0 (SNMPv2-MIB).
pub const SNMP_TRAP_OID: &str = "1.3.6.1.6.3.1.1.4.1.0";
const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
/// snmpTrapAddress.0 and snmpTrapEnterprise.0 (RFC 3584 §3.1).
const SNMP_TRAP_ADDRESS: &str = "1.3.6.1.6.3.18.1.3.0";
const SNMP_TRAP_ENTERPRISE: &str = "1.3.6.1.6.3.1.1.4.3.0";
/// snmpTraps (SNMPv2-MIB): the generic v1 traps are snmpTraps.(generic + 1).
const SNMP_TRAPS: &str = "1.3.6.1.6.3.1.1.5";

/// Localised (user, engine id) keys kept; beyond this the oldest is dropped.
const KEY_CACHE: usize = 64;
/// New engine ids localised per second at most (each costs two 1 MiB hashes).
pub const LOCALISE_PER_S: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2c,
    V3,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2c => "v2c",
            Version::V3 => "v3",
        }
    }
}

/// A notification as received, before any map gives it meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub version: Version,
    /// An InformRequest: `response` holds the Response to send back.
    pub inform: bool,
    pub request_id: i32,
    /// snmpTrapOID.0, dotted.
    pub trap_oid: String,
    /// A v1 trap's agent-addr when it is not 0.0.0.0.
    pub agent_addr: Option<Ipv4Addr>,
    /// Every varbind as dotted OID and printable value, in order.
    pub varbinds: Vec<(String, String)>,
    /// The Response-PDU for an inform (same request id and varbinds), ready to send.
    pub response: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrapError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("unknown community")]
    Community,
    #[error("unknown snmpv3 user")]
    UnknownUser,
    #[error("snmpv3 authentication failed: {0}")]
    Auth(String),
    #[error("snmpv3 engine discovery is not supported (an inform needs us to be authoritative)")]
    Discovery,
    #[error("too many new snmpv3 engine ids; try again later")]
    RateLimited,
    #[error("not a notification: {0}")]
    NotNotification(&'static str),
}

impl TrapError {
    /// Bad credentials (as opposed to bad bytes): counted apart in the listener's stats.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            TrapError::Community
                | TrapError::UnknownUser
                | TrapError::Auth(_)
                | TrapError::Discovery
                | TrapError::RateLimited
        )
    }
}

/// An SNMPv3 user notifications may come from.
#[derive(Debug, Clone)]
pub struct V3User {
    pub user: String,
    pub security: V3Security,
}

impl V3User {
    /// The v3 user of an inventory `[auths.NAME]`, if it is one.
    pub fn from_auth(auth: &Auth) -> Option<V3User> {
        match auth {
            Auth::SnmpV3 { user, security } => Some(V3User {
                user: user.clone(),
                security: security.clone(),
            }),
            _ => None,
        }
    }
}

/// What a notification must match to be accepted: communities (v1, v2c) and USM users (v3),
/// with the keys localised so far.
#[derive(Debug)]
pub struct Credentials {
    communities: Vec<Secret>,
    users: Vec<V3User>,
    keys: Vec<Localised>,
    budget: (Instant, u32),
    /// snmp2 zeroes the authentication parameters in the bytes it verifies; it gets a copy.
    scratch: Vec<u8>,
}

#[derive(Debug)]
struct Localised {
    user: usize,
    engine_id: Vec<u8>,
    security: v3::Security,
}

impl Credentials {
    pub fn new(communities: Vec<Secret>, users: Vec<V3User>) -> Credentials {
        Credentials {
            communities,
            users,
            keys: Vec::new(),
            budget: (Instant::now(), 0),
            scratch: Vec::new(),
        }
    }

    fn community_ok(&self, community: &[u8]) -> bool {
        self.communities
            .iter()
            .any(|c| c.expose().as_bytes() == community)
    }

    /// The localised keys of `user` for `engine_id`, made (within the rate budget) if new.
    fn security(&mut self, user: usize, engine_id: &[u8]) -> Result<&mut v3::Security, TrapError> {
        if let Some(i) = self
            .keys
            .iter()
            .position(|k| k.user == user && k.engine_id == engine_id)
        {
            return Ok(&mut self.keys[i].security);
        }
        let now = Instant::now();
        if now.duration_since(self.budget.0).as_secs() >= 1 {
            self.budget = (now, 0);
        }
        if self.budget.1 >= LOCALISE_PER_S {
            return Err(TrapError::RateLimited);
        }
        self.budget.1 += 1;
        let u = &self.users[user];
        if engine_id.is_empty() || engine_id.len() > 32 {
            return Err(TrapError::Auth("engine id must be 1 to 32 bytes".into()));
        }
        // snmp2's password-to-key indexes the password: an empty one would panic.
        let empty = match &u.security {
            V3Security::NoAuthNoPriv => false,
            V3Security::AuthNoPriv { key, .. } => key.expose().is_empty(),
            V3Security::AuthPriv { key, priv_key, .. } => {
                key.expose().is_empty() || priv_key.expose().is_empty()
            }
        };
        if empty {
            return Err(TrapError::Auth("the user's key is empty".into()));
        }
        let security = usm(&u.user, &u.security)
            .with_engine_id(engine_id)
            .map_err(|e| TrapError::Auth(format!("{e:?}").to_lowercase()))?;
        if self.keys.len() >= KEY_CACHE {
            self.keys.remove(0);
        }
        self.keys.push(Localised {
            user,
            engine_id: engine_id.to_vec(),
            security,
        });
        let last = self.keys.len() - 1;
        Ok(&mut self.keys[last].security)
    }
}

/// Decodes one datagram. `creds` is `&mut` only for its cache of localised v3 keys.
pub fn decode(bytes: &[u8], creds: &mut Credentials) -> Result<Decoded, TrapError> {
    match peek_version(bytes)? {
        0 | 1 => decode_community(bytes, creds),
        3 => decode_v3(bytes, creds),
        v => Err(TrapError::Malformed(format!("snmp version {v}"))),
    }
}

fn malformed(e: snmp2::Error) -> TrapError {
    TrapError::Malformed(format!("{e:?}").to_lowercase())
}

fn peek_version(bytes: &[u8]) -> Result<i64, TrapError> {
    let seq = AsnReader::from_bytes(bytes)
        .read_raw(snmp2::asn1::TYPE_SEQUENCE)
        .map_err(malformed)?;
    AsnReader::from_bytes(seq)
        .read_asn_integer()
        .map_err(malformed)
}

fn decode_community(bytes: &[u8], creds: &Credentials) -> Result<Decoded, TrapError> {
    let pdu = Pdu::from_bytes(bytes).map_err(malformed)?;
    if !creds.community_ok(pdu.community) {
        return Err(TrapError::Community);
    }
    let version = match pdu.version().map_err(malformed)? {
        snmp2::Version::V1 => Version::V1,
        _ => Version::V2c,
    };
    match pdu.message_type {
        MessageType::TrapV1 => v1_trap(&pdu),
        MessageType::Trap | MessageType::InformRequest => {
            let mut d = v2_notification(&pdu, version)?;
            if d.inform {
                d.response = Some(response_v2c(bytes, &pdu)?);
            }
            Ok(d)
        }
        _ => Err(TrapError::NotNotification(
            "a request or response, not a notification",
        )),
    }
}

fn decode_v3(bytes: &[u8], creds: &mut Credentials) -> Result<Decoded, TrapError> {
    let usm = peek_usm(bytes)?;
    if usm.flags & snmp2::snmp::V3_MSG_FLAGS_AUTH == 0 && usm.engine_id.is_empty() {
        // A discovery probe (RFC 3414 §4): only an inform sender, which expects us to be the
        // authoritative engine and answer with a Report, sends one.
        return Err(TrapError::Discovery);
    }
    let user = creds
        .users
        .iter()
        .position(|u| u.user.as_bytes() == usm.user)
        .ok_or(TrapError::UnknownUser)?;
    let mut scratch = std::mem::take(&mut creds.scratch);
    let mut result = Err(TrapError::Discovery);
    // snmp2 reads an unauthenticated message whose engineBoots is news to it as a discovery
    // step and returns `AuthUpdated` having learnt the boots; the second attempt decodes.
    for _ in 0..2 {
        scratch.clear();
        scratch.extend_from_slice(bytes);
        result = v3_attempt(&scratch, creds, user, &usm.engine_id);
        if result != Err(TrapError::Discovery) {
            break;
        }
    }
    creds.scratch = scratch;
    result
}

fn v3_attempt(
    bytes: &[u8],
    creds: &mut Credentials,
    user: usize,
    engine_id: &[u8],
) -> Result<Decoded, TrapError> {
    let security = creds.security(user, engine_id)?;
    let pdu = Pdu::from_bytes_with_security(bytes, Some(security)).map_err(|e| match e {
        snmp2::Error::AuthFailure(kind) => TrapError::Auth(kind.to_string().to_lowercase()),
        snmp2::Error::AuthUpdated => TrapError::Discovery,
        other => malformed(other),
    })?;
    match pdu.message_type {
        MessageType::Trap => v2_notification(&pdu, Version::V3),
        // Acknowledging a v3 inform needs us to be the authoritative engine (discovery,
        // Reports, our own boots and time), which snmp2 does not provide; it is not faked.
        MessageType::InformRequest => Err(TrapError::Discovery),
        _ => Err(TrapError::NotNotification(
            "a request or response, not a notification",
        )),
    }
}

struct UsmPeek {
    flags: u8,
    engine_id: Vec<u8>,
    user: Vec<u8>,
}

/// msgFlags, msgAuthoritativeEngineID and msgUserName of an SNMPv3 message (RFC 3412, 3414).
fn peek_usm(bytes: &[u8]) -> Result<UsmPeek, TrapError> {
    let seq = AsnReader::from_bytes(bytes)
        .read_raw(snmp2::asn1::TYPE_SEQUENCE)
        .map_err(malformed)?;
    let mut rdr = AsnReader::from_bytes(seq);
    rdr.read_asn_integer().map_err(malformed)?;
    let header = rdr
        .read_raw(snmp2::asn1::TYPE_SEQUENCE)
        .map_err(malformed)?;
    let mut h = AsnReader::from_bytes(header);
    h.read_asn_integer().map_err(malformed)?; // msgID
    h.read_asn_integer().map_err(malformed)?; // msgMaxSize
    let flags = h
        .read_asn_octetstring()
        .map_err(malformed)?
        .first()
        .copied()
        .unwrap_or(0);
    let params = rdr.read_asn_octetstring().map_err(malformed)?;
    let usm = AsnReader::from_bytes(params)
        .read_raw(snmp2::asn1::TYPE_SEQUENCE)
        .map_err(malformed)?;
    let mut u = AsnReader::from_bytes(usm);
    let engine_id = u.read_asn_octetstring().map_err(malformed)?.to_vec();
    u.read_asn_integer().map_err(malformed)?; // boots
    u.read_asn_integer().map_err(malformed)?; // time
    let user = u.read_asn_octetstring().map_err(malformed)?.to_vec();
    Ok(UsmPeek {
        flags,
        engine_id,
        user,
    })
}

/// RFC 3584 §3.1: a Trap-PDU becomes snmpTrapOID (generic 0-5: snmpTraps.(generic+1);
/// enterpriseSpecific: enterprise.0.specific) with sysUpTime.0 first and snmpTrapAddress.0 and
/// snmpTrapEnterprise.0 last.
fn v1_trap(pdu: &Pdu<'_>) -> Result<Decoded, TrapError> {
    let info = pdu
        .v1_trap_info
        .as_ref()
        .ok_or(TrapError::Malformed("trap-pdu without its header".into()))?;
    let enterprise = oid_string(&info.enterprise);
    let trap_oid = match info.generic_trap {
        0..=5 => format!("{SNMP_TRAPS}.{}", info.generic_trap + 1),
        6 => {
            if info.specific_trap < 0 || info.specific_trap > i64::from(u32::MAX) {
                return Err(TrapError::Malformed(format!(
                    "specific-trap {}",
                    info.specific_trap
                )));
            }
            format!("{enterprise}.0.{}", info.specific_trap)
        }
        g => return Err(TrapError::Malformed(format!("generic-trap {g}"))),
    };
    let agent_addr = match info.agent_addr {
        std::net::IpAddr::V4(a) if !a.is_unspecified() => Some(a),
        _ => None,
    };
    let mut varbinds = vec![
        (SYS_UPTIME.to_string(), info.timestamp.to_string()),
        (SNMP_TRAP_OID.to_string(), trap_oid.clone()),
    ];
    varbinds.extend(
        pdu.varbinds
            .clone()
            .map(|(o, v)| (oid_string(&o), printable(&v))),
    );
    varbinds.push((SNMP_TRAP_ADDRESS.to_string(), info.agent_addr.to_string()));
    varbinds.push((SNMP_TRAP_ENTERPRISE.to_string(), enterprise));
    Ok(Decoded {
        version: Version::V1,
        inform: false,
        request_id: 0,
        trap_oid,
        agent_addr,
        varbinds,
        response: None,
    })
}

/// An SNMPv2-Trap-PDU or InformRequest-PDU: sysUpTime.0 then snmpTrapOID.0 (RFC 3416 §4.2.6).
fn v2_notification(pdu: &Pdu<'_>, version: Version) -> Result<Decoded, TrapError> {
    let varbinds: Vec<(String, String)> = pdu
        .varbinds
        .clone()
        .map(|(o, v)| (oid_string(&o), printable(&v)))
        .collect();
    let trap_oid = varbinds
        .iter()
        .take(2)
        .find(|(o, _)| o == SNMP_TRAP_OID)
        .map(|(_, v)| v.clone())
        .ok_or(TrapError::Malformed(
            "no snmpTrapOID.0 in the first two varbinds".into(),
        ))?;
    Ok(Decoded {
        version,
        inform: pdu.message_type == MessageType::InformRequest,
        request_id: pdu.req_id,
        trap_oid,
        agent_addr: None,
        varbinds,
        response: None,
    })
}

/// The Response to a v2c inform: the datagram as received with the PDU tag changed from
/// InformRequest to Response (RFC 3416 §4.2.7: same request-id and variable-bindings,
/// error-status and error-index zero). Copying keeps every varbind byte for byte, whatever its
/// type; an inform with non-zero error fields is re-encoded by snmp2 instead.
fn response_v2c(bytes: &[u8], pdu: &Pdu<'_>) -> Result<Vec<u8>, TrapError> {
    if pdu.error_status == 0
        && pdu.error_index == 0
        && let Some(at) = pdu_tag_offset(bytes)
        && bytes.get(at) == Some(&snmp2::snmp::MSG_INFORM)
    {
        let mut out = bytes.to_vec();
        out[at] = snmp2::snmp::MSG_RESPONSE;
        return Ok(out);
    }
    let mut resp = pdu.clone();
    resp.message_type = MessageType::Response;
    resp.error_status = 0;
    resp.error_index = 0;
    resp.to_bytes().map_err(malformed)
}

/// Where the PDU's tag is in a v1/v2c message: after the outer SEQUENCE header, the version
/// INTEGER and the community OCTET STRING.
fn pdu_tag_offset(bytes: &[u8]) -> Option<usize> {
    let (_, mut at) = tlv_header(bytes, 0)?;
    for _ in 0..2 {
        let (len, body) = tlv_header(bytes, at)?;
        at = body.checked_add(len)?;
    }
    (at < bytes.len()).then_some(at)
}

/// (content length, content offset) of the TLV at `at`, definite lengths only.
fn tlv_header(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *bytes.get(at.checked_add(1)?)?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), at + 2));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*bytes.get(at + 2 + i)?);
    }
    Some((len, at + 2 + n))
}

pub(crate) fn oid_string(oid: &snmp2::Oid<'_>) -> String {
    match oid.iter() {
        Some(arcs) => {
            let arcs: Vec<u32> = arcs.map(|a| u32::try_from(a).unwrap_or(u32::MAX)).collect();
            dotted(&arcs)
        }
        None => oid.to_id_string(),
    }
}

/// A value as people read it: numbers in decimal, OIDs dotted, text when it is printable UTF-8
/// and hex (`0x..`) otherwise.
pub(crate) fn printable(value: &Value<'_>) -> String {
    match value {
        Value::Integer(n) => n.to_string(),
        Value::Counter32(n) | Value::Unsigned32(n) | Value::Timeticks(n) => n.to_string(),
        Value::Counter64(n) => n.to_string(),
        Value::OctetString(b) => text_or_hex(b),
        Value::Opaque(b) => hex(b),
        Value::ObjectIdentifier(o) => oid_string(o),
        Value::IpAddress(a) => Ipv4Addr::from(*a).to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::NoSuchObject => "noSuchObject".into(),
        Value::NoSuchInstance => "noSuchInstance".into(),
        Value::EndOfMibView => "endOfMibView".into(),
        _ => "(constructed)".into(),
    }
}

fn text_or_hex(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t') => s.to_string(),
        _ => hex(b),
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for byte in b {
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// The USM parameters for snmp2, as the poller builds them, plus the key extension AES-192/256
/// need with a short hash (net-snmp uses Blumenthal's).
fn usm(user: &str, security: &V3Security) -> v3::Security {
    let usm = crate::snmp::usm(user, security);
    match security {
        V3Security::AuthPriv { .. } => usm.with_key_extension_method(v3::KeyExtension::Blumenthal),
        _ => usm,
    }
}
