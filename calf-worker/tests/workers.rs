//! The example workers in `examples/workers/` (Python, Node, Go, Rust)
//! answer the same four subjects the same way, checked with raw requests as
//! Calf sends them. The Python, Node and Go workers also drain on SIGTERM.
//!
//! Python, Node and Go are required, with their packages:
//! `scripts/setup-test-env` installs them (Python's in `.venv`, Node and npm
//! from the system's packages when they are missing, the Node worker's
//! packages in its `node_modules`, Go and the Go worker's packages from the
//! system's packages, the Go worker built into its `bin/`). A missing toolchain fails its test and
//! says how to install it.

mod common;

#[path = "../../examples/workers/rust/handlers.rs"]
mod handlers;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::Client;
use calf_worker::wire::Value;
use calf_worker::Worker;
use common::{call, on_path, workspace_root, Answer, NatsServer};

#[tokio::test]
async fn the_python_worker() {
    let python = workspace_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "the Python worker test needs .venv/bin/python with nats-py and msgpack: \
         run `bash scripts/setup-test-env` from the workspace root"
    );
    let server = NatsServer::start();
    let script = workspace_root().join("examples/workers/python/worker.py");
    let worker = WorkerProcess::spawn(Command::new(python).arg(script).arg(server.url()));
    let client = server.client().await;
    worker.wait_until_serving(&client).await;
    check_handlers(&client, true).await;
    worker.check_drain_on_sigterm(&client).await;
}

#[tokio::test]
async fn the_node_worker() {
    let node = on_path("node").unwrap_or_else(|| {
        panic!(
            "the Node worker test needs node on the PATH and found none: \
             run `bash scripts/setup-test-env` from the workspace root \
             (as root it installs Debian's nodejs and npm)"
        )
    });
    let dir = workspace_root().join("examples/workers/node");
    assert!(
        dir.join("node_modules/nats").is_dir()
            && dir.join("node_modules/@msgpack/msgpack").is_dir(),
        "node is installed but the Node worker's packages are not: \
         run `bash scripts/setup-test-env` from the workspace root"
    );
    let server = NatsServer::start();
    let worker = WorkerProcess::spawn(
        Command::new(node)
            .arg(dir.join("worker.mjs"))
            .env("NATS_URL", server.url()),
    );
    let client = server.client().await;
    worker.wait_until_serving(&client).await;
    // JavaScript objects have string keys only: no int or ext keys here.
    check_handlers(&client, false).await;
    worker.check_drain_on_sigterm(&client).await;
}

#[tokio::test]
async fn the_go_worker() {
    let binary = workspace_root().join("examples/workers/go/bin/worker");
    assert!(
        binary.is_file(),
        "the Go worker test needs the Go worker built: run `bash scripts/setup-test-env` \
         from the workspace root (as root it installs Debian's golang-go and the worker's \
         packages, then builds {})",
        binary.display()
    );
    let server = NatsServer::start();
    let worker = WorkerProcess::spawn(Command::new(binary).arg(server.url()));
    let client = server.client().await;
    worker.wait_until_serving(&client).await;
    check_handlers(&client, true).await;
    worker.check_drain_on_sigterm(&client).await;
}

#[tokio::test]
async fn the_rust_worker() {
    let server = NatsServer::start();
    let worker = Worker::connect(server.url()).await.unwrap();
    let running = handlers::register(worker).start().await.unwrap();
    let client = server.client().await;
    check_handlers(&client, true).await;
    running.shutdown().await;
}

/// Checks `math.add`, `echo`, `fail` and `slow`.
async fn check_handlers(client: &Client, any_keys: bool) {
    // math.add
    assert_eq!(call(client, "math.add", &(1, 2)).await.ok(), Value::Int(3));
    assert_eq!(
        call(client, "math.add", &(i64::MAX - 1, 1)).await.ok(),
        Value::Int(i64::MAX)
    );

    // echo: every kind of value, Calf's ext types and an unknown one included.
    let int = Value::Int;
    let value = map([
        ("nil", Value::Nil),
        (
            "bools",
            Value::Array(vec![Value::Bool(true), Value::Bool(false)]),
        ),
        (
            "ints",
            Value::Array(vec![int(7), int(-300), int(i64::MAX), int(i64::MIN)]),
        ),
        ("float", Value::Float(1.5)),
        ("strings", Value::Array(vec!["héllo".into(), "".into()])),
        (
            "list",
            Value::Array(vec![int(1), "two".into(), Value::Array(vec![int(3)])]),
        ),
        ("keyword", Value::keyword("app/ok")),
        ("symbol", Value::symbol("x")),
        ("set", Value::Set(vec![Value::keyword("a"), int(1)])),
        ("pid", Value::Pid(42)),
        ("ref", Value::Ref(u64::MAX)),
        (
            "nested",
            map([("inner", map([("deep", Value::keyword("yes"))]))]),
        ),
        ("ext", Value::Ext(17, vec![1, 2, 3])),
    ]);
    assert_eq!(
        sorted(call(client, "echo", &value).await.ok()),
        sorted(value)
    );
    let bin = Value::Bin(b"bytes".to_vec());
    assert_eq!(call(client, "echo", &bin).await.ok(), bin);
    assert_eq!(call(client, "echo", &()).await.ok(), Value::Nil);
    if any_keys {
        let keyed = Value::map([
            (Value::Int(1), Value::from("an int key")),
            (Value::keyword("k"), Value::from("a keyword key")),
        ]);
        assert_eq!(call(client, "echo", &keyed).await.ok(), keyed);
    }

    // fail
    let balance = map([("balance", Value::Int(3))]);
    let declined = map([
        ("code", "card-declined".into()),
        ("message", "declined".into()),
        ("retryable", Value::Bool(false)),
        ("data", balance.clone()),
    ]);
    expect_error(
        call(client, "fail", &declined).await,
        "card-declined",
        Some("declined"),
        false,
        balance,
    );
    let busy = map([("code", "503".into())]);
    expect_error(
        call(client, "fail", &busy).await,
        "503",
        None,
        true,
        Value::Nil,
    );
    let gone = map([("code", "404".into()), ("message", "gone".into())]);
    expect_error(
        call(client, "fail", &gone).await,
        "404",
        Some("gone"),
        false,
        Value::Nil,
    );

    // Bad input gets an error reply, not silence.
    let bad = call(client, "fail", &"no code").await;
    assert!(
        matches!(bad, Answer::Err { .. }),
        "fail with bad input: {bad:?}"
    );

    // slow, twice at once: the worker handles requests concurrently.
    let start = Instant::now();
    let (a, b) = tokio::join!(call(client, "slow", &300), call(client, "slow", &300));
    assert_eq!((a.ok(), b.ok()), (Value::Int(300), Value::Int(300)));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "slow answered after {took:?}"
    );
    assert!(
        took < Duration::from_millis(550),
        "two slow calls took {took:?}: not concurrent"
    );
}

#[track_caller]
fn expect_error(answer: Answer, code: &str, message: Option<&str>, retryable: bool, data: Value) {
    match answer {
        Answer::Err {
            code: c,
            message: m,
            retryable: r,
            data: d,
        } => {
            assert_eq!(c.as_deref(), Some(code));
            if let Some(message) = message {
                assert_eq!(m.as_deref(), Some(message));
            }
            assert_eq!(r, retryable, "retryable for code {code}");
            assert_eq!(d, data, "data for code {code}");
        }
        other => panic!("expected a {code} error, got {other:?}"),
    }
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::map(entries.map(|(k, v)| (Value::from(k), v)))
}

/// Map entries in a fixed order, since a worker need not keep it.
fn sorted(v: Value) -> Value {
    match v {
        Value::Map(entries) => {
            let mut entries: Vec<_> = entries
                .into_iter()
                .map(|(k, v)| (sorted(k), sorted(v)))
                .collect();
            entries.sort_by_key(|(k, _)| format!("{k:?}"));
            Value::Map(entries)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// A worker in another language, killed on drop.
struct WorkerProcess {
    child: Child,
    what: PathBuf,
}

impl WorkerProcess {
    fn spawn(command: &mut Command) -> WorkerProcess {
        let what = PathBuf::from(command.get_program());
        let child = command
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", what.display()));
        WorkerProcess { child, what }
    }

    /// Waits until the worker answers `math.add`.
    async fn wait_until_serving(&self, client: &Client) {
        let start = Instant::now();
        loop {
            match call(client, "math.add", &(0, 0)).await {
                Answer::NoResponders if start.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Answer::Ok(_) => return,
                other => panic!("{} did not start serving: {other:?}", self.what.display()),
            }
        }
    }

    /// SIGTERM while a call is in flight: the call is answered, and the
    /// worker exits with success.
    async fn check_drain_on_sigterm(mut self, client: &Client) {
        let pending = tokio::spawn({
            let client = client.clone();
            async move { call(&client, "slow", &600).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            pending.await.unwrap().ok(),
            Value::Int(600),
            "the call in flight is answered"
        );
        let start = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} did not exit after SIGTERM",
                self.what.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            exit.success(),
            "{} exited with {exit} after SIGTERM",
            self.what.display()
        );
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
