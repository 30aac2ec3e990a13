//! A Calf process as a service: `serve` answers a subject with a process
//! that applies its handler to each request.
//!
//! A request reaches the process as the message `[:calf/request payload
//! ref]`; the process answers with `-reply`, which completes the waiting
//! request through the runtime's table of open requests.

use std::sync::{Arc, Weak};

use calf_lang::value::Pid;
use calf_lang::{RuntimeError, Value};
use tokio::sync::oneshot;

use super::{BoxFuture, BusError, Reply, Request, Service};
use crate::mailbox::Signal;
use crate::runtime::Shared;

pub struct ProcessService {
    shared: Weak<Shared>,
    pid: Pid,
}

impl ProcessService {
    pub(crate) fn new(shared: &Arc<Shared>, pid: Pid) -> ProcessService {
        ProcessService {
            shared: Arc::downgrade(shared),
            pid,
        }
    }
}

/// Removes an open request from the table when its caller stops waiting.
struct OpenRequest {
    shared: Weak<Shared>,
    id: u64,
}

impl Drop for OpenRequest {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.forget_request(self.id);
        }
    }
}

impl Service for ProcessService {
    fn handle(&self, request: Request) -> BoxFuture<Result<Reply, BusError>> {
        let shared = self.shared.clone();
        let pid = self.pid;
        Box::pin(async move {
            let Some(runtime) = shared.upgrade() else {
                return Err(BusError::NoResponders);
            };
            let (tx, rx) = oneshot::channel();
            let id = runtime.open_request(tx);
            let _open = OpenRequest {
                shared: shared.clone(),
                id,
            };
            let message = Value::vector([
                Value::keyword("calf/request"),
                request.payload,
                Value::Ref(id),
            ]);
            let delivered = runtime
                .handle(pid)
                .is_some_and(|h| h.push(Signal::Message(message)).is_ok());
            drop(runtime);
            if !delivered {
                return Err(BusError::NoResponders);
            }
            // A server that dies mid-request never answers: to the caller
            // that is a timeout, as with a worker that crashed.
            match rx.await {
                Ok(reply) => Ok(reply),
                Err(_) => std::future::pending().await,
            }
        })
    }
}

/// Encodes a call's payload, refusing before anything is sent a payload
/// that cannot cross the bus (a function, a map with both `:a` and `"a"`
/// as keys): the same check on every bus, so a program stubbed on the
/// embedded bus fails as it would on NATS.
pub fn encode_payload(value: &Value) -> Result<bytes::Bytes, RuntimeError> {
    crate::wire::encode(value)
        .map(bytes::Bytes::from)
        .map_err(|why| {
            RuntimeError::new(
                "calf/bad-request",
                format!("the payload cannot be sent: {why}"),
            )
        })
}

/// What a serving process's `[:ok value]` or `[:error thrown]` means on the
/// bus. A thrown ex-info's data may carry `:code` and `:retryable`.
pub fn reply_of(result: &Value) -> Reply {
    let items = result.as_seq();
    match items.map(|i| (i.get(0).cloned(), i.get(1).cloned())) {
        Some((Some(Value::Keyword(k)), Some(value))) if k.name() == "ok" => Reply::Ok(value),
        Some((_, Some(thrown))) => {
            let data = match &thrown {
                Value::Map(m) => m
                    .get(&Value::keyword("data"))
                    .cloned()
                    .unwrap_or(Value::Nil),
                _ => Value::Nil,
            };
            let field = |key: &str| match &data {
                Value::Map(m) => m.get(&Value::keyword(key)).cloned(),
                _ => None,
            };
            let code = match field("code").as_ref() {
                Some(Value::Str(s)) => s.to_string(),
                Some(Value::Keyword(k)) => k.name().to_string(),
                Some(Value::Int(n)) => n.to_string(),
                _ => "error".to_string(),
            };
            Reply::Error {
                code,
                message: calf_lang::error::message_of(&thrown),
                retryable: field("retryable").is_some_and(|v| v.is_truthy()),
                data,
            }
        }
        _ => Reply::Ok(Value::Nil),
    }
}
