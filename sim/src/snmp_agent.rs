//! The simulator's SNMP agent: answers v1 and v2c GET, GETNEXT and GETBULK from an in-memory
//! [`Mib`] over UDP. rasn-snmp is the BER codec; the UDP loop is ours.
//!
//! Invariants:
//! - Read-only. A SET is refused with `noAccess` (v2c) or `readOnly` (v1) and changes nothing.
//! - Anything that is not a well-formed request for our community is dropped without a reply,
//!   as a real agent does, so hostile input costs one decode and never a panic.
//! - A v1 reply never carries a v2-only value: Counter64 and the exception values become
//!   `noSuchName`, as RFC 3584 §4.2.2 asks of a bilingual agent.
//! - A MIB entry whose OID (or `ObjectId` value) BER cannot carry is treated as absent, so one
//!   bad entry from the physics model cannot make the whole reply unencodable.

use crate::Delay;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use rasn::types::{Integer, ObjectIdentifier, OctetString};
// v2's Counter32, Unsigned32 and TimeTicks are aliases of these v1 types, which can be built.
use rasn_smi::v1::{Counter, Gauge, TimeTicks};
use rasn_smi::v2::{ApplicationSyntax, Counter64, SimpleSyntax};
use rasn_snmp::v2::{
    BulkPdu, GetBulkRequest, GetNextRequest, GetRequest, ObjectSyntax, Pdu, Pdus, Response,
    SetRequest, VarBind, VarBindValue,
};
use rasn_snmp::v2c::Message;
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A value the simulated agent serves.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i32),
    Gauge32(u32),
    Counter32(u32),
    Counter64(u64),
    TimeTicks(u32),
    OctetString(Vec<u8>),
    ObjectId(Vec<u32>),
}

/// The agent's view, ordered lexicographically by OID (`Vec<u32>` ordering is lexicographic, as
/// SNMP requires).
pub type Mib = BTreeMap<Vec<u32>, Value>;

/// Largest UDP payload over IPv4: a reply above it cannot be sent, so it becomes `tooBig`.
const MAX_DATAGRAM: usize = 65_507;
/// GETBULK stops adding rows past this, so a reply fits one Ethernet frame unfragmented.
const BULK_BUDGET: usize = 1_400;
/// Upper bound on the growth of the three enclosing BER lengths (message, PDU, varbind list)
/// when a reply grows from empty to `MAX_DATAGRAM`: each goes from 1 to at most 3 octets.
const LENGTH_SLACK: usize = 6;
/// Delayed answers in flight at once; past this a "slow device" drops requests, as a busy
/// agent would, instead of piling up tasks under a flood.
const MAX_PENDING: usize = 1_024;
/// Pause after a failed receive, so a persistent socket error cannot spin the loop.
const RECEIVE_BACKOFF: Duration = Duration::from_millis(10);

const NO_SUCH_NAME: u32 = Pdu::ERROR_STATUS_NO_SUCH_NAME;
const TOO_BIG: u32 = Pdu::ERROR_STATUS_TOO_BIG;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2c,
}

impl Version {
    fn number(self) -> i32 {
        match self {
            Version::V1 => 0,
            Version::V2c => 1,
        }
    }

    /// The error-status for a write: v1 has no `noAccess`.
    fn read_only_status(self) -> u32 {
        match self {
            Version::V1 => Pdu::ERROR_STATUS_READ_ONLY,
            Version::V2c => Pdu::ERROR_STATUS_NO_ACCESS,
        }
    }
}

/// A decoded request that passed the version and community checks.
#[derive(Debug)]
struct Request {
    version: Version,
    community: OctetString,
    pdus: Pdus,
}

/// Answers one request datagram. Returns `None` when it must be dropped silently: undecodable,
/// wrong community, unknown version, or not a request PDU. A SET gets an error response
/// (`noAccess` for v2c, `readOnly` for v1), because the simulator is read-only.
#[must_use]
pub fn answer(datagram: &[u8], community: &[u8], mib: &Mib) -> Option<Vec<u8>> {
    let request = accept(datagram, community)?;
    respond(request, mib)
}

/// Serves UDP on `socket` until `cancel` fires. `mib` is called per request, so the simulator
/// can rebuild values from its physics model. `delay` delays every answer (a slow device); each
/// delayed answer waits in its own task so the loop keeps receiving. Never panics on hostile
/// input.
pub async fn serve(
    socket: UdpSocket,
    community: Vec<u8>,
    mib: impl Fn() -> Mib + Send + Sync + 'static,
    delay: Delay,
    cancel: CancellationToken,
) {
    let socket = Arc::new(socket);
    // Dropping the set on return aborts answers still waiting out their delay.
    let mut pending = JoinSet::new();
    // A UDP datagram cannot exceed this, so nothing is ever truncated.
    let mut buffer = vec![0u8; usize::from(u16::MAX)];
    loop {
        let received = tokio::select! {
            () = cancel.cancelled() => break,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (len, peer) = match received {
            Ok(received) => received,
            Err(error) => {
                // E.g. an ICMP unreachable from an earlier reply; the socket itself is fine.
                tracing::debug!(%error, "snmp agent: receive failed");
                tokio::time::sleep(RECEIVE_BACKOFF).await;
                continue;
            }
        };
        while pending.try_join_next().is_some() {}
        let Some(request) = buffer.get(..len).and_then(|d| accept(d, &community)) else {
            tracing::trace!(%peer, len, "snmp agent: dropped datagram");
            continue;
        };
        let Some(reply) = respond(request, &mib()) else {
            continue;
        };
        let delay = delay.sample();
        if delay.is_zero() {
            send(&socket, &reply, peer).await;
        } else if pending.len() < MAX_PENDING {
            let socket = Arc::clone(&socket);
            pending.spawn(async move {
                tokio::time::sleep(delay).await;
                send(&socket, &reply, peer).await;
            });
        }
    }
}

async fn send(socket: &UdpSocket, reply: &[u8], peer: SocketAddr) {
    if let Err(error) = socket.send_to(reply, peer).await {
        tracing::debug!(%error, %peer, "snmp agent: send failed");
    }
}

/// Decodes a datagram and keeps it only if it is v1 or v2c for our community.
fn accept(datagram: &[u8], community: &[u8]) -> Option<Request> {
    // v1 and v2c share the message layout, and the v1 request PDUs are the v2 ones with the
    // same tags, so one decoder serves both; v1's Trap (tag 4) simply fails to decode.
    let message: Message<Pdus> = rasn::ber::decode(datagram).ok()?;
    let version = if message.version == Integer::from(0) {
        Version::V1
    } else if message.version == Integer::from(1) {
        Version::V2c
    } else {
        return None;
    };
    if message.community.as_ref() != community {
        return None;
    }
    Some(Request {
        version,
        community: message.community,
        pdus: message.data,
    })
}

/// Builds and encodes the reply to an accepted request, or `None` if it gets none.
fn respond(request: Request, mib: &Mib) -> Option<Vec<u8>> {
    let Request {
        version,
        community,
        pdus,
    } = request;
    let (pdu, asked) = match (version, pdus) {
        (_, Pdus::GetRequest(GetRequest(pdu))) => (get(version, &pdu, mib), pdu.variable_bindings),
        (_, Pdus::GetNextRequest(GetNextRequest(pdu))) => {
            (get_next(version, &pdu, mib), pdu.variable_bindings)
        }
        (Version::V2c, Pdus::GetBulkRequest(GetBulkRequest(bulk))) => {
            let empty = ok_reply(bulk.request_id, Vec::new());
            let overhead = encoded_len(&reply_message(version, &community, empty));
            (get_bulk(&bulk, mib, overhead), bulk.variable_bindings)
        }
        (_, Pdus::SetRequest(SetRequest(pdu))) => (refuse_set(version, pdu), Vec::new()),
        // v1 has no GETBULK; responses, traps, informs and reports are not ours to answer.
        _ => return None,
    };
    let request_id = pdu.request_id;
    let reply = encode(version, &community, pdu)?;
    if reply.len() <= MAX_DATAGRAM {
        return Some(reply);
    }
    encode(version, &community, too_big(version, request_id, asked))
}

fn encode(version: Version, community: &OctetString, pdu: Pdu) -> Option<Vec<u8>> {
    match rasn::ber::encode(&reply_message(version, community, pdu)) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            tracing::debug!(%error, "snmp agent: cannot encode reply");
            None
        }
    }
}

fn reply_message(version: Version, community: &OctetString, pdu: Pdu) -> Message<Response> {
    Message {
        version: Integer::from(version.number()),
        community: community.clone(),
        data: Response(pdu),
    }
}

fn ok_reply(request_id: i32, variable_bindings: Vec<VarBind>) -> Pdu {
    Pdu {
        request_id,
        error_status: Pdu::ERROR_STATUS_NO_ERROR,
        error_index: 0,
        variable_bindings,
    }
}

/// An error reply. RFC 1157 and RFC 3416 both echo the request's varbinds unchanged.
fn error_reply(request_id: i32, status: u32, index: usize, asked: Vec<VarBind>) -> Pdu {
    Pdu {
        request_id,
        error_status: status,
        // A request cannot hold 2^32 varbinds in a 64 KiB datagram; saturate all the same.
        error_index: u32::try_from(index).unwrap_or(u32::MAX),
        variable_bindings: asked,
    }
}

/// RFC 3416 §4.2.1: v2c tooBig carries no varbinds; v1 echoes them (RFC 1157 §4.1.2).
fn too_big(version: Version, request_id: i32, asked: Vec<VarBind>) -> Pdu {
    let asked = match version {
        Version::V1 => asked,
        Version::V2c => Vec::new(),
    };
    error_reply(request_id, TOO_BIG, 0, asked)
}

fn refuse_set(version: Version, pdu: Pdu) -> Pdu {
    let index = usize::from(!pdu.variable_bindings.is_empty());
    error_reply(
        pdu.request_id,
        version.read_only_status(),
        index,
        pdu.variable_bindings,
    )
}

fn get(version: Version, pdu: &Pdu, mib: &Mib) -> Pdu {
    let found = pdu.variable_bindings.iter().map(|vb| {
        let value = mib.get(&vb.name[..]).and_then(|v| syntax(v, version));
        (vb.name.clone(), value)
    });
    match version {
        Version::V2c => {
            let bindings = found
                .map(|(name, value)| {
                    let value = value.map_or_else(|| missing(&name, mib), VarBindValue::Value);
                    VarBind { name, value }
                })
                .collect();
            ok_reply(pdu.request_id, bindings)
        }
        Version::V1 => v1_reply(pdu.request_id, found, &pdu.variable_bindings),
    }
}

fn get_next(version: Version, pdu: &Pdu, mib: &Mib) -> Pdu {
    match version {
        Version::V2c => {
            let bindings = pdu
                .variable_bindings
                .iter()
                .map(|vb| next_v2(&vb.name, mib))
                .collect();
            ok_reply(pdu.request_id, bindings)
        }
        Version::V1 => {
            let found = pdu.variable_bindings.iter().map(|vb| {
                next_entry(&vb.name, mib, version)
                    .map_or((vb.name.clone(), None), |(name, value)| (name, Some(value)))
            });
            v1_reply(pdu.request_id, found, &pdu.variable_bindings)
        }
    }
}

/// v1 has no per-varbind exceptions: the first miss fails the whole request with
/// `noSuchName` and its 1-based index.
fn v1_reply(
    request_id: i32,
    found: impl Iterator<Item = (ObjectIdentifier, Option<ObjectSyntax>)>,
    asked: &[VarBind],
) -> Pdu {
    let mut bindings = Vec::with_capacity(asked.len());
    for (index, (name, value)) in found.enumerate() {
        let Some(value) = value else {
            return error_reply(request_id, NO_SUCH_NAME, index + 1, asked.to_vec());
        };
        bindings.push(VarBind {
            name,
            value: VarBindValue::Value(value),
        });
    }
    ok_reply(request_id, bindings)
}

/// RFC 3416 §4.2.3: the first `non_repeaters` varbinds get one GETNEXT each, the rest
/// `max_repetitions` rows of GETNEXTs, each row continuing from the one before. Whole rows are
/// added while the reply stays within [`BULK_BUDGET`], and the walk stops after a row that is
/// endOfMibView throughout, since every later row would repeat it.
fn get_bulk(bulk: &BulkPdu, mib: &Mib, overhead: usize) -> Pdu {
    let asked = &bulk.variable_bindings;
    let split = usize::try_from(bulk.non_repeaters).map_or(asked.len(), |n| n.min(asked.len()));
    let (single, repeated) = asked.split_at(split);
    let mut bindings: Vec<VarBind> = single.iter().map(|vb| next_v2(&vb.name, mib)).collect();
    let mut size = bindings
        .iter()
        .map(encoded_len)
        .fold(overhead + LENGTH_SLACK, usize::saturating_add);
    let mut cursor: Vec<ObjectIdentifier> = repeated.iter().map(|vb| vb.name.clone()).collect();
    let mut rows = 0;
    while rows < bulk.max_repetitions && !cursor.is_empty() {
        let row: Vec<VarBind> = cursor.iter().map(|name| next_v2(name, mib)).collect();
        let row_size = row.iter().map(encoded_len).fold(0, usize::saturating_add);
        // The first row goes in even past the budget, so a walk always progresses; a reply
        // too big for a datagram becomes tooBig later.
        if rows > 0 && size.saturating_add(row_size) > BULK_BUDGET {
            break;
        }
        let ended = row.iter().all(|vb| vb.value == VarBindValue::EndOfMibView);
        cursor = row.iter().map(|vb| vb.name.clone()).collect();
        bindings.extend(row);
        size = size.saturating_add(row_size);
        rows += 1;
        if ended {
            break;
        }
    }
    ok_reply(bulk.request_id, bindings)
}

fn encoded_len<T: rasn::Encode>(value: &T) -> usize {
    // An unencodable part makes the whole reply unencodable; counting it as the whole budget
    // just stops the walk early, and `encode` then drops the reply.
    rasn::ber::encode(value).map_or(BULK_BUDGET, |bytes| bytes.len())
}

/// One v2c GETNEXT step: the next entry, or endOfMibView named after the asked OID.
fn next_v2(name: &ObjectIdentifier, mib: &Mib) -> VarBind {
    match next_entry(name, mib, Version::V2c) {
        Some((name, value)) => VarBind {
            name,
            value: VarBindValue::Value(value),
        },
        None => VarBind {
            name: name.clone(),
            value: VarBindValue::EndOfMibView,
        },
    }
}

/// The first entry strictly after `name` that this version can carry.
fn next_entry(
    name: &[u32],
    mib: &Mib,
    version: Version,
) -> Option<(ObjectIdentifier, ObjectSyntax)> {
    mib.range::<[u32], _>((Bound::Excluded(name), Bound::Unbounded))
        .find_map(|(oid, value)| Some((object_id(oid)?, syntax(value, version)?)))
}

/// v2c's exception for a missing OID, as net-snmp picks it: noSuchInstance when the object
/// (the OID's parent) exists but not this instance, noSuchObject otherwise, including when
/// the OID names a subtree rather than an instance.
fn missing(name: &[u32], mib: &Mib) -> VarBindValue {
    let is_subtree = has_entry_under(name, mib);
    let parent = name.split_last().map_or(name, |(_, parent)| parent);
    if !is_subtree && !parent.is_empty() && has_entry_under(parent, mib) {
        VarBindValue::NoSuchInstance
    } else {
        VarBindValue::NoSuchObject
    }
}

fn has_entry_under(prefix: &[u32], mib: &Mib) -> bool {
    mib.range::<[u32], _>((Bound::Excluded(prefix), Bound::Unbounded))
        .next()
        .is_some_and(|(oid, _)| oid.starts_with(prefix))
}

/// Converts a value for the wire, or `None` if this version cannot carry it.
fn syntax(value: &Value, version: Version) -> Option<ObjectSyntax> {
    let syntax = match value {
        Value::Integer(v) => SimpleSyntax::Integer(Integer::from(*v)).into(),
        Value::OctetString(v) => SimpleSyntax::String(OctetString::from(v.clone())).into(),
        Value::ObjectId(v) => SimpleSyntax::ObjectId(object_id(v)?).into(),
        Value::Gauge32(v) => ApplicationSyntax::Unsigned(Gauge(*v)).into(),
        Value::Counter32(v) => ApplicationSyntax::Counter(Counter(*v)).into(),
        Value::TimeTicks(v) => ApplicationSyntax::Ticks(TimeTicks(*v)).into(),
        Value::Counter64(_) if version == Version::V1 => return None,
        Value::Counter64(v) => ApplicationSyntax::BigCounter(Counter64(*v)).into(),
    };
    Some(syntax)
}

/// An OID that BER can encode. rasn accepts a single arc, which its encoder then rejects, and
/// it computes `40 * first + second` in `u32` without a check, which overflows for `2.x` with
/// x near `u32::MAX`, so both are refused here.
fn object_id(arcs: &[u32]) -> Option<ObjectIdentifier> {
    match arcs {
        [2, second, ..] if *second > u32::MAX - 80 => None,
        [_, _, ..] => ObjectIdentifier::new(arcs.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    // Tests may unwrap: a failure there is a test failure, not a crash on network data.
    #![allow(clippy::unwrap_used)]

    use super::*;

    const COMMUNITY: &[u8] = b"public";
    const ENT: [u32; 7] = [1, 3, 6, 1, 4, 1, 99999];

    fn oid(tail: &[u32]) -> Vec<u32> {
        ENT.iter().chain(tail).copied().collect()
    }

    fn rasn_oid(arcs: &[u32]) -> ObjectIdentifier {
        ObjectIdentifier::new(arcs.to_vec()).unwrap()
    }

    /// Three scalars, a 5-row table with two columns, then one trailing scalar.
    fn sample_mib() -> Mib {
        let mut mib = Mib::new();
        mib.insert(oid(&[1, 0]), Value::Integer(230));
        mib.insert(oid(&[2, 0]), Value::Counter64(12_345_678_901_234));
        mib.insert(oid(&[3, 0]), Value::OctetString(b"PDU-A".to_vec()));
        for row in 1..=5 {
            mib.insert(oid(&[10, 1, 2, row]), Value::Gauge32(60 + row));
            mib.insert(oid(&[10, 1, 3, row]), Value::Counter32(1000 * row));
        }
        mib.insert(oid(&[20, 0]), Value::TimeTicks(4242));
        mib
    }

    fn null_binds(oids: &[Vec<u32>]) -> Vec<VarBind> {
        oids.iter()
            .map(|o| VarBind {
                name: rasn_oid(o),
                value: VarBindValue::Unspecified,
            })
            .collect()
    }

    fn request_pdu(request_id: i32, oids: &[Vec<u32>]) -> Pdu {
        Pdu {
            request_id,
            error_status: 0,
            error_index: 0,
            variable_bindings: null_binds(oids),
        }
    }

    fn encode_request(version: i32, community: &[u8], pdus: Pdus) -> Vec<u8> {
        let message = Message {
            version: Integer::from(version),
            community: OctetString::from(community.to_vec()),
            data: pdus,
        };
        rasn::ber::encode(&message).unwrap()
    }

    fn get_request(version: i32, oids: &[Vec<u32>]) -> Vec<u8> {
        encode_request(
            version,
            COMMUNITY,
            Pdus::GetRequest(GetRequest(request_pdu(77, oids))),
        )
    }

    fn next_request(version: i32, oids: &[Vec<u32>]) -> Vec<u8> {
        encode_request(
            version,
            COMMUNITY,
            Pdus::GetNextRequest(GetNextRequest(request_pdu(78, oids))),
        )
    }

    fn bulk_request(non_repeaters: u32, max_repetitions: u32, oids: &[Vec<u32>]) -> Vec<u8> {
        let bulk = BulkPdu {
            request_id: 79,
            non_repeaters,
            max_repetitions,
            variable_bindings: null_binds(oids),
        };
        encode_request(1, COMMUNITY, Pdus::GetBulkRequest(GetBulkRequest(bulk)))
    }

    /// Decodes a reply, checking it is a Response for our community, and returns its PDU.
    fn reply_pdu(reply: &[u8], version: i32) -> Pdu {
        let message: Message<Pdus> = rasn::ber::decode(reply).unwrap();
        assert_eq!(message.version, Integer::from(version));
        assert_eq!(message.community.as_ref(), COMMUNITY);
        match message.data {
            Pdus::Response(Response(pdu)) => pdu,
            other => panic!("not a response: {other:?}"),
        }
    }

    fn ask(request: &[u8], version: i32) -> Pdu {
        reply_pdu(&answer(request, COMMUNITY, &sample_mib()).unwrap(), version)
    }

    fn names(pdu: &Pdu) -> Vec<Vec<u32>> {
        pdu.variable_bindings
            .iter()
            .map(|vb| vb.name.to_vec())
            .collect()
    }

    fn values(pdu: Pdu) -> Vec<VarBindValue> {
        pdu.variable_bindings
            .into_iter()
            .map(|vb| vb.value)
            .collect()
    }

    fn value(v: impl Into<ObjectSyntax>) -> VarBindValue {
        VarBindValue::Value(v.into())
    }

    #[test]
    fn v2c_get_returns_every_value_type() {
        let mut mib = Mib::new();
        let all = [
            Value::Integer(-5),
            Value::Gauge32(u32::MAX),
            Value::Counter32(7),
            Value::Counter64(u64::MAX),
            Value::TimeTicks(100),
            Value::OctetString(b"PDU-A".to_vec()),
            Value::ObjectId(vec![1, 3, 6, 1, 4, 1, 318]),
        ];
        for (i, v) in (1..).zip(all) {
            mib.insert(oid(&[i, 0]), v);
        }
        let oids: Vec<_> = (1..=7).map(|i| oid(&[i, 0])).collect();
        let pdu = reply_pdu(&answer(&get_request(1, &oids), COMMUNITY, &mib).unwrap(), 1);
        assert_eq!(pdu.request_id, 77);
        assert_eq!(pdu.error_status, 0);
        assert_eq!(names(&pdu), oids);
        assert_eq!(
            values(pdu),
            vec![
                value(Integer::from(-5)),
                value(Gauge(u32::MAX)),
                value(Counter(7)),
                value(Counter64(u64::MAX)),
                value(TimeTicks(100)),
                value(OctetString::from_static(b"PDU-A")),
                value(rasn_oid(&[1, 3, 6, 1, 4, 1, 318])),
            ]
        );
    }

    #[test]
    fn v2c_get_missing_picks_no_such_object_or_instance() {
        // Unknown object, unknown instance of a known object, a subtree, a known instance.
        let oids = [oid(&[9, 0]), oid(&[1, 7]), oid(&[10, 1]), oid(&[1, 0])];
        assert_eq!(
            values(ask(&get_request(1, &oids), 1)),
            vec![
                VarBindValue::NoSuchObject,
                VarBindValue::NoSuchInstance,
                VarBindValue::NoSuchObject,
                value(Integer::from(230)),
            ]
        );
    }

    #[test]
    fn v1_get_missing_is_no_such_name_with_index() {
        let oids = [oid(&[1, 0]), oid(&[9, 0]), oid(&[3, 0])];
        let pdu = ask(&get_request(0, &oids), 0);
        assert_eq!(pdu.error_status, NO_SUCH_NAME);
        assert_eq!(pdu.error_index, 2);
        // RFC 1157: the error reply echoes the request's varbinds.
        assert_eq!(pdu.variable_bindings, null_binds(&oids));
    }

    #[test]
    fn v1_never_carries_counter64() {
        let pdu = ask(&get_request(0, &[oid(&[2, 0])]), 0);
        assert_eq!((pdu.error_status, pdu.error_index), (NO_SUCH_NAME, 1));
        let pdu = ask(&next_request(0, &[oid(&[1, 0])]), 0);
        assert_eq!(pdu.error_status, 0);
        assert_eq!(names(&pdu), vec![oid(&[3, 0])]);
    }

    #[test]
    fn v1_get_found_has_no_error() {
        let pdu = ask(&get_request(0, &[oid(&[1, 0]), oid(&[3, 0])]), 0);
        assert_eq!((pdu.error_status, pdu.error_index), (0, 0));
        assert_eq!(
            pdu.variable_bindings[1].value,
            value(OctetString::from_static(b"PDU-A"))
        );
    }

    #[test]
    fn get_next_is_strictly_greater_and_ends_with_end_of_mib_view() {
        let from = [
            ENT.to_vec(),
            oid(&[1, 0]),
            oid(&[10, 1, 2, 5]),
            oid(&[20, 0]),
        ];
        let pdu = ask(&next_request(1, &from), 1);
        let want = [
            oid(&[1, 0]),
            oid(&[2, 0]),
            oid(&[10, 1, 3, 1]),
            oid(&[20, 0]),
        ];
        assert_eq!(names(&pdu), want);
        assert_eq!(pdu.variable_bindings[3].value, VarBindValue::EndOfMibView);
    }

    #[test]
    fn v1_get_next_past_the_end_is_no_such_name() {
        let pdu = ask(&next_request(0, &[oid(&[1, 0]), oid(&[20, 0])]), 0);
        assert_eq!((pdu.error_status, pdu.error_index), (NO_SUCH_NAME, 2));
    }

    #[test]
    fn bulk_honours_non_repeaters_and_max_repetitions() {
        let pdu = ask(
            &bulk_request(1, 3, &[oid(&[1, 0]), oid(&[10, 1, 2]), oid(&[10, 1, 3])]),
            1,
        );
        assert_eq!(pdu.request_id, 79);
        assert_eq!(
            names(&pdu),
            vec![
                oid(&[2, 0]),
                oid(&[10, 1, 2, 1]),
                oid(&[10, 1, 3, 1]),
                oid(&[10, 1, 2, 2]),
                oid(&[10, 1, 3, 2]),
                oid(&[10, 1, 2, 3]),
                oid(&[10, 1, 3, 3]),
            ]
        );
    }

    #[test]
    fn bulk_stops_after_a_row_at_end_of_mib_view() {
        let pdu = ask(&bulk_request(0, 50, &[oid(&[10, 1, 3, 4])]), 1);
        assert_eq!(
            names(&pdu),
            vec![oid(&[10, 1, 3, 5]), oid(&[20, 0]), oid(&[20, 0])]
        );
        assert_eq!(pdu.variable_bindings[2].value, VarBindValue::EndOfMibView);
    }

    #[test]
    fn bulk_reply_stays_within_budget_and_in_order() {
        let mib: Mib = (0..5000)
            .map(|i| (oid(&[30, 1, i]), Value::Counter32(i)))
            .collect();
        let request = bulk_request(0, u32::MAX, &[oid(&[30])]);
        let reply = answer(&request, COMMUNITY, &mib).unwrap();
        assert!(reply.len() <= BULK_BUDGET, "reply is {} bytes", reply.len());
        let got = names(&reply_pdu(&reply, 1));
        assert!(got.len() > 50, "only {} rows", got.len());
        let want: Vec<_> = (0..).map(|i| oid(&[30, 1, i])).take(got.len()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bulk_with_more_non_repeaters_than_varbinds_is_all_get_next() {
        let pdu = ask(&bulk_request(u32::MAX, 10, &[oid(&[1, 0])]), 1);
        assert_eq!(names(&pdu), vec![oid(&[2, 0])]);
    }

    #[test]
    fn set_is_refused_per_version() {
        let mut set = request_pdu(5, &[oid(&[1, 0])]);
        set.variable_bindings[0].value = value(Integer::from(1));
        let v2c = encode_request(1, COMMUNITY, Pdus::SetRequest(SetRequest(set.clone())));
        let pdu = ask(&v2c, 1);
        assert_eq!((pdu.error_status, pdu.error_index), (6, 1));
        assert_eq!(pdu.variable_bindings, set.variable_bindings);
        let v1 = encode_request(0, COMMUNITY, Pdus::SetRequest(SetRequest(set)));
        let pdu = ask(&v1, 0);
        assert_eq!((pdu.error_status, pdu.error_index), (4, 1));
    }

    #[test]
    fn drops_what_is_not_a_request_for_us() {
        let mib = sample_mib();
        let get = request_pdu(1, &[oid(&[1, 0])]);
        let v1_bulk = BulkPdu {
            request_id: 1,
            non_repeaters: 0,
            max_repetitions: 5,
            variable_bindings: get.variable_bindings.clone(),
        };
        let dropped = [
            encode_request(1, b"private", Pdus::GetRequest(GetRequest(get.clone()))),
            encode_request(3, COMMUNITY, Pdus::GetRequest(GetRequest(get.clone()))),
            encode_request(2, COMMUNITY, Pdus::GetRequest(GetRequest(get.clone()))),
            encode_request(1, COMMUNITY, Pdus::Response(Response(get.clone()))),
            encode_request(0, COMMUNITY, Pdus::GetBulkRequest(GetBulkRequest(v1_bulk))),
            Vec::new(),
            b"hello world".to_vec(),
        ];
        for datagram in dropped {
            assert_eq!(answer(&datagram, COMMUNITY, &mib), None, "{datagram:02x?}");
        }
    }

    #[test]
    fn request_id_is_echoed_even_negative() {
        let request = encode_request(
            1,
            COMMUNITY,
            Pdus::GetRequest(GetRequest(request_pdu(i32::MIN, &[oid(&[1, 0])]))),
        );
        assert_eq!(ask(&request, 1).request_id, i32::MIN);
    }

    #[test]
    fn oversized_reply_becomes_too_big() {
        let mut mib = Mib::new();
        mib.insert(oid(&[1, 0]), Value::OctetString(vec![b'x'; 40_000]));
        let oids = [oid(&[1, 0]), oid(&[1, 0])];
        let pdu = reply_pdu(&answer(&get_request(1, &oids), COMMUNITY, &mib).unwrap(), 1);
        assert_eq!(
            (pdu.error_status, pdu.variable_bindings.len()),
            (TOO_BIG, 0)
        );
        let pdu = reply_pdu(&answer(&get_request(0, &oids), COMMUNITY, &mib).unwrap(), 0);
        assert_eq!(
            (pdu.error_status, pdu.variable_bindings.len()),
            (TOO_BIG, 2)
        );
    }

    #[test]
    fn unencodable_mib_entries_are_absent() {
        let mut mib = Mib::new();
        mib.insert(vec![1], Value::Integer(1));
        mib.insert(vec![1, 3, 6, 1], Value::ObjectId(vec![7, 1]));
        mib.insert(vec![2, u32::MAX], Value::Integer(2));
        mib.insert(vec![9, 9], Value::Integer(3));
        let request = next_request(1, &[vec![0, 0]]);
        let pdu = reply_pdu(&answer(&request, COMMUNITY, &mib).unwrap(), 1);
        assert_eq!(pdu.variable_bindings[0].value, VarBindValue::EndOfMibView);
        let pdu = reply_pdu(
            &answer(&get_request(1, &[vec![1, 3, 6, 1]]), COMMUNITY, &mib).unwrap(),
            1,
        );
        // 1.3.6.1 exists, with a value no version can carry, so it is an absent instance.
        assert_eq!(pdu.variable_bindings[0].value, VarBindValue::NoSuchInstance);
    }

    /// xorshift64*: deterministic, so a failing input can be reproduced from its iteration.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n.max(1) as u64).unwrap()
        }

        fn byte(&mut self) -> u8 {
            self.next().to_le_bytes()[0]
        }
    }

    fn valid_requests() -> Vec<Vec<u8>> {
        let table = [oid(&[1, 0]), oid(&[10, 1, 2]), oid(&[2, 0])];
        let mut set = request_pdu(3, &[oid(&[3, 0])]);
        set.variable_bindings[0].value = value(OctetString::from_static(b"x"));
        vec![
            get_request(1, &table),
            get_request(0, &table),
            next_request(1, &table),
            next_request(0, &table),
            bulk_request(1, 20, &table),
            encode_request(1, COMMUNITY, Pdus::SetRequest(SetRequest(set))),
        ]
    }

    #[test]
    fn garbage_never_panics() {
        let mib = sample_mib();
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        for _ in 0..300 {
            let len = noise.below(200);
            let buffer: Vec<u8> = (0..len).map(|_| noise.byte()).collect();
            let _ = answer(&buffer, COMMUNITY, &mib);
        }
        for request in valid_requests() {
            for cut in 0..request.len() {
                let _ = answer(&request[..cut], COMMUNITY, &mib);
            }
            // Flipped bytes reach deeper than random buffers: the outer framing still parses.
            for _ in 0..300 {
                let mut mutated = request.clone();
                for _ in 0..=noise.below(3) {
                    let at = noise.below(mutated.len());
                    mutated[at] = noise.byte();
                }
                if let Some(reply) = answer(&mutated, COMMUNITY, &mib) {
                    let _: Message<Pdus> = rasn::ber::decode(&reply).unwrap();
                }
            }
        }
    }

    #[test]
    fn hostile_shapes_never_panic() {
        let mib = sample_mib();
        // Indefinite lengths nested deeper than any stack would survive if parsed recursively.
        let mut deep = [0x30, 0x80].repeat(50_000);
        deep.extend([0x00; 4]);
        let mut deep_in_message = get_request(1, &[oid(&[1, 0])]);
        deep_in_message.truncate(2);
        deep_in_message[1] = 0x80;
        deep_in_message.extend(&deep);
        let hostile = [
            deep,
            deep_in_message,
            vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01],
            vec![
                0x30, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            vec![
                0x30, 0x0b, 0x02, 0x09, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ];
        for datagram in hostile {
            assert_eq!(answer(&datagram, COMMUNITY, &mib), None);
        }
        // A full-size datagram of varbinds is answered (all missing) without trouble.
        let many: Vec<_> = (0..3000).map(|i| oid(&[1, 0, i])).collect();
        let request = get_request(1, &many);
        assert!(request.len() > 50_000 && request.len() <= MAX_DATAGRAM);
        let pdu = ask(&request, 1);
        assert_eq!(pdu.variable_bindings.len(), 3000);
    }

    /// Tests that drive `serve` with net-snmp's command-line tools as an independent client.
    mod net_snmp {
        use std::process::Command;
        use std::time::Instant;

        use super::*;

        struct Agent {
            address: SocketAddr,
            cancel: CancellationToken,
            task: tokio::task::JoinHandle<()>,
        }

        impl Agent {
            async fn start(delay: Duration) -> Agent {
                let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let address = socket.local_addr().unwrap();
                let cancel = CancellationToken::new();
                let task = tokio::spawn(serve(
                    socket,
                    COMMUNITY.to_vec(),
                    served_mib,
                    delay.into(),
                    cancel.clone(),
                ));
                Agent {
                    address,
                    cancel,
                    task,
                }
            }

            async fn stop(self) {
                self.cancel.cancel();
                tokio::time::timeout(Duration::from_secs(5), self.task)
                    .await
                    .unwrap()
                    .unwrap();
            }

            /// Runs a net-snmp tool against the agent. Only stdout is compared exactly: net-snmp
            /// may add notes on stderr, such as creating its persistent directory on first use.
            async fn run(&self, tool: &str, options: &[&str], oids: &[&str]) -> Output {
                let path = format!("/usr/bin/{tool}");
                assert!(
                    std::path::Path::new(&path).exists(),
                    "{path} is missing (package snmp): run scripts/test"
                );
                let mut command = Command::new(path);
                // Numeric OIDs, no MIB files and no user config, so output is the same anywhere.
                command
                    .args(["-On", "-m", "", "-t", "1", "-r", "0"])
                    .args(options)
                    .arg(self.address.to_string())
                    .args(oids)
                    .env("SNMPCONFPATH", "/nonexistent")
                    .env_remove("MIBS");
                let output = tokio::task::spawn_blocking(move || command.output())
                    .await
                    .unwrap()
                    .unwrap();
                Output {
                    ok: output.status.success(),
                    stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                }
            }
        }

        #[derive(Debug)]
        struct Output {
            ok: bool,
            stdout: String,
            stderr: String,
        }

        /// Rows in the long column, enough that a walk needs several capped GETBULKs.
        const LONG_ROWS: u32 = 200;

        /// The sample MIB plus a long column under `.15`, between the table and the last scalar.
        fn served_mib() -> Mib {
            let mut mib = sample_mib();
            for row in 1..=LONG_ROWS {
                mib.insert(oid(&[15, 1, 2, row]), Value::Gauge32(row * 2));
            }
            mib
        }

        fn long_column_lines() -> String {
            (1..=LONG_ROWS)
                .map(|row| format!("{} = Gauge32: {}\n", dotted(&[15, 1, 2, row]), row * 2))
                .collect()
        }

        const V1: &[&str] = &["-v1", "-c", "public"];
        const V2C: &[&str] = &["-v2c", "-c", "public"];

        fn dotted(tail: &[u32]) -> String {
            oid(tail).iter().map(|a| format!(".{a}")).collect()
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn snmpget_v2c_prints_values_and_no_such_object() {
            let agent = Agent::start(Duration::ZERO).await;
            let oids = [[1, 0], [2, 0], [3, 0], [9, 0]].map(|t| dotted(&t));
            let oids: Vec<&str> = oids.iter().map(String::as_str).collect();
            let out = agent.run("snmpget", V2C, &oids).await;
            assert!(out.ok, "{out:?}");
            let want = format!(
                "{} = INTEGER: 230\n{} = Counter64: 12345678901234\n{} = STRING: \"PDU-A\"\n\
                 {} = No Such Object available on this agent at this OID\n",
                oids[0], oids[1], oids[2], oids[3]
            );
            assert_eq!(out.stdout, want);
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn snmpget_v1_reads_gauge_and_refuses_counter64() {
            let agent = Agent::start(Duration::ZERO).await;
            let gauge = dotted(&[10, 1, 2, 3]);
            let out = agent.run("snmpget", V1, &[&gauge]).await;
            assert!(out.ok, "{out:?}");
            assert_eq!(out.stdout, format!("{gauge} = Gauge32: 63\n"));
            let counter64 = dotted(&[2, 0]);
            let out = agent.run("snmpget", V1, &[&gauge, &counter64]).await;
            let want = format!(
                "Error in packet\nReason: (noSuchName) There is no such variable name in this MIB.\n\
                 Failed object: {counter64}\n"
            );
            assert!(out.stderr.contains(&want), "{out:?}");
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn snmpgetnext_v1_and_v2c() {
            let agent = Agent::start(Duration::ZERO).await;
            let from = dotted(&[10, 1, 2, 5]);
            for version in [V1, V2C] {
                let out = agent.run("snmpgetnext", version, &[&from]).await;
                assert!(out.ok, "{out:?}");
                let want = format!("{} = Counter32: 1000\n", dotted(&[10, 1, 3, 1]));
                assert_eq!(out.stdout, want);
            }
            let last = dotted(&[20, 0]);
            let out = agent.run("snmpgetnext", V2C, &[&last]).await;
            let want = format!(
                "{last} = No more variables left in this MIB View \
                 (It is past the end of the MIB tree)\n"
            );
            assert_eq!(out.stdout, want);
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn snmpbulkwalk_returns_the_table_column_in_order() {
            let agent = Agent::start(Duration::ZERO).await;
            let column = dotted(&[10, 1, 2]);
            let options = ["-v2c", "-c", "public", "-Cr2"];
            let out = agent.run("snmpbulkwalk", &options, &[&column]).await;
            assert!(out.ok, "{out:?}");
            let want: String = (1..=5)
                .map(|row| format!("{} = Gauge32: {}\n", dotted(&[10, 1, 2, row]), 60 + row))
                .collect();
            assert_eq!(out.stdout, want);
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn walks_of_a_long_column_return_every_row_once_in_order() {
            let agent = Agent::start(Duration::ZERO).await;
            let column = dotted(&[15, 1, 2]);
            // -Cr100 asks for more than fits in BULK_BUDGET, so replies are capped.
            let bulk = ["-v2c", "-c", "public", "-Cr100"];
            for (tool, options) in [("snmpbulkwalk", &bulk[..]), ("snmpwalk", V1)] {
                let out = agent.run(tool, options, &[&column]).await;
                assert!(out.ok, "{tool}: {out:?}");
                assert_eq!(out.stdout, long_column_lines(), "{tool}");
            }
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn snmpset_is_refused() {
            let agent = Agent::start(Duration::ZERO).await;
            let target = dotted(&[1, 0]);
            let set = [target.as_str(), "i", "5"];
            let out = agent.run("snmpset", V2C, &set).await;
            let want = format!("Error in packet.\nReason: noAccess\nFailed object: {target}\n");
            assert!(!out.ok && out.stderr.contains(&want), "{out:?}");
            let out = agent.run("snmpset", V1, &set).await;
            assert!(
                !out.ok && out.stderr.contains("Reason: (readOnly)"),
                "{out:?}"
            );
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn wrong_community_times_out() {
            let agent = Agent::start(Duration::ZERO).await;
            let options = ["-v2c", "-c", "private"];
            let out = agent.run("snmpget", &options, &[&dotted(&[1, 0])]).await;
            let want = format!("Timeout: No Response from {}", agent.address);
            assert!(!out.ok && out.stderr.contains(&want), "{out:?}");
            assert_eq!(out.stdout, "");
            agent.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn delayed_answers_do_not_queue_behind_each_other() {
            let delay = Duration::from_millis(600);
            let agent = Agent::start(delay).await;
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let started = Instant::now();
            for _ in 0..3 {
                let request = get_request(1, &[oid(&[1, 0])]);
                client.send_to(&request, agent.address).await.unwrap();
            }
            let mut buffer = [0u8; 1500];
            for _ in 0..3 {
                let (len, _) =
                    tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buffer))
                        .await
                        .unwrap()
                        .unwrap();
                assert_eq!(reply_pdu(&buffer[..len], 1).request_id, 77);
            }
            let elapsed = started.elapsed();
            // Serial answers would take three delays.
            assert!(elapsed >= delay && elapsed < delay * 2, "{elapsed:?}");
            agent.stop().await;
        }
    }
}
