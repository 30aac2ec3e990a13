//! Errors: the ones a handler returns to its caller ([`WorkerError`]) and
//! the ones that stop a worker ([`Error`]).

use std::fmt;

use serde::Serialize;

use calf_protocol::retry::verdict;

use crate::wire::{self, header};

/// An error a handler answers with. It travels in the reply's headers:
/// `Nats-Service-Error-Code` (the code), `Nats-Service-Error` (the message)
/// and `Calf-Retryable`; its data, if any, is the reply's body. In Calf it
/// becomes ex-data `{:type :calf/remote-error :code ... :message ... :data ...}`.
///
/// ```
/// use calf_worker::WorkerError;
///
/// let declined = WorkerError::non_retryable("card-declined", "card declined")
///     .with_data(&[("balance", 3)]);
/// assert!(!declined.is_retryable());
/// // Without a verdict, the protocol's rule applies: 4xx codes are final.
/// assert!(!WorkerError::new("404", "no such account").is_retryable());
/// assert!(WorkerError::new("db-down", "database restarting").is_retryable());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerError {
    code: String,
    message: String,
    retryable: bool,
    data: Option<Vec<u8>>,
}

impl WorkerError {
    /// An error whose retryability follows the protocol's rule for its code:
    /// a decimal code from 400 to 499 is final, any other code is retryable.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> WorkerError {
        let code = code.into();
        let retryable = wire::default_retryable(Some(&code));
        WorkerError {
            code,
            message: message.into(),
            retryable,
            data: None,
        }
    }

    /// An error the caller may retry (a transient failure).
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> WorkerError {
        WorkerError::new(code, message).with_retryable(true)
    }

    /// An error the caller must not retry (a business error, bad input).
    pub fn non_retryable(code: impl Into<String>, message: impl Into<String>) -> WorkerError {
        WorkerError::new(code, message).with_retryable(false)
    }

    /// The request body did not decode into the handler's type: code `400`,
    /// not retryable.
    pub fn bad_request(message: impl Into<String>) -> WorkerError {
        WorkerError::new("400", message).with_retryable(false)
    }

    /// Something went wrong inside the worker: code `500`, retryable.
    pub fn internal(message: impl Into<String>) -> WorkerError {
        WorkerError::new("500", message).with_retryable(true)
    }

    pub fn with_retryable(mut self, retryable: bool) -> WorkerError {
        self.retryable = retryable;
        self
    }

    /// Attaches data about the error (ex-data `:data` in Calf), encoded
    /// now. Data that cannot be encoded is left out, with a warning.
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> WorkerError {
        match wire::encode(data) {
            Ok(bytes) => self.data = Some(bytes),
            Err(e) => tracing::warn!(code = %self.code, "error data left out: {e}"),
        }
        self
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The encoded data, as it goes in the reply's body.
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    /// The reply's headers.
    pub(crate) fn headers(&self) -> async_nats::HeaderMap {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(header::ERROR, header_value(&self.message).as_str());
        headers.insert(header::ERROR_CODE, header_value(&self.code).as_str());
        headers.insert(header::RETRYABLE, verdict(self.retryable));
        headers
    }
}

/// A header value cannot hold line breaks: they become spaces.
fn header_value(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WorkerError {}

/// Why a worker could not start or stopped serving.
#[derive(Debug)]
pub struct Error {
    context: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Error {
    pub(crate) fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error {
            context: context.into(),
            source: source.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
