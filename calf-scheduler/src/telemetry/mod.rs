//! What a runtime remembers of its foreign calls, for the people who
//! watch it: counts by subject and outcome, latency histograms, retries
//! and errors minute by minute over the last hour, and the last calls of
//! each process with their attempts (the dashboard's timeline). Each call
//! ended is also a span for the trace file, when there is one
//! (`trace.rs`).
//!
//! Everything here is bounded whatever a program does: subjects past
//! [`MAX_SUBJECTS`] are counted together, ended calls are a ring, and a
//! call dropped unfinished (its process killed) leaves no record behind.

pub mod trace;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use calf_lang::value::Pid;
use rustc_hash::FxHashMap;

pub use trace::{SpanSink, TraceContext};

/// Subjects counted apart; the calls of any more are counted under
/// [`OTHER_SUBJECTS`], so that a program naming a new subject per call
/// cannot grow the figures (or a metrics scrape) without bound.
pub const MAX_SUBJECTS: usize = 256;

/// The subject label the calls past [`MAX_SUBJECTS`] are counted under.
pub const OTHER_SUBJECTS: &str = "_other";

/// Ended calls kept for the timelines of the processes.
const KEEP_ENDED: usize = 2_000;

/// Attempts kept per call: the first ones and the last, enough to see a
/// retry loop without keeping all of a long one.
const KEEP_ATTEMPTS: usize = 16;

/// Minutes of retries and errors kept.
pub const MINUTES: usize = 60;

/// Longest error text kept with a call.
const MAX_ERROR: usize = 500;

/// Upper bounds (seconds) of the latency histograms' buckets; the last
/// bucket, `+Inf`, is implied.
pub const LATENCY_BOUNDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Ok,
    RemoteError,
    Timeout,
    NoResponders,
    BadReply,
    BadRequest,
    /// Its process ended (killed, say) while it was in flight.
    Cancelled,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::RemoteError => "remote_error",
            Outcome::Timeout => "timeout",
            Outcome::NoResponders => "no_responders",
            Outcome::BadReply => "bad_reply",
            Outcome::BadRequest => "bad_request",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// One attempt of a call.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub number: u32,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub duration_ms: u64,
    /// `ok`, or why it failed (`no responders`, the worker's error, ...).
    pub result: String,
}

/// One call, in flight or ended.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    pub pid: Pid,
    pub subject: String,
    pub call_id: String,
    /// The W3C trace id its requests carried, in hex.
    pub trace_id: String,
    /// Unix milliseconds.
    pub started_ms: i64,
    /// Set once it ended.
    pub duration_ms: Option<u64>,
    /// Attempts made so far (more than `attempts` holds when a long
    /// retry loop was trimmed).
    pub attempt_count: u32,
    pub attempts: Vec<Attempt>,
    /// Set once it ended.
    pub outcome: Option<Outcome>,
    pub last_error: Option<String>,
}

/// Calls of one subject.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubjectFigures {
    /// Ended calls by outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Attempts after the first.
    pub retries: u64,
    /// Calls ended (not cancelled) with a duration in each bucket of
    /// [`LATENCY_BOUNDS`] and `+Inf` (not cumulative).
    pub latency_buckets: [u64; LATENCY_BOUNDS.len() + 1],
    /// Seconds, over the same calls.
    pub latency_sum: f64,
}

/// One minute's calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Minute {
    /// Minutes since the Unix epoch.
    pub minute: i64,
    pub calls: u64,
    pub retries: u64,
    pub errors: u64,
}

/// A runtime's record of its calls.
pub struct Telemetry {
    tenant: Option<Arc<str>>,
    spans: Option<Arc<SpanSink>>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    in_flight: FxHashMap<u64, CallRecord>,
    ended: VecDeque<CallRecord>,
    subjects: BTreeMap<String, SubjectFigures>,
    minutes: VecDeque<Minute>,
}

impl Telemetry {
    /// The record of `tenant`'s runtime (`None` for a script's), whose
    /// ended calls also go to `spans` when given.
    pub fn new(tenant: Option<&str>, spans: Option<Arc<SpanSink>>) -> Arc<Telemetry> {
        Arc::new(Telemetry {
            tenant: tenant.map(Arc::from),
            spans,
            inner: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call begins: its record lives while the returned guard does; a
    /// guard dropped before [`Recording::end`] ends it as cancelled.
    pub(crate) fn start(
        self: &Arc<Telemetry>,
        pid: Pid,
        subject: &str,
        call_id: &str,
        trace: &TraceContext,
    ) -> Recording {
        let record = CallRecord {
            pid,
            subject: subject.to_string(),
            call_id: call_id.to_string(),
            trace_id: trace.trace_id_hex(),
            started_ms: unix_ms(SystemTime::now()),
            duration_ms: None,
            attempt_count: 0,
            attempts: Vec::new(),
            outcome: None,
            last_error: None,
        };
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        inner.in_flight.insert(id, record);
        Recording {
            telemetry: self.clone(),
            id,
            started: Instant::now(),
            started_at: SystemTime::now(),
            trace: *trace,
            ended: false,
        }
    }

    /// The calls of `pid`, in flight and among the last ended, oldest
    /// first; at most `limit` (the latest).
    pub fn calls_of(&self, pid: Pid, limit: usize) -> Vec<CallRecord> {
        let inner = self.lock();
        let mut calls: Vec<CallRecord> = inner
            .ended
            .iter()
            .chain(inner.in_flight.values())
            .filter(|c| c.pid == pid)
            .cloned()
            .collect();
        calls.sort_by_key(|c| c.started_ms);
        let skip = calls.len().saturating_sub(limit);
        calls.drain(..skip);
        calls
    }

    /// Every subject's figures so far.
    pub fn subjects(&self) -> BTreeMap<String, SubjectFigures> {
        self.lock().subjects.clone()
    }

    /// The last hour, one entry per minute that saw a call (oldest
    /// first).
    pub fn minutes(&self) -> Vec<Minute> {
        let now = unix_ms(SystemTime::now()) / 60_000;
        self.lock()
            .minutes
            .iter()
            .filter(|m| m.minute > now - MINUTES as i64)
            .copied()
            .collect()
    }

    fn subject_figures<'a>(inner: &'a mut Inner, subject: &str) -> &'a mut SubjectFigures {
        // One place stays for the subjects past the bound.
        let room = inner.subjects.len() + 1 < MAX_SUBJECTS;
        let key = if inner.subjects.contains_key(subject) || room {
            subject
        } else {
            OTHER_SUBJECTS
        };
        if !inner.subjects.contains_key(key) {
            inner
                .subjects
                .insert(key.to_string(), SubjectFigures::default());
        }
        inner.subjects.get_mut(key).expect("inserted above")
    }
}

fn this_minute(inner: &mut Inner) -> &mut Minute {
    let minute = unix_ms(SystemTime::now()) / 60_000;
    if inner.minutes.back().is_none_or(|m| m.minute != minute) {
        inner.minutes.push_back(Minute {
            minute,
            ..Minute::default()
        });
        while inner.minutes.len() > MINUTES {
            inner.minutes.pop_front();
        }
    }
    inner.minutes.back_mut().expect("pushed above")
}

/// A call being recorded.
pub(crate) struct Recording {
    telemetry: Arc<Telemetry>,
    id: u64,
    started: Instant,
    started_at: SystemTime,
    trace: TraceContext,
    ended: bool,
}

impl Recording {
    /// Attempt `number` is sent.
    pub fn begin(&self, number: u32) {
        if let Some(record) = self.telemetry.lock().in_flight.get_mut(&self.id) {
            record.attempt_count = number;
        }
    }

    /// Attempt `number`, begun at `started`, ended with `result` (`None`:
    /// a reply).
    pub fn attempt(&self, number: u32, started: Instant, result: Option<String>) {
        let duration = started.elapsed();
        let started_ms = unix_ms(SystemTime::now() - duration);
        let mut inner = self.telemetry.lock();
        let Some(record) = inner.in_flight.get_mut(&self.id) else {
            return;
        };
        record.attempt_count = number;
        if record.attempts.len() >= KEEP_ATTEMPTS {
            // Keeps the first half and slides the rest.
            record.attempts.remove(KEEP_ATTEMPTS / 2);
        }
        record.attempts.push(Attempt {
            number,
            started_ms,
            duration_ms: millis(duration),
            result: result
                .clone()
                .map_or_else(|| "ok".to_string(), |r| trim(&r)),
        });
        if let Some(error) = result {
            record.last_error = Some(trim(&error));
        }
        if number > 1 {
            let subject = record.subject.clone();
            Telemetry::subject_figures(&mut inner, &subject).retries += 1;
            this_minute(&mut inner).retries += 1;
        }
    }

    /// The call ended with `outcome`; `error` is what it threw.
    pub fn end(mut self, outcome: Outcome, error: Option<String>) {
        self.finish(outcome, error);
    }

    fn finish(&mut self, outcome: Outcome, error: Option<String>) {
        self.ended = true;
        let duration = self.started.elapsed();
        let mut inner = self.telemetry.lock();
        let Some(mut record) = inner.in_flight.remove(&self.id) else {
            return;
        };
        record.duration_ms = Some(millis(duration));
        record.outcome = Some(outcome);
        if let Some(error) = error {
            record.last_error = Some(trim(&error));
        }
        let figures = Telemetry::subject_figures(&mut inner, &record.subject);
        *figures.outcomes.entry(outcome).or_default() += 1;
        if outcome != Outcome::Cancelled {
            let seconds = duration.as_secs_f64();
            let bucket = LATENCY_BOUNDS
                .iter()
                .position(|bound| seconds <= *bound)
                .unwrap_or(LATENCY_BOUNDS.len());
            figures.latency_buckets[bucket] += 1;
            figures.latency_sum += seconds;
        }
        let minute = this_minute(&mut inner);
        minute.calls += 1;
        if !matches!(outcome, Outcome::Ok | Outcome::Cancelled) {
            minute.errors += 1;
        }
        if let Some(spans) = &self.telemetry.spans {
            spans.write(&trace::Span {
                trace: &self.trace,
                tenant: self.telemetry.tenant.as_deref(),
                record: &record,
                start: self.started_at,
                end: self.started_at + duration,
            });
        }
        inner.ended.push_back(record);
        while inner.ended.len() > KEEP_ENDED {
            inner.ended.pop_front();
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if !self.ended {
            self.finish(Outcome::Cancelled, None);
        }
    }
}

fn trim(text: &str) -> String {
    if text.len() <= MAX_ERROR {
        return text.to_string();
    }
    let mut end = MAX_ERROR;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Unix milliseconds of `time`.
pub fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_counted_timed_and_kept_for_its_process() {
        let telemetry = Telemetry::new(Some("acme"), None);
        let trace = TraceContext::new();
        let recording = telemetry.start(Pid(7), "greet", "id1", &trace);
        assert_eq!(telemetry.calls_of(Pid(7), 10)[0].outcome, None);
        recording.attempt(1, Instant::now(), Some("no responders".into()));
        recording.attempt(2, Instant::now(), None);
        recording.end(Outcome::Ok, None);
        let calls = telemetry.calls_of(Pid(7), 10);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].attempt_count, 2);
        assert_eq!(calls[0].last_error.as_deref(), Some("no responders"));
        assert_eq!(calls[0].trace_id, trace.trace_id_hex());
        assert!(telemetry.calls_of(Pid(8), 10).is_empty());
        let greet = &telemetry.subjects()["greet"];
        assert_eq!(greet.outcomes[&Outcome::Ok], 1);
        assert_eq!(greet.retries, 1);
        assert_eq!(greet.latency_buckets.iter().sum::<u64>(), 1);
        let minutes = telemetry.minutes();
        assert_eq!((minutes[0].calls, minutes[0].retries), (1, 1));
    }

    #[test]
    fn a_dropped_call_ends_cancelled_and_subjects_are_bounded() {
        let telemetry = Telemetry::new(None, None);
        let trace = TraceContext::new();
        drop(telemetry.start(Pid(1), "slow", "id", &trace));
        assert_eq!(
            telemetry.calls_of(Pid(1), 10)[0].outcome,
            Some(Outcome::Cancelled)
        );
        for i in 0..MAX_SUBJECTS + 50 {
            let r = telemetry.start(Pid(2), &format!("s{i}"), "id", &trace);
            r.end(Outcome::Timeout, Some("x".repeat(10_000)));
        }
        let subjects = telemetry.subjects();
        assert_eq!(subjects.len(), MAX_SUBJECTS);
        assert!(subjects[OTHER_SUBJECTS].outcomes[&Outcome::Timeout] >= 50);
        let last = telemetry.calls_of(Pid(2), 1);
        assert!(last[0].last_error.as_ref().unwrap().len() <= MAX_ERROR + 3);
    }
}
