//! One request as a handler sees it: the decoded body and the call's
//! headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::Message;

use crate::wire::header;

/// A request: the body decoded into `T`, and what the caller said about the
/// call (its id, attempt, deadline and tenant). A request from a client that
/// is not Calf may carry none of these.
#[derive(Debug)]
pub struct Request<T> {
    body: T,
    message: Message,
}

impl<T> Request<T> {
    pub(crate) fn new(body: T, message: Message) -> Request<T> {
        Request { body, message }
    }

    pub fn body(&self) -> &T {
        &self.body
    }

    pub fn into_body(self) -> T {
        self.body
    }

    /// The subject the request came on (useful with a wildcard subscription).
    pub fn subject(&self) -> &str {
        self.message.subject.as_str()
    }

    /// The body as it came, in MessagePack.
    pub fn raw_body(&self) -> &[u8] {
        &self.message.payload
    }

    /// The idempotency key: the same on every attempt of one call.
    pub fn call_id(&self) -> Option<&str> {
        self.header(header::CALL_ID)
    }

    /// The attempt number, from 1 (1 when the caller did not say).
    pub fn attempt(&self) -> u32 {
        self.header(header::ATTEMPT)
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(1)
    }

    /// When the caller stops waiting for this call, all attempts together.
    pub fn deadline(&self) -> Option<SystemTime> {
        let ms: u64 = self.header(header::DEADLINE)?.trim().parse().ok()?;
        UNIX_EPOCH.checked_add(Duration::from_millis(ms))
    }

    /// The time left before the deadline by this machine's clock: zero once
    /// it has passed, `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        let deadline = self.deadline()?;
        Some(
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }

    /// The tenant the call is made for, under `calf serve`.
    pub fn tenant(&self) -> Option<&str> {
        self.header(header::TENANT)
    }

    /// Any header of the request, its name matched without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(self.message.headers.as_ref()?, name)
    }
}

/// Header `name` of a request or reply, its name matched without regard to
/// case.
pub(crate) fn header_value<'a>(headers: &'a async_nats::HeaderMap, name: &str) -> Option<&'a str> {
    header::find(headers.iter(), name)
        .and_then(|values| values.first())
        .map(|v| v.as_str())
}
