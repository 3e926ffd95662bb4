//! A real Prometheus Alertmanager of a test's own (Debian's `prometheus-alertmanager`, which
//! scripts/test installs and names in `KILOWATCH_TEST_ALERTMANAGER`), on a free loopback port
//! with a temporary storage directory and clustering off, routing every alert to a [`Hook`]
//! of the test's own; stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::influxd::free_port;

fn binary() -> String {
    std::env::var("KILOWATCH_TEST_ALERTMANAGER").unwrap_or_else(|_| {
        panic!("KILOWATCH_TEST_ALERTMANAGER is not set: run scripts/test, which installs prometheus-alertmanager")
    })
}

/// One POST a [`Hook`] received: its request head (lowercased header names) and JSON body.
#[derive(Debug)]
pub struct Posted {
    pub head: String,
    pub body: serde_json::Value,
}

/// A tiny HTTP listener on a free loopback port that answers every POST with 200 and hands
/// its body to the test, in arrival order.
pub struct Hook {
    pub port: u16,
    rx: mpsc::Receiver<Posted>,
    stop: Arc<AtomicBool>,
}

impl Hook {
    pub fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                if let Some(posted) = read_post(conn)
                    && tx.send(posted).is_err()
                {
                    return;
                }
            }
        });
        Hook { port, rx, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The next POST, or `None` when none comes `within`.
    pub fn next(&self, within: Duration) -> Option<Posted> {
        self.rx.recv_timeout(within).ok()
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request (head, then Content-Length bytes) and answers 200, closing.
fn read_post(conn: TcpStream) -> Option<Posted> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut head = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        head.push_str(&lower);
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    let mut conn = conn;
    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(Posted {
        head,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    })
}

/// An Alertmanager that groups by `alertname`, sends at once (`group_wait: 0s`), looks at
/// each group every second and repeats a notification only after an hour, to `hook_url` with
/// resolved alerts too. It logs at debug level, so its log has a `Received alert` line for
/// each alert it is sent.
pub struct Alertmanager {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    /// How many times it was started: run n logs to `alertmanager.n.log`.
    runs: u32,
}

impl Alertmanager {
    pub fn start(hook_url: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("alertmanager.yml"),
            format!(
                "route:\n  receiver: hook\n  group_by: ['alertname']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: '{hook_url}'\n        send_resolved: true\n"
            ),
        )
        .unwrap();
        let mut am = Alertmanager {
            dir,
            port: free_port(),
            child: None,
            runs: 0,
        };
        am.launch();
        am
    }

    /// Starts it again after [`Alertmanager::stop`], on the same port and storage (its
    /// notification log and silences survive; alerts do not, as in production).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        self.runs += 1;
        let d = self.dir.path();
        let log = std::fs::File::create(self.log_path(self.runs)).unwrap();
        let child = Command::new(binary())
            .arg(format!(
                "--config.file={}",
                d.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", d.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // Empty: no gossip cluster, so no second port and no peers to wait for.
            .arg("--cluster.listen-address=")
            .arg("--log.level=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready();
    }

    fn log_path(&self, run: u32) -> std::path::PathBuf {
        self.dir.path().join(format!("alertmanager.{run}.log"))
    }

    fn wait_ready(&mut self) {
        let http = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http
                .get(format!("{}/-/ready", self.url()))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("alertmanager exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("alertmanager did not answer /-/ready: {}", self.log());
    }

    /// Its log, every run in order.
    pub fn log(&self) -> String {
        (1..=self.runs)
            .map(|run| std::fs::read_to_string(self.log_path(run)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("")
    }

    /// The log of the latest start only.
    pub fn log_since_restart(&self) -> String {
        std::fs::read_to_string(self.log_path(self.runs)).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET /api/v2/alerts` (Alertmanager leaves out alerts whose `endsAt` has passed).
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        let r = client()
            .get(format!("{}/api/v2/alerts", self.url()))
            .send()
            .unwrap();
        assert!(
            r.status().is_success(),
            "GET /api/v2/alerts: {}",
            r.status()
        );
        serde_json::from_slice(&r.bytes().unwrap()).unwrap()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn client() -> reqwest::blocking::Client {
    kilowatch_sink::install_tls_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
