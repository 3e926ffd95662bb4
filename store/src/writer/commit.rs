//! The commit loop: batches in arrival order, gathered briefly into transactions, retried with
//! backoff while the store refuses them.

use std::sync::Arc;
use std::time::Duration;

use kilowatch_core::model::Batch;
use tokio::sync::mpsc;

use crate::StoreError;

/// Most polls committed in one transaction.
const MAX_BATCHES_PER_WRITE: usize = 512;

/// Batches kept in memory while the store refuses writes (disk full, I/O errors): about 20
/// samples each, so this is tens of MB at most. Past it the oldest go, logged and counted.
const MAX_PENDING_BATCHES: usize = 50_000;

#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    first: Duration,
    max: Duration,
    /// How long to keep retrying once the collector has stopped.
    at_shutdown: Duration,
    max_pending: usize,
    /// How long to wait for more polls before committing a small transaction.
    linger: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            first: Duration::from_millis(500),
            // Retries are cheap (a refused transaction): keep them frequent enough that a
            // freed disk is noticed within seconds.
            max: Duration::from_secs(5),
            at_shutdown: Duration::from_secs(10),
            max_pending: MAX_PENDING_BATCHES,
            linger: Duration::from_millis(100),
        }
    }
}

/// Commits batches in arrival order. A failed write keeps its batches and retries them with
/// backoff while new ones queue behind, so a full disk loses nothing until it clears (or until
/// the in-memory cap, past which the oldest are dropped and logged).
pub(super) async fn commit_loop<W, A>(
    mut rx: mpsc::Receiver<Batch>,
    write: W,
    mut after_write: A,
    policy: RetryPolicy,
) where
    W: Fn(&[Batch]) -> Result<(), StoreError> + Send + Sync + 'static,
    A: FnMut(Vec<Batch>),
{
    use tokio::time::Instant;
    let write = Arc::new(write);
    let mut pending: Vec<Batch> = Vec::new();
    let mut delay = policy.first;
    let mut failing_since: Option<Instant> = None;
    // While the store refuses writes: when to try again (arrivals do not hurry it).
    let mut retry_at: Option<Instant> = None;
    let mut closed_at: Option<Instant> = None;
    let mut dropped = 0usize;
    loop {
        if closed_at.is_none() {
            let n = match retry_at {
                // recv_many is cancel safe: a timeout loses no batch.
                Some(t) => {
                    tokio::time::timeout_at(t, rx.recv_many(&mut pending, MAX_BATCHES_PER_WRITE))
                        .await
                        .unwrap_or(usize::MAX)
                }
                // A backlog is written now; otherwise wait for polls and gather them briefly, so
                // one transaction per ~100 ms keeps commit cost per sample low.
                None if !pending.is_empty() => {
                    while let Ok(b) = rx.try_recv() {
                        pending.push(b);
                    }
                    usize::MAX
                }
                None => {
                    let n = rx.recv_many(&mut pending, MAX_BATCHES_PER_WRITE).await;
                    if n > 0
                        && pending.len() < MAX_BATCHES_PER_WRITE / 2
                        && !policy.linger.is_zero()
                    {
                        tokio::time::sleep(policy.linger).await;
                        while pending.len() < MAX_BATCHES_PER_WRITE {
                            match rx.try_recv() {
                                Ok(b) => pending.push(b),
                                Err(_) => break,
                            }
                        }
                    }
                    n
                }
            };
            if n == 0 {
                closed_at = Some(Instant::now());
            }
        }
        if pending.is_empty() {
            if closed_at.is_some() {
                return;
            }
            continue;
        }
        if let Some(t) = retry_at
            && Instant::now() < t
        {
            if closed_at.is_none() {
                continue;
            }
            tokio::time::sleep_until(t).await;
        }
        if pending.len() > policy.max_pending {
            let n = pending.len() - policy.max_pending;
            pending.drain(..n);
            dropped += n;
            tracing::error!(
                dropped_batches = n,
                total_dropped = dropped,
                "the embedded store has refused writes for too long: dropped the oldest uncommitted polls"
            );
        }
        let chunk: Vec<Batch> = pending
            .drain(..pending.len().min(MAX_BATCHES_PER_WRITE))
            .collect();
        let w = write.clone();
        let (chunk, result) = match tokio::task::spawn_blocking(move || {
            let r = w(&chunk);
            (chunk, r)
        })
        .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "store writer task failed");
                continue;
            }
        };
        match result {
            Ok(()) => {
                // As loud as the fault was, so whoever saw it sees it end.
                if let Some(since) = failing_since.take() {
                    tracing::warn!(
                        after_s = since.elapsed().as_secs(),
                        "embedded store writes recovered; kept polls committed"
                    );
                }
                retry_at = None;
                delay = policy.first;
                after_write(chunk);
            }
            Err(e) => {
                let kept = pending.len() + chunk.len();
                if failing_since.is_none() {
                    failing_since = Some(Instant::now());
                    tracing::error!(error = %e, "could not write to the embedded store; keeping polls in memory and retrying");
                } else {
                    tracing::warn!(error = %e, pending_batches = kept, retry_in_ms = delay.as_millis() as u64, "embedded store still refuses writes");
                }
                pending.splice(0..0, chunk);
                retry_at = Some(Instant::now() + delay);
                delay = (delay * 2).min(policy.max);
                if closed_at.is_some_and(|t| t.elapsed() > policy.at_shutdown) {
                    tracing::error!(lost_batches = pending.len(), error = %e, "stopping with polls the embedded store would not take");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kilowatch_core::model::{Field, Sample, Series};
    use std::sync::Mutex;

    fn batch(i: usize) -> Batch {
        Batch {
            device: format!("d{i}").into(),
            at: i as i64,
            poll: kilowatch_core::model::PollStatus::Ok,
            poll_ms: 1.0,
            samples: vec![Sample {
                series: Arc::new(Series::new(
                    Field::PowerW.measurement(),
                    vec![("device", format!("d{i}"))],
                )),
                field: Field::PowerW,
                value: i as f64,
            }],
        }
    }

    /// What SQLite says when the disk is full (code 13, SQLITE_FULL) or failing.
    fn refused(msg: &str) -> StoreError {
        StoreError::Sqlite {
            path: "kw.db".into(),
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(13), Some(msg.into())),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            first: Duration::from_millis(5),
            max: Duration::from_millis(20),
            at_shutdown: Duration::from_millis(200),
            max_pending: 1_000,
            linger: Duration::from_millis(1),
        }
    }

    /// The store refuses the first five writes (a full disk): every batch is committed once, in
    /// order, after it recovers.
    #[tokio::test]
    async fn a_refusing_store_loses_nothing_and_keeps_order() {
        let (tx, rx) = mpsc::channel(16);
        let committed = Arc::new(Mutex::new(Vec::new()));
        let fails = Arc::new(Mutex::new(5));
        let (c, f) = (committed.clone(), fails.clone());
        let loop_ = tokio::spawn(commit_loop(
            rx,
            move |b: &[Batch]| {
                let mut left = f.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    return Err(refused("database or disk is full"));
                }
                c.lock().unwrap().extend(b.iter().map(|b| b.at));
                Ok(())
            },
            |_| {},
            policy(),
        ));
        for i in 0..300 {
            tx.send(batch(i)).await.unwrap();
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
        drop(tx);
        loop_.await.unwrap();
        assert_eq!(*fails.lock().unwrap(), 0);
        assert_eq!(*committed.lock().unwrap(), (0..300).collect::<Vec<i64>>());
    }

    /// A store that never recovers: the loop still ends after its shutdown grace, and with a
    /// cap of 100 it drops the oldest, never the newest.
    #[tokio::test]
    async fn a_dead_store_is_bounded_and_ends() {
        let (tx, rx) = mpsc::channel(512);
        let tried = Arc::new(Mutex::new(Vec::new()));
        let t = tried.clone();
        let loop_ = tokio::spawn(commit_loop(
            rx,
            move |b: &[Batch]| {
                t.lock()
                    .unwrap()
                    .push(b.iter().map(|b| b.at).min().unwrap_or(-1));
                Err(refused("disk I/O error"))
            },
            |_| {},
            RetryPolicy {
                max_pending: 100,
                ..policy()
            },
        ));
        for i in 0..400 {
            tx.send(batch(i)).await.unwrap();
        }
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), loop_)
            .await
            .unwrap()
            .unwrap();
        let last_first = *tried.lock().unwrap().last().unwrap();
        assert!(last_first >= 300, "oldest kept at the end: {last_first}");
    }
}
