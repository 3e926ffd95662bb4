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

mod reads;

use crate::Pace;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rasn::types::{Integer, OctetString};
use rasn_snmp::v2::{
    GetBulkRequest, GetNextRequest, GetRequest, Pdu, Pdus, Response, SetRequest, VarBind,
};
use rasn_snmp::v2c::Message;
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use reads::{encoded_len, get, get_bulk, get_next};

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
pub(crate) async fn serve(
    socket: UdpSocket,
    community: Vec<u8>,
    mib: impl Fn() -> Mib + Send + Sync + 'static,
    pace: impl Into<Pace>,
    cancel: CancellationToken,
) {
    let pace = pace.into();
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
        // A failed device drops everything, as a dead agent would.
        let Some(delay) = pace.sample() else {
            continue;
        };
        let Some(request) = buffer.get(..len).and_then(|d| accept(d, &community)) else {
            tracing::trace!(%peer, len, "snmp agent: dropped datagram");
            continue;
        };
        let Some(reply) = respond(request, &mib()) else {
            continue;
        };
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

#[cfg(test)]
mod tests;
