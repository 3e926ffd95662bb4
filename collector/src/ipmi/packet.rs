//! IPMI over LAN packets (IPMI 2.0 §13): the RMCP header, the IPMI 1.5 session header used
//! before a session exists, the RMCP+ session header with its integrity trailer (HMAC) and
//! AES-CBC-128 confidentiality, and the IPMI message inside with its two checksums.
//!
//! Pure and total: every decoder takes untrusted bytes and returns a [`PacketError`], never
//! panics (the `ipmi_packet` fuzz target holds it to that). Nothing here logs or formats a key.

use aes::Aes128;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, generic_array::GenericArray};
use hmac::{Hmac, Mac};

/// RMCP version 1.0, reserved, sequence 0xff (no RMCP ACK), class IPMI (IPMI 2.0 §13.1.3).
const RMCP_HEADER: [u8; 4] = [0x06, 0x00, 0xff, 0x07];
/// Authentication type byte of an RMCP+ session header.
const AUTH_RMCP_PLUS: u8 = 0x06;
/// Payload type bits (IPMI 2.0 §13.6): encrypted, authenticated.
const ENCRYPTED: u8 = 0x80;
const AUTHENTICATED: u8 = 0x40;
/// Our software ID as requester, and the BMC's slave address.
const RQ_ADDR: u8 = 0x81;
const BMC_ADDR: u8 = 0x20;
const AES_BLOCK: usize = 16;

/// RMCP+ payload types (IPMI 2.0 table 13-16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    Ipmi = 0x00,
    OpenSessionRequest = 0x10,
    OpenSessionResponse = 0x11,
    Rakp1 = 0x12,
    Rakp2 = 0x13,
    Rakp3 = 0x14,
    Rakp4 = 0x15,
}

/// A packet from the BMC that IPMI does not allow, or that fails its checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("{what}: {got} bytes, need at least {need}")]
    Truncated {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("not an RMCP/IPMI packet (header {0:02x?})")]
    NotRmcp([u8; 4]),
    #[error("session header authentication type {got:#04x}, expected {want:#04x}")]
    AuthType { got: u8, want: u8 },
    #[error("payload type {got:#04x}, expected {want:#04x}")]
    PayloadType { got: u8, want: u8 },
    #[error("session id {got:#010x}, expected {want:#010x}")]
    SessionId { got: u32, want: u32 },
    #[error("payload length {stated} runs past the packet ({left} bytes left)")]
    PayloadLength { stated: usize, left: usize },
    #[error("integrity check (HMAC) failed")]
    Integrity,
    #[error("encrypted payload of {0} bytes is not an IV and whole AES blocks")]
    CipherLength(usize),
    #[error("confidentiality padding is invalid")]
    Padding,
    #[error("IPMI message checksum mismatch")]
    Checksum,
    /// A reply to another request (late, or not ours): skipped by the driver.
    #[error("reply to netfn {netfn:#04x} cmd {cmd:#04x} seq {seq}, not to the request sent")]
    OtherReply { netfn: u8, cmd: u8, seq: u8 },
    #[error("message tag {got}, expected {want}")]
    Tag { got: u8, want: u8 },
}

/// Bounds-checked reads from untrusted bytes.
pub(crate) struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, buf: &'a [u8]) -> Reader<'a> {
        Reader { what, buf }
    }

    /// The bytes at `at..at + n`.
    pub(crate) fn bytes(&self, at: usize, n: usize) -> Result<&'a [u8], PacketError> {
        self.buf
            .get(at..at.saturating_add(n))
            .ok_or(PacketError::Truncated {
                what: self.what,
                need: at.saturating_add(n),
                got: self.buf.len(),
            })
    }

    pub(crate) fn u8(&self, at: usize) -> Result<u8, PacketError> {
        self.bytes(at, 1).map(|b| b[0])
    }

    pub(crate) fn u16(&self, at: usize) -> Result<u16, PacketError> {
        self.bytes(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&self, at: usize) -> Result<u32, PacketError> {
        self.bytes(at, 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], PacketError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(at, N)?);
        Ok(a)
    }
}

/// The hash of a cipher suite's RAKP authentication and integrity algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// RAKP-HMAC-SHA1 and HMAC-SHA1-96 (suite 3).
    Sha1,
    /// RAKP-HMAC-SHA256 and HMAC-SHA256-128 (suite 17).
    Sha256,
}

impl Hash {
    /// HMAC of the concatenated `parts`.
    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC takes a key of any length.
            let Ok(mut m) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
            Hash::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
        }
    }

    /// Length of the RAKP key exchange authentication code (the full HMAC).
    pub(crate) fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
        }
    }

    /// Length of the truncated integrity codes: RAKP4's ICV and each packet's AuthCode
    /// (HMAC-SHA1-96, HMAC-SHA256-128).
    pub(crate) fn icv_len(self) -> usize {
        match self {
            Hash::Sha1 => 12,
            Hash::Sha256 => 16,
        }
    }

    /// Compares `code` with the first `code.len()` bytes of the HMAC, in constant time.
    pub(crate) fn verify(self, key: &[u8], parts: &[&[u8]], code: &[u8]) -> bool {
        let full = self.hmac(key, parts);
        match full.get(..code.len()) {
            Some(mine) if !code.is_empty() => {
                mine.iter().zip(code).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            }
            _ => false,
        }
    }
}

/// The keys of an active session: K1 authenticates packets, the first 16 bytes of K2 encrypt
/// them (IPMI 2.0 §13.32). Their `Debug` prints nothing of them.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    pub(crate) hash: Hash,
    pub(crate) k1: Vec<u8>,
    pub(crate) aes: [u8; 16],
    /// The BMC's session ID: what we send.
    pub(crate) bmc_session: u32,
    /// Our session ID: what the BMC sends.
    pub(crate) console_session: u32,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("hash", &self.hash)
            .field("bmc_session", &self.bmc_session)
            .finish_non_exhaustive()
    }
}

/// One IPMI request: network function, command, data, and the 6-bit sequence number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) netfn: u8,
    pub(crate) cmd: u8,
    pub(crate) data: &'a [u8],
    pub(crate) seq: u8,
}

/// A response: completion code and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) completion: u8,
    pub(crate) data: Vec<u8>,
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b))
        .wrapping_neg()
}

/// The IPMI LAN message of a request (IPMI 2.0 §13.8).
fn ipmi_message(req: &Request<'_>) -> Vec<u8> {
    let mut m = Vec::with_capacity(7 + req.data.len());
    m.extend_from_slice(&[BMC_ADDR, req.netfn << 2]);
    m.push(checksum(&m));
    m.extend_from_slice(&[RQ_ADDR, (req.seq & 0x3f) << 2, req.cmd]);
    m.extend_from_slice(req.data);
    m.push(checksum(&m[3..]));
    m
}

/// Decodes the IPMI message of a response to `req`.
pub(crate) fn parse_ipmi_response(req: &Request<'_>, m: &[u8]) -> Result<Response, PacketError> {
    let r = Reader::new("IPMI response message", m);
    // rqAddr, netFn/rqLUN, checksum, rsAddr, rqSeq/rsLUN, cmd, completion code, ..., checksum
    r.bytes(0, 8)?;
    if checksum(&m[..2]) != m[2] || checksum(&m[3..m.len() - 1]) != m[m.len() - 1] {
        return Err(PacketError::Checksum);
    }
    let (netfn, seq, cmd) = (m[1] >> 2, m[4] >> 2, m[5]);
    if netfn != req.netfn | 1 || cmd != req.cmd || seq != req.seq & 0x3f {
        return Err(PacketError::OtherReply { netfn, cmd, seq });
    }
    Ok(Response {
        completion: m[6],
        data: m[7..m.len() - 1].to_vec(),
    })
}

/// A request outside any session in IPMI 1.5 format (authentication type none): only
/// `Get Channel Authentication Capabilities` is sent this way.
pub(crate) fn encode_sessionless_v15(req: &Request<'_>) -> Vec<u8> {
    let msg = ipmi_message(req);
    let mut p = Vec::with_capacity(14 + msg.len());
    p.extend_from_slice(&RMCP_HEADER);
    p.push(0x00); // authentication type none
    p.extend_from_slice(&[0; 8]); // session sequence number, session ID
    p.push(msg.len() as u8);
    p.extend_from_slice(&msg);
    p
}

/// The IPMI message of a reply in IPMI 1.5 format outside a session.
pub(crate) fn decode_sessionless_v15(packet: &[u8]) -> Result<&[u8], PacketError> {
    let r = Reader::new("IPMI 1.5 packet", packet);
    rmcp(&r)?;
    let auth = r.u8(4)?;
    if auth != 0x00 {
        return Err(PacketError::AuthType {
            got: auth,
            want: 0x00,
        });
    }
    let len = usize::from(r.u8(13)?);
    let left = packet.len().saturating_sub(14);
    r.bytes(14, len)
        .map_err(|_| PacketError::PayloadLength { stated: len, left })
}

fn rmcp(r: &Reader<'_>) -> Result<(), PacketError> {
    let head: [u8; 4] = r.array(0)?;
    // The RMCP sequence number (byte 2) is ours to ignore.
    if head[0] != RMCP_HEADER[0] || head[3] != RMCP_HEADER[3] {
        return Err(PacketError::NotRmcp(head));
    }
    Ok(())
}

/// An RMCP+ packet outside a session (session ID and sequence 0): open session and RAKP.
pub(crate) fn encode_sessionless(payload: Payload, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(16 + body.len());
    p.extend_from_slice(&RMCP_HEADER);
    p.extend_from_slice(&[AUTH_RMCP_PLUS, payload as u8]);
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(&(body.len() as u16).to_le_bytes());
    p.extend_from_slice(body);
    p
}

/// The session header of an RMCP+ packet: (payload type byte, session ID, payload).
fn rmcp_plus(packet: &[u8]) -> Result<(u8, u32, &[u8], usize), PacketError> {
    let r = Reader::new("RMCP+ packet", packet);
    rmcp(&r)?;
    let auth = r.u8(4)?;
    if auth != AUTH_RMCP_PLUS {
        return Err(PacketError::AuthType {
            got: auth,
            want: AUTH_RMCP_PLUS,
        });
    }
    let ptype = r.u8(5)?;
    let session = r.u32(6)?;
    let len = usize::from(r.u16(14)?);
    let left = packet.len().saturating_sub(16);
    let payload = r
        .bytes(16, len)
        .map_err(|_| PacketError::PayloadLength { stated: len, left })?;
    Ok((ptype, session, payload, 16 + len))
}

/// The payload of a session-setup reply of type `want`.
pub(crate) fn decode_sessionless(packet: &[u8], want: Payload) -> Result<&[u8], PacketError> {
    let (ptype, session, payload, _) = rmcp_plus(packet)?;
    if ptype != want as u8 {
        return Err(PacketError::PayloadType {
            got: ptype,
            want: want as u8,
        });
    }
    if session != 0 {
        return Err(PacketError::SessionId {
            got: session,
            want: 0,
        });
    }
    Ok(payload)
}

/// A request inside an active session: encrypted (AES-CBC-128 with a fresh IV) and
/// authenticated (AuthCode over the session header through the next-header byte).
pub(crate) fn encode_in_session(
    keys: &SessionKeys,
    seq: u32,
    req: &Request<'_>,
    iv: [u8; 16],
) -> Vec<u8> {
    seal(keys, keys.bmc_session, seq, ipmi_message(req), iv)
}

/// Wraps an IPMI message for `session`: encrypted and authenticated with `keys`.
fn seal(keys: &SessionKeys, session: u32, seq: u32, mut data: Vec<u8>, iv: [u8; 16]) -> Vec<u8> {
    // Confidentiality pad 1, 2, 3, ... then its length, to whole blocks (IPMI 2.0 §13.29).
    let pad = (AES_BLOCK - (data.len() + 1) % AES_BLOCK) % AES_BLOCK;
    data.extend((1..=pad as u8).chain(std::iter::once(pad as u8)));
    let mut enc = cbc::Encryptor::<Aes128>::new(&keys.aes.into(), &iv.into());
    for block in data.chunks_exact_mut(AES_BLOCK) {
        enc.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    let mut p = Vec::with_capacity(64 + data.len());
    p.extend_from_slice(&RMCP_HEADER);
    p.extend_from_slice(&[
        AUTH_RMCP_PLUS,
        ENCRYPTED | AUTHENTICATED | Payload::Ipmi as u8,
    ]);
    p.extend_from_slice(&session.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&((AES_BLOCK + data.len()) as u16).to_le_bytes());
    p.extend_from_slice(&iv);
    p.extend_from_slice(&data);
    // Integrity pad: the authenticated range (auth type .. next header) is whole DWORDs.
    let covered = p.len() - 4 + 2;
    let ipad = (4 - covered % 4) % 4;
    p.extend(std::iter::repeat_n(0xff, ipad));
    p.extend_from_slice(&[ipad as u8, 0x07]);
    let code = keys.hash.hmac(&keys.k1, &[&p[4..]]);
    p.extend_from_slice(code.get(..keys.hash.icv_len()).unwrap_or(&code));
    p
}

/// The response message to `req` with `completion` and `data`, as a BMC builds it.
#[cfg(any(test, feature = "fake-bmc"))]
fn response_message(req: &Request<'_>, completion: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![RQ_ADDR, (req.netfn | 1) << 2];
    m.push(checksum(&m));
    m.extend_from_slice(&[BMC_ADDR, (req.seq & 0x3f) << 2, req.cmd, completion]);
    m.extend_from_slice(data);
    m.push(checksum(&m[3..]));
    m
}

/// A reply as a BMC builds it (tests and the fake BMC): sealed for the console's session.
#[cfg(any(test, feature = "fake-bmc"))]
pub(crate) fn bmc_reply(
    keys: &SessionKeys,
    seq: u32,
    req: &Request<'_>,
    completion: u8,
    data: &[u8],
    iv: [u8; 16],
) -> Vec<u8> {
    seal(
        keys,
        keys.console_session,
        seq,
        response_message(req, completion, data),
        iv,
    )
}

#[cfg(test)]
pub(crate) fn bmc_reply_for_tests(
    keys: &SessionKeys,
    req: &Request<'_>,
    completion: u8,
    data: &[u8],
) -> Vec<u8> {
    bmc_reply(keys, 1, req, completion, data, [3; 16])
}

/// A reply outside a session in IPMI 1.5 format (to Get Channel Authentication Capabilities).
#[cfg(any(test, feature = "fake-bmc"))]
pub(crate) fn bmc_reply_v15(req: &Request<'_>, completion: u8, data: &[u8]) -> Vec<u8> {
    let msg = response_message(req, completion, data);
    let mut p = Vec::with_capacity(14 + msg.len());
    p.extend_from_slice(&RMCP_HEADER);
    p.push(0x00);
    p.extend_from_slice(&[0; 8]);
    p.push(msg.len() as u8);
    p.extend_from_slice(&msg);
    p
}

/// A request message as a BMC reads it: (netfn, cmd, seq, data).
#[cfg(any(test, feature = "fake-bmc"))]
pub(crate) fn parse_ipmi_request(m: &[u8]) -> Result<(u8, u8, u8, &[u8]), PacketError> {
    let r = Reader::new("IPMI request message", m);
    r.bytes(0, 7)?;
    if checksum(&m[..2]) != m[2] || checksum(&m[3..m.len() - 1]) != m[m.len() - 1] {
        return Err(PacketError::Checksum);
    }
    Ok((m[1] >> 2, m[5], m[4] >> 2, &m[6..m.len() - 1]))
}

/// The IPMI message of a reply inside the session: checked (session, AuthCode) and decrypted.
pub(crate) fn decode_in_session(keys: &SessionKeys, packet: &[u8]) -> Result<Vec<u8>, PacketError> {
    let (ptype, session, payload, end) = rmcp_plus(packet)?;
    let want = ENCRYPTED | AUTHENTICATED | Payload::Ipmi as u8;
    if ptype != want {
        return Err(PacketError::PayloadType { got: ptype, want });
    }
    if session != keys.console_session {
        return Err(PacketError::SessionId {
            got: session,
            want: keys.console_session,
        });
    }
    // Trailer: integrity pad, pad length, next header, AuthCode.
    let icv = keys.hash.icv_len();
    let r = Reader::new("RMCP+ session trailer", packet);
    if packet.len() < end + 2 + icv {
        return Err(PacketError::Truncated {
            what: "RMCP+ session trailer",
            need: end + 2 + icv,
            got: packet.len(),
        });
    }
    let code_at = packet.len() - icv;
    let pad_len = usize::from(r.u8(code_at - 2)?);
    if end + pad_len + 2 != code_at {
        return Err(PacketError::Padding);
    }
    if !keys
        .hash
        .verify(&keys.k1, &[&packet[4..code_at]], &packet[code_at..])
    {
        return Err(PacketError::Integrity);
    }
    decrypt(&keys.aes, payload)
}

/// AES-CBC-128 payload: IV, then whole blocks ending in pad bytes 1..n and n.
fn decrypt(key: &[u8; 16], payload: &[u8]) -> Result<Vec<u8>, PacketError> {
    if payload.len() < 2 * AES_BLOCK || !payload.len().is_multiple_of(AES_BLOCK) {
        return Err(PacketError::CipherLength(payload.len()));
    }
    let (iv, body) = payload.split_at(AES_BLOCK);
    let mut iv_arr = [0u8; 16];
    iv_arr.copy_from_slice(iv);
    let mut data = body.to_vec();
    let mut dec = cbc::Decryptor::<Aes128>::new(key.into(), &iv_arr.into());
    for block in data.chunks_exact_mut(AES_BLOCK) {
        dec.decrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(*data.last().ok_or(PacketError::Padding)?);
    if pad >= AES_BLOCK || pad + 1 > data.len() {
        return Err(PacketError::Padding);
    }
    let keep = data.len() - pad - 1;
    if data[keep..data.len() - 1]
        .iter()
        .enumerate()
        .any(|(i, b)| usize::from(*b) != i + 1)
    {
        return Err(PacketError::Padding);
    }
    data.truncate(keep);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(hash: Hash) -> SessionKeys {
        SessionKeys {
            hash,
            k1: vec![7; hash.len()],
            aes: [9; 16],
            bmc_session: 0x1122_3344,
            console_session: 0x5566_7788,
        }
    }

    fn bmc_reply(k: &SessionKeys, netfn: u8, cmd: u8, seq: u8, cc: u8, data: &[u8]) -> Vec<u8> {
        let req = Request {
            netfn,
            cmd,
            data: &[],
            seq,
        };
        bmc_reply_for_tests(k, &req, cc, data)
    }

    #[test]
    fn a_session_reply_round_trips_for_both_suites() {
        for hash in [Hash::Sha1, Hash::Sha256] {
            let k = keys(hash);
            let req = Request {
                netfn: 0x04,
                cmd: 0x2d,
                data: &[1],
                seq: 5,
            };
            let packet = bmc_reply(&k, 0x04, 0x2d, 5, 0x00, &[0x83, 0xc0, 0x00]);
            let msg = decode_in_session(&k, &packet).unwrap();
            let resp = parse_ipmi_response(&req, &msg).unwrap();
            assert_eq!(resp.completion, 0);
            assert_eq!(resp.data, vec![0x83, 0xc0, 0x00]);
        }
    }

    #[test]
    fn a_tampered_session_reply_fails_its_integrity_check() {
        let k = keys(Hash::Sha256);
        let mut packet = bmc_reply(&k, 0x04, 0x2d, 5, 0x00, &[0x83, 0xc0]);
        packet[20] ^= 1;
        assert_eq!(decode_in_session(&k, &packet), Err(PacketError::Integrity));
        let other = SessionKeys {
            k1: vec![8; 32],
            ..k.clone()
        };
        let packet = bmc_reply(&k, 0x04, 0x2d, 5, 0x00, &[0x83, 0xc0]);
        assert_eq!(
            decode_in_session(&other, &packet),
            Err(PacketError::Integrity)
        );
    }

    #[test]
    fn every_truncation_of_a_reply_is_an_error_not_a_panic() {
        let k = keys(Hash::Sha1);
        let packet = bmc_reply(&k, 0x0a, 0x23, 9, 0x00, &[0xff, 0xff, 1, 2, 3]);
        for n in 0..packet.len() {
            assert!(decode_in_session(&k, &packet[..n]).is_err(), "length {n}");
            let _ = decode_sessionless(&packet[..n], Payload::Rakp2);
            let _ = decode_sessionless_v15(&packet[..n]);
        }
    }

    #[test]
    fn a_reply_to_another_request_is_recognised() {
        let req = Request {
            netfn: 0x0a,
            cmd: 0x23,
            data: &[],
            seq: 9,
        };
        let mut m = vec![RQ_ADDR, 0x0b << 2];
        m.push(checksum(&m));
        m.extend_from_slice(&[BMC_ADDR, 8 << 2, 0x23, 0x00]);
        m.push(checksum(&m[3..]));
        assert_eq!(
            parse_ipmi_response(&req, &m),
            Err(PacketError::OtherReply {
                netfn: 0x0b,
                cmd: 0x23,
                seq: 8
            })
        );
        let last = m.len() - 1;
        m[last] ^= 0xff;
        assert_eq!(parse_ipmi_response(&req, &m), Err(PacketError::Checksum));
    }

    #[test]
    fn requests_carry_the_checksums_ipmi_defines() {
        // Get Device ID: 20 18 c8 81 04 01 7a (IPMI 2.0 §13.8 layout; sums to 0 per part).
        let m = ipmi_message(&Request {
            netfn: 0x06,
            cmd: 0x01,
            data: &[],
            seq: 1,
        });
        assert_eq!(m, vec![0x20, 0x18, 0xc8, 0x81, 0x04, 0x01, 0x7a]);
    }
}
