//! The bus: how a foreign call reaches whoever answers its subject.
//!
//! Two implementations pass the same tests: [`embedded::EmbeddedBus`], in
//! process, where subjects are answered by Calf processes (`serve`) or Rust
//! closures; and the NATS bus, where workers in any language answer. A call
//! is one request per attempt; retries, backoff and deadlines are the
//! caller's (see `call.rs`), never the bus's.

pub mod embedded;
pub mod nats;
mod process_service;

pub use process_service::{encode_payload, reply_of as process_service_reply, ProcessService};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use calf_lang::value::Pid;
use calf_lang::Value;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One attempt of a call.
#[derive(Clone, Debug)]
pub struct Request {
    pub subject: String,
    pub payload: Value,
    /// `payload` as MessagePack (`wire::encode`): encoded once per call,
    /// when the call is made, and shared by its attempts.
    pub body: Bytes,
    /// The idempotency key: the same for every attempt of one call.
    pub call_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the whole call gives up, in Unix milliseconds.
    pub deadline_ms: i64,
    /// How long this attempt may take.
    pub timeout: Duration,
    pub tenant: Option<String>,
    /// The call's trace context (the `traceparent` header): set by the
    /// caller; what a request received carried, if it was valid.
    pub trace: Option<crate::telemetry::TraceContext>,
}

/// What a worker answered.
#[derive(Clone, Debug)]
pub enum Reply {
    Ok(Value),
    Error {
        code: String,
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
        /// Details the worker sent with the error.
        data: Value,
    },
}

/// Why an attempt got no reply.
#[derive(Clone, Debug)]
pub enum BusError {
    /// Nobody answers the subject (now).
    NoResponders,
    /// No reply within the attempt's timeout.
    Timeout,
    /// A reply came that cannot be decoded.
    BadReply(String),
    /// The request cannot be sent as it is (larger than the server takes):
    /// trying again would not change that.
    BadRequest(String),
    /// The bus itself failed (connection lost, ...); retried like a timeout.
    Unavailable(String),
}

impl BusError {
    pub fn describe(&self) -> String {
        match self {
            BusError::NoResponders => "no responders".to_string(),
            BusError::Timeout => "timed out".to_string(),
            BusError::BadReply(why) => format!("bad reply: {why}"),
            BusError::BadRequest(why) => format!("bad request: {why}"),
            BusError::Unavailable(why) => format!("bus unavailable: {why}"),
        }
    }
}

/// Something that answers requests on a subject.
pub trait Service: Send + Sync {
    fn handle(&self, request: Request) -> BoxFuture<Result<Reply, BusError>>;
}

/// Carries requests to the services of their subjects.
pub trait Bus: Send + Sync {
    /// Sends one attempt and waits for its reply, at most `request.timeout`.
    fn request(&self, request: Request) -> BoxFuture<Result<Reply, BusError>>;
    /// Answers `subject` with `service` from now on, on behalf of process
    /// `owner` (`unserve` stops all of an owner's subjects).
    fn serve(
        &self,
        subject: &str,
        owner: Pid,
        service: Arc<dyn Service>,
    ) -> BoxFuture<Result<(), String>>;
    fn unserve(&self, owner: Pid);
}
