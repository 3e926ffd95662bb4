//! Self-monitoring: the collector's heartbeat (version, devices up and polled, the last
//! acknowledged write) and its sink's outbox (queue depth, oldest unsent age, write latency,
//! retries, rejected and dropped points), stored as `collector` samples every interval, so
//! `kilowatch fleet` reads them from the central engine; the outbox's are also served as
//! Prometheus text on `--metrics-listen` (loopback by default in deployments).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use kilowatch_sink::Stats as SinkStats;
use kilowatch_store::SqliteStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What is watched: the collector's devices, and its sink's counters and outbox.
#[derive(Debug, Clone)]
pub struct Watched {
    /// `collector.name`: several collectors' health can share one central engine.
    pub collector: String,
    /// The sites this collector polls, comma-separated (a tag of the heartbeat).
    pub sites: String,
    pub store: Arc<SqliteStore>,
    /// The sink's name and counters, when the collector forwards.
    pub sink: Option<(String, Arc<SinkStats>)>,
    pub clock: Clock,
    /// Devices this collector polls now; a reload changes it.
    pub devices: Arc<AtomicUsize>,
    /// How often the heartbeat is written.
    pub every: Duration,
}

/// The outbox's (field, value) pairs, the same for samples and for /metrics.
fn outbox_readings(w: &Watched, sink_name: &str, stats: &SinkStats) -> Vec<(Field, f64)> {
    let outbox = w.store.outbox_stats(sink_name).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the outbox's gauges");
        Default::default()
    });
    let now = w.clock.now_ms();
    let age_s = outbox
        .oldest_unsent
        .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
    vec![
        (Field::QueuePoints, outbox.points as f64),
        (Field::QueueAgeS, age_s),
        (
            Field::WriteMs,
            stats.last_write_us.load(Ordering::Relaxed) as f64 / 1000.0,
        ),
        (Field::Retries, stats.retries.load(Ordering::Relaxed) as f64),
        (
            Field::Rejected,
            stats.rejected_points.load(Ordering::Relaxed) as f64,
        ),
        (Field::Dropped, outbox.dropped_points as f64),
    ]
}

/// The heartbeat: what `kilowatch fleet` shows of a collector. Up devices are those whose last
/// poll, within three intervals, answered; a device not polled that long is not counted up.
fn heartbeat(w: &Watched) -> Vec<(Field, f64)> {
    let now = w.clock.now_ms();
    let period_ms = w.every.as_secs_f64() * 1000.0 * w.clock.speed();
    let recent = now - (3.0 * period_ms) as i64;
    // The heartbeat's own status row (device `kilowatch`) is not a device.
    let up = w
        .store
        .devices_up_since(recent, "kilowatch")
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not count the devices up for the heartbeat");
            0
        });
    let mut out = vec![
        // The period on the clock that stamps the samples (an accelerated run's too).
        (Field::HeartbeatS, w.every.as_secs_f64() * w.clock.speed()),
        (Field::DevicesUp, up as f64),
        (
            Field::DevicesTotal,
            w.devices.load(Ordering::Relaxed) as f64,
        ),
    ];
    if let Some((name, stats)) = &w.sink {
        // Never written yet: no age (a number would claim a write that did not happen).
        let last = *stats.last_ok.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = last {
            out.push((Field::LastWriteAgeS, t.elapsed().as_secs_f64()));
        }
        out.extend(outbox_readings(w, name, stats));
    }
    out
}

/// Stores the heartbeat (and the outbox's gauges) as `collector` samples of device `kilowatch`
/// every `w.every`; they reach the central engine through the outbox like any reading.
pub async fn record(w: Watched, cancel: CancellationToken) {
    let mut tags = vec![
        ("device", "kilowatch".into()),
        ("collector", w.collector.clone()),
        ("version", env!("CARGO_PKG_VERSION").into()),
    ];
    if !w.sites.is_empty() {
        tags.push(("sites", w.sites.clone()));
    }
    if let Some((name, _)) = &w.sink {
        tags.push(("sink", name.clone()));
    }
    let series = Arc::new(Series::new(Measurement::Collector, tags));
    let mut tick = tokio::time::interval(w.every);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let samples = heartbeat(&w)
            .into_iter()
            .map(|(field, value)| Sample {
                series: series.clone(),
                field,
                value,
            })
            .collect();
        let batch = Batch {
            device: Arc::from("kilowatch"),
            at: w.clock.now_ms(),
            samples,
            poll: PollStatus::Ok,
            poll_ms: 0.0,
        };
        let store = w.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.write(&[batch])).await;
    }
}

/// Serves `GET /metrics` in the Prometheus text format until `cancel` fires.
pub async fn serve(listener: TcpListener, w: Watched, cancel: CancellationToken) {
    loop {
        let (mut conn, _) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
        };
        let w = w.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /metrics") {
                ("200 OK", exposition(&w))
            } else {
                ("404 Not Found", "try GET /metrics\n".to_owned())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
        });
    }
}

fn exposition(w: &Watched) -> String {
    let help = |f: Field| match f {
        Field::QueuePoints => (
            "gauge",
            "Points in the outbox not yet acknowledged by InfluxDB",
        ),
        Field::QueueAgeS => ("gauge", "Age of the oldest unsent point, seconds"),
        Field::WriteMs => (
            "gauge",
            "Latency of the last successful write, milliseconds",
        ),
        Field::Retries => ("counter", "Writes retried after InfluxDB was unavailable"),
        Field::Rejected => ("counter", "Points InfluxDB rejected, moved to quarantine"),
        _ => (
            "counter",
            "Unsent points dropped because the outbox was full",
        ),
    };
    let mut out = String::new();
    let Some((name, stats)) = &w.sink else {
        return out;
    };
    let sink = name.replace('\\', "\\\\").replace('"', "\\\"");
    for (field, value) in outbox_readings(w, name, stats) {
        let (kind, text) = help(field);
        let name = format!("kilowatch_outbox_{}", field.name());
        let _ = writeln!(
            out,
            "# HELP {name} {text}\n# TYPE {name} {kind}\n{name}{{sink=\"{sink}\"}} {value}"
        );
    }
    out
}
