//! The receive loop: one UDP socket, one receive buffer, decode, map, `try_send`.
//!
//! Invariants: memory is bounded by the channel's capacity (the configured queue) plus one
//! 64 KiB receive buffer and the v3 key cache; a full queue drops the newest event and counts
//! it, it never blocks the socket; every datagram is counted exactly once as decoded, rejected
//! (credentials) or malformed; an inform is acknowledged only once its event is queued, so one
//! dropped for a full queue is sent again by its sender.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kilowatch_core::clock::Clock;
use kilowatch_core::event::TrapEvent;
use kilowatch_core::secret::Secret;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{Sender, error::TrySendError};
use tokio_util::sync::CancellationToken;

use super::decode::{Credentials, TrapError, V3User, decode};
use super::map::TrapMap;

/// What the kernel is asked to buffer for the socket, so a burst is not lost before the loop
/// reads it (Linux caps it at net.core.rmem_max unless the process may raise it).
pub const RECV_BUFFER_BYTES: usize = 4 << 20;
/// The largest UDP payload.
const DATAGRAM_BYTES: usize = 65_535;

/// Who may send notifications.
#[derive(Debug, Clone, Default)]
pub struct TrapSettings {
    /// Accepted v1 and v2c communities.
    pub communities: Vec<Secret>,
    /// Accepted v3 users.
    pub users: Vec<V3User>,
}

/// Counters, readable while the listener runs.
#[derive(Debug, Default)]
pub struct TrapStats {
    /// Datagrams read from the socket.
    pub received: AtomicU64,
    /// Notifications decoded (and so mapped and offered to the queue).
    pub decoded: AtomicU64,
    /// Unknown community, unknown user, failed authentication or decryption.
    pub rejected_auth: AtomicU64,
    /// Not SNMP, truncated or otherwise undecodable, or not a notification.
    pub malformed: AtomicU64,
    /// Decoded but the queue was full.
    pub dropped: AtomicU64,
    /// Informs answered with a Response.
    pub informs_acked: AtomicU64,
    /// The receive buffer the kernel granted, in bytes (0 if it could not be read).
    pub recv_buffer_bytes: AtomicU64,
}

impl TrapStats {
    pub fn snapshot(&self) -> [u64; 6] {
        [
            self.received.load(Ordering::Relaxed),
            self.decoded.load(Ordering::Relaxed),
            self.rejected_auth.load(Ordering::Relaxed),
            self.malformed.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.informs_acked.load(Ordering::Relaxed),
        ]
    }
}

/// Receives until `cancel`; events go to `tx`, whose capacity is the queue.
pub async fn listen(
    socket: UdpSocket,
    settings: TrapSettings,
    map: Arc<TrapMap>,
    tx: Sender<TrapEvent>,
    stats: Arc<TrapStats>,
    cancel: CancellationToken,
) {
    let sock = socket2::SockRef::from(&socket);
    if let Err(e) = sock.set_recv_buffer_size(RECV_BUFFER_BYTES) {
        tracing::warn!(error = %e, "trap listener: cannot enlarge the receive buffer");
    }
    let granted = sock.recv_buffer_size().unwrap_or(0);
    stats
        .recv_buffer_bytes
        .store(granted as u64, Ordering::Relaxed);
    let local = socket.local_addr().ok();
    tracing::info!(address = ?local, recv_buffer_bytes = granted, "trap listener started");

    let mut creds = Credentials::new(settings.communities, settings.users);
    let clock = Clock::System;
    let mut buf = vec![0u8; DATAGRAM_BYTES];
    loop {
        let (n, from) = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors from an earlier send surface here on some systems; keep going.
                    tracing::debug!(error = %e, "trap listener: receive failed");
                    continue;
                }
            },
        };
        stats.received.fetch_add(1, Ordering::Relaxed);
        let Some(bytes) = buf.get(..n) else { continue };
        let event = handle(bytes, from, &mut creds, &map, &stats, clock.now_ms());
        let Some((event, response)) = event else {
            continue;
        };
        match tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // Not acknowledged: an inform's sender retries, which is what informs are for.
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(TrySendError::Closed(_)) => break,
        }
        if let Some(response) = response {
            match socket.send_to(&response, from).await {
                Ok(_) => {
                    stats.informs_acked.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::debug!(error = %e, peer = %from, "trap listener: inform ack failed")
                }
            }
        }
    }
    tracing::info!(address = ?local, "trap listener stopped");
}

/// One datagram to an event and, for an inform, the Response to send; counts what it did.
fn handle(
    bytes: &[u8],
    from: SocketAddr,
    creds: &mut Credentials,
    map: &TrapMap,
    stats: &TrapStats,
    now_ms: i64,
) -> Option<(TrapEvent, Option<Vec<u8>>)> {
    match decode(bytes, creds) {
        Ok(d) => {
            stats.decoded.fetch_add(1, Ordering::Relaxed);
            let meaning = map.meaning(&d);
            let source = d.agent_addr.map_or(from.ip(), IpAddr::V4);
            let event = TrapEvent {
                at: now_ms,
                source,
                version: d.version.name(),
                inform: d.inform,
                trap_oid: d.trap_oid,
                name: meaning.name,
                effect: meaning.effect,
                summary: meaning.summary,
                varbinds: d.varbinds,
            };
            Some((event, d.response))
        }
        Err(e) => {
            if e.is_auth() {
                stats.rejected_auth.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
            }
            log_rejected(&e, from);
            None
        }
    }
}

fn log_rejected(e: &TrapError, from: SocketAddr) {
    // Debug, not warn: anyone can send us datagrams, and a log line each would let them fill
    // the disk; the counters say how many.
    tracing::debug!(peer = %from, error = %e, "trap rejected");
}
