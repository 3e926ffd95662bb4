//! Self-monitoring of the InfluxDB path: queue depth, oldest unsent age, write latency,
//! retries, rejected and dropped points — stored as `collector` samples every interval, and
//! served as Prometheus text on `--metrics-listen` (loopback by default in deployments).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kilowatch_core::clock::Clock;
use kilowatch_core::model::{Batch, Field, Measurement, PollStatus, Sample, Series};
use kilowatch_sink::Stats as SinkStats;
use kilowatch_store::SqliteStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What is watched: one sink's counters and its outbox.
#[derive(Debug, Clone)]
pub struct Watched {
    /// `collector.name`: several collectors' health can share one InfluxDB.
    pub collector: String,
    pub store: Arc<SqliteStore>,
    pub sink_name: String,
    pub stats: Arc<SinkStats>,
    pub clock: Clock,
}

/// (field, value) pairs, the same for samples and for /metrics.
fn readings(w: &Watched) -> Vec<(Field, f64)> {
    let outbox = w.store.outbox_stats(&w.sink_name).unwrap_or_else(|e| {
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
            w.stats.last_write_us.load(Ordering::Relaxed) as f64 / 1000.0,
        ),
        (
            Field::Retries,
            w.stats.retries.load(Ordering::Relaxed) as f64,
        ),
        (
            Field::Rejected,
            w.stats.rejected_points.load(Ordering::Relaxed) as f64,
        ),
        (Field::Dropped, outbox.dropped_points as f64),
    ]
}

/// Stores the readings as `collector` samples (device `kilowatch`) every `every`.
pub async fn record(w: Watched, every: Duration, cancel: CancellationToken) {
    let series = Arc::new(Series::new(
        Measurement::Collector,
        vec![
            ("device", "kilowatch".into()),
            ("collector", w.collector.clone()),
            ("sink", w.sink_name.clone()),
        ],
    ));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let samples = readings(&w)
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
    let sink = w.sink_name.replace('\\', "\\\\").replace('"', "\\\"");
    for (field, value) in readings(w) {
        let (kind, text) = help(field);
        let name = format!("kilowatch_outbox_{}", field.name());
        let _ = writeln!(
            out,
            "# HELP {name} {text}\n# TYPE {name} {kind}\n{name}{{sink=\"{sink}\"}} {value}"
        );
    }
    out
}
