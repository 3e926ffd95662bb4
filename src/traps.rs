//! The SNMP trap listener as `collect` and `demo` run it: bound from `[traps]`, feeding the
//! alert rules through a queue of `[traps] queue` events; its counts are logged each minute
//! that they change, and at the end.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use kilowatch_collector::traps::{TrapMap, TrapSettings, TrapStats, V3User, listen};
use kilowatch_core::config::Config;
use kilowatch_core::event::TrapEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Binds the listener when `[traps]` is configured, and returns its queue.
pub fn start(
    config: &Config,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<mpsc::Receiver<TrapEvent>>> {
    let Some(t) = &config.traps else {
        return Ok(None);
    };
    let socket = std::net::UdpSocket::bind(t.listen)
        .with_context(|| format!("[traps] listen {}: bind", t.listen))?;
    socket.set_nonblocking(true)?;
    let socket = tokio::net::UdpSocket::from_std(socket)?;
    let settings = TrapSettings {
        communities: t.communities.clone(),
        users: t.users.iter().filter_map(V3User::from_auth).collect(),
    };
    let (tx, rx) = mpsc::channel(t.queue);
    let stats = Arc::new(TrapStats::default());
    let map = Arc::new(TrapMap::builtin());
    tracing::info!(listen = %t.listen, queue = t.queue, "taking SNMP traps and informs");
    tokio::spawn(listen(
        socket,
        settings,
        map,
        tx,
        stats.clone(),
        cancel.clone(),
    ));
    tokio::spawn(report(stats, cancel.clone()));
    Ok(Some(rx))
}

/// Logs the listener's counts each minute they changed, and once at the end.
async fn report(stats: Arc<TrapStats>, cancel: CancellationToken) {
    let mut last = [0u64; 6];
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        let stopping = tokio::select! {
            _ = every.tick() => false,
            _ = cancel.cancelled() => true,
        };
        let now = stats.snapshot();
        if now != last || stopping {
            let [received, decoded, rejected, malformed, dropped, informs] = now;
            tracing::info!(
                received,
                decoded,
                rejected,
                malformed,
                dropped,
                informs_acked = informs,
                recv_buffer_bytes = stats.recv_buffer_bytes.load(Ordering::Relaxed),
                "trap listener counts"
            );
            last = now;
        }
        if stopping {
            return;
        }
    }
}
