//! The example worker's handlers: the same four subjects as the Python and
//! Node examples.

use std::time::Duration;

use calf_worker::wire::Value;
use calf_worker::{Request, Worker, WorkerError};
use serde::Deserialize;

/// What `fail` is asked to fail with; only `code` is needed.
#[derive(Deserialize)]
struct Failure {
    code: String,
    message: Option<String>,
    retryable: Option<bool>,
    data: Option<Value>,
}

pub fn register(worker: Worker) -> Worker {
    worker
        // [a b] -> a + b
        .handle("math.add", |req: Request<(i64, i64)>| async move {
            let (a, b) = req.into_body();
            a.checked_add(b)
                .ok_or_else(|| WorkerError::non_retryable("overflow", "the sum overflows"))
        })
        // Any value comes back as it came, Calf's ext types included.
        .handle("echo", |req: Request<Value>| async move {
            Ok::<_, WorkerError>(req.into_body())
        })
        // An error reply with the code (and message, verdict, data) asked for.
        .handle("fail", |req: Request<Failure>| async move {
            let f = req.into_body();
            let mut error = WorkerError::new(f.code, f.message.unwrap_or("failed".into()));
            if let Some(retryable) = f.retryable {
                error = error.with_retryable(retryable);
            }
            if let Some(data) = f.data {
                error = error.with_data(&data);
            }
            Err::<(), _>(error)
        })
        // Sleeps that many milliseconds, then answers them.
        .handle("slow", |req: Request<u64>| async move {
            let ms = *req.body();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, WorkerError>(ms)
        })
}
