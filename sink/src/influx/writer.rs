//! One-shot writes of computed figures (`kilowatch publish`): the analyzer's results go straight
//! to InfluxDB, because they can be recomputed from the store at any time and so need no outbox.
//! Collected samples never take this path; they go through the outbox and the sink.

use std::time::Duration;

use super::InfluxError;
use super::client::BlockingClient;
use super::target::InfluxTarget;

/// Most line-protocol bytes in one request (InfluxDB 1.x accepts far more; this keeps each
/// request well under proxies' body limits).
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Debug)]
pub struct InfluxWriter {
    client: BlockingClient,
}

impl InfluxWriter {
    pub fn new(target: InfluxTarget) -> Result<InfluxWriter, InfluxError> {
        Ok(InfluxWriter {
            client: BlockingClient::new(target, Duration::from_secs(30))?,
        })
    }

    /// Writes line protocol (millisecond timestamps), split at line ends into requests of at most
    /// 1 MiB. Stops at the first request InfluxDB does not acknowledge, naming its answer.
    pub fn write(&self, lines: &str) -> Result<(), InfluxError> {
        for body in chunks(lines, MAX_BODY_BYTES) {
            let answer = self.client.write(body.to_owned())?;
            if !answer.ok() {
                return Err(self.client.error(format!("write: {}", answer.describe())));
            }
        }
        Ok(())
    }
}

/// Splits line protocol after line ends into pieces of at most `max` bytes; a single longer line
/// stays whole (InfluxDB judges it, not us).
fn chunks(lines: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = lines;
    while !rest.is_empty() {
        // Searching bytes: a cut just after '\n' is always a character boundary.
        let bytes = rest.as_bytes();
        let cut = if rest.len() <= max {
            rest.len()
        } else {
            bytes[..max]
                .iter()
                .rposition(|b| *b == b'\n')
                .or_else(|| bytes.iter().position(|b| *b == b'\n'))
                .map_or(rest.len(), |i| i + 1)
        };
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_only_after_line_ends() {
        let lines = "a v=1 1\nbb v=2 2\nccc v=\"é\" 3\n";
        assert_eq!(chunks(lines, 1 << 20), [lines]);
        assert_eq!(
            chunks(lines, 17),
            ["a v=1 1\nbb v=2 2\n", "ccc v=\"é\" 3\n"]
        );
        assert_eq!(
            chunks(lines, 3),
            ["a v=1 1\n", "bb v=2 2\n", "ccc v=\"é\" 3\n"]
        );
        assert!(chunks("", 10).is_empty());
    }
}
