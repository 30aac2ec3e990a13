//! The worker: subscriptions in a queue group, a concurrency limit, typed
//! handlers, and a graceful drain.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use async_nats::{Client, Message, Subscriber};
use futures_util::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::error::{Error, WorkerError};
use crate::request::{header_value, Request};
use crate::wire::{self, header};

/// The queue group workers join unless told otherwise.
pub const DEFAULT_QUEUE_GROUP: &str = "calf";

/// How many requests a worker handles at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// A worker: handlers for subjects, served on one NATS connection.
///
/// ```no_run
/// use calf_worker::{Request, Worker, WorkerError};
///
/// # async fn serve() -> Result<(), calf_worker::Error> {
/// Worker::connect("nats://127.0.0.1:4222")
///     .await?
///     .handle("math.add", |req: Request<(i64, i64)>| async move {
///         let (a, b) = req.into_body();
///         Ok::<_, WorkerError>(a + b)
///     })
///     .concurrency(16)
///     .run() // until SIGTERM or ctrl-c, then drains
///     .await
/// # }
/// ```
pub struct Worker {
    client: Client,
    queue_group: String,
    concurrency: usize,
    handlers: Vec<(String, Arc<dyn Handler>)>,
}

impl Worker {
    /// Connects to a NATS server (or several: `"nats://a:4222,nats://b:4222"`).
    /// For credentials, TLS or other options, connect with
    /// [`async_nats::ConnectOptions`] and use [`Worker::new`].
    pub async fn connect(url: impl async_nats::ToServerAddrs) -> Result<Worker, Error> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| Error::new("could not connect to NATS", e))?;
        Ok(Worker::new(client))
    }

    /// A worker on a connection you made.
    pub fn new(client: Client) -> Worker {
        Worker {
            client,
            queue_group: DEFAULT_QUEUE_GROUP.to_owned(),
            concurrency: DEFAULT_CONCURRENCY,
            handlers: Vec::new(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Answers requests on `subject` (wildcards allowed) with `handler`.
    /// The body is decoded into `T`: when it does not fit, the caller gets
    /// a `400` error and the handler does not run. The handler's `Ok` is
    /// encoded as the reply; its `Err` becomes an error reply. A panic in
    /// the handler becomes a retryable `500` error. Registering a subject
    /// again replaces its handler.
    pub fn handle<T, R, F, Fut>(mut self, subject: impl Into<String>, handler: F) -> Worker
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + 'static,
        F: Fn(Request<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, WorkerError>> + Send + 'static,
    {
        let subject = subject.into();
        let handler: Arc<dyn Handler> = Arc::new(Typed {
            f: handler,
            types: PhantomData,
        });
        match self.handlers.iter_mut().find(|(s, _)| *s == subject) {
            Some(entry) => entry.1 = handler,
            None => self.handlers.push((subject, handler)),
        }
        self
    }

    /// At most `n` requests are handled at once, over all subjects (at
    /// least 1). Requests beyond that wait in this worker's buffer.
    pub fn concurrency(mut self, n: usize) -> Worker {
        self.concurrency = n.clamp(1, u32::MAX as usize);
        self
    }

    /// The queue group to subscribe in; all instances of a service must
    /// share it. Default: [`DEFAULT_QUEUE_GROUP`].
    pub fn queue_group(mut self, name: impl Into<String>) -> Worker {
        self.queue_group = name.into();
        self
    }

    /// Serves until SIGTERM or ctrl-c, then drains: takes no new requests,
    /// answers the ones it has, and returns.
    pub async fn run(self) -> Result<(), Error> {
        let signal = shutdown_signal()?;
        self.run_until(signal).await
    }

    /// Serves until `shutdown` completes, then drains as [`Worker::run`] does.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Running { stop, mut done } = self.start().await?;
        tokio::select! {
            _ = shutdown => {
                tracing::info!("shutting down: draining");
                stop.send_replace(true);
                let _ = (&mut done).await;
            }
            _ = &mut done => {}
        }
        Ok(())
    }

    /// Subscribes and starts serving in the background. When this returns,
    /// the server knows the subscriptions: requests sent from then on reach
    /// this worker.
    pub async fn start(self) -> Result<Running, Error> {
        if self.handlers.is_empty() {
            return Err(Error::new("cannot start a worker", "it has no handlers"));
        }
        let mut subscriptions = Vec::with_capacity(self.handlers.len());
        for (subject, handler) in &self.handlers {
            let subscriber = self
                .client
                .queue_subscribe(subject.clone(), self.queue_group.clone())
                .await
                .map_err(|e| Error::new(format!("could not subscribe to {subject}"), e))?;
            subscriptions.push((subscriber, handler.clone()));
        }
        self.client
            .flush()
            .await
            .map_err(|e| Error::new("could not reach the NATS server", e))?;
        tracing::info!(
            subjects = ?self.handlers.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            queue_group = %self.queue_group,
            concurrency = self.concurrency,
            "serving"
        );

        let (stop, stopped) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut loops = JoinSet::new();
        for (subscriber, handler) in subscriptions {
            let serve = Serve {
                client: self.client.clone(),
                handler,
                permits: permits.clone(),
            };
            loops.spawn(serve.run(subscriber, stopped.clone()));
        }
        let client = self.client.clone();
        let all = self.concurrency as u32;
        let done = tokio::spawn(async move {
            while loops.join_next().await.is_some() {}
            // Every handler holds a permit until its reply is published.
            let _all = permits.acquire_many(all).await;
            if let Err(e) = client.flush().await {
                tracing::warn!("could not flush the last replies: {e}");
            }
            tracing::info!("drained");
        });
        Ok(Running { stop, done })
    }
}

/// A worker serving in the background, from [`Worker::start`]. Dropping
/// it leaves the worker serving.
pub struct Running {
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Drains: takes no new requests, answers the ones it has, and returns
    /// when the last reply is sent.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.done.await;
    }
}

/// One subscription's serving loop.
struct Serve {
    client: Client,
    handler: Arc<dyn Handler>,
    permits: Arc<Semaphore>,
}

impl Serve {
    async fn run(self, mut subscriber: Subscriber, mut stopped: watch::Receiver<bool>) {
        let stop = async move {
            if stopped.wait_for(|stop| *stop).await.is_err() {
                // The handle was dropped: serve on.
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(stop);
        loop {
            let permit = tokio::select! {
                biased;
                _ = &mut stop => break,
                permit = self.permits.clone().acquire_owned() => permit.expect("never closed"),
            };
            let message = tokio::select! {
                biased;
                _ = &mut stop => break,
                message = subscriber.next() => message,
            };
            match message {
                Some(message) => {
                    tokio::spawn(self.answer(message, permit));
                }
                None => return, // the connection was closed
            }
        }
        // Drain: the server stops sending, and what it sent before is
        // still answered.
        if let Err(e) = subscriber.drain().await {
            tracing::warn!("could not drain a subscription: {e}");
            return;
        }
        while let Some(message) = subscriber.next().await {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            tokio::spawn(self.answer(message, permit));
        }
    }

    /// Runs the handler on one message and publishes its reply. The permit
    /// is held until the reply is sent: holding all of them means every
    /// request has been answered.
    fn answer(
        &self,
        message: Message,
        permit: OwnedSemaphorePermit,
    ) -> impl Future<Output = ()> + Send + 'static {
        let client = self.client.clone();
        let handler = self.handler.clone();
        async move {
            let _permit = permit;
            let reply = message.reply.clone();
            let subject = message.subject.clone();
            let call_id = message
                .headers
                .as_ref()
                .and_then(|h| header_value(h, header::CALL_ID))
                .unwrap_or("")
                .to_owned();
            let result = AssertUnwindSafe(async move { handler.call(message).await })
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    let what = panic_message(&panic);
                    tracing::error!(%subject, %call_id, "handler panicked: {what}");
                    Err(WorkerError::internal(format!(
                        "the handler panicked: {what}"
                    )))
                });
            let Some(reply) = reply else {
                tracing::debug!(%subject, "a message without a reply subject: no answer sent");
                return;
            };
            let sent = match result {
                Ok(body) => client.publish(reply, body.into()).await,
                Err(error) => {
                    tracing::debug!(%subject, %call_id, %error, "answering with an error");
                    let body = error.data().unwrap_or_default().to_vec();
                    client
                        .publish_with_headers(reply, error.headers(), body.into())
                        .await
                }
            };
            if let Err(e) = sent {
                tracing::warn!(%subject, %call_id, "could not send a reply: {e}");
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_owned()
    }
}

/// Resolves on SIGTERM or ctrl-c. Installs the handlers at once, so an
/// error shows before serving starts.
fn shutdown_signal() -> Result<impl Future<Output = ()>, Error> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::new("could not listen for SIGTERM", e))?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

type Reply = Result<Vec<u8>, WorkerError>;

/// A handler with its types erased.
trait Handler: Send + Sync {
    fn call(&self, message: Message) -> Pin<Box<dyn Future<Output = Reply> + Send>>;
}

struct Typed<F, T, R, Fut> {
    f: F,
    types: PhantomData<fn(T) -> (R, Fut)>,
}

impl<F, T, R, Fut> Handler for Typed<F, T, R, Fut>
where
    T: DeserializeOwned + Send + 'static,
    R: Serialize + 'static,
    F: Fn(Request<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, WorkerError>> + Send + 'static,
{
    fn call(&self, message: Message) -> Pin<Box<dyn Future<Output = Reply> + Send>> {
        let body = match wire::decode::<T>(&message.payload) {
            Ok(body) => body,
            Err(e) => {
                let error = WorkerError::bad_request(format!(
                    "the body does not fit {}: {e}",
                    std::any::type_name::<T>()
                ));
                return Box::pin(std::future::ready(Err(error)));
            }
        };
        let answer = (self.f)(Request::new(body, message));
        Box::pin(async move {
            let value = answer.await?;
            wire::encode(&value).map_err(|e| {
                WorkerError::internal(format!("the reply could not be encoded: {e}"))
                    .with_retryable(false)
            })
        })
    }
}
