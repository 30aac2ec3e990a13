//! The Rust SDK end to end: a worker on a real nats-server, called by a raw
//! NATS client the way Calf calls.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use calf_worker::wire::{self, header, Keyword, Pid, Value};
use calf_worker::{Request, Worker, WorkerError};
use common::{call, call_with, Answer, NatsServer};
use serde::{Deserialize, Serialize};

async fn worker(server: &NatsServer) -> Worker {
    Worker::connect(server.url()).await.unwrap()
}

#[tokio::test]
async fn typed_request_and_reply() {
    #[derive(Deserialize)]
    struct Charge {
        amount: i64,
        currency: Keyword,
    }
    #[derive(Serialize)]
    struct Receipt {
        status: Keyword,
        amount: i64,
        by: Pid,
    }

    let server = NatsServer::start();
    let running = worker(&server)
        .await
        .handle("math.add", |req: Request<(i64, i64)>| async move {
            let (a, b) = req.into_body();
            Ok::<_, WorkerError>(a + b)
        })
        .handle("billing.charge", |req: Request<Charge>| async move {
            let charge = req.into_body();
            assert_eq!(charge.currency.name(), "eur");
            Ok::<_, WorkerError>(Receipt {
                status: Keyword::new("paid"),
                amount: charge.amount,
                by: Pid(7),
            })
        })
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    assert_eq!(call(&client, "math.add", &(1, 2)).await.ok(), Value::Int(3));
    // {:amount 5 :currency :eur} as Calf sends it: a keyword key is a string.
    let charge = Value::map([
        (Value::str("amount"), Value::Int(5)),
        (Value::str("currency"), Value::keyword("eur")),
    ]);
    assert_eq!(
        call(&client, "billing.charge", &charge).await.ok(),
        Value::map([
            (Value::str("status"), Value::keyword("paid")),
            (Value::str("amount"), Value::Int(5)),
            (Value::str("by"), Value::Pid(7)),
        ])
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_request_exposes_the_call_headers_and_the_raw_body() {
    let server = NatsServer::start();
    let running = worker(&server)
        .await
        .handle("meta", |req: Request<Value>| async move {
            let deadline = req
                .deadline()
                .map(|d| d.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64);
            Ok::<_, WorkerError>(vec![
                Value::from(req.subject()),
                req.call_id().map_or(Value::Nil, Value::from),
                Value::Int(req.attempt() as i64),
                deadline.map_or(Value::Nil, Value::Int),
                req.tenant().map_or(Value::Nil, Value::from),
                Value::Bin(req.raw_body().to_vec()),
            ])
        })
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    let mut headers = HeaderMap::new();
    headers.insert(header::CALL_ID, "c-42");
    headers.insert(header::ATTEMPT, "3");
    headers.insert(header::DEADLINE, "1700000000123");
    headers.insert("calf-tenant", "acme"); // names match without regard to case
    let body = wire::encode(&Keyword::new("x")).unwrap();
    let answer = call_with(&client, "meta", headers, body.clone()).await.ok();
    assert_eq!(
        answer,
        Value::Array(vec![
            Value::from("meta"),
            Value::from("c-42"),
            Value::Int(3),
            Value::Int(1_700_000_000_123),
            Value::from("acme"),
            Value::Bin(body),
        ])
    );

    // A caller that is not Calf: no headers, an empty body (nil).
    let answer = call_with(&client, "meta", HeaderMap::new(), Vec::new())
        .await
        .ok();
    assert_eq!(
        answer,
        Value::Array(vec![
            Value::from("meta"),
            Value::Nil,
            Value::Int(1),
            Value::Nil,
            Value::Nil,
            Value::Bin(vec![]),
        ])
    );
    running.shutdown().await;
}

#[tokio::test]
async fn errors_travel_in_the_service_headers_with_a_verdict() {
    let server = NatsServer::start();
    let running = worker(&server)
        .await
        .handle("card", |_: Request<Value>| async move {
            Err::<(), _>(
                WorkerError::non_retryable("card-declined", "card declined\nby the bank")
                    .with_data(
                        &[("balance", 3)]
                            .into_iter()
                            .collect::<std::collections::BTreeMap<_, _>>(),
                    ),
            )
        })
        .handle("db", |_: Request<Value>| async move {
            Err::<(), _>(WorkerError::new("db-down", "database restarting"))
        })
        .handle("missing", |_: Request<Value>| async move {
            Err::<(), _>(WorkerError::new("404", "no such account"))
        })
        .handle("math.add", |req: Request<(i64, i64)>| async move {
            let (a, b) = req.into_body();
            Ok::<_, WorkerError>(a + b)
        })
        .handle("panics", |_: Request<Value>| async move {
            if true {
                panic!("boom");
            }
            Ok::<_, WorkerError>(())
        })
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    let check =
        |answer: Answer, code: &str, message: &str, retryable: bool, data: Value| match answer {
            Answer::Err {
                code: c,
                message: m,
                retryable: r,
                data: d,
            } => {
                assert_eq!(c.as_deref(), Some(code));
                assert!(
                    m.as_deref().unwrap().contains(message),
                    "{m:?} should contain {message:?}"
                );
                assert_eq!(r, retryable, "retryable for {code}");
                assert_eq!(d, data);
            }
            other => panic!("expected an error, got {other:?}"),
        };
    check(
        call(&client, "card", &()).await,
        "card-declined",
        "card declined by the bank",
        false,
        Value::map([(Value::str("balance"), Value::Int(3))]),
    );
    check(
        call(&client, "db", &()).await,
        "db-down",
        "restarting",
        true,
        Value::Nil,
    );
    check(
        call(&client, "missing", &()).await,
        "404",
        "no such",
        false,
        Value::Nil,
    );
    check(
        call(&client, "math.add", &"one").await,
        "400",
        "does not fit",
        false,
        Value::Nil,
    );
    check(
        call(&client, "panics", &()).await,
        "500",
        "panicked: boom",
        true,
        Value::Nil,
    );

    // The worker's verdict is in the header, not left to the rule.
    let reply = client
        .request("db", wire::encode(&()).unwrap().into())
        .await
        .unwrap();
    let headers = reply.headers.unwrap();
    assert_eq!(headers.get(header::RETRYABLE).unwrap().as_str(), "true");

    // The worker is still up after a panic.
    assert_eq!(call(&client, "math.add", &(2, 2)).await.ok(), Value::Int(4));
    running.shutdown().await;
}

/// A handler that counts how many run at once.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl Gauge {
    async fn hold(&self, ms: u64) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

fn slow_worker(worker: Worker, gauge: &Gauge) -> Worker {
    let gauge = gauge.clone();
    worker.handle("slow", move |req: Request<u64>| {
        let gauge = gauge.clone();
        async move {
            gauge.hold(*req.body()).await;
            Ok::<_, WorkerError>(*req.body())
        }
    })
}

#[tokio::test]
async fn concurrency_limits_the_requests_handled_at_once() {
    let server = NatsServer::start();
    let gauge = Gauge::default();
    let running = slow_worker(worker(&server).await, &gauge)
        .concurrency(2)
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    let start = Instant::now();
    let calls = (0..6).map(|_| call(&client, "slow", &100));
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer.ok(), Value::Int(100));
    }
    assert_eq!(gauge.max.load(Ordering::SeqCst), 2);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "6 x 100 ms, 2 at a time"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_drain_finishes_what_it_has_and_takes_nothing_new() {
    let server = NatsServer::start();
    let gauge = Gauge::default();
    let running = slow_worker(worker(&server).await, &gauge)
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { call(&client, "slow", &400).await })
        })
        .collect();
    while gauge.now.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let draining = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Draining: the subscription is gone, the three calls are still running.
    assert!(matches!(
        call(&client, "slow", &1).await,
        Answer::NoResponders
    ));
    assert_eq!(gauge.now.load(Ordering::SeqCst), 3);
    for call in in_flight {
        assert_eq!(call.await.unwrap().ok(), Value::Int(400));
    }
    draining.await.unwrap();
    assert_eq!(gauge.total.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_drain_answers_requests_still_waiting_for_a_slot() {
    let server = NatsServer::start();
    let gauge = Gauge::default();
    let running = slow_worker(worker(&server).await, &gauge)
        .concurrency(1)
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    let calls: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { call(&client, "slow", &200).await })
        })
        .collect();
    // One runs; the other two have reached the worker and wait for a slot.
    while gauge.total.load(Ordering::SeqCst) < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    running.shutdown().await;
    assert_eq!(gauge.total.load(Ordering::SeqCst), 3);
    for call in calls {
        assert_eq!(call.await.unwrap().ok(), Value::Int(200));
    }
}

#[tokio::test]
async fn run_until_serves_then_drains() {
    let server = NatsServer::start();
    let gauge = Gauge::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = slow_worker(worker(&server).await, &gauge);
    let serving = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let client = server.client().await;
    let first = loop {
        match call(&client, "slow", &300).await {
            Answer::NoResponders => tokio::time::sleep(Duration::from_millis(10)).await,
            answer => break answer,
        }
    };
    assert_eq!(first.ok(), Value::Int(300));

    let pending = tokio::spawn({
        let client = client.clone();
        async move { call(&client, "slow", &300).await }
    });
    while gauge.now.load(Ordering::SeqCst) < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    assert_eq!(pending.await.unwrap().ok(), Value::Int(300));
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_queue_group_shares_requests_between_instances() {
    let server = NatsServer::start();
    let (a, b, c) = (Gauge::default(), Gauge::default(), Gauge::default());
    let one = slow_worker(worker(&server).await, &a)
        .start()
        .await
        .unwrap();
    let two = slow_worker(worker(&server).await, &b)
        .start()
        .await
        .unwrap();
    // Another group gets its own copy of every request.
    let other = slow_worker(worker(&server).await, &c)
        .queue_group("audit")
        .start()
        .await
        .unwrap();
    let client = server.client().await;

    for _ in 0..20 {
        assert_eq!(call(&client, "slow", &0).await.ok(), Value::Int(0));
    }
    let total = |g: &Gauge| g.total.load(Ordering::SeqCst);
    assert_eq!(
        total(&a) + total(&b),
        20,
        "each request reaches one instance of the group"
    );
    // The other group's replies may still be on their way.
    let start = Instant::now();
    while total(&c) < 20 && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(total(&c), 20);
    for running in [one, two, other] {
        running.shutdown().await;
    }
}

#[tokio::test]
async fn wildcard_subjects_tell_the_handler_which_subject() {
    let server = NatsServer::start();
    let running = worker(&server)
        .await
        .handle("billing.>", |req: Request<Value>| async move {
            Ok::<_, WorkerError>(req.subject().to_owned())
        })
        .start()
        .await
        .unwrap();
    let client = server.client().await;
    assert_eq!(
        call(&client, "billing.refund", &()).await.ok(),
        Value::from("billing.refund")
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_worker_without_handlers_does_not_start() {
    let server = NatsServer::start();
    let err = worker(&server).await.start().await.err().unwrap();
    assert_eq!(err.to_string(), "cannot start a worker: it has no handlers");
}
