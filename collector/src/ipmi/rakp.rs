//! RMCP+ session setup (IPMI 2.0 §13.17-13.32): Open Session, the four RAKP messages, and the
//! session keys. Pure: the driver sends what these build and hands back what the BMC sent.
//!
//! The password only enters HMAC keys; no error or `Debug` output carries it or a key.

use kilowatch_core::config::IpmiCipherSuite;

use super::packet::{Hash, PacketError, Reader, SessionKeys};
use crate::error::{IpmiAuthFailure, RmcpStatus};

/// What a session-setup reply can mean besides success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SetupError {
    #[error(transparent)]
    Packet(#[from] PacketError),
    #[error("authentication failed: {0}")]
    Auth(IpmiAuthFailure),
    /// The BMC does not offer the suite's algorithms.
    #[error("cipher suite refused: {0}")]
    Suite(RmcpStatus),
    #[error("{step}: {status}")]
    Status {
        step: &'static str,
        status: RmcpStatus,
    },
}

/// The algorithms of a cipher suite (IPMI 2.0 table 22-20); confidentiality is AES-CBC-128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suite {
    pub(crate) id: u8,
    pub(crate) hash: Hash,
    auth: u8,
    integrity: u8,
}

impl From<IpmiCipherSuite> for Suite {
    fn from(s: IpmiCipherSuite) -> Suite {
        match s {
            // RAKP-HMAC-SHA1 (01h), HMAC-SHA1-96 (01h).
            IpmiCipherSuite::Sha1Aes => Suite {
                id: s.id(),
                hash: Hash::Sha1,
                auth: 0x01,
                integrity: 0x01,
            },
            // RAKP-HMAC-SHA256 (03h), HMAC-SHA256-128 (04h).
            IpmiCipherSuite::Sha256Aes => Suite {
                id: s.id(),
                hash: Hash::Sha256,
                auth: 0x03,
                integrity: 0x04,
            },
        }
    }
}

const AES_CBC_128: u8 = 0x01;
/// RAKP message 1's role byte: "name-only lookup" (bit 4), as ipmitool sends by default.
const NAME_ONLY_LOOKUP: u8 = 0x10;

/// One session being set up: what both sides have said so far.
pub(crate) struct Handshake {
    suite: Suite,
    tag: u8,
    console_session: u32,
    bmc_session: u32,
    /// Remote console random number (Rm) and the BMC's (Rc), and the BMC's GUID.
    rm: [u8; 16],
    rc: [u8; 16],
    guid: [u8; 16],
    role: u8,
    user: Vec<u8>,
    /// Kuid: the password, which keys every RAKP HMAC.
    kuid: Vec<u8>,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("suite", &self.suite.id)
            .field("console_session", &self.console_session)
            .field("bmc_session", &self.bmc_session)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    /// `console_session` must not be 0; `rm` must be random.
    pub(crate) fn new(
        suite: Suite,
        tag: u8,
        console_session: u32,
        rm: [u8; 16],
        privilege: u8,
        user: &str,
        password: &str,
    ) -> Handshake {
        Handshake {
            suite,
            tag,
            console_session,
            bmc_session: 0,
            rm,
            rc: [0; 16],
            guid: [0; 16],
            role: NAME_ONLY_LOOKUP | (privilege & 0x0f),
            user: user.as_bytes().to_vec(),
            kuid: password.as_bytes().to_vec(),
        }
    }

    /// RMCP+ Open Session Request (IPMI 2.0 §13.17).
    pub(crate) fn open_session_request(&self) -> Vec<u8> {
        let mut p = vec![self.tag, self.role & 0x0f, 0, 0];
        p.extend_from_slice(&self.console_session.to_le_bytes());
        for (kind, alg) in [
            (0u8, self.suite.auth),
            (1, self.suite.integrity),
            (2, AES_CBC_128),
        ] {
            p.extend_from_slice(&[kind, 0, 0, 8, alg, 0, 0, 0]);
        }
        p
    }

    /// RMCP+ Open Session Response (§13.18): the BMC's session ID, once it accepted the suite.
    pub(crate) fn open_session_response(&mut self, payload: &[u8]) -> Result<(), SetupError> {
        let r = Reader::new("open session response", payload);
        self.check_tag(r.u8(0)?)?;
        let status = r.u8(1)?;
        if status != 0 {
            return Err(match status {
                // invalid/no matching authentication, integrity or confidentiality algorithm,
                // no cipher suite match.
                0x04..=0x07 | 0x10 | 0x11 => SetupError::Suite(RmcpStatus(status)),
                0x09 | 0x0a => SetupError::Auth(IpmiAuthFailure::Privilege(RmcpStatus(status))),
                _ => SetupError::Status {
                    step: "open session",
                    status: RmcpStatus(status),
                },
            });
        }
        let console = r.u32(4)?;
        if console != self.console_session {
            return Err(PacketError::SessionId {
                got: console,
                want: self.console_session,
            }
            .into());
        }
        self.bmc_session = r.u32(8)?;
        // The algorithms the BMC chose must be the ones we proposed (a BMC may not downgrade).
        let chosen = [r.u8(16)?, r.u8(24)?, r.u8(32)?];
        if chosen != [self.suite.auth, self.suite.integrity, AES_CBC_128] || self.bmc_session == 0 {
            return Err(SetupError::Suite(RmcpStatus(0x11)));
        }
        Ok(())
    }

    /// RAKP Message 1 (§13.20).
    pub(crate) fn rakp1(&self) -> Vec<u8> {
        let mut p = vec![self.tag, 0, 0, 0];
        p.extend_from_slice(&self.bmc_session.to_le_bytes());
        p.extend_from_slice(&self.rm);
        p.extend_from_slice(&[self.role, 0, 0, self.user.len() as u8]);
        p.extend_from_slice(&self.user);
        p
    }

    /// The head RAKP messages 2 and 4 share (§13.21, §13.23): our tag, a zero status (else
    /// why the BMC refused), our session id. `proof_checked`: a status 0Fh (invalid integrity
    /// check value) answers our password proof, so it means a wrong password.
    fn check_reply(&self, r: &Reader<'_>, proof_checked: bool) -> Result<(), SetupError> {
        self.check_tag(r.u8(0)?)?;
        let status = r.u8(1)?;
        if status != 0 {
            return Err(SetupError::Auth(match status {
                0x0f if proof_checked => IpmiAuthFailure::WrongPassword,
                0x09 | 0x0a => IpmiAuthFailure::Privilege(RmcpStatus(status)),
                _ => IpmiAuthFailure::UserRefused(RmcpStatus(status)),
            }));
        }
        let console = r.u32(4)?;
        if console != self.console_session {
            return Err(PacketError::SessionId {
                got: console,
                want: self.console_session,
            }
            .into());
        }
        Ok(())
    }

    /// RAKP Message 2 (§13.21): the BMC proves it knows the password; a wrong password shows
    /// here, as a proof that does not match ours.
    pub(crate) fn rakp2(&mut self, payload: &[u8]) -> Result<(), SetupError> {
        let r = Reader::new("RAKP message 2", payload);
        self.check_reply(&r, false)?;
        self.rc = r.array(8)?;
        self.guid = r.array(24)?;
        let code = r.bytes(40, self.suite.hash.len())?;
        let ok = self.suite.hash.verify(
            &self.kuid,
            &[
                &self.console_session.to_le_bytes(),
                &self.bmc_session.to_le_bytes(),
                &self.rm,
                &self.rc,
                &self.guid,
                &[self.role, self.user.len() as u8],
                &self.user,
            ],
            code,
        );
        if !ok {
            return Err(SetupError::Auth(IpmiAuthFailure::WrongPassword));
        }
        Ok(())
    }

    /// RAKP Message 3 (§13.22): our proof of the password.
    pub(crate) fn rakp3(&self) -> Vec<u8> {
        let mut p = vec![self.tag, 0, 0, 0];
        p.extend_from_slice(&self.bmc_session.to_le_bytes());
        p.extend(self.suite.hash.hmac(
            &self.kuid,
            &[
                &self.rc,
                &self.console_session.to_le_bytes(),
                &[self.role, self.user.len() as u8],
                &self.user,
            ],
        ));
        p
    }

    /// The Session Integrity Key (§13.31), keyed by Kuid (no BMC key, Kg, is configured).
    fn sik(&self) -> Vec<u8> {
        self.suite.hash.hmac(
            &self.kuid,
            &[
                &self.rm,
                &self.rc,
                &[self.role, self.user.len() as u8],
                &self.user,
            ],
        )
    }

    /// RAKP Message 4 (§13.23): the BMC accepted our proof and derived the same SIK. Gives the
    /// session's keys: K1 = HMAC(SIK, 20 x 01h), K2 = HMAC(SIK, 20 x 02h) (§13.32).
    pub(crate) fn rakp4(&self, payload: &[u8]) -> Result<SessionKeys, SetupError> {
        let r = Reader::new("RAKP message 4", payload);
        // Status 0Fh here: our RAKP 3 proof did not match, the BMC holds another password.
        self.check_reply(&r, true)?;
        let sik = self.sik();
        let icv = r.bytes(8, self.suite.hash.icv_len())?;
        if !self.suite.hash.verify(
            &sik,
            &[&self.rm, &self.bmc_session.to_le_bytes(), &self.guid],
            icv,
        ) {
            return Err(PacketError::Integrity.into());
        }
        let k1 = self.suite.hash.hmac(&sik, &[&[0x01; 20]]);
        let k2 = self.suite.hash.hmac(&sik, &[&[0x02; 20]]);
        let mut aes = [0u8; 16];
        aes.copy_from_slice(k2.get(..16).ok_or(PacketError::Integrity)?);
        Ok(SessionKeys {
            hash: self.suite.hash,
            k1,
            aes,
            bmc_session: self.bmc_session,
            console_session: self.console_session,
        })
    }

    fn check_tag(&self, got: u8) -> Result<(), PacketError> {
        if got == self.tag {
            Ok(())
        } else {
            Err(PacketError::Tag {
                got,
                want: self.tag,
            })
        }
    }

    pub(crate) fn bmc_session(&self) -> u32 {
        self.bmc_session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays the BMC's side of RAKP with the given password: what a BMC computes.
    fn bmc_rakp2(h: &Handshake, password: &str, rc: [u8; 16], guid: [u8; 16]) -> Vec<u8> {
        let mut p = vec![h.tag, 0, 0, 0];
        p.extend_from_slice(&h.console_session.to_le_bytes());
        p.extend_from_slice(&rc);
        p.extend_from_slice(&guid);
        p.extend(h.suite.hash.hmac(
            password.as_bytes(),
            &[
                &h.console_session.to_le_bytes(),
                &h.bmc_session.to_le_bytes(),
                &h.rm,
                &rc,
                &guid,
                &[h.role, h.user.len() as u8],
                &h.user,
            ],
        ));
        p
    }

    fn opened(suite: IpmiCipherSuite, password: &str) -> Handshake {
        let s = Suite::from(suite);
        let mut h = Handshake::new(s, 7, 0xa0a0_a0a0, [1; 16], 2, "kw", password);
        let mut resp = vec![7, 0, 2, 0];
        resp.extend_from_slice(&0xa0a0_a0a0u32.to_le_bytes());
        resp.extend_from_slice(&0x0102_0304u32.to_le_bytes());
        for (kind, alg) in [(0u8, s.auth), (1, s.integrity), (2, 1)] {
            resp.extend_from_slice(&[kind, 0, 0, 8, alg, 0, 0, 0]);
        }
        h.open_session_response(&resp).unwrap();
        h
    }

    #[test]
    fn rakp_completes_with_the_right_password_for_both_suites() {
        for suite in [IpmiCipherSuite::Sha1Aes, IpmiCipherSuite::Sha256Aes] {
            let mut h = opened(suite, "secret-pw");
            let rakp2 = bmc_rakp2(&h, "secret-pw", [2; 16], [3; 16]);
            h.rakp2(&rakp2).unwrap();
            // RAKP 4 as the BMC builds it from the same SIK.
            let sik = h.sik();
            let mut rakp4 = vec![7, 0, 0, 0];
            rakp4.extend_from_slice(&h.console_session.to_le_bytes());
            let icv = h
                .suite
                .hash
                .hmac(&sik, &[&h.rm, &h.bmc_session.to_le_bytes(), &h.guid]);
            rakp4.extend_from_slice(&icv[..h.suite.hash.icv_len()]);
            let keys = h.rakp4(&rakp4).unwrap();
            assert_eq!(keys.bmc_session, 0x0102_0304);
            assert_eq!(keys.k1.len(), h.suite.hash.len());
        }
    }

    #[test]
    fn a_wrong_password_is_named_as_such_and_never_shown() {
        let mut h = opened(IpmiCipherSuite::Sha256Aes, "wrong-pw");
        let rakp2 = bmc_rakp2(&h, "right-pw", [2; 16], [3; 16]);
        let e = h.rakp2(&rakp2).unwrap_err();
        assert_eq!(e, SetupError::Auth(IpmiAuthFailure::WrongPassword));
        let text = format!("{e} {e:?} {h:?}");
        assert!(
            !text.contains("wrong-pw") && !text.contains("right-pw"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_algorithm_is_a_cipher_suite_error() {
        let mut h = Handshake::new(
            Suite::from(IpmiCipherSuite::Sha256Aes),
            7,
            1,
            [1; 16],
            2,
            "kw",
            "pw",
        );
        // ipmi_sim's answer to suite 17: status 04h, invalid authentication algorithm.
        let e = h
            .open_session_response(&[7, 0x04, 0, 0, 1, 0, 0, 0])
            .unwrap_err();
        assert_eq!(e, SetupError::Suite(RmcpStatus(0x04)));
        assert!(h.open_session_response(&[7]).is_err());
        assert!(h.open_session_response(&[]).is_err());
    }

    #[test]
    fn open_session_request_proposes_the_suite() {
        let h = Handshake::new(
            Suite::from(IpmiCipherSuite::Sha256Aes),
            1,
            0x11223344,
            [0; 16],
            2,
            "u",
            "p",
        );
        assert_eq!(
            h.open_session_request(),
            vec![
                1, 2, 0, 0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 8, 4, 0, 0, 0,
                2, 0, 0, 8, 1, 0, 0, 0
            ]
        );
    }
}
