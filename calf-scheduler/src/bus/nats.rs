//! The NATS bus: each attempt is a NATS request carrying the call's
//! headers; `serve` subscribes in the queue group `calf`, so Calf processes
//! answer beside workers written in any language.
//!
//! The client reconnects on its own. A reply cannot outlive the connection
//! its request went out on (the worker answers into a connection that is
//! gone), so an attempt in flight when the connection drops fails at once,
//! as `connection lost`, and the call sends its next attempt; an attempt
//! waits for the connection to be back before it hands its request to the
//! client, whose buffer would otherwise fill while the server is down.
//! Every wait of an attempt is within its timeout, which the call keeps
//! within its deadline.

use std::sync::{Arc, Mutex};

use async_nats::header::{HeaderMap, HeaderName, HeaderValue};
use calf_lang::value::Pid;
use calf_lang::Value;
use calf_protocol::{header, retry};

use crate::telemetry::TraceContext;
use futures_util::StreamExt;
use rustc_hash::FxHashMap;
use tokio::sync::watch;

use super::{BoxFuture, Bus, BusError, Reply, Request, Service};
use crate::wire;

/// The queue group Calf's own services join.
pub const QUEUE_GROUP: &str = "calf";

// The headers of a request (docs/protocol.md). Static names are not copied
// for each request, as names given as `&str` are.
const CALL_ID: HeaderName = HeaderName::from_static(header::CALL_ID);
const ATTEMPT: HeaderName = HeaderName::from_static(header::ATTEMPT);
const DEADLINE: HeaderName = HeaderName::from_static(header::DEADLINE);
const TENANT: HeaderName = HeaderName::from_static(header::TENANT);
const TRACEPARENT: HeaderName = HeaderName::from_static(header::TRACEPARENT);

pub struct NatsBus {
    client: async_nats::Client,
    /// The subscription tasks of each serving process.
    served: Mutex<FxHashMap<Pid, Vec<tokio::task::AbortHandle>>>,
    /// The connection as the client's events report it.
    link: watch::Receiver<Link>,
}

/// The state of the connection to the server.
#[derive(Clone, Copy, Debug)]
struct Link {
    /// How many times the connection dropped: a request sent in one
    /// generation gets no reply in the next.
    generation: u64,
    connected: bool,
}

impl NatsBus {
    /// Connects to `url`; the client reconnects by itself after that.
    pub async fn connect(url: &str) -> Result<NatsBus, String> {
        NatsBus::connect_with(url, async_nats::ConnectOptions::new()).await
    }

    /// Connects to `url` with `options` (credentials, say); the bus sets
    /// the client's name and follows its connection events.
    pub async fn connect_with(
        url: &str,
        options: async_nats::ConnectOptions,
    ) -> Result<NatsBus, String> {
        let (tell, link) = watch::channel(Link {
            generation: 0,
            connected: false,
        });
        let tell = Arc::new(tell);
        let events = tell.clone();
        let client = options
            .name("calf")
            .event_callback(move |event| {
                match event {
                    async_nats::Event::Disconnected => events.send_modify(|link| {
                        link.generation += 1;
                        link.connected = false;
                    }),
                    async_nats::Event::Connected => {
                        events.send_modify(|link| link.connected = true)
                    }
                    _ => {}
                }
                std::future::ready(())
            })
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to NATS at {url}: {e}"))?;
        // Connected now, whether or not the event has come through yet.
        if client.connection_state() == async_nats::connection::State::Connected {
            tell.send_modify(|link| link.connected = true);
        }
        Ok(NatsBus {
            client,
            served: Mutex::default(),
            link,
        })
    }

    /// The connection, for the serve layer's own subscriptions in the
    /// same account.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }
}

/// One attempt: wait for the connection, send, and wait for the reply
/// unless the connection drops first. The caller bounds it in time.
async fn attempt(
    client: &async_nats::Client,
    link: &mut watch::Receiver<Link>,
    subject: String,
    request: async_nats::Request,
) -> Result<Reply, BusError> {
    let closed = || BusError::Unavailable("the NATS client is closed".to_string());
    let generation = link
        .wait_for(|l| l.connected)
        .await
        .map_err(|_| closed())?
        .generation;
    tokio::select! {
        biased;
        dropped = link.wait_for(|l| l.generation != generation) => match dropped {
            Ok(_) => Err(BusError::Unavailable("connection lost".to_string())),
            Err(_) => Err(closed()),
        },
        reply = client.send_request(subject, request) => match reply {
            Ok(message) => read_reply(&message),
            Err(e) => Err(match e.kind() {
                async_nats::RequestErrorKind::NoResponders => BusError::NoResponders,
                async_nats::RequestErrorKind::TimedOut => BusError::Timeout,
                async_nats::RequestErrorKind::MaxPayloadExceeded => {
                    BusError::BadRequest(e.to_string())
                }
                _ => BusError::Unavailable(e.to_string()),
            }),
        },
    }
}

/// Header `name` of a message, its name matched without regard to case.
fn header_value<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    header::find(headers?.iter(), name)
        .and_then(|values| values.first())
        .map(|v| v.as_str())
}

/// Reads a reply: an error when it has the services error headers.
fn read_reply(message: &async_nats::Message) -> Result<Reply, BusError> {
    let headers = message.headers.as_ref();
    let error = header_value(headers, header::ERROR);
    let code = header_value(headers, header::ERROR_CODE);
    if error.is_none() && code.is_none() {
        return wire::decode(&message.payload)
            .map(Reply::Ok)
            .map_err(BusError::BadReply);
    }
    let retryable = retry::is_retryable(code, header_value(headers, header::RETRYABLE));
    let code = code.unwrap_or("").to_string();
    // An error's body never makes the call a bad reply.
    let data = match wire::decode(&message.payload) {
        Ok(v) => v,
        Err(_) => std::str::from_utf8(&message.payload).map_or(Value::Nil, Value::str),
    };
    Ok(Reply::Error {
        code,
        message: error.unwrap_or("").to_string(),
        retryable,
        data,
    })
}

impl Bus for NatsBus {
    fn request(&self, request: Request) -> BoxFuture<Result<Reply, BusError>> {
        let client = self.client.clone();
        let mut link = self.link.clone();
        Box::pin(async move {
            let mut headers = HeaderMap::new();
            headers.insert(CALL_ID, HeaderValue::from(request.call_id));
            headers.insert(ATTEMPT, HeaderValue::from(request.attempt));
            headers.insert(DEADLINE, HeaderValue::from(request.deadline_ms));
            if let Some(tenant) = request.tenant {
                headers.insert(TENANT, HeaderValue::from(tenant));
            }
            if let Some(trace) = request.trace {
                headers.insert(TRACEPARENT, HeaderValue::from(trace.traceparent()));
            }
            let nats_request = async_nats::Request::new()
                .payload(request.body)
                .headers(headers)
                .timeout(Some(request.timeout));
            let sent = attempt(&client, &mut link, request.subject, nats_request);
            // Handing the request to the client waits too when its buffer
            // is full: the whole attempt is under its timeout.
            match tokio::time::timeout(request.timeout, sent).await {
                Ok(outcome) => outcome,
                // Said so: a call that ends without a server should not
                // blame the worker.
                Err(_) if !link.borrow().connected => Err(BusError::Unavailable(
                    "no connection to the NATS server".to_string(),
                )),
                Err(_) => Err(BusError::Timeout),
            }
        })
    }

    fn serve(
        &self,
        subject: &str,
        owner: Pid,
        service: Arc<dyn Service>,
    ) -> BoxFuture<Result<(), String>> {
        let client = self.client.clone();
        let subject = subject.to_string();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut subscription = match client
                .queue_subscribe(subject.clone(), QUEUE_GROUP.to_string())
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot subscribe to {subject}: {e}")));
                    return;
                }
            };
            // The subscription is registered once the server has it.
            let _ = client.flush().await;
            let _ = ready_tx.send(Ok(()));
            while let Some(message) = subscription.next().await {
                let client = client.clone();
                let service = service.clone();
                tokio::spawn(answer(client, service, message));
            }
        });
        self.served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(owner)
            .or_default()
            .push(task.abort_handle());
        Box::pin(async move {
            ready_rx
                .await
                .unwrap_or_else(|_| Err("the subscription ended".to_string()))
        })
    }

    fn unserve(&self, owner: Pid) {
        if let Some(tasks) = self
            .served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&owner)
        {
            for task in tasks {
                task.abort();
            }
        }
    }
}

/// Answers one request received on a served subject.
async fn answer(
    client: async_nats::Client,
    service: Arc<dyn Service>,
    message: async_nats::Message,
) {
    let Some(reply_to) = message.reply.clone() else {
        return;
    };
    let headers = message.headers.as_ref();
    let timeout_ms = header_value(headers, header::DEADLINE)
        .and_then(|d| d.parse::<i64>().ok())
        .map(|deadline| deadline - now_ms());
    let timeout = std::time::Duration::from_millis(timeout_ms.unwrap_or(120_000).max(0) as u64);
    // Past the caller's deadline a reply is of no use: a reply waiting for
    // room in the client's buffer (the server is down) waits no longer.
    let until = tokio::time::Instant::now() + timeout;
    let payload = match wire::decode(&message.payload) {
        Ok(v) => v,
        Err(why) => {
            let mut error = HeaderMap::new();
            error.insert(header::ERROR, format!("bad request: {why}").as_str());
            error.insert(header::ERROR_CODE, "400");
            let reply = client.publish_with_headers(reply_to, error, Default::default());
            let _ = tokio::time::timeout_at(until, reply).await;
            return;
        }
    };
    let request = Request {
        subject: message.subject.to_string(),
        payload,
        body: message.payload.clone(),
        call_id: header_value(headers, header::CALL_ID)
            .unwrap_or("")
            .to_string(),
        attempt: header_value(headers, header::ATTEMPT)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        deadline_ms: header_value(headers, header::DEADLINE)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
        timeout,
        tenant: header_value(headers, header::TENANT).map(str::to_string),
        trace: header_value(headers, header::TRACEPARENT).and_then(TraceContext::parse),
    };
    let (reply_headers, body) = match service.handle(request).await {
        Ok(Reply::Ok(value)) => match wire::encode(&value) {
            Ok(body) => (HeaderMap::new(), body),
            Err(why) => error_reply(
                "500",
                &format!("the reply cannot be sent: {why}"),
                false,
                &Value::Nil,
            ),
        },
        Ok(Reply::Error {
            code,
            message,
            retryable,
            data,
        }) => error_reply(&code, &message, retryable, &data),
        Err(e) => error_reply("503", &e.describe(), true, &Value::Nil),
    };
    let reply = client.publish_with_headers(reply_to.clone(), reply_headers, body.into());
    if let Ok(Err(e)) = tokio::time::timeout_at(until, reply).await {
        if e.kind() == async_nats::client::PublishErrorKind::MaxPayloadExceeded {
            // Else the caller would wait for it until its attempt times
            // out, and try again for the same answer.
            let why = format!("the reply cannot be sent: {e}");
            let (headers, body) = error_reply("500", &why, false, &Value::Nil);
            let reply = client.publish_with_headers(reply_to, headers, body.into());
            let _ = tokio::time::timeout_at(until, reply).await;
        }
    }
}

fn error_reply(code: &str, message: &str, retryable: bool, data: &Value) -> (HeaderMap, Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert(header::ERROR, message);
    headers.insert(header::ERROR_CODE, code);
    headers.insert(header::RETRYABLE, retry::verdict(retryable));
    let body = match data {
        Value::Nil => Vec::new(),
        data => wire::encode(data).unwrap_or_default(),
    };
    (headers, body)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply with these headers (names as a worker sent them) and an
    /// empty body.
    fn reply(headers: &[(&str, &str)]) -> async_nats::Message {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, *value);
        }
        async_nats::Message {
            subject: "_INBOX.x".into(),
            reply: None,
            payload: bytes::Bytes::new(),
            headers: Some(map),
            status: None,
            description: None,
            length: 0,
        }
    }

    fn retryable(headers: &[(&str, &str)]) -> bool {
        match read_reply(&reply(headers)) {
            Ok(Reply::Error { retryable, .. }) => retryable,
            other => panic!("{headers:?} read as {other:?}, not an error"),
        }
    }

    #[test]
    fn a_signed_code_is_a_word_and_retried() {
        // The worker SDK retried `+400`; the caller read it as 400.
        assert!(retryable(&[("Nats-Service-Error-Code", "+400")]));
        assert!(!retryable(&[("Nats-Service-Error-Code", "400")]));
    }

    #[test]
    fn error_headers_are_read_in_any_case() {
        // Read byte for byte, these made a success of an error reply.
        assert!(!retryable(&[("nats-service-error-code", "404")]));
        assert!(retryable(&[("NATS-SERVICE-ERROR", "db restarting")]));
        assert!(!retryable(&[
            ("Nats-Service-Error-Code", "db-down"),
            ("calf-retryable", "false"),
        ]));
    }
}
