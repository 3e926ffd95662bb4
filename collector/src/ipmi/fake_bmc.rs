//! A small BMC on a UDP socket, for tests only: RMCP+ sessions with cipher suite 3 or 17, a
//! two-record SDR, `Get Sensor Reading` and DCMI `Get Power Reading`. It exists because the one
//! real BMC simulator we can install, OpenIPMI's `ipmi_sim`, has neither SHA-256 (suite 17) nor
//! DCMI. `tests/it/ipmi.rs` first has `ipmitool` (an independent RMCP+ and DCMI implementation)
//! read it, so the suite 17 keys, integrity codes and encryption, and the DCMI layout, are held
//! to what ipmitool accepts, before our client is compared with ipmitool.
//!
//! It answers the BMC's side of the spec with the same primitives as the client ([`Hash`],
//! [`packet::bmc_reply`]); every reply is built from the request as IPMI 2.0 §13 says.

use tokio::net::UdpSocket;

use super::packet::{self, Hash, Payload, Request, SessionKeys};

/// What the fake BMC serves.
#[derive(Debug, Clone)]
pub struct FakeBmc {
    pub user: String,
    pub password: String,
    /// Full sensor records, served by `Get SDR` at record IDs 1, 2, ...
    pub records: Vec<Vec<u8>>,
    /// Raw reading of each sensor number.
    pub readings: Vec<(u8, u8)>,
    /// DCMI current, minimum, maximum and average power (W); `None`: DCMI is refused (c1h).
    pub dcmi_w: Option<[u16; 4]>,
}

struct Setup {
    hash: Hash,
    console: u32,
    rm: [u8; 16],
    rc: [u8; 16],
    role: u8,
    user: Vec<u8>,
}

const BMC_SESSION: u32 = 0x0a0b_0c0d;
const GUID: [u8; 16] = *b"kilowatch-fakebm";

impl FakeBmc {
    /// Serves on `socket` until the task is dropped.
    pub async fn serve(self, socket: UdpSocket) {
        let mut buf = vec![0u8; 2048];
        let mut setup: Option<Setup> = None;
        let mut keys: Option<SessionKeys> = None;
        let mut seq = 0u32;
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let p = buf[..n].to_vec();
            if let Some(reply) = self.answer(&p, &mut setup, &mut keys, &mut seq) {
                let _ = socket.send_to(&reply, from).await;
            }
        }
    }

    fn answer(
        &self,
        p: &[u8],
        setup: &mut Option<Setup>,
        keys: &mut Option<SessionKeys>,
        seq: &mut u32,
    ) -> Option<Vec<u8>> {
        match (p.get(4)?, p.get(5)?) {
            // IPMI 1.5, outside a session: Get Channel Authentication Capabilities.
            (0x00, _) => {
                let m = packet::decode_sessionless_v15(p).ok()?;
                let (netfn, cmd, rq_seq, _) = packet::parse_ipmi_request(m).ok()?;
                let req = Request {
                    netfn,
                    cmd,
                    data: &[],
                    seq: rq_seq,
                };
                // Channel 1; IPMI 2.0 extended data, MD5; per-message auth; IPMI 2.0 supported.
                Some(packet::bmc_reply_v15(
                    &req,
                    0,
                    &[0x01, 0x84, 0x04, 0x02, 0, 0, 0, 0],
                ))
            }
            (0x06, 0x10) => {
                let b = packet::decode_sessionless(p, Payload::OpenSessionRequest).ok()?;
                let hash = match b.get(12)? {
                    0x01 => Hash::Sha1,
                    0x03 => Hash::Sha256,
                    _ => {
                        let mut r = vec![*b.first()?, 0x04, 0, 0];
                        r.extend_from_slice(b.get(4..8)?);
                        return Some(packet::encode_sessionless(Payload::OpenSessionResponse, &r));
                    }
                };
                let console = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
                *setup = Some(Setup {
                    hash,
                    console,
                    rm: [0; 16],
                    rc: [0x5a; 16],
                    role: 0,
                    user: Vec::new(),
                });
                let mut r = vec![b[0], 0, *b.get(1)?, 0];
                r.extend_from_slice(&console.to_le_bytes());
                r.extend_from_slice(&BMC_SESSION.to_le_bytes());
                r.extend_from_slice(b.get(8..32)?);
                Some(packet::encode_sessionless(Payload::OpenSessionResponse, &r))
            }
            (0x06, 0x12) => {
                let b = packet::decode_sessionless(p, Payload::Rakp1).ok()?;
                let s = setup.as_mut()?;
                s.rm.copy_from_slice(b.get(8..24)?);
                s.role = *b.get(24)?;
                let len = usize::from(*b.get(27)?);
                s.user = b.get(28..28 + len)?.to_vec();
                let mut r = vec![b[0], 0, 0, 0];
                r.extend_from_slice(&s.console.to_le_bytes());
                if s.user != self.user.as_bytes() {
                    r[1] = 0x0d; // unauthorized name
                    return Some(packet::encode_sessionless(Payload::Rakp2, &r));
                }
                r.extend_from_slice(&s.rc);
                r.extend_from_slice(&GUID);
                r.extend(s.hash.hmac(
                    self.password.as_bytes(),
                    &[
                        &s.console.to_le_bytes(),
                        &BMC_SESSION.to_le_bytes(),
                        &s.rm,
                        &s.rc,
                        &GUID,
                        &[s.role, s.user.len() as u8],
                        &s.user,
                    ],
                ));
                Some(packet::encode_sessionless(Payload::Rakp2, &r))
            }
            (0x06, 0x14) => {
                let b = packet::decode_sessionless(p, Payload::Rakp3).ok()?;
                let s = setup.as_ref()?;
                let kuid = self.password.as_bytes();
                let ok = s.hash.verify(
                    kuid,
                    &[
                        &s.rc,
                        &s.console.to_le_bytes(),
                        &[s.role, s.user.len() as u8],
                        &s.user,
                    ],
                    b.get(8..8 + s.hash.len())?,
                );
                let mut r = vec![b[0], if ok { 0 } else { 0x0f }, 0, 0];
                r.extend_from_slice(&s.console.to_le_bytes());
                if ok {
                    let sik = s.hash.hmac(
                        kuid,
                        &[&s.rm, &s.rc, &[s.role, s.user.len() as u8], &s.user],
                    );
                    let icv = s
                        .hash
                        .hmac(&sik, &[&s.rm, &BMC_SESSION.to_le_bytes(), &GUID]);
                    r.extend_from_slice(icv.get(..s.hash.icv_len())?);
                    let k2 = s.hash.hmac(&sik, &[&[0x02; 20]]);
                    // The BMC's view: it receives its own session ID and sends the console's.
                    *keys = Some(SessionKeys {
                        hash: s.hash,
                        k1: s.hash.hmac(&sik, &[&[0x01; 20]]),
                        aes: k2.get(..16)?.try_into().ok()?,
                        bmc_session: s.console,
                        console_session: BMC_SESSION,
                    });
                }
                Some(packet::encode_sessionless(Payload::Rakp4, &r))
            }
            (0x06, 0xc0) => {
                let k = keys.as_ref()?;
                let m = packet::decode_in_session(k, p).ok()?;
                let (netfn, cmd, rq_seq, data) = packet::parse_ipmi_request(&m).ok()?;
                let req = Request {
                    netfn,
                    cmd,
                    data,
                    seq: rq_seq,
                };
                let (cc, out) = self.command(netfn, cmd, data);
                *seq += 1;
                // Replies go out with the console's session ID: swap the view for sealing.
                let send = SessionKeys {
                    console_session: k.bmc_session,
                    bmc_session: k.console_session,
                    ..k.clone()
                };
                let reply = packet::bmc_reply(&send, *seq, &req, cc, &out, [0x33; 16]);
                if (netfn, cmd) == (0x06, 0x3c) {
                    *keys = None;
                }
                Some(reply)
            }
            _ => None,
        }
    }

    /// (completion code, data) of one command.
    fn command(&self, netfn: u8, cmd: u8, data: &[u8]) -> (u8, Vec<u8>) {
        match (netfn, cmd) {
            // Get Device ID: device 20h, IPMI 2.0, an SDR repository device.
            (0x06, 0x01) => (0, vec![0x20, 0x01, 0x02, 0x03, 0x02, 0x02, 0, 0, 0, 0, 0]),
            (0x06, 0x3b) => (0, vec![data.first().copied().unwrap_or(2)]),
            (0x06, 0x3c) => (0, vec![]),
            // Get SDR Repository Info: version 51h, record count, free space, timestamps.
            (0x0a, 0x20) => {
                let mut d = vec![0x51];
                d.extend_from_slice(&(self.records.len() as u16).to_le_bytes());
                d.extend_from_slice(&[0, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0x02]);
                (0, d)
            }
            (0x0a, 0x22) => (0, vec![0x01, 0x00]),
            (0x0a, 0x23) => {
                let id = u16::from_le_bytes([
                    data.get(2).copied().unwrap_or(0),
                    data.get(3).copied().unwrap_or(0),
                ]);
                let index = usize::from(id.max(1)) - 1;
                let Some(rec) = self.records.get(index) else {
                    return (0xcb, vec![]);
                };
                let offset = usize::from(data.get(4).copied().unwrap_or(0));
                let n = usize::from(data.get(5).copied().unwrap_or(0xff));
                let end = (offset + n).min(rec.len());
                let next: u16 = if index + 1 < self.records.len() {
                    index as u16 + 2
                } else {
                    0xffff
                };
                let mut d = next.to_le_bytes().to_vec();
                d.extend_from_slice(rec.get(offset..end).unwrap_or_default());
                (0, d)
            }
            (0x04, 0x2d) => match self.readings.iter().find(|(n, _)| Some(n) == data.first()) {
                Some((_, raw)) => (0, vec![*raw, 0xc0, 0x00]),
                None => (0xcb, vec![]),
            },
            (0x2c, 0x02) => match self.dcmi_w {
                Some([cur, min, max, avg]) => {
                    let mut d = vec![0xdc];
                    for w in [cur, min, max, avg] {
                        d.extend_from_slice(&w.to_le_bytes());
                    }
                    d.extend_from_slice(&0x5f00_0000u32.to_le_bytes());
                    d.extend_from_slice(&1000u32.to_le_bytes());
                    d.push(0x40);
                    (0, d)
                }
                None => (0xc1, vec![]),
            },
            _ => (0xc1, vec![]),
        }
    }
}
