//! A real SMTP server of a test's own: aiosmtpd (PyPI, pinned in scripts/peers.sh, in the
//! venv whose Python scripts/test names in `KILOWATCH_TEST_AIOSMTPD`) on a free loopback port,
//! writing what it receives into a Maildir in a temporary directory; stopped on drop. Mail is
//! read back with Python's own `email` parser, so the MIME decoding checked is not ours.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::influxd::free_port;

fn python() -> String {
    std::env::var("KILOWATCH_TEST_AIOSMTPD").unwrap_or_else(|_| {
        panic!("KILOWATCH_TEST_AIOSMTPD is not set: run scripts/test, which installs aiosmtpd")
    })
}

pub struct Smtpd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

/// One received mail as Python's `email` package reads it (`policy.default`: headers and body
/// decoded to text).
#[derive(Debug, serde::Deserialize)]
pub struct Mail {
    pub subject: String,
    pub from: String,
    pub to: String,
    /// The envelope, as aiosmtpd's Mailbox handler records it.
    pub x_mailfrom: String,
    pub x_rcptto: String,
    pub content_type: String,
    pub auto_submitted: Option<String>,
    pub body: String,
    /// Every header line as sent (undecoded), for checks that they are ASCII.
    pub raw_head: String,
}

const READ_MAILDIR: &str = r#"
import email, email.policy, json, mailbox, sys
out = []
box = mailbox.Maildir(sys.argv[1], create=False)
for key in sorted(box.keys()):
    raw = box.get_bytes(key)
    m = email.message_from_bytes(raw, policy=email.policy.default)
    out.append({
        "subject": str(m["Subject"]),
        "from": str(m["From"]),
        "to": str(m["To"]),
        "x_mailfrom": str(m["X-MailFrom"]),
        "x_rcptto": str(m["X-RcptTo"]),
        "content_type": m.get_content_type() + "; charset=" + str(m.get_content_charset()),
        "auto_submitted": m["Auto-Submitted"] and str(m["Auto-Submitted"]),
        "body": m.get_content(),
        "raw_head": raw.split(b"\n\n", 1)[0].replace(b"\r", b"").decode("ascii", "replace"),
    })
print(json.dumps(out))
"#;

/// aiosmtpd's SMTP class with an authenticator: AUTH PLAIN or LOGIN as one user is required
/// before MAIL, and allowed without TLS (loopback only). argv: port, Maildir, user; the
/// password comes in the environment.
const SERVE_WITH_LOGIN: &str = r#"
import asyncio, os, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
port, maildir, user = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
password = os.environ["SMTPD_PASSWORD"].encode()
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
    return AuthResult(success=ok, handled=False)
handler = Mailbox(maildir)
async def main():
    srv = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, authenticator=check, auth_required=True, auth_require_tls=False),
        "127.0.0.1", port)
    await srv.serve_forever()
asyncio.run(main())
"#;

impl Smtpd {
    /// Takes any mail from anyone.
    pub fn start() -> Smtpd {
        Smtpd::spawn(|port, maildir| {
            let mut c = Command::new(python());
            c.args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir);
            c
        })
    }

    /// Takes mail only after AUTH as `user` with `password`.
    pub fn start_with_login(user: &str, password: &str) -> Smtpd {
        Smtpd::spawn(|port, maildir| {
            let mut c = Command::new(python());
            c.args(["-c", SERVE_WITH_LOGIN])
                .arg(port.to_string())
                .arg(maildir)
                .arg(user)
                .env("SMTPD_PASSWORD", password);
            c
        })
    }

    fn spawn(command: impl FnOnce(u16, &std::path::Path) -> Command) -> Smtpd {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("aiosmtpd.log")).unwrap();
        let child = command(port, &dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut s = Smtpd {
            dir,
            port,
            child: Some(child),
        };
        s.wait_ready();
        s
    }

    /// Ready when it greets a connection with 220.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(conn) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut line = String::new();
                if BufReader::new(conn).read_line(&mut line).is_ok() && line.starts_with("220") {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("aiosmtpd exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("aiosmtpd did not greet within 30 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("aiosmtpd.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, oldest first by file name.
    pub fn mails(&self) -> Vec<Mail> {
        let out = Command::new(python())
            .args(["-c", READ_MAILDIR])
            .arg(self.dir.path().join("maildir"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "reading the Maildir: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        self.stop();
    }
}
