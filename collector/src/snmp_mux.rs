//! SNMP v1/v2c over one shared UDP socket: thousands of devices cost one socket, one receive
//! buffer and one receive task, not a socket and 128 KiB of buffers each. Replies are matched to
//! requests by request id and source address, so a late reply to a timed-out request is simply
//! dropped instead of being taken for the answer to the next one.
//!
//! Requests are BER-encoded here (GET, GETNEXT and GETBULK only: read-only by construction);
//! replies are decoded by `snmp2`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::{DriverError, Malformed};

/// Request id → the agent asked and who waits for its reply.
type WaitMap = HashMap<i32, (SocketAddr, oneshot::Sender<Vec<u8>>)>;
type Waiters = Arc<Mutex<WaitMap>>;

/// The shared socket and the requests waiting on it. Dropping the last handle stops its
/// receive task.
pub struct SnmpMux {
    socket: Arc<UdpSocket>,
    waiting: Waiters,
    next_id: AtomicI32,
    stop: CancellationToken,
}

impl std::fmt::Debug for SnmpMux {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpMux")
            .field("local", &self.socket.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Drop for SnmpMux {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl SnmpMux {
    /// Binds an ephemeral IPv4 port (IPv6 when `v6`) and starts receiving.
    pub async fn bind(v6: bool) -> std::io::Result<Arc<SnmpMux>> {
        let any: SocketAddr = if v6 {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = Arc::new(UdpSocket::bind(any).await?);
        let waiting: Waiters = Arc::default();
        let stop = CancellationToken::new();
        tokio::spawn(receive(socket.clone(), waiting.clone(), stop.clone()));
        Ok(Arc::new(SnmpMux {
            socket,
            waiting,
            next_id: AtomicI32::new(fastrand::i32(1..i32::MAX / 2)),
            stop,
        }))
    }

    pub(crate) fn is_ipv6(&self) -> bool {
        self.socket.local_addr().is_ok_and(|a| a.is_ipv6())
    }

    /// A request id no other request on this socket is using.
    pub(crate) fn next_id(&self) -> i32 {
        // Kept positive: some agents mishandle negative ids.
        self.next_id.fetch_add(1, Ordering::Relaxed) & 0x3fff_ffff
    }

    /// Sends `message` (carrying `req_id`) to `target` and waits for its reply's bytes.
    pub(crate) async fn exchange(
        &self,
        target: SocketAddr,
        req_id: i32,
        message: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(req_id, (target, tx));
        // Removes the entry however this returns (timeout, error, or cancelled poll).
        let _unregister = Unregister(self, req_id);
        self.socket
            .send_to(message, target)
            .await
            .map_err(DriverError::Transport)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(Malformed::ReceiveStopped.into()),
            Err(_) => Err(DriverError::Timeout(timeout)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WaitMap> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Unregister<'a>(&'a SnmpMux, i32);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

async fn receive(socket: Arc<UdpSocket>, waiting: Waiters, stop: CancellationToken) {
    // A UDP datagram cannot exceed this, so nothing is truncated.
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = tokio::select! {
            () = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                // E.g. ICMP port unreachable from an earlier send: the socket is fine.
                Err(_) => continue,
            },
        };
        let Some(datagram) = buf.get(..n) else {
            continue;
        };
        let mut w = waiting.lock().unwrap_or_else(|p| p.into_inner());
        let waiter = match snmp2::Pdu::from_bytes(datagram) {
            // Only the agent asked may answer: a reply from elsewhere is not it.
            Ok(pdu) => match w.get(&pdu.req_id) {
                Some((addr, _)) if *addr == from => w.remove(&pdu.req_id),
                _ => None,
            },
            // Garbage from an agent we are waiting on is its answer (a malformed one), so
            // the poll fails with that rather than waiting out its timeout. Each device has
            // one request in flight, so the source address finds it.
            Err(_) => {
                let id = w
                    .iter()
                    .find(|(_, (addr, _))| *addr == from)
                    .map(|(id, _)| *id);
                id.and_then(|id| w.remove(&id))
            }
        };
        drop(w);
        if let Some((_, tx)) = waiter {
            let _ = tx.send(datagram.to_vec());
        }
    }
}

/// The read-only requests, BER-encoded.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    Get(&'a [Vec<u32>]),
    GetNext(&'a [u32]),
    GetBulk(&'a [u32], u32),
}

/// Encodes a v1 (`version` 0) or v2c (1) request into `out` (cleared first). Sizes are
/// worked out first so everything is written once, front to back, with no scratch buffers.
pub fn encode(out: &mut Vec<u8>, version: u8, community: &[u8], req_id: i32, op: Op<'_>) {
    out.clear();
    let (tag, oids, b): (u8, &[Vec<u32>], i64) = match op {
        Op::Get(oids) => (0xa0, oids, 0),
        Op::GetNext(oid) | Op::GetBulk(oid, _) => {
            let tag = if matches!(op, Op::GetNext(_)) {
                0xa1
            } else {
                0xa5
            };
            let reps = if let Op::GetBulk(_, r) = op {
                i64::from(r)
            } else {
                0
            };
            return encode_one(out, version, community, req_id, tag, oid, reps);
        }
    };
    let list: usize = oids.iter().map(|o| tlv_size(varbind_size(o))).sum();
    write_message(out, version, community, req_id, tag, b, list, |out| {
        for o in oids {
            write_varbind(out, o);
        }
    });
}

fn encode_one(
    out: &mut Vec<u8>,
    version: u8,
    community: &[u8],
    req_id: i32,
    tag: u8,
    oid: &[u32],
    b: i64,
) {
    let list = tlv_size(varbind_size(oid));
    write_message(out, version, community, req_id, tag, b, list, |out| {
        write_varbind(out, oid)
    });
}

#[allow(clippy::too_many_arguments)] // the fields of one SNMP message
fn write_message(
    out: &mut Vec<u8>,
    version: u8,
    community: &[u8],
    req_id: i32,
    tag: u8,
    b: i64,
    list: usize,
    varbinds: impl FnOnce(&mut Vec<u8>),
) {
    let pdu = int_size(i64::from(req_id)) + int_size(0) + int_size(b) + tlv_size(list);
    let msg = int_size(i64::from(version)) + tlv_size(community.len()) + tlv_size(pdu);
    out.reserve(tlv_size(msg));
    header(out, 0x30, msg);
    integer(out, i64::from(version));
    tlv(out, 0x04, community);
    header(out, tag, pdu);
    integer(out, i64::from(req_id));
    integer(out, 0);
    integer(out, b);
    header(out, 0x30, list);
    varbinds(out);
}

/// SEQUENCE { OID, NULL } content size.
fn varbind_size(oid: &[u32]) -> usize {
    tlv_size(oid_size(oid)) + 2
}

fn write_varbind(out: &mut Vec<u8>, oid: &[u32]) {
    header(out, 0x30, varbind_size(oid));
    header(out, 0x06, oid_size(oid));
    encode_oid(out, oid);
    out.extend_from_slice(&[0x05, 0x00]);
}

fn len_size(n: usize) -> usize {
    if n < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - n.leading_zeros() as usize / 8)
    }
}

fn tlv_size(n: usize) -> usize {
    1 + len_size(n) + n
}

fn int_size(v: i64) -> usize {
    2 + 8 - int_bytes(v).1
}

fn oid_size(oid: &[u32]) -> usize {
    let arc = |n: u64| (64 - n.max(1).leading_zeros() as usize).div_ceil(7);
    match oid {
        [a, b, rest @ ..] => {
            arc(u64::from(*a) * 40 + u64::from(*b))
                + rest.iter().map(|n| arc(u64::from(*n))).sum::<usize>()
        }
        [a] => arc(u64::from(*a) * 40),
        [] => 1,
    }
}

fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    header(out, tag, value.len());
    out.extend_from_slice(value);
}

fn integer(out: &mut Vec<u8>, v: i64) {
    let (bytes, start) = int_bytes(v);
    tlv(out, 0x02, &bytes[start..]);
}

/// Shortest two's-complement form: the bytes from `start`, leading bytes that only repeat the
/// sign dropped.
fn int_bytes(v: i64) -> ([u8; 8], usize) {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    (bytes, start)
}

fn encode_oid(out: &mut Vec<u8>, oid: &[u32]) {
    let (first, rest) = match oid {
        [a, b, rest @ ..] => (u64::from(*a) * 40 + u64::from(*b), rest),
        [a] => (u64::from(*a) * 40, &[][..]),
        [] => (0, &[][..]),
    };
    base128(out, first);
    for n in rest {
        base128(out, u64::from(*n));
    }
}

fn base128(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (n & 0x7f) as u8 | if i == tmp.len() - 1 { 0 } else { 0x80 };
        n >>= 7;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What net-snmp 5.9's `snmpget -v2c -c public HOST 1.3.6.1.2.1.1.3.0` sent (request id
    /// 0x3f438d80), captured from a UDP listener, byte for byte.
    #[test]
    fn a_get_encodes_as_net_snmp_does() {
        let mut out = Vec::new();
        encode(
            &mut out,
            1,
            b"public",
            0x3f43_8d80,
            Op::Get(&[vec![1, 3, 6, 1, 2, 1, 1, 3, 0]]),
        );
        let expected: &[u8] = &[
            0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0,
            0x1c, 0x02, 0x04, 0x3f, 0x43, 0x8d, 0x80, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30,
            0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x05,
            0x00,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn integers_and_arcs_take_their_shortest_form() {
        let mut v = Vec::new();
        integer(&mut v, 128);
        assert_eq!(v, [0x02, 0x02, 0x00, 0x80]);
        v.clear();
        integer(&mut v, -129);
        assert_eq!(v, [0x02, 0x02, 0xff, 0x7f]);
        v.clear();
        integer(&mut v, 0x3fff_ffff);
        assert_eq!(v, [0x02, 0x04, 0x3f, 0xff, 0xff, 0xff]);
        v.clear();
        base128(&mut v, 318);
        assert_eq!(v, [0x82, 0x3e]);
        let mut long = Vec::new();
        tlv(&mut long, 0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    /// What we encode, snmp2 (an independent BER implementation) reads back.
    #[test]
    fn snmp2_reads_what_we_encode() {
        let oids = vec![
            vec![1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1, 7, 19],
            vec![1, 3, 6, 1, 2, 1, 1, 3, 0],
        ];
        let mut out = Vec::new();
        encode(&mut out, 1, b"s3cr3t", 0x1234_5678, Op::Get(&oids));
        let pdu = snmp2::Pdu::from_bytes(&out).unwrap();
        assert_eq!((pdu.req_id, pdu.community), (0x1234_5678, &b"s3cr3t"[..]));
        let got: Vec<String> = pdu.varbinds.map(|(o, _)| o.to_id_string()).collect();
        assert_eq!(
            got,
            ["1.3.6.1.4.1.318.1.1.26.9.4.3.1.7.19", "1.3.6.1.2.1.1.3.0"]
        );
    }
}
