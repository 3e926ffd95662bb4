//! IPMI 2.0 over LAN (RMCP+) driver: a BMC's DCMI power reading and its SDR sensors.
//!
//! Read-only by construction: [`Command`] lists the only commands this driver can send
//! (session setup, SDR repository reads, `Get Sensor Reading`, DCMI `Get Power Reading`,
//! `Close Session`); there is no variant for a chassis, user or configuration command.
//!
//! One session per BMC, kept between polls: opened on the first poll, re-opened once when a
//! request on a kept session times out (the BMC drops idle sessions after its session timeout,
//! and says nothing), and dropped after any other failure. One request is in flight at a time,
//! each with the per-request timeout. The SDR is read once and kept (across sessions) until
//! `Get SDR Repository Info` shows another addition or erase time.
//!
//! Packets are built and checked in [`packet`] and [`rakp`], replies decoded in [`sdr`]: all
//! pure, all total on untrusted bytes (fuzz target `ipmi_packet`).

#[doc(hidden)]
/// Test-only: compiled for the peer tests (`--features peers`), never into the collector.
#[cfg(feature = "fake-bmc")]
pub mod fake_bmc;
mod packet;
mod rakp;
pub mod sdr;

use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::config::{Auth, IpmiPrivilege};
use kilowatch_core::secret::Secret;
use tokio::net::UdpSocket;

pub use packet::PacketError;
use packet::{Payload, Request, Response, SessionKeys};
use rakp::{Handshake, SetupError, Suite};
use sdr::{DcmiPower, SensorFault, SensorRecord};

use crate::decode::Readings;
use crate::plan::IpmiPlan;
use crate::{DriverError, Malformed};

/// Every command this driver sends: netfn, command, and the name errors give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    GetChannelAuthCapabilities,
    SetSessionPrivilegeLevel,
    CloseSession,
    GetSdrRepositoryInfo,
    ReserveSdrRepository,
    GetSdr,
    GetSensorReading,
    DcmiGetPowerReading,
}

impl Command {
    fn code(self) -> (u8, u8) {
        match self {
            Command::GetChannelAuthCapabilities => (0x06, 0x38),
            Command::SetSessionPrivilegeLevel => (0x06, 0x3b),
            Command::CloseSession => (0x06, 0x3c),
            Command::GetSdrRepositoryInfo => (0x0a, 0x20),
            Command::ReserveSdrRepository => (0x0a, 0x22),
            Command::GetSdr => (0x0a, 0x23),
            Command::GetSensorReading => (0x04, 0x2d),
            Command::DcmiGetPowerReading => (0x2c, 0x02),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Command::GetChannelAuthCapabilities => "get channel authentication capabilities",
            Command::SetSessionPrivilegeLevel => "set session privilege level",
            Command::CloseSession => "close session",
            Command::GetSdrRepositoryInfo => "get SDR repository info",
            Command::ReserveSdrRepository => "reserve SDR repository",
            Command::GetSdr => "get SDR",
            Command::GetSensorReading => "get sensor reading",
            Command::DcmiGetPowerReading => "DCMI get power reading",
        }
    }
}

/// What one sensor read this poll.
#[derive(Debug, Clone)]
pub struct SensorReading {
    pub record: Arc<SensorRecord>,
    /// The raw reading byte, converted by decode with the record's linearisation.
    pub raw: Result<u8, SensorFault>,
}

/// The DCMI part of a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcmiOutcome {
    Reading(DcmiPower),
    /// The BMC answered with this completion code (0xc1: it has no DCMI).
    Refused(u8),
}

struct Session {
    socket: UdpSocket,
    keys: SessionKeys,
    /// Our session sequence number (IPMI 2.0 §13.6: starts at 1, never 0).
    seq: u32,
}

struct SdrCache {
    stamp: (u32, u32),
    records: Vec<Arc<SensorRecord>>,
}

/// Most records a repository may hold before we stop walking it (a loop in "next record ID"s).
const MAX_RECORDS: usize = 1024;
/// Bytes asked per `Get SDR`: ipmitool's default, which every BMC serves.
const SDR_CHUNK: u8 = 16;
const RECORD_HEADER: u8 = 5;

pub struct IpmiDriver {
    target: String,
    user: String,
    password: Secret,
    suite: Suite,
    privilege: IpmiPrivilege,
    timeout: Duration,
    session: Option<Session>,
    sdr: Option<SdrCache>,
    /// The BMC answered DCMI with "invalid command": it has none, so it is not asked again.
    no_dcmi: Option<u8>,
    rq_seq: u8,
}

impl std::fmt::Debug for IpmiDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpmiDriver")
            .field("target", &self.target)
            .field("user", &self.user)
            .field("cipher_suite", &self.suite.id)
            .field("session", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

impl IpmiDriver {
    /// `None` unless `auth` is an IPMI auth.
    pub fn new(target: String, auth: &Auth, timeout: Duration) -> Option<IpmiDriver> {
        let Auth::Ipmi {
            user,
            password,
            cipher_suite,
            privilege,
        } = auth
        else {
            return None;
        };
        Some(IpmiDriver {
            target,
            user: user.clone(),
            password: password.clone(),
            suite: Suite::from(*cipher_suite),
            privilege: *privilege,
            timeout,
            session: None,
            sdr: None,
            no_dcmi: None,
            rq_seq: 0,
        })
    }

    pub async fn read(&mut self, plan: &IpmiPlan) -> Result<Readings, DriverError> {
        let kept = self.session.is_some();
        match self.poll(plan).await {
            // The BMC may have dropped a kept session silently: a new one, once.
            Err(DriverError::Timeout(_)) if kept => {
                tracing::debug!(target = %self.target, "ipmi session lost; opening a new one");
                self.poll(plan).await
            }
            r => r,
        }
    }

    async fn poll(&mut self, plan: &IpmiPlan) -> Result<Readings, DriverError> {
        if self.session.is_none() {
            self.open().await?;
        }
        let r = self.poll_session(plan).await;
        if r.is_err() {
            self.session = None;
        }
        r
    }

    async fn poll_session(&mut self, plan: &IpmiPlan) -> Result<Readings, DriverError> {
        let dcmi = match (plan.wants_dcmi(), self.no_dcmi) {
            (false, _) => None,
            (true, Some(code)) => Some(DcmiOutcome::Refused(code)),
            (true, None) => {
                // Mode 1: system power statistics (DCMI 1.5 table 6-15).
                let r = self
                    .command(
                        Command::DcmiGetPowerReading,
                        &[sdr::DCMI_GROUP, 0x01, 0x00, 0x00],
                    )
                    .await?;
                Some(match r.completion {
                    0 => DcmiOutcome::Reading(sdr::dcmi_power(&r.data).map_err(malformed)?),
                    code => {
                        if code == 0xc1 {
                            self.no_dcmi = Some(code);
                        }
                        DcmiOutcome::Refused(code)
                    }
                })
            }
        };
        let mut sensors = Vec::new();
        if plan.wants_sensors() {
            let info = self.ok(Command::GetSdrRepositoryInfo, &[]).await?;
            let stamp = sdr::repository_stamp(&info).map_err(malformed)?;
            if self.sdr.as_ref().is_none_or(|c| c.stamp != stamp) {
                let records = self.read_sdr().await?;
                self.sdr = Some(SdrCache { stamp, records });
            }
            let records: Vec<Arc<SensorRecord>> = self
                .sdr
                .as_ref()
                .map(|c| {
                    c.records
                        .iter()
                        .filter(|r| plan.rule_for(r).is_some())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            for record in records {
                // Sensors behind another controller need bridging, which we do not send.
                let raw = if record.owner != 0x20 || record.lun != 0 {
                    Err(SensorFault::OtherOwner(record.owner))
                } else {
                    let r = self
                        .command(Command::GetSensorReading, &[record.number])
                        .await?;
                    match r.completion {
                        0 => sdr::sensor_reading(&r.data),
                        code => Err(SensorFault::Completion(code)),
                    }
                };
                sensors.push(SensorReading { record, raw });
            }
        }
        Ok(Readings::Ipmi { dcmi, sensors })
    }

    /// Every full sensor record of the repository, under one reservation (taken again if the
    /// BMC cancels it, up to three times).
    async fn read_sdr(&mut self) -> Result<Vec<Arc<SensorRecord>>, DriverError> {
        let mut attempts = 0;
        'restart: loop {
            attempts += 1;
            let res = self.ok(Command::ReserveSdrRepository, &[]).await?;
            let res = [
                *res.first().ok_or_else(|| short("reserve SDR repository"))?,
                *res.get(1).ok_or_else(|| short("reserve SDR repository"))?,
            ];
            let mut records = Vec::new();
            let mut id: u16 = 0;
            for _ in 0..MAX_RECORDS {
                let head = match self.get_sdr(res, id, 0, RECORD_HEADER).await? {
                    Ok(h) => h,
                    Err(0xc5) if attempts < 3 => continue 'restart,
                    Err(code) => {
                        return Err(DriverError::IpmiCompletion {
                            command: Command::GetSdr.name(),
                            code,
                        });
                    }
                };
                let next = u16::from_le_bytes([head[0], head[1]]);
                let (_, kind, len) = sdr::record_header(&head[2..]).map_err(malformed)?;
                if kind == sdr::FULL_SENSOR_RECORD {
                    let mut bytes = head[2..].to_vec();
                    let mut offset = RECORD_HEADER;
                    let end = RECORD_HEADER.saturating_add(len);
                    while offset < end {
                        let n = (end - offset).min(SDR_CHUNK);
                        match self.get_sdr(res, id, offset, n).await? {
                            Ok(part) => bytes.extend_from_slice(&part[2..]),
                            Err(0xc5) if attempts < 3 => continue 'restart,
                            Err(code) => {
                                return Err(DriverError::IpmiCompletion {
                                    command: Command::GetSdr.name(),
                                    code,
                                });
                            }
                        }
                        offset += n;
                    }
                    records.push(Arc::new(sdr::parse_full_record(&bytes).map_err(malformed)?));
                }
                if next == 0xffff || next == id {
                    return Ok(records);
                }
                id = next;
            }
            return Ok(records);
        }
    }

    /// `Get SDR`: the next record ID and `n` bytes at `offset`, or the completion code.
    async fn get_sdr(
        &mut self,
        res: [u8; 2],
        id: u16,
        offset: u8,
        n: u8,
    ) -> Result<Result<Vec<u8>, u8>, DriverError> {
        let [lo, hi] = id.to_le_bytes();
        let r = self
            .command(Command::GetSdr, &[res[0], res[1], lo, hi, offset, n])
            .await?;
        if r.completion != 0 {
            return Ok(Err(r.completion));
        }
        if r.data.len() != 2 + usize::from(n) {
            return Err(Malformed::Ipmi(PacketError::Truncated {
                what: "get SDR reply",
                need: 2 + usize::from(n),
                got: r.data.len(),
            })
            .into());
        }
        Ok(Ok(r.data))
    }

    /// A command that must succeed: its data, or the completion code as a device error.
    async fn ok(&mut self, c: Command, data: &[u8]) -> Result<Vec<u8>, DriverError> {
        let r = self.command(c, data).await?;
        match r.completion {
            0 => Ok(r.data),
            code => Err(DriverError::IpmiCompletion {
                command: c.name(),
                code,
            }),
        }
    }

    /// One request in the session, and its reply. Replies to other requests (late ones) are
    /// skipped; a packet that fails its checks is an error.
    async fn command(&mut self, c: Command, data: &[u8]) -> Result<Response, DriverError> {
        self.rq_seq = (self.rq_seq + 1) & 0x3f;
        let (netfn, cmd) = c.code();
        let req = Request {
            netfn,
            cmd,
            data,
            seq: self.rq_seq,
        };
        let iv = random::<16>()?;
        let session = self.session.as_mut().ok_or(Malformed::NoSession)?;
        session.seq = session.seq.wrapping_add(1).max(1);
        let packet = packet::encode_in_session(&session.keys, session.seq, &req, iv);
        let keys = session.keys.clone();
        let timeout = self.timeout;
        let exchange = async {
            session
                .socket
                .send(&packet)
                .await
                .map_err(DriverError::Transport)?;
            let mut buf = vec![0u8; 1024];
            loop {
                let n = session
                    .socket
                    .recv(&mut buf)
                    .await
                    .map_err(DriverError::Transport)?;
                let got = buf.get(..n).unwrap_or_default();
                match packet::decode_in_session(&keys, got)
                    .and_then(|m| packet::parse_ipmi_response(&req, &m))
                {
                    Ok(r) => return Ok(r),
                    Err(PacketError::OtherReply { .. }) => continue,
                    Err(e) => return Err(malformed(e)),
                }
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| DriverError::Timeout(timeout))?
    }

    /// Opens a session: RMCP+ capabilities, Open Session, RAKP 1-4, then the privilege level.
    async fn open(&mut self) -> Result<(), DriverError> {
        self.session = None;
        let timeout = self.timeout;
        let addr = tokio::time::timeout(timeout, tokio::net::lookup_host(self.target.as_str()))
            .await
            .map_err(|_| DriverError::Timeout(timeout))?
            .map_err(DriverError::Transport)?
            .next()
            .ok_or_else(|| Malformed::Unresolvable {
                target: self.target.clone(),
            })?;
        let local = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let socket = UdpSocket::bind(local)
            .await
            .map_err(DriverError::Transport)?;
        socket.connect(addr).await.map_err(DriverError::Transport)?;

        // Get Channel Authentication Capabilities (IPMI 2.0 §22.13), in IPMI 1.5 format: channel
        // Eh (this one) with bit 7 asking for the IPMI 2.0 extended data.
        self.rq_seq = (self.rq_seq + 1) & 0x3f;
        let (netfn, cmd) = Command::GetChannelAuthCapabilities.code();
        let caps_req = Request {
            netfn,
            cmd,
            data: &[0x8e, self.privilege.code()],
            seq: self.rq_seq,
        };
        let reply = exchange(
            &socket,
            timeout,
            &packet::encode_sessionless_v15(&caps_req),
            |p| {
                packet::decode_sessionless_v15(p)
                    .and_then(|m| packet::parse_ipmi_response(&caps_req, m))
            },
        )
        .await?;
        if reply.completion != 0 {
            return Err(DriverError::IpmiCompletion {
                command: Command::GetChannelAuthCapabilities.name(),
                code: reply.completion,
            });
        }
        // Byte 2 bit 7: IPMI 2.0 extended capabilities; byte 4 bit 1: IPMI 2.0 connections.
        let rmcp_plus = matches!(reply.data.as_slice(), [_, auth, _, ext, ..] if auth & 0x80 != 0 && ext & 0x02 != 0);
        if !rmcp_plus {
            return Err(DriverError::IpmiSession {
                step: "get channel authentication capabilities",
                status: crate::error::RmcpStatus(0x03),
            });
        }

        let [tag] = random::<1>()?;
        let console_session = u32::from_le_bytes(random::<4>()?).max(1);
        let mut hs = Handshake::new(
            self.suite,
            tag,
            console_session,
            random::<16>()?,
            self.privilege.code(),
            &self.user,
            self.password.expose(),
        );
        let suite = self.suite.id;
        let setup = |e: SetupError| setup_error(suite, e);
        let open =
            packet::encode_sessionless(Payload::OpenSessionRequest, &hs.open_session_request());
        let payload = exchange(&socket, timeout, &open, |p| {
            packet::decode_sessionless(p, Payload::OpenSessionResponse).map(<[u8]>::to_vec)
        })
        .await?;
        hs.open_session_response(&payload).map_err(setup)?;
        let rakp1 = packet::encode_sessionless(Payload::Rakp1, &hs.rakp1());
        let payload = exchange(&socket, timeout, &rakp1, |p| {
            packet::decode_sessionless(p, Payload::Rakp2).map(<[u8]>::to_vec)
        })
        .await?;
        hs.rakp2(&payload).map_err(setup)?;
        let rakp3 = packet::encode_sessionless(Payload::Rakp3, &hs.rakp3());
        let payload = exchange(&socket, timeout, &rakp3, |p| {
            packet::decode_sessionless(p, Payload::Rakp4).map(<[u8]>::to_vec)
        })
        .await?;
        let keys = hs.rakp4(&payload).map_err(setup)?;
        tracing::debug!(target = %self.target, bmc_session = hs.bmc_session(), suite, "ipmi session open");
        self.session = Some(Session {
            socket,
            keys,
            seq: 0,
        });
        // A session starts at user level (IPMI 2.0 §13.14); ask for more only when configured.
        if self.privilege != IpmiPrivilege::User {
            let level = self.privilege.code();
            if let Err(e) = self.ok(Command::SetSessionPrivilegeLevel, &[level]).await {
                self.session = None;
                return Err(e);
            }
        }
        Ok(())
    }

    /// The BMC's ID of the session kept open, if any.
    pub fn session_id(&self) -> Option<u32> {
        self.session.as_ref().map(|s| s.keys.bmc_session)
    }

    /// Closes the session on the BMC but keeps it here, as a BMC that dropped an idle session
    /// leaves us: for the test that the next poll opens a new one.
    #[doc(hidden)]
    pub async fn drop_session_on_bmc(&mut self) {
        if let Some(bmc) = self.session_id() {
            let _ = self
                .command(Command::CloseSession, &bmc.to_le_bytes())
                .await;
        }
    }

    /// Closes the session, if one is open (best effort: the BMC drops it on its own later).
    pub async fn close(&mut self) {
        let Some(bmc) = self.session.as_ref().map(|s| s.keys.bmc_session) else {
            return;
        };
        let _ = self
            .command(Command::CloseSession, &bmc.to_le_bytes())
            .await;
        self.session = None;
    }
}

/// Sends `packet` and waits for the reply `decode` accepts. Packets it refuses as belonging
/// to another exchange are skipped; any other refusal is the error.
async fn exchange<T>(
    socket: &UdpSocket,
    timeout: Duration,
    packet: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, PacketError>,
) -> Result<T, DriverError> {
    let run = async {
        socket.send(packet).await.map_err(DriverError::Transport)?;
        let mut buf = vec![0u8; 1024];
        loop {
            let n = socket
                .recv(&mut buf)
                .await
                .map_err(DriverError::Transport)?;
            match decode(buf.get(..n).unwrap_or_default()) {
                Ok(v) => return Ok(v),
                Err(PacketError::OtherReply { .. }) => continue,
                Err(e) => return Err(malformed(e)),
            }
        }
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| DriverError::Timeout(timeout))?
}

fn setup_error(suite: u8, e: SetupError) -> DriverError {
    match e {
        SetupError::Packet(p) => malformed(p),
        SetupError::Auth(a) => DriverError::IpmiAuth(a),
        SetupError::Suite(status) => DriverError::IpmiCipherSuite { suite, status },
        SetupError::Status { step, status } => DriverError::IpmiSession { step, status },
    }
}

fn malformed(e: PacketError) -> DriverError {
    DriverError::Protocol(Malformed::Ipmi(e))
}

fn short(what: &'static str) -> DriverError {
    malformed(PacketError::Truncated {
        what,
        need: 2,
        got: 0,
    })
}

/// Random bytes from the operating system: session IDs, RAKP nonces and AES IVs.
fn random<const N: usize>() -> Result<[u8; N], DriverError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| DriverError::Transport(std::io::Error::other(e)))?;
    Ok(b)
}

/// Runs every decoder on `bytes`: the `ipmi_packet` fuzz target. Must never panic.
#[doc(hidden)]
pub fn fuzz_decoders(bytes: &[u8]) {
    use kilowatch_core::config::IpmiCipherSuite;
    let req = Request {
        netfn: 0x0a,
        cmd: 0x23,
        data: &[],
        seq: 1,
    };
    let _ =
        packet::decode_sessionless_v15(bytes).and_then(|m| packet::parse_ipmi_response(&req, m));
    let _ = packet::parse_ipmi_response(&req, bytes);
    for want in [Payload::OpenSessionResponse, Payload::Rakp2, Payload::Rakp4] {
        let _ = packet::decode_sessionless(bytes, want);
    }
    for suite in [IpmiCipherSuite::Sha1Aes, IpmiCipherSuite::Sha256Aes] {
        let mut hs = Handshake::new(
            Suite::from(suite),
            bytes.first().copied().unwrap_or(0),
            1,
            [0; 16],
            2,
            "u",
            "p",
        );
        let _ = hs.open_session_response(bytes);
        let _ = hs.rakp2(bytes);
        let _ = hs.rakp4(bytes);
        let keys = SessionKeys {
            hash: Suite::from(suite).hash,
            k1: vec![0; 20],
            aes: [0; 16],
            bmc_session: 1,
            console_session: u32::from_le_bytes([
                bytes.get(6).copied().unwrap_or(0),
                bytes.get(7).copied().unwrap_or(0),
                bytes.get(8).copied().unwrap_or(0),
                bytes.get(9).copied().unwrap_or(0),
            ]),
        };
        let _ = packet::decode_in_session(&keys, bytes);
    }
    if let Ok(r) = sdr::parse_full_record(bytes) {
        for raw in [0u8, 1, 0x7f, 0x80, 0xff] {
            let _ = r.conversion.convert(raw);
        }
    }
    let _ = sdr::record_header(bytes);
    let _ = sdr::sensor_reading(bytes);
    let _ = sdr::repository_stamp(bytes);
    let _ = sdr::dcmi_power(bytes);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::fuzz_decoders;

    proptest! {
        /// The fuzz target's property in every `cargo test`: random packets, and random packets
        /// behind a valid RMCP+ header (so framing passes and the deeper checks run).
        #[test]
        fn no_decoder_panics_on_any_packet(
            ptype in prop::sample::select(vec![0x00u8, 0x11, 0x13, 0x15, 0xc0]),
            body in prop::collection::vec(any::<u8>(), 0..160),
            framed in any::<bool>(),
        ) {
            let mut packet = Vec::new();
            if framed {
                packet.extend_from_slice(&[0x06, 0x00, 0xff, 0x07, 0x06, ptype, 0, 0, 0, 0, 1, 0, 0, 0]);
                packet.extend_from_slice(&(body.len() as u16).to_le_bytes());
            }
            packet.extend_from_slice(&body);
            fuzz_decoders(&packet);
        }
    }
}
