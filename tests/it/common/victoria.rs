//! A real VictoriaMetrics single-node server of a test's own (Debian's `victoria-metrics`, whose
//! path scripts/test exports as KILOWATCH_TEST_VICTORIA), on a free loopback port with a
//! temporary data directory, and stopped on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::influxd::{blocking, env, free_port};
use kilowatch_sink::influx::target::InfluxTarget;
use kilowatch_sink::victoria::VictoriaReader;

pub struct Victoria {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Victoria {
    /// Starts it (`-retentionPeriod=100y`, so fixed test times in the past are kept) and waits
    /// for `/health`.
    pub fn start() -> Victoria {
        Victoria::start_with(&[])
    }

    /// The same with more command-line flags (e.g. `-dedup.minScrapeInterval=1s`).
    pub fn start_with(flags: &[&str]) -> Victoria {
        blocking(|| {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("vm.log")).unwrap();
            let child = Command::new(env("KILOWATCH_TEST_VICTORIA"))
                .args([
                    format!("-httpListenAddr=127.0.0.1:{port}"),
                    format!("-storageDataPath={}", dir.path().join("data").display()),
                    "-retentionPeriod=100y".into(),
                    "-loggerLevel=ERROR".into(),
                ])
                .args(flags)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            let vm = Victoria { dir, port, child };
            let deadline = Instant::now() + Duration::from_secs(30);
            while !vm.get("/health").is_some_and(|(ok, _)| ok) {
                assert!(
                    Instant::now() < deadline,
                    "victoria-metrics did not start: {}",
                    std::fs::read_to_string(vm.dir.path().join("vm.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            vm
        })
    }

    /// The URL kilowatch takes: `vm://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("vm://127.0.0.1:{}", self.port)
    }

    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn reader(&self) -> VictoriaReader {
        VictoriaReader::new(InfluxTarget::parse(&self.url(), None, None).unwrap()).unwrap()
    }

    /// GET `path`: (2xx, body), or `None` when nothing answered.
    fn get(&self, path: &str) -> Option<(bool, String)> {
        let r = reqwest::blocking::get(format!("{}{path}", self.http())).ok()?;
        let ok = r.status().is_success();
        Some((ok, r.text().unwrap_or_default()))
    }

    /// Makes everything received searchable now (it would be within a second or so).
    pub fn flush(&self) {
        blocking(|| {
            let (ok, body) = self.get("/internal/force_flush").unwrap();
            assert!(ok, "force_flush: {body}");
        });
    }

    /// Merges its parts, so the data directory's size is what the data costs at rest.
    pub fn merge(&self) {
        blocking(|| {
            let (ok, body) = self.get("/internal/force_merge").unwrap();
            assert!(ok, "force_merge: {body}");
        });
    }

    /// Every sample of the series `selector` matches, over all time, from `/api/v1/export`.
    pub fn count(&self, selector: &str) -> usize {
        blocking(|| {
            let form = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("match[]", selector), ("start", "1"), ("end", "9000000000")])
                .finish();
            let r = reqwest::blocking::Client::new()
                .post(format!("{}/api/v1/export", self.http()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .unwrap();
            assert!(r.status().is_success(), "export {selector}");
            r.text()
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["timestamps"].as_array().map_or(0, Vec::len)
                })
                .sum()
        })
    }

    /// Bytes under the data directory.
    pub fn disk_bytes(&self) -> u64 {
        fn walk(p: &std::path::Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(p) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir.path().join("data"))
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
