//! Running one foreign call: attempts, backoff with jitter, deadlines, and
//! the errors a failed call throws.
//!
//! No responders, timeouts and retryable errors are retried with the same
//! call id until the attempts or the deadline run out; non-retryable errors
//! and bad replies raise at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use calf_lang::error::ex_info;
use calf_lang::{RuntimeError, Value};

use crate::bus::{Bus, BusError, Reply, Request};
use crate::telemetry::{Outcome, Recording, TraceContext};

/// How a call is tried: LANGUAGE.md's options and their defaults.
#[derive(Clone, Debug)]
pub struct Policy {
    /// One attempt.
    pub timeout: Duration,
    /// All attempts together.
    pub deadline: Duration,
    pub initial_interval: Duration,
    pub backoff_coefficient: f64,
    pub maximum_interval: Duration,
    /// `None`: as many as fit in the deadline.
    pub maximum_attempts: Option<u32>,
    /// Error codes never retried.
    pub non_retryable: Vec<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            timeout: Duration::from_millis(30_000),
            deadline: Duration::from_millis(120_000),
            initial_interval: Duration::from_millis(100),
            backoff_coefficient: 2.0,
            maximum_interval: Duration::from_millis(10_000),
            maximum_attempts: None,
            non_retryable: Vec::new(),
        }
    }
}

fn get(map: &Value, key: &str) -> Option<Value> {
    match map {
        Value::Map(m) => m
            .get(&Value::keyword(key))
            .cloned()
            .filter(|v| !matches!(v, Value::Nil)),
        _ => None,
    }
}

fn option_error(key: &str, expected: &str, got: &Value) -> RuntimeError {
    RuntimeError::new(
        "calf/illegal-argument",
        format!(
            "call option {key} must be {expected}, got {}",
            calf_lang::value::print::pr_str(got)
        ),
    )
    .with("option", Value::keyword(key))
}

fn millis(options: &Value, key: &str) -> Result<Option<Duration>, RuntimeError> {
    match get(options, key) {
        None => Ok(None),
        Some(Value::Int(ms)) if ms > 0 => Ok(Some(Duration::from_millis(ms as u64))),
        Some(other) => Err(option_error(
            key,
            "a positive number of milliseconds",
            &other,
        )),
    }
}

impl Policy {
    /// Reads `{:timeout-ms :deadline-ms :retry {...}}`; unknown keys are an
    /// error, so a typo does not silently fall back to a default.
    pub fn from_options(options: &Value) -> Result<Policy, RuntimeError> {
        let mut policy = Policy::default();
        check_keys(options, &["timeout-ms", "deadline-ms", "retry"])?;
        if let Some(t) = millis(options, "timeout-ms")? {
            policy.timeout = t;
        }
        if let Some(d) = millis(options, "deadline-ms")? {
            policy.deadline = d;
        }
        let Some(retry) = get(options, "retry") else {
            return Ok(policy);
        };
        if !matches!(retry, Value::Map(_)) {
            return Err(option_error("retry", "a map", &retry));
        }
        check_keys(
            &retry,
            &[
                "initial-interval-ms",
                "backoff-coefficient",
                "maximum-interval-ms",
                "maximum-attempts",
                "non-retryable",
            ],
        )?;
        if let Some(i) = millis(&retry, "initial-interval-ms")? {
            policy.initial_interval = i;
        }
        if let Some(m) = millis(&retry, "maximum-interval-ms")? {
            policy.maximum_interval = m;
        }
        match get(&retry, "backoff-coefficient") {
            None => {}
            Some(Value::Float(c)) if c >= 1.0 => policy.backoff_coefficient = c,
            Some(Value::Int(c)) if c >= 1 => policy.backoff_coefficient = c as f64,
            Some(other) => {
                return Err(option_error("backoff-coefficient", "a number >= 1", &other))
            }
        }
        match get(&retry, "maximum-attempts") {
            None => {}
            Some(Value::Int(n)) if n >= 1 => {
                policy.maximum_attempts = Some(n.min(u32::MAX as i64) as u32)
            }
            Some(other) => {
                return Err(option_error(
                    "maximum-attempts",
                    "a positive integer",
                    &other,
                ))
            }
        }
        if let Some(codes) = get(&retry, "non-retryable") {
            let Some(items) = codes.as_seq() else {
                return Err(option_error(
                    "non-retryable",
                    "a vector of error codes",
                    &codes,
                ));
            };
            policy.non_retryable = items.iter().map(code_text).collect();
        }
        Ok(policy)
    }

    /// The pause before attempt `attempt + 1`, with ±20% jitter so that
    /// many callers do not retry in step.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let base = self.initial_interval.as_secs_f64()
            * self
                .backoff_coefficient
                .powi(attempt.saturating_sub(1) as i32);
        let capped = base.min(self.maximum_interval.as_secs_f64());
        let jitter = 0.8 + 0.4 * random_unit();
        Duration::from_secs_f64((capped * jitter).max(0.0))
    }
}

fn check_keys(map: &Value, known: &[&str]) -> Result<(), RuntimeError> {
    if let Value::Map(m) = map {
        for key in m.keys() {
            let ok = matches!(key, Value::Keyword(k) if known.contains(&k.name()));
            if !ok {
                return Err(RuntimeError::new(
                    "calf/illegal-argument",
                    format!("unknown call option {}; known: {}", key, known.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

/// An error code as text: strings as they are, keywords by name.
fn code_text(code: &Value) -> String {
    match code {
        Value::Str(s) => s.to_string(),
        Value::Keyword(k) => k.name().to_string(),
        other => calf_lang::value::print::print_str(other),
    }
}

/// A seed: the standard library's randomly keyed hasher over the clock
/// and a counter (no cryptographic strength is needed here).
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// Two streams of SplitMix64 per thread, seeded once (seeding for every
/// number cost more than the rest of making a call id). Two streams with
/// their own seeds and steps: a 128-bit id from them repeats another
/// thread's only if both seeds line up.
pub(crate) fn random_pair() -> (u64, u64) {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<(u64, u64)> = Cell::new((seed(), seed()));
    }
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    STATE.with(|state| {
        let (a, b) = state.get();
        let next = (
            a.wrapping_add(0x9e37_79b9_7f4a_7c15),
            b.wrapping_add(0xd1b5_4a32_d192_ed03),
        );
        state.set(next);
        (mix(next.0), mix(next.1))
    })
}

fn random_unit() -> f64 {
    (random_pair().0 >> 11) as f64 / (1u64 << 53) as f64
}

/// A fresh call id: 128 random bits in hex. Written digit by digit: the
/// formatting machinery cost more than the rest of making a request.
pub fn new_call_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (high, low) = random_pair();
    let bits = (u128::from(high) << 64) | u128::from(low);
    let digits: Vec<u8> = (0..32)
        .rev()
        .map(|i| HEX[((bits >> (4 * i)) & 0xf) as usize])
        .collect();
    String::from_utf8(digits).expect("hex digits are ASCII")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What a call carries besides its request, under `calf serve`.
#[derive(Clone, Default)]
pub struct CallContext {
    /// The tenant it is made for (the `Calf-Tenant` header).
    pub tenant: Option<Arc<str>>,
    /// A permit of this is held while the call is in flight (the quota
    /// of calls in flight): the call waits for one, until its deadline.
    pub permits: Option<Arc<tokio::sync::Semaphore>>,
    /// Where the number of the attempt under way is kept, for `inspect`.
    pub attempt: Option<Arc<AtomicU32>>,
    /// Attempts made before this run: a durable process restored in the
    /// middle of a call goes on with the next one.
    pub attempts_before: u32,
    /// When the call gives up, in Unix milliseconds, when it was decided
    /// before this run (a restored call keeps its deadline).
    pub deadline_ms: Option<i64>,
    /// Where the call is recorded (for the dashboard, metrics and the
    /// trace file), with the process making it.
    pub telemetry: Option<(Arc<crate::telemetry::Telemetry>, calf_lang::value::Pid)>,
}

/// When a call made now gives up, in Unix milliseconds.
pub fn deadline_ms(policy: &Policy) -> i64 {
    now_ms() + policy.deadline.as_millis() as i64
}

/// Runs a call to its end: the reply's value, or the error value to throw.
pub async fn run(
    bus: Arc<dyn Bus>,
    subject: String,
    payload: Value,
    body: Bytes,
    policy: Policy,
    call_id: String,
    context: CallContext,
) -> Result<Value, Value> {
    let start = tokio::time::Instant::now();
    let trace = TraceContext::new();
    let recording = context
        .telemetry
        .as_ref()
        .map(|(telemetry, pid)| telemetry.start(*pid, &subject, &call_id, &trace));
    let result = attempts(
        bus,
        &subject,
        payload,
        body,
        &policy,
        &call_id,
        &context,
        trace,
        recording.as_ref(),
        start,
    )
    .await;
    if let Some(recording) = recording {
        let (outcome, error) = match &result {
            Ok(_) => (Outcome::Ok, None),
            Err(error) => (outcome_of(error), Some(calf_lang::error::message_of(error))),
        };
        recording.end(outcome, error);
    }
    result
}

/// How a call that threw `error` ended, from its `:type`.
fn outcome_of(error: &Value) -> Outcome {
    let kind = get(error, "data").and_then(|data| get(&data, "type"));
    let is = |name: &str| kind.as_ref() == Some(&Value::keyword(name));
    if is("calf/remote-error") {
        Outcome::RemoteError
    } else if is("calf/no-responders") {
        Outcome::NoResponders
    } else if is("calf/bad-reply") {
        Outcome::BadReply
    } else if is("calf/bad-request") {
        Outcome::BadRequest
    } else {
        Outcome::Timeout
    }
}

/// The attempts of [`run`], each recorded in `recording`.
#[allow(clippy::too_many_arguments)]
async fn attempts(
    bus: Arc<dyn Bus>,
    subject: &str,
    payload: Value,
    body: Bytes,
    policy: &Policy,
    call_id: &str,
    context: &CallContext,
    trace: TraceContext,
    recording: Option<&Recording>,
    start: tokio::time::Instant,
) -> Result<Value, Value> {
    let (subject, call_id) = (subject.to_string(), call_id.to_string());
    let (deadline, deadline_ms) = match context.deadline_ms {
        Some(at) => (
            start + Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64),
            at,
        ),
        None => (start + policy.deadline, deadline_ms(policy)),
    };
    let _permit = match &context.permits {
        None => None,
        Some(permits) => match tokio::time::timeout_at(deadline, permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                return Err(failure(
                    "calf/timeout",
                    format!(
                        "{subject} was not sent before its deadline ({} ms): the tenant's calls in flight were at their quota (max-calls-in-flight) all along",
                        policy.deadline.as_millis()
                    ),
                    &subject,
                    &call_id,
                    0,
                    vec![("quota", Value::keyword("max-calls-in-flight"))],
                ))
            }
        },
    };
    let mut attempt = context.attempts_before;
    loop {
        attempt += 1;
        if let Some(progress) = &context.attempt {
            progress.store(attempt, Ordering::Relaxed);
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let request = Request {
            subject: subject.clone(),
            payload: payload.clone(),
            body: body.clone(),
            call_id: call_id.clone(),
            attempt,
            deadline_ms,
            timeout: policy.timeout.min(remaining),
            tenant: context.tenant.as_deref().map(str::to_string),
            trace: Some(trace),
        };
        let sent = tokio::time::Instant::now();
        if let Some(recording) = recording {
            recording.begin(attempt);
        }
        let outcome = bus.request(request).await;
        if let Some(recording) = recording {
            let result = match &outcome {
                Ok(Reply::Ok(_)) => None,
                Ok(Reply::Error { code, message, .. }) => Some(format!("{message} ({code})")),
                Err(error) => Some(error.describe()),
            };
            recording.attempt(attempt, sent.into_std(), result);
        }
        tracing::debug!(
            subject,
            call_id,
            attempt,
            latency_us = sent.elapsed().as_micros() as u64,
            "call attempt"
        );
        let why = match outcome {
            Ok(Reply::Ok(value)) => return Ok(value),
            Ok(Reply::Error {
                code,
                message,
                retryable,
                data,
            }) => {
                if !retryable || policy.non_retryable.contains(&code) {
                    return Err(failure(
                        "calf/remote-error",
                        format!("{subject} failed: {message} ({code})"),
                        &subject,
                        &call_id,
                        attempt,
                        vec![
                            ("code", Value::str(code)),
                            ("message", Value::str(message)),
                            ("data", data),
                        ],
                    ));
                }
                Why::Remote(code, message, data)
            }
            Err(BusError::BadReply(why)) => {
                return Err(failure(
                    "calf/bad-reply",
                    format!("{subject} sent a reply that cannot be read: {why}"),
                    &subject,
                    &call_id,
                    attempt,
                    Vec::new(),
                ))
            }
            Err(BusError::BadRequest(why)) => {
                return Err(failure(
                    "calf/bad-request",
                    format!("the payload cannot be sent to {subject}: {why}"),
                    &subject,
                    &call_id,
                    attempt,
                    Vec::new(),
                ))
            }
            Err(error) => Why::Bus(error),
        };
        let out_of_attempts = policy.maximum_attempts.is_some_and(|max| attempt >= max);
        let delay = policy.delay_after(attempt);
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if out_of_attempts || left.is_zero() || delay >= left {
            return Err(why.into_error(&subject, &call_id, attempt));
        }
        tracing::warn!(
            subject,
            call_id,
            attempt,
            why = why.describe(),
            next_in_ms = delay.as_millis() as u64,
            "call failed; retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Why the last attempt failed, when it may be retried.
enum Why {
    Remote(String, String, Value),
    Bus(BusError),
}

impl Why {
    fn describe(&self) -> String {
        match self {
            Why::Remote(code, message, _) => format!("{message} ({code})"),
            Why::Bus(e) => e.describe(),
        }
    }

    fn into_error(self, subject: &str, call_id: &str, attempts: u32) -> Value {
        let tries = if attempts == 1 {
            "1 attempt".to_string()
        } else {
            format!("{attempts} attempts")
        };
        match self {
            Why::Remote(code, message, data) => failure(
                "calf/remote-error",
                format!("{subject} failed after {tries}: {message} ({code})"),
                subject,
                call_id,
                attempts,
                vec![
                    ("code", Value::str(code)),
                    ("message", Value::str(message)),
                    ("data", data),
                ],
            ),
            Why::Bus(BusError::NoResponders) => failure(
                "calf/no-responders",
                format!("no worker answers {subject} (after {tries}): is a worker for it running?"),
                subject,
                call_id,
                attempts,
                Vec::new(),
            ),
            Why::Bus(other) => failure(
                "calf/timeout",
                format!(
                    "{subject} did not answer in time (after {tries}, last: {})",
                    other.describe()
                ),
                subject,
                call_id,
                attempts,
                Vec::new(),
            ),
        }
    }
}

fn failure(
    kind: &str,
    message: String,
    subject: &str,
    call_id: &str,
    attempts: u32,
    extra: Vec<(&str, Value)>,
) -> Value {
    let mut data = vec![
        (Value::keyword("type"), Value::keyword(kind)),
        (Value::keyword("subject"), Value::str(subject)),
        (Value::keyword("call-id"), Value::str(call_id)),
        (Value::keyword("attempts"), Value::Int(attempts as i64)),
    ];
    data.extend(extra.into_iter().map(|(k, v)| (Value::keyword(k), v)));
    ex_info(Value::str(message), Value::map(data), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(text: &str) -> Value {
        calf_lang::reader::read_str("<options>", text)
            .expect("reads")
            .forms
            .remove(0)
    }

    #[test]
    fn defaults_are_the_languages() {
        let p = Policy::from_options(&Value::Nil).expect("defaults");
        assert_eq!(p.timeout, Duration::from_millis(30_000));
        assert_eq!(p.deadline, Duration::from_millis(120_000));
        assert_eq!(p.initial_interval, Duration::from_millis(100));
        assert_eq!(p.maximum_interval, Duration::from_millis(10_000));
        assert_eq!(p.maximum_attempts, None);
    }

    #[test]
    fn options_are_read_and_typos_refused() {
        let p = Policy::from_options(&options(
            "{:timeout-ms 5 :deadline-ms 50 :retry {:initial-interval-ms 2 :backoff-coefficient 3 :maximum-interval-ms 9 :maximum-attempts 4 :non-retryable [\"a\" :b]}}",
        ))
        .expect("valid");
        assert_eq!(p.timeout, Duration::from_millis(5));
        assert_eq!(p.maximum_attempts, Some(4));
        assert_eq!(p.non_retryable, ["a", "b"]);
        for bad in [
            "{:timeout 5}",
            "{:retry {:max-attempts 3}}",
            "{:timeout-ms 0}",
            "{:retry {:backoff-coefficient 0.5}}",
            "{:retry 3}",
        ] {
            assert!(
                Policy::from_options(&options(bad)).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn backoff_grows_to_the_maximum_with_bounded_jitter() {
        let p = Policy {
            initial_interval: Duration::from_millis(100),
            backoff_coefficient: 2.0,
            maximum_interval: Duration::from_millis(1_000),
            ..Policy::default()
        };
        for _ in 0..100 {
            let first = p.delay_after(1).as_secs_f64();
            assert!((0.08..=0.12).contains(&first), "{first}");
            let third = p.delay_after(3).as_secs_f64();
            assert!((0.32..=0.48).contains(&third), "{third}");
            let late = p.delay_after(30).as_secs_f64();
            assert!((0.8..=1.2).contains(&late), "{late}");
        }
    }

    #[test]
    fn call_ids_are_fresh() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_call_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 32));
    }
}
