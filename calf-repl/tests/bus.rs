//! Foreign calls from Calf programs against a real nats-server and a real
//! worker in Python (nats-py + msgpack): values round-trip, errors and
//! retries behave as docs/protocol.md says, and load is carried.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

mod support {
    pub mod nats;
    pub mod worker;
}
use support::nats::NatsServer;
use support::worker::{root, Worker};

/// The Calf worker (examples/workers/calf), waited for until it serves.
fn calf_worker(url: &str) -> Worker {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command
        .arg("--nats")
        .arg(url)
        .arg(root().join("examples/workers/calf/worker.calf"));
    Worker::spawn(command)
}

fn script(text: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bus-{}-{}.calf",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("writable");
    path
}

fn calf_command(url: &str, text: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command
        .arg("--nats")
        .arg(url)
        .arg(script(text))
        .stdin(Stdio::null());
    command
}

fn run(url: &str, text: &str) -> Output {
    calf_command(url, text).output().expect("calf runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn check(output: Output, expected: &str) {
    assert!(
        output.status.success(),
        "calf failed:\n{}\n{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout(&output), expected);
}

/// Echoes one value of every kind and reports any that changed.
const VALUES_ROUND_TRIP: &str = r#"
(def values [nil true false 0 -7 9223372036854775807 -9223372036854775808 1.5 -0.25
             "" "héllo" :k :billing/id 'sym 'ns/sym [] [1 [2 [3]]] '(1 2 3)
             {} {:a 1 :b [nil {:c "d"}]} {1 :one 2 [:two]} #{} #{1 :two "three"}
             (self) (make-ref) [{:k #{:v}}]])
(doseq [v values]
  (when-not (= v (call "echo" v))
    (println "changed:" (pr-str v) "->" (pr-str (call "echo" v)))))
(println (count values) "values round-trip")
(println (call "math.add" [40 2]))
"#;

#[test]
fn every_value_type_round_trips_through_the_python_worker() {
    let server = NatsServer::start();
    let _worker = Worker::start(&server.url());
    let program = &format!(
        "{VALUES_ROUND_TRIP}{}",
        r#"(println (vector? (call "echo" '(1 2))))
(println (call "echo" {"a" 1}))
"#
    );
    check(
        run(&server.url(), program),
        "26 values round-trip\n42\ntrue\n{:a 1}\n",
    );
}

/// The Rust example worker (built by `cargo test --workspace` as an example
/// of calf-worker), waited for until it serves.
fn rust_worker(url: &str) -> Worker {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    let binary = ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("examples").join("worker"))
        .find(|p| p.is_file())
        .expect("the Rust example worker is built by `cargo test --workspace` (or `cargo build -p calf-worker --example worker`)");
    let mut command = Command::new(binary);
    command.arg(url);
    Worker::spawn(command)
}

#[test]
fn every_value_type_round_trips_through_the_rust_worker() {
    let server = NatsServer::start();
    let _worker = rust_worker(&server.url());
    let program = VALUES_ROUND_TRIP;
    check(run(&server.url(), program), "26 values round-trip\n42\n");
}

#[test]
fn worker_errors_say_whether_they_are_retried() {
    let server = NatsServer::start();
    let _worker = Worker::start(&server.url());
    let program = r#"
(defn outcome [spec opts]
  (try (call "fail" spec opts)
       (catch e (let [d (ex-data e)] [(:type d) (:code d) (:attempts d)]))))
(def quick {:retry {:initial-interval-ms 1 :maximum-attempts 3}})
(prn (outcome {"code" "card-declined" "retryable" false} quick))
(prn (outcome {"code" "busy" "retryable" true} quick))
(prn (outcome {"code" "404"} quick))
(prn (outcome {"code" "503"} quick))
(prn (outcome {"code" "busy"} (assoc-in quick [:retry :non-retryable] ["busy"])))
(prn (:data (ex-data (try (call "fail" {"code" "x" "retryable" false "data" {"balance" 3}}) (catch e e)))))
"#;
    check(
        run(&server.url(), program),
        concat!(
            "[:calf/remote-error \"card-declined\" 1]\n",
            "[:calf/remote-error \"busy\" 3]\n",
            "[:calf/remote-error \"404\" 1]\n",
            "[:calf/remote-error \"503\" 3]\n",
            "[:calf/remote-error \"busy\" 1]\n",
            "{:balance 3}\n"
        ),
    );
}

#[test]
fn a_call_waits_for_a_worker_that_starts_later() {
    let server = NatsServer::start();
    let program = r#"
(println "calling")
(println (call "math.add" [1 2] {:deadline-ms 20000 :retry {:initial-interval-ms 50 :maximum-interval-ms 200}}))
"#;
    let mut child = calf_command(&server.url(), program)
        .stdout(Stdio::piped())
        .spawn()
        .expect("calf runs");
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).expect("calf prints");
    assert_eq!(line, "calling\n");
    // No responders now: the call retries until a worker answers.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _worker = Worker::start(&server.url());
    line.clear();
    out.read_line(&mut line).expect("calf prints the sum");
    assert_eq!(line, "3\n");
    assert!(child.wait().expect("calf ends").success());
}

#[test]
fn a_call_whose_worker_dies_completes_on_another() {
    let server = NatsServer::start();
    let first = Worker::start(&server.url());
    let program = r#"
(println "calling")
(println (call "slow" 1500 {:timeout-ms 3000 :deadline-ms 20000 :retry {:initial-interval-ms 10}}))
"#;
    let mut child = calf_command(&server.url(), program)
        .stdout(Stdio::piped())
        .spawn()
        .expect("calf runs");
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).expect("calf prints");
    // The first attempt is with the only worker; it dies mid-call, and the
    // retry (same call id) reaches the second.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _second = Worker::start(&server.url());
    drop(first);
    line.clear();
    out.read_line(&mut line).expect("calf prints the answer");
    assert_eq!(line, "1500\n");
    assert!(child.wait().expect("calf ends").success());
}

#[test]
fn ten_thousand_calls_from_a_thousand_processes() {
    let server = NatsServer::start();
    let _worker = Worker::start(&server.url());
    let program = r#"
(def me (self))
(dotimes [p 1000]
  (spawn (fn []
           (let [sums (mapv (fn [i] (call "math.add" [p i])) (range 10))]
             (send me [p sums])))))
(def wrong
  (loop [n 0 wrong 0]
    (if (< n 1000)
      (recur (inc n) (receive [p sums] (if (= sums (mapv #(+ p %) (range 10))) wrong (inc wrong))))
      wrong)))
(println "wrong answers:" wrong)
"#;
    check(run(&server.url(), program), "wrong answers: 0\n");
}

#[test]
fn a_reply_that_is_not_messagepack_is_a_bad_reply() {
    let server = NatsServer::start();
    let responder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad_responder.py");
    std::fs::write(
        &responder,
        r#"
import asyncio, sys
import nats

async def main():
    nc = await nats.connect(sys.argv[1])
    async def bad(msg):
        await nc.publish(msg.reply, b"\xc1\xc1 not msgpack")
    await nc.subscribe("broken", queue="calf", cb=bad)
    await nc.flush()
    print("serving broken", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#,
    )
    .expect("writable");
    let _bad = Worker::start_script(&responder, &server.url());
    let _worker = Worker::start(&server.url());
    let program = r#"
(println (try (call "broken" 1) (catch e [(:type (ex-data e)) (:attempts (ex-data e))])))
(println (call "math.add" [2 2]))
"#;
    check(run(&server.url(), program), "[:calf/bad-reply 1]\n4\n");
}

#[test]
fn a_calf_worker_answers_calls_from_another_program() {
    let server = NatsServer::start();
    let _worker = calf_worker(&server.url());
    let program = r#"
(println (call "math.add" [20 22]))
(prn (call "echo" {:k [1 #{:x}] :p (self)}))
(prn (try (call "fail" {:code "card-declined"}) (catch e ((juxt :type :code :attempts) (ex-data e)))))
"#;
    let output = run(&server.url(), program);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(output.status.success(), "{text}");
    assert_eq!(lines[0], "42");
    assert!(
        lines[1].contains(":k [1 #{:x}]") && lines[1].contains(":p #pid<"),
        "{text}"
    );
    assert_eq!(lines[2], "[:calf/remote-error \"card-declined\" 1]");
}

/// Python that builds sets nested `depth` deep (ext 3 around an array of
/// one, down to the empty set), from the inside out.
const NESTED_SETS_PY: &str = r#"
import msgpack

def nested_sets(depth):
    body = msgpack.packb(msgpack.ExtType(3, msgpack.packb([])))
    for _ in range(depth - 1):
        body = msgpack.packb(msgpack.ExtType(3, b"\x91" + body))
    return body
"#;

/// Python scripts for the tests, written once per test binary.
fn python_script(name: &str, text: &str) -> PathBuf {
    let path =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}.py", std::process::id()));
    std::fs::write(&path, text).expect("writable");
    path
}

#[test]
fn a_reply_of_sets_nested_too_deep_is_a_bad_reply() {
    let server = NatsServer::start();
    let responder = python_script(
        "deep_responder",
        &format!(
            "{NESTED_SETS_PY}{}",
            r#"
import asyncio, sys
import nats

async def main():
    nc = await nats.connect(sys.argv[1])
    async def deep(msg):
        await nc.publish(msg.reply, nested_sets(msgpack.unpackb(msg.data)))
    await nc.subscribe("deep", queue="calf", cb=deep)
    await nc.flush()
    print("serving deep", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#
        ),
    );
    let _deep = Worker::start_script(&responder, &server.url());
    let program = r#"
(println (count (call "deep" 1024)))
(let [e (try (call "deep" 2000) (catch e e))]
  (println (:type (ex-data e)) (:attempts (ex-data e)))
  (println (ex-message e)))
"#;
    check(
        run(&server.url(), program),
        concat!(
            "1\n",
            ":calf/bad-reply 1\n",
            "deep sent a reply that cannot be read: the value nests deeper than 1024 levels (vectors, lists, maps and sets together), the most the wire carries: send it flatter\n"
        ),
    );
}

#[test]
fn a_calf_worker_refuses_a_request_of_sets_nested_too_deep_and_carries_on() {
    let server = NatsServer::start();
    let _worker = calf_worker(&server.url());
    let client = python_script(
        "deep_client",
        &format!(
            "{NESTED_SETS_PY}{}",
            r#"
import asyncio, sys
import nats

async def main():
    nc = await nats.connect(sys.argv[1])
    reply = await nc.request("echo", nested_sets(2000), timeout=10)
    print(reply.headers.get("Nats-Service-Error-Code"), reply.headers.get("Calf-Retryable"))
    reply = await nc.request("math.add", msgpack.packb([2, 2]), timeout=10)
    print(msgpack.unpackb(reply.data))

asyncio.run(main())
"#
        ),
    );
    let output = Command::new(root().join(".venv/bin/python"))
        .arg(&client)
        .arg(server.url())
        .output()
        .expect("python runs");
    check(output, "400 None\n4\n");
}

/// A responder on `held` that holds every first attempt (never answers
/// it) and answers later attempts with the payload; it prints `held N`
/// each time it holds one more, so a test knows what is in flight.
const HELD_RESPONDER_PY: &str = r#"
import asyncio, sys
import nats

async def reconnecting(error):
    pass  # the server is stopped on purpose; each retry would log a traceback

async def main():
    nc = await nats.connect(sys.argv[1], reconnect_time_wait=0.05, max_reconnect_attempts=-1,
                            error_cb=reconnecting)
    held = []
    async def on_message(msg):
        if (msg.headers or {}).get("Calf-Attempt") == "1":
            held.append(msg)
            print(f"held {len(held)}", flush=True)
        else:
            await nc.publish(msg.reply, msg.data)
    await nc.subscribe("held", queue="calf", cb=on_message)
    await nc.flush()
    print("serving held", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#;

/// The held responder, with its output to read.
struct Held {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Held {
    fn start(url: &str) -> Held {
        let mut child = Command::new(root().join(".venv/bin/python"))
            .arg(python_script("held_responder", HELD_RESPONDER_PY))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let out = BufReader::new(child.stdout.take().expect("piped"));
        let mut held = Held { child, out };
        held.wait_for("serving held");
        held
    }

    /// Reads the responder's lines until `line`.
    fn wait_for(&mut self, wanted: &str) {
        let mut line = String::new();
        while line.trim_end() != wanted {
            line.clear();
            let read = self.out.read_line(&mut line).expect("the responder prints");
            assert!(read > 0, "the responder ended before printing {wanted:?}");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` at most `limit`; kills it if it runs longer.
fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn calls_in_flight_when_the_connection_drops_are_retried_once_it_is_back() {
    let mut server = NatsServer::start();
    let mut held = Held::start(&server.url());
    let program = r#"
(def me (self))
(dotimes [i 20]
  (spawn (fn [] (send me (call "held" i {:timeout-ms 30000 :deadline-ms 60000})))))
(println "sum" (reduce + (map (fn [_] (receive n n)) (range 20))))
"#;
    let mut child = calf_command(&server.url(), program)
        .stdout(Stdio::piped())
        .spawn()
        .expect("calf runs");
    // Every call's first attempt reached the worker, whose replies will
    // never come: the connection drops under them.
    held.wait_for("held 20");
    server.stop();
    let dropped = std::time::Instant::now();
    server.start_again();
    // Not the attempt timeout (30 s): each attempt failed when the
    // connection dropped, and the call sent its next one once back.
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(15));
    let elapsed = dropped.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "calf did not end well in {elapsed:?}"
    );
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut out)
        .expect("reads");
    assert_eq!(out, "sum 190\n");
}

#[test]
fn the_deadline_holds_while_the_server_is_down() {
    let mut server = NatsServer::start();
    let mut held = Held::start(&server.url());
    let program = r#"
(try (call "held" 0 {:timeout-ms 1000 :deadline-ms 1500}) (catch e nil))
(def promises
  (mapv (fn [i] (call-async "held" i {:timeout-ms 500 :deadline-ms 3000})) (range 1000)))
(def outcomes
  (frequencies (map (fn [p] (try (await p) :ok (catch e (:type (ex-data e))))) promises)))
(println outcomes)
"#;
    let mut child = calf_command(&server.url(), program)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("calf runs");
    held.wait_for("held 1");
    server.stop();
    let stopped = std::time::Instant::now();
    // The first call's deadline (1.5 s) and the others' (3 s), and a
    // margin for a loaded machine; without the server the calls end by
    // their deadlines, never waiting for it.
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(20));
    let elapsed = stopped.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "calf did not end well in {elapsed:?}"
    );
    assert!(elapsed < std::time::Duration::from_secs(8), "{elapsed:?}");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut out)
        .expect("reads");
    assert_eq!(out, "{:calf/timeout 1000}\n");
}

#[test]
fn a_payload_larger_than_the_server_takes_is_a_bad_request_at_once() {
    let server = NatsServer::start();
    let _worker = Worker::start(&server.url());
    let program = r#"
(def big (apply str (repeat 1100 (apply str (repeat 1000 "x")))))
(let [e (try (call "echo" big {:deadline-ms 10000}) (catch e e))]
  (println (:type (ex-data e)) (:attempts (ex-data e))))
(println (count (call "echo" (subs big 0 900000))))
"#;
    check(run(&server.url(), program), ":calf/bad-request 1\n900000\n");
}

#[test]
fn a_reply_larger_than_the_server_takes_is_an_error_reply() {
    let server = NatsServer::start();
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command.arg("--nats").arg(server.url()).arg(script(
        r#"
(serve "big" (fn [n] (apply str (repeat n (apply str (repeat 1000 "x"))))))
(println "serving big")
(receive :stop :stopped)
"#,
    ));
    let _worker = Worker::spawn(command);
    let program = r#"
(let [e (try (call "big" 1100 {:deadline-ms 10000}) (catch e e))]
  (prn ((juxt :type :code :attempts) (ex-data e))))
(println (count (call "big" 900)))
"#;
    check(
        run(&server.url(), program),
        "[:calf/remote-error \"500\" 1]\n900000\n",
    );
}
