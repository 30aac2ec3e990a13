//! Micro-benchmarks of the runtime's hot paths: a mailbox's send and
//! receive (the inbox alone, then two processes through the scheduler) and
//! the MessagePack encoding of the bus. `cargo bench -p calf-scheduler`;
//! `bench/run` has the whole-program comparisons with Erlang and with
//! plain async-nats.

use std::hint::black_box;
use std::sync::{Arc, OnceLock};

use calf_lang::namespace::Globals;
use calf_lang::value::Pid;
use calf_lang::Value;
use calf_scheduler::mailbox::{ProcessHandle, Signal};
use calf_scheduler::{wire, Config, Ending, Io, LoadPath};
use criterion::{criterion_group, criterion_main, Criterion};

fn inbox(c: &mut Criterion) {
    let handle = ProcessHandle::new(Pid(1));
    let message = Value::vector([Value::keyword("ping"), Value::Pid(Pid(1)), Value::Int(7)]);
    let mut group = c.benchmark_group("mailbox");
    // One message in, taken out: what a send costs the sender plus what
    // the receiver pays to collect it.
    group.bench_function("push+take 1", |b| {
        b.iter(|| {
            handle.push(Signal::Message(message.clone())).expect("open");
            black_box(handle.take_all().pop_front())
        })
    });
    // A burst of 100 sends taken in one go, as a busy receiver does.
    group.bench_function("push 100+take", |b| {
        b.iter(|| {
            for _ in 0..100 {
                handle.push(Signal::Message(message.clone())).expect("open");
            }
            black_box(handle.take_all());
        })
    });
    group.finish();
}

fn globals() -> Arc<Globals> {
    static GLOBALS: OnceLock<Arc<Globals>> = OnceLock::new();
    GLOBALS.get_or_init(calf_lang::prelude::new_globals).clone()
}

/// Runs a whole program (a fresh runtime each time) and checks its value.
fn run(file: calf_lang::FileId, expected: i64) {
    let io = Io {
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::stderr()),
        render: |failure| format!("{failure:?}"),
        nats_url: None,
        durable: None,
        trace: None,
    };
    let ending =
        calf_scheduler::run_program(globals(), Config::default(), LoadPath::default(), file, io);
    match ending {
        Ending::Returned(Value::Int(n)) if n == expected => {}
        other => panic!("the program ended with {other:?}, not {expected}"),
    }
}

fn processes(c: &mut Criterion) {
    // 1,000 round trips between two processes, as bench/programs/
    // ping_pong.calf makes them; the start of a runtime is included.
    let ping_pong = calf_lang::span::add_source(
        "ping-pong.calf",
        r#"
        (defn ponger []
          (receive
            [:ping from k] (do (send from [:pong k]) (ponger))
            :stop :stopped))
        (let [me (self)
              pong (spawn ponger)
              total (loop [i 0 acc 0]
                      (if (< i 1000)
                        (do (send pong [:ping me i])
                            (receive [:pong k] (recur (inc i) (+ acc k))))
                        acc))]
          (send pong :stop)
          total)
        "#,
    );
    // The same runtime start with no messages: subtract it from the above.
    let empty = calf_lang::span::add_source("empty.calf", "(+ 1 2)");
    let mut group = c.benchmark_group("processes");
    group.bench_function("runtime start", |b| b.iter(|| run(empty, 3)));
    group.bench_function("ping-pong 1000", |b| b.iter(|| run(ping_pong, 499_500)));
    group.finish();
}

fn codec(c: &mut Criterion) {
    // The body of a call of math.add, and a record a worker might get.
    let small = Value::vector([Value::Int(12_345), Value::Int(1)]);
    let record = Value::map([
        (Value::keyword("id"), Value::str("c-0001-8f3a")),
        (Value::keyword("amount"), Value::Int(1999)),
        (Value::keyword("currency"), Value::keyword("eur")),
        (Value::keyword("ratio"), Value::Float(0.25)),
        (
            Value::keyword("items"),
            Value::vector((0..10).map(|i| {
                Value::map([
                    (Value::keyword("sku"), Value::str(format!("sku-{i}"))),
                    (Value::keyword("qty"), Value::Int(i)),
                ])
            })),
        ),
        (
            Value::keyword("tags"),
            Value::set([Value::keyword("new"), Value::keyword("paid")]),
        ),
    ]);
    let mut group = c.benchmark_group("wire");
    for (name, value) in [("[i 1]", &small), ("record", &record)] {
        let bytes = wire::encode(value).expect("encodes");
        group.bench_function(format!("encode {name}"), |b| {
            b.iter(|| wire::encode(black_box(value)).expect("encodes"))
        });
        group.bench_function(format!("decode {name}"), |b| {
            b.iter(|| wire::decode(black_box(&bytes)).expect("decodes"))
        });
    }
    group.finish();
}

criterion_group!(benches, inbox, processes, codec);
criterion_main!(benches);
