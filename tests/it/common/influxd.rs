//! A real InfluxDB 1.x server of a test's own (Debian's `influxd`, installed by scripts/test),
//! on free loopback ports with a temporary data directory, and stopped on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kilowatch_sink::influx::query::InfluxReader;
use kilowatch_sink::influx::target::InfluxTarget;

pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which installs InfluxDB"))
}

/// Blocking HTTP (the reader, server checks) must leave the async runtime's worker first.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    kilowatch_sink::install_tls_provider();
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An InfluxDB 1.x server of our own, with a database `kw`.
pub struct Influxd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    /// For HTTPS: the CA that signed its certificate (PEM path).
    pub ca: Option<std::path::PathBuf>,
}

/// A CA and a server certificate for 127.0.0.1 it signed, made with `openssl` in `dir`:
/// (ca.pem, server.pem, server.key).
pub fn make_certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Kilowatch test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

impl Influxd {
    pub fn start() -> Influxd {
        blocking(Influxd::start_blocking)
    }

    fn start_blocking() -> Influxd {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Influxd {
            port: free_port(),
            dir,
            child: None,
            ca: None,
        };
        s.launch_blocking();
        s.query_post("CREATE DATABASE kw");
        s
    }

    /// The same over HTTPS, with a certificate from a CA of the test's own.
    pub fn start_tls() -> Influxd {
        blocking(|| {
            let dir = tempfile::tempdir().unwrap();
            let (ca, _, _) = make_certificates(dir.path());
            let mut s = Influxd {
                port: free_port(),
                dir,
                child: None,
                ca: Some(ca),
            };
            s.launch_blocking();
            s.query_post("CREATE DATABASE kw");
            s
        })
    }

    fn scheme(&self) -> &'static str {
        if self.ca.is_some() { "https" } else { "http" }
    }

    fn client(&self) -> reqwest::blocking::Client {
        let mut b = reqwest::blocking::Client::builder();
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).unwrap();
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    }

    pub fn launch(&mut self) {
        blocking(|| self.launch_blocking())
    }

    fn launch_blocking(&mut self) {
        let d = self.dir.path();
        let conf = d.join("influxd.conf");
        let dir = d.display();
        let mut conf_text = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n[meta]\n  dir = \"{dir}/meta\"\n[data]\n  dir = \"{dir}/data\"\n  wal-dir = \"{dir}/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n",
            rpc = free_port(),
            http = self.port,
        );
        if self.ca.is_some() {
            conf_text.push_str(&format!(
                "  https-enabled = true\n  https-certificate = \"{dir}/server.pem\"\n  https-private-key = \"{dir}/server.key\"\n"
            ));
        }
        std::fs::write(&conf, conf_text).unwrap();
        let log = std::fs::File::create(d.join("influxd.log")).unwrap();
        self.child = Some(
            Command::new(env("KILOWATCH_TEST_INFLUXD"))
                .arg("-config")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self
                .client()
                .get(format!("{}://127.0.0.1:{}/ping", self.scheme(), self.port))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "influxd did not answer /ping: {}",
            std::fs::read_to_string(d.join("influxd.log")).unwrap_or_default()
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        match &self.ca {
            Some(ca) => format!("https://127.0.0.1:{}?db=kw&ca={}", self.port, ca.display()),
            None => format!("http://127.0.0.1:{}?db=kw", self.port),
        }
    }

    pub fn query_post(&self, q: &str) {
        let mut url = url::Url::parse(&format!(
            "{}://127.0.0.1:{}/query",
            self.scheme(),
            self.port
        ))
        .unwrap();
        url.query_pairs_mut().append_pair("q", q);
        let r = self.client().post(url).send().unwrap();
        assert!(
            r.status().is_success(),
            "{q}: {}",
            r.text().unwrap_or_default()
        );
    }

    pub fn reader(&self) -> InfluxReader {
        InfluxReader::new(InfluxTarget::parse(&self.url(), None, None).unwrap()).unwrap()
    }

    /// Every stored value, counted by InfluxQL.
    pub fn count(&self) -> i64 {
        blocking(|| self.count_blocking())
    }

    fn count_blocking(&self) -> i64 {
        let rows = self.reader().query("SELECT count(*) FROM /.*/").unwrap();
        rows.iter()
            .flat_map(|r| r.iter().skip(1))
            .filter_map(|v| v.as_i64())
            .sum()
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}
