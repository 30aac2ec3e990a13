//! Taking requests off one connection: each request is answered in a task
//! of its own (a `logs` request may wait, an `eval` may run long), at
//! most [`MAX_IN_FLIGHT`] at once per connection, and a request whose
//! answer panics gets an error reply instead of none. A message with no
//! reply subject is no request, and is not carried out.
//!
//! The subscription is the client's: when the connection drops, async-nats
//! reconnects and subscribes again, and this loop just waits for the next
//! message. It ends only when the connection is closed for good or the
//! listener is stopped.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::api::code;
use crate::reply::{self, Answer, ApiError};

/// Requests of one connection being answered at once; past it, the next
/// request waits for one to finish.
pub const MAX_IN_FLIGHT: u32 = 512;

/// A connection's requests being taken.
pub struct Listener {
    task: JoinHandle<()>,
    in_flight: Arc<Semaphore>,
}

impl Listener {
    /// Subscribes `client` to `subjects` and answers each request with
    /// `answer(subject, body)`.
    pub async fn start<A, F>(
        client: async_nats::Client,
        subjects: &str,
        answer: A,
    ) -> Result<Listener, String>
    where
        A: Fn(String, bytes::Bytes) -> F + Send + Sync + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        Listener::start_on(client, &[(subjects, None)], answer).await
    }

    /// The same, for each of `subscriptions`: subjects, and the queue
    /// group taking them, if any (one member of a group gets each).
    pub async fn start_on<A, F>(
        client: async_nats::Client,
        subscriptions: &[(&str, Option<&str>)],
        answer: A,
    ) -> Result<Listener, String>
    where
        A: Fn(String, bytes::Bytes) -> F + Send + Sync + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        let mut subscribers = Vec::new();
        for (subjects, queue) in subscriptions {
            let subscribed = match queue {
                Some(group) => {
                    client
                        .queue_subscribe(subjects.to_string(), group.to_string())
                        .await
                }
                None => client.subscribe(subjects.to_string()).await,
            };
            subscribers
                .push(subscribed.map_err(|e| format!("cannot subscribe to {subjects}: {e}"))?);
        }
        let mut requests = futures_util::stream::select_all(subscribers);
        let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize));
        let permits = in_flight.clone();
        let answer = Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Some(request) = requests.next().await {
                if request.reply.is_none() {
                    // No one would hear how it went: a `kill` or a
                    // `submit` published rather than requested is a
                    // mistake, not an order.
                    tracing::warn!(subject = %request.subject, "a request without a reply subject is ignored");
                    continue;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let client = client.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let subject = request.subject.to_string();
                    let answered =
                        AssertUnwindSafe(answer(subject.clone(), request.payload.clone()))
                            .catch_unwind()
                            .await;
                    let answered = answered.unwrap_or_else(|_| {
                        tracing::error!(%subject, "answering a request panicked");
                        Err(ApiError::new(
                            code::INTERNAL,
                            format!("the scheduler failed answering {subject}: a bug, see its log"),
                        ))
                    });
                    reply::send(&client, &request, answered).await;
                    drop(permit);
                });
            }
            tracing::warn!("a connection's requests ended: the connection is closed");
        });
        Ok(Listener { task, in_flight })
    }

    /// Takes no more requests: the subscription ends with the task.
    pub fn close(&self) {
        self.task.abort();
    }

    /// Waits up to `patience` for the requests being answered, after
    /// [`Listener::close`].
    pub async fn finished(self, patience: Duration) {
        let _ = self.task.await;
        let all = self.in_flight.acquire_many(MAX_IN_FLIGHT);
        if tokio::time::timeout(patience, all).await.is_err() {
            tracing::warn!("requests still being answered after {patience:?}; leaving them");
        }
    }
}
