//! SNMP driver. v1 and v2c go through a shared socket ([`SnmpMux`]); v3 (engine discovery,
//! USM) through an `snmp2` session per device. Read-only by construction: the request enum has
//! GET, GETNEXT and GETBULK, and nothing else is ever sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::config::{Auth, SnmpLimits, V3Auth, V3Priv, V3Security};
use snmp2::{AsyncSession, Oid, Value, v3};

use crate::decode::{Readings, SnmpValue};
use crate::plan::SnmpPlan;
use crate::snmp_mux::{self, Op, SnmpMux};
use crate::{DriverError, Malformed};

/// A table longer than this is a misbehaving agent, not a device.
const MAX_WALK_ROWS: usize = 10_000;

/// The only requests this driver can make.
enum Request<'a> {
    Get(&'a [Vec<u32>]),
    GetNext(&'a [u32]),
    GetBulk(&'a [u32], u32),
}

pub struct SnmpDriver {
    target: String,
    /// v1/v2c community or v3 USM user; secrets stay inside `Secret`.
    auth: Auth,
    timeout: Duration,
    limits: SnmpLimits,
    /// v3 only. Dropped after any timeout: a late reply would leave the session off by one
    /// request id.
    session: Option<Box<AsyncSession>>,
    req_id: i32,
    /// v1/v2c: the shared socket (given by the scheduler, or bound on first use) and the
    /// target, resolved once.
    mux: Option<Arc<SnmpMux>>,
    addr: Option<SocketAddr>,
}

impl std::fmt::Debug for SnmpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpDriver")
            .field("target", &self.target)
            .field("version", &version_name(&self.auth))
            .field("connected", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

impl SnmpDriver {
    pub fn new(target: String, auth: Auth, timeout: Duration) -> SnmpDriver {
        SnmpDriver {
            target,
            auth,
            timeout,
            limits: SnmpLimits::default(),
            session: None,
            req_id: fastrand::i32(1..i32::MAX / 2),
            mux: None,
            addr: None,
        }
    }

    /// Sends v1/v2c requests through `mux` (shared with other devices) from now on.
    pub(crate) fn share(&mut self, mux: Arc<SnmpMux>) {
        if !matches!(self.auth, Auth::SnmpV3 { .. }) {
            self.mux = Some(mux);
        }
    }

    /// Whether this driver speaks v1/v2c (and so can share a socket).
    pub(crate) fn community_based(&self) -> bool {
        !matches!(self.auth, Auth::SnmpV3 { .. })
    }

    /// Sets the request sizes (GETBULK repetitions, varbinds per GET).
    pub fn set_limits(&mut self, limits: SnmpLimits) {
        self.limits = limits;
    }

    pub async fn read(&mut self, plan: &SnmpPlan) -> Result<Readings, DriverError> {
        let mut gets = Vec::with_capacity(plan.gets.len());
        for chunk in plan.gets.chunks(self.limits.max_varbinds.max(1)) {
            let rows = self.request(Request::Get(chunk)).await?;
            // An agent must answer every varbind in order; anything else is malformed.
            if rows.len() != chunk.len() {
                return Err(Malformed::ValueCount {
                    asked: chunk.len(),
                    got: rows.len(),
                }
                .into());
            }
            gets.extend(rows.into_iter().map(|(_, v)| v));
        }
        let mut walks = Vec::with_capacity(plan.walks.len());
        for column in plan.walks.iter() {
            walks.push(self.walk(column).await?);
        }
        Ok(Readings::Snmp { gets, walks })
    }

    /// Reads `sysObjectID.0` and `sysDescr.0`, for profile matching.
    pub async fn identify(&mut self) -> Result<(Vec<u32>, String), DriverError> {
        let rows = self
            .request(Request::Get(&[
                vec![1, 3, 6, 1, 2, 1, 1, 2, 0],
                vec![1, 3, 6, 1, 2, 1, 1, 1, 0],
            ]))
            .await?;
        let oid = match rows.first().map(|(_, v)| v) {
            Some(SnmpValue::Oid(o)) => o.clone(),
            // Some agents send sysObjectID as text ("1.3.6.1.4.1.232.165.7"): read it as the OID
            // it spells, so the profile for the family still matches.
            Some(SnmpValue::Bytes(b)) => String::from_utf8_lossy(b)
                .trim()
                .trim_start_matches('.')
                .split('.')
                .map(str::parse::<u32>)
                .collect::<Result<Vec<u32>, _>>()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let descr = match rows.get(1).map(|(_, v)| v) {
            Some(SnmpValue::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        Ok((oid, descr))
    }

    /// The first OID the device holds after `oid` (one GETNEXT); `None` at the end of its MIB.
    pub(crate) async fn next_oid(&mut self, oid: &[u32]) -> Result<Option<Vec<u32>>, DriverError> {
        let rows = self.request(Request::GetNext(oid)).await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|(next, value)| (!matches!(value, SnmpValue::Missing(_))).then_some(next)))
    }

    /// Walks one table column: GETBULK (v2c) or GETNEXT (v1) until the column ends.
    pub(crate) async fn walk(
        &mut self,
        column: &[u32],
    ) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
        let mut rows = Vec::new();
        let mut cursor = column.to_vec();
        loop {
            // GETBULK does not exist in v1.
            let batch = match self.auth {
                Auth::SnmpV1 { .. } => self.request(Request::GetNext(&cursor)).await?,
                _ => {
                    self.request(Request::GetBulk(&cursor, self.limits.max_repetitions))
                        .await?
                }
            };
            if batch.is_empty() {
                return Ok(rows);
            }
            for (oid, value) in batch {
                if matches!(value, SnmpValue::Missing(_)) || !oid.starts_with(column) {
                    return Ok(rows);
                }
                // An agent returning a non-increasing OID would make us loop forever.
                if oid <= cursor {
                    return Err(Malformed::NonIncreasingOid { oid }.into());
                }
                rows.push((oid[column.len()..].to_vec(), value));
                cursor = oid;
                if rows.len() > MAX_WALK_ROWS {
                    return Err(Malformed::TooManyRows {
                        column: column.to_vec(),
                        max: MAX_WALK_ROWS,
                    }
                    .into());
                }
            }
        }
    }

    async fn session(&mut self) -> Result<&mut AsyncSession, DriverError> {
        if self.session.is_none() {
            self.req_id = self.req_id.wrapping_add(1000) & 0x3fff_ffff;
            let (target, req_id) = (self.target.as_str(), self.req_id);
            let connect = async {
                match &self.auth {
                    Auth::SnmpV1 { community } => {
                        AsyncSession::new_v1(target, community.expose().as_bytes(), req_id)
                            .await
                            .map_err(DriverError::Transport)
                    }
                    Auth::SnmpV2c { community } => {
                        AsyncSession::new_v2c(target, community.expose().as_bytes(), req_id)
                            .await
                            .map_err(DriverError::Transport)
                    }
                    Auth::SnmpV3 { user, security } => {
                        let mut s = AsyncSession::new_v3(target, req_id, usm(user, security))
                            .await
                            .map_err(DriverError::Transport)?;
                        // Discovers the agent's engine id, boots and time; a wrong key fails here.
                        s.init().await.map_err(snmp_error)?;
                        Ok(s)
                    }
                    // `Driver::new` never pairs an SNMP address with another protocol's auth.
                    Auth::Redfish(_) | Auth::Ipmi { .. } => Err(DriverError::AuthProtocol),
                }
            };
            let s = tokio::time::timeout(self.timeout, connect)
                .await
                .map_err(|_| DriverError::Timeout(self.timeout))??;
            self.session = Some(Box::new(s));
        }
        self.session
            .as_deref_mut()
            .ok_or(DriverError::Protocol(Malformed::NoSession))
    }

    async fn request(
        &mut self,
        req: Request<'_>,
    ) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
        let (version, community) = match &self.auth {
            Auth::SnmpV1 { community } => (0, community),
            Auth::SnmpV2c { community } => (1, community),
            Auth::SnmpV3 { .. } => return self.request_v3(req).await,
            Auth::Redfish(_) | Auth::Ipmi { .. } => return Err(DriverError::AuthProtocol),
        };
        let addr = match self.addr {
            Some(a) => a,
            None => {
                let a = tokio::time::timeout(self.timeout, tokio::net::lookup_host(&self.target))
                    .await
                    .map_err(|_| DriverError::Timeout(self.timeout))?
                    .map_err(DriverError::Transport)?
                    .next()
                    .ok_or_else(|| {
                        DriverError::Transport(std::io::Error::other("address resolves to nothing"))
                    })?;
                self.addr = Some(a);
                a
            }
        };
        // A shared IPv4 socket cannot reach an IPv6 agent: such a device gets its own.
        let mux = match &self.mux {
            Some(m) if m.is_ipv6() == addr.is_ipv6() => m.clone(),
            _ => {
                let m = SnmpMux::bind(addr.is_ipv6())
                    .await
                    .map_err(DriverError::Transport)?;
                self.mux = Some(m.clone());
                m
            }
        };
        let id = mux.next_id();
        let op = match req {
            Request::Get(oids) => Op::Get(oids),
            Request::GetNext(oid) => Op::GetNext(oid),
            Request::GetBulk(oid, reps) => Op::GetBulk(oid, reps),
        };
        // Encoded afresh (one allocation of the exact size): a buffer kept per device between
        // polls was 2.6 MB at 10,000 devices.
        let mut encoded = Vec::new();
        snmp_mux::encode(&mut encoded, version, community.expose().as_bytes(), id, op);
        let reply = mux.exchange(addr, id, &encoded, self.timeout).await?;
        decode_response(&reply, community.expose().as_bytes(), &req)
    }

    async fn request_v3(
        &mut self,
        req: Request<'_>,
    ) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
        let timeout = self.timeout;
        let session = self.session().await?;
        let result = tokio::time::timeout(timeout, send(session, &req)).await;
        match result {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(e)) => {
                self.session = None;
                Err(e)
            }
            Err(_) => {
                self.session = None;
                Err(DriverError::Timeout(timeout))
            }
        }
    }
}

async fn send(
    session: &mut AsyncSession,
    req: &Request<'_>,
) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
    let pdu = match req {
        Request::Get(oids) => {
            let oids: Vec<Oid<'static>> =
                oids.iter().map(|o| to_oid(o)).collect::<Result<_, _>>()?;
            let refs: Vec<&Oid<'_>> = oids.iter().collect();
            session.get_many(&refs).await
        }
        Request::GetNext(oid) => session.getnext(&to_oid(oid)?).await,
        Request::GetBulk(oid, reps) => session.getbulk(&[&to_oid(oid)?], 0, *reps).await,
    }
    .map_err(snmp_error)?;
    rows(pdu, req)
}

/// The rows of a v1/v2c reply to a GET of `oids`, or why it is not one (for benchmarks and
/// fuzzing; polls use the same path).
pub fn decode_get_response(
    reply: &[u8],
    community: &[u8],
    oids: &[Vec<u32>],
) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
    decode_response(reply, community, &Request::Get(oids))
}

fn decode_response(
    reply: &[u8],
    community: &[u8],
    req: &Request<'_>,
) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
    let pdu = snmp2::Pdu::from_bytes(reply).map_err(snmp_error)?;
    if pdu.message_type != snmp2::MessageType::Response {
        return Err(Malformed::NotAResponse {
            got: pdu.message_type,
        }
        .into());
    }
    if pdu.community != community {
        return Err(Malformed::OtherCommunity.into());
    }
    rows(pdu, req)
}

/// The varbinds of a reply, or the agent's error.
fn rows(pdu: snmp2::Pdu<'_>, req: &Request<'_>) -> Result<Vec<(Vec<u32>, SnmpValue)>, DriverError> {
    if pdu.error_status != 0 {
        // v1 noSuchName (2) on a GET or GETNEXT: treat as "no such value" / end of table.
        if pdu.error_status == 2 {
            return match req {
                Request::Get(oids) => Ok(oids
                    .iter()
                    .map(|o| (o.clone(), SnmpValue::Missing("noSuchName")))
                    .collect()),
                _ => Ok(Vec::new()),
            };
        }
        // error-index is 1-based; 0 names no varbind.
        let oid = usize::try_from(pdu.error_index)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| pdu.varbinds.clone().nth(i))
            .and_then(|(oid, _)| oid_numbers(&oid));
        return Err(DriverError::SnmpErrorStatus {
            status: pdu.error_status,
            index: pdu.error_index,
            oid,
        });
    }
    let mut rows = Vec::new();
    for (oid, value) in pdu.varbinds {
        let oid = oid_numbers(&oid).ok_or(Malformed::OidTooLarge)?;
        rows.push((oid, owned(value)));
    }
    Ok(rows)
}

fn to_oid(o: &[u32]) -> Result<Oid<'static>, DriverError> {
    let parts: Vec<u64> = o.iter().map(|&n| u64::from(n)).collect();
    Oid::from(&parts).map_err(|e| {
        Malformed::BadOid {
            oid: o.to_vec(),
            reason: format!("{e:?}"),
        }
        .into()
    })
}

/// An OID's arcs; `None` when one does not fit the 64-bit reader.
fn oid_numbers(oid: &Oid<'_>) -> Option<Vec<u32>> {
    oid.iter()
        .map(|it| it.map(|n| u32::try_from(n).unwrap_or(u32::MAX)).collect())
}

fn owned(v: Value<'_>) -> SnmpValue {
    match v {
        Value::Integer(i) => SnmpValue::Int(i),
        Value::Counter32(u) | Value::Unsigned32(u) | Value::Timeticks(u) => {
            SnmpValue::Unsigned(u64::from(u))
        }
        Value::Counter64(u) => SnmpValue::Unsigned(u),
        Value::OctetString(b) | Value::Opaque(b) => SnmpValue::Bytes(b.to_vec()),
        Value::ObjectIdentifier(o) => SnmpValue::Oid(
            o.iter()
                .map(|it| it.map(|n| u32::try_from(n).unwrap_or(u32::MAX)).collect())
                .unwrap_or_default(),
        ),
        Value::NoSuchObject => SnmpValue::Missing("noSuchObject"),
        Value::NoSuchInstance => SnmpValue::Missing("noSuchInstance"),
        Value::EndOfMibView => SnmpValue::Missing("endOfMibView"),
        Value::Boolean(_) => SnmpValue::Other("Boolean"),
        Value::Null => SnmpValue::Other("Null"),
        Value::IpAddress(_) => SnmpValue::Other("IpAddress"),
        _ => SnmpValue::Other("constructed"),
    }
}

fn version_name(auth: &Auth) -> &'static str {
    match auth {
        Auth::SnmpV1 { .. } => "v1",
        Auth::SnmpV2c { .. } => "v2c",
        Auth::SnmpV3 { .. } => "v3",
        Auth::Redfish(_) => "redfish",
        Auth::Ipmi { .. } => "ipmi",
    }
}

/// The USM security parameters for snmp2 (the trap listener's too).
pub(crate) fn usm(user: &str, security: &V3Security) -> v3::Security {
    let auth_protocol = |p: V3Auth| match p {
        V3Auth::Md5 => v3::AuthProtocol::Md5,
        V3Auth::Sha1 => v3::AuthProtocol::Sha1,
        V3Auth::Sha224 => v3::AuthProtocol::Sha224,
        V3Auth::Sha256 => v3::AuthProtocol::Sha256,
        V3Auth::Sha384 => v3::AuthProtocol::Sha384,
        V3Auth::Sha512 => v3::AuthProtocol::Sha512,
    };
    match security {
        V3Security::NoAuthNoPriv => {
            v3::Security::new(user.as_bytes(), b"").with_auth(v3::Auth::NoAuthNoPriv)
        }
        V3Security::AuthNoPriv { protocol, key } => {
            v3::Security::new(user.as_bytes(), key.expose().as_bytes())
                .with_auth_protocol(auth_protocol(*protocol))
                .with_auth(v3::Auth::AuthNoPriv)
        }
        V3Security::AuthPriv {
            protocol,
            key,
            cipher,
            priv_key,
        } => {
            let cipher = match cipher {
                V3Priv::Des => v3::Cipher::Des,
                V3Priv::Aes128 => v3::Cipher::Aes128,
                V3Priv::Aes192 => v3::Cipher::Aes192,
                V3Priv::Aes256 => v3::Cipher::Aes256,
            };
            v3::Security::new(user.as_bytes(), key.expose().as_bytes())
                .with_auth_protocol(auth_protocol(*protocol))
                .with_auth(v3::Auth::AuthPriv {
                    cipher,
                    privacy_password: priv_key.expose().as_bytes().to_vec(),
                })
        }
    }
}

fn snmp_error(e: snmp2::Error) -> DriverError {
    match e {
        snmp2::Error::AuthFailure(kind) => DriverError::Auth(kind),
        snmp2::Error::Send | snmp2::Error::Receive => {
            DriverError::Transport(std::io::Error::other(format!("{e:?}").to_lowercase()))
        }
        other => Malformed::Snmp(other).into(),
    }
}
