//! A job's kept output: the last `max_output` bytes it printed, addressed
//! by absolute byte offsets so that a client can follow it across
//! requests, with the job's end once it has come.
//!
//! Offsets count every byte the job ever printed: `start` is the first
//! one still kept, `next` the one the next write will have. A client
//! asking from an offset that was dropped gets the text from `start`, and
//! sees from `start` how much it missed. Text is dropped a whole character
//! at a time, so what is kept is always valid UTF-8.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use calf_scheduler::hosted::{self, JobOutput};
use tokio::sync::watch;

use crate::api;

/// The most text one read returns: a follower asks again from `next`, and
/// a reply stays well below the NATS payload limit.
pub const MAX_CHUNK: usize = 256 * 1024;

/// One job's output (or an attached session's), shared by the runtime
/// that writes it and the requests that read it.
pub struct JobLog {
    kept: Mutex<Kept>,
    /// Bumped on every write and at the end: what waiting readers watch.
    changed: watch::Sender<u64>,
}

struct Kept {
    max: usize,
    bytes: VecDeque<u8>,
    /// The absolute offset of `bytes[0]`.
    start: u64,
    end: Option<(api::JobEnd, Instant)>,
}

impl Kept {
    fn next(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    fn push(&mut self, text: &str) {
        let text = text.as_bytes();
        // Text larger than the ring: only its tail could be kept anyway.
        let text = if text.len() > self.max {
            self.start += (self.bytes.len() + text.len() - self.max) as u64;
            self.bytes.clear();
            &text[text.len() - self.max..]
        } else {
            text
        };
        self.bytes.extend(text);
        let excess = self.bytes.len().saturating_sub(self.max);
        self.drop_front(excess);
    }

    /// Drops at least `count` bytes from the front, and then up to the next
    /// character boundary.
    fn drop_front(&mut self, count: usize) {
        let mut dropped = 0;
        while dropped < count || self.bytes.front().is_some_and(|&b| is_continuation(b)) {
            if self.bytes.pop_front().is_none() {
                break;
            }
            dropped += 1;
        }
        self.start += dropped as u64;
    }
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

impl JobLog {
    /// An empty log keeping at most `max_output` bytes (at least one
    /// character's worth).
    pub fn new(max_output: usize) -> JobLog {
        JobLog {
            kept: Mutex::new(Kept {
                max: max_output.max(4),
                bytes: VecDeque::new(),
                start: 0,
                end: None,
            }),
            changed: watch::Sender::new(0),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The offset the next byte written will have.
    pub fn next(&self) -> u64 {
        self.kept().next()
    }

    /// How the job ended, once it has.
    pub fn end(&self) -> Option<api::JobEnd> {
        self.kept().end.as_ref().map(|(end, _)| end.clone())
    }

    /// When the job ended, once it has.
    pub fn ended_at(&self) -> Option<Instant> {
        self.kept().end.as_ref().map(|(_, at)| *at)
    }

    /// Records the end unless one was recorded already (the first wins).
    pub fn finish(&self, end: api::JobEnd) {
        {
            let mut kept = self.kept();
            if kept.end.is_some() {
                return;
            }
            kept.end = Some((end, Instant::now()));
        }
        self.bump();
    }

    /// The kept text from `from` on, at most [`MAX_CHUNK`] bytes of it.
    pub fn read(&self, from: u64) -> api::LogChunk {
        self.read_at_most(from, MAX_CHUNK)
    }

    fn read_at_most(&self, from: u64, limit: usize) -> api::LogChunk {
        let kept = self.kept();
        let mut skip = from.saturating_sub(kept.start).min(kept.bytes.len() as u64) as usize;
        // An offset inside a character (a client's own guess) starts at
        // the next whole one.
        while kept.bytes.get(skip).is_some_and(|&b| is_continuation(b)) {
            skip += 1;
        }
        let available = kept.bytes.len() - skip;
        let mut take = available.min(limit);
        let inside_a_character =
            |at: usize| kept.bytes.get(at).is_some_and(|&b| is_continuation(b));
        while inside_a_character(skip + take) {
            take -= 1;
        }
        // A limit smaller than the first character still returns it.
        if take == 0 && available > 0 {
            take = 1;
            while inside_a_character(skip + take) {
                take += 1;
            }
        }
        let bytes: Vec<u8> = kept.bytes.range(skip..skip + take).copied().collect();
        let start = kept.start + skip as u64;
        let next = start + take as u64;
        // The end is told only with the last of the text.
        let ended = if next == kept.next() {
            kept.end.as_ref().map(|(end, _)| end.clone())
        } else {
            None
        };
        api::LogChunk {
            start,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            next,
            ended,
        }
    }

    /// Waits until there is output past `from` or the job has ended, at
    /// most `timeout`; then reads as [`JobLog::read`] does.
    pub async fn read_waiting(&self, from: u64, timeout: Duration) -> api::LogChunk {
        let mut changed = self.changed.subscribe();
        let ready = |log: &JobLog| {
            let kept = log.kept();
            kept.next() > from || kept.end.is_some()
        };
        let wait = async {
            // Subscribed before looking: a write after the look wakes us.
            while !ready(self) {
                if changed.changed().await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.read(from)
    }
}

impl JobOutput for JobLog {
    fn write(&self, text: &str, _to_stderr: bool) {
        // One stream, as a terminal shows both: what a job printed to
        // stderr stays in order with its stdout.
        self.kept().push(text);
        self.bump();
    }

    fn ended(&self, end: hosted::JobEnd) {
        self.finish(api::JobEnd {
            reason: end.reason,
            status: end.status,
            failure: end.failure,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(reason: &str) -> hosted::JobEnd {
        hosted::JobEnd {
            reason: reason.to_string(),
            status: 0,
            failure: None,
        }
    }

    #[test]
    fn offsets_count_every_byte_written() {
        let log = JobLog::new(100);
        log.write("hello ", false);
        log.write("world\n", true);
        let chunk = log.read(0);
        assert_eq!(
            (chunk.start, chunk.text.as_str(), chunk.next),
            (0, "hello world\n", 12)
        );
        let chunk = log.read(6);
        assert_eq!((chunk.start, chunk.text.as_str()), (6, "world\n"));
        assert_eq!(log.read(12).text, "");
        assert_eq!(log.read(500).next, 12);
    }

    #[test]
    fn the_oldest_output_goes_first() {
        let log = JobLog::new(8);
        log.write("0123456789", false);
        let chunk = log.read(0);
        assert_eq!(
            (chunk.start, chunk.text.as_str(), chunk.next),
            (2, "23456789", 10)
        );
        log.write("ab", false);
        let chunk = log.read(0);
        assert_eq!(
            (chunk.start, chunk.text.as_str(), chunk.next),
            (4, "456789ab", 12)
        );
    }

    #[test]
    fn text_is_dropped_a_whole_character_at_a_time() {
        let log = JobLog::new(5);
        // Each é is two bytes: dropping one byte must drop both.
        log.write("éééé", false);
        let chunk = log.read(0);
        assert_eq!(chunk.text, "éé");
        assert_eq!((chunk.start, chunk.next), (4, 8));
        // An offset inside a character starts at the next one.
        assert_eq!(log.read(5).text, "é");
    }

    #[test]
    fn a_read_is_bounded_and_ends_on_a_character() {
        let log = JobLog::new(100);
        log.write("aéb", false);
        let chunk = log.read_at_most(0, 2);
        assert_eq!((chunk.text.as_str(), chunk.next), ("a", 1));
        let chunk = log.read_at_most(1, 4);
        assert_eq!((chunk.text.as_str(), chunk.next), ("éb", 4));
    }

    #[test]
    fn the_end_comes_with_the_last_text_and_once() {
        let log = JobLog::new(100);
        log.write("bye", false);
        log.ended(end(":normal"));
        log.ended(end(":other"));
        assert_eq!(log.read_at_most(0, 1).ended, None);
        let chunk = log.read(0);
        assert_eq!(chunk.ended.map(|e| e.reason), Some(":normal".to_string()));
        assert!(log.ended_at().is_some());
    }

    #[tokio::test]
    async fn a_reader_waits_for_output_past_its_offset() {
        let log = std::sync::Arc::new(JobLog::new(100));
        log.write("one\n", false);
        let writer = log.clone();
        let reader =
            tokio::spawn(async move { log.read_waiting(4, Duration::from_secs(10)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        writer.write("two\n", false);
        let chunk = reader.await.expect("the reader returns");
        assert_eq!((chunk.start, chunk.text.as_str()), (4, "two\n"));
    }

    #[tokio::test]
    async fn a_reader_wakes_at_the_end_and_at_its_timeout() {
        let log = std::sync::Arc::new(JobLog::new(100));
        let waited = log.read_waiting(0, Duration::from_millis(10)).await;
        assert_eq!((waited.text.as_str(), waited.ended), ("", None));
        let ender = log.clone();
        let reader =
            tokio::spawn(async move { log.read_waiting(0, Duration::from_secs(10)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        ender.ended(end(":normal"));
        let chunk = reader.await.expect("the reader returns");
        assert!(chunk.ended.is_some());
    }
}
