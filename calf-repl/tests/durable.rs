//! Durable processes across a `kill -9` of their scheduler, on a real
//! nats-server with JetStream and a real Python worker that logs every
//! call it gets: a second scheduler resumes every process, and the
//! worker acts on every call id once.

mod support {
    pub mod durable;
    pub mod nats;
    pub mod worker;
}

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use support::durable::{
    calf, each_call_acted_on_once, lines, resume, resume_in, start, steps_endings, steps_program,
    wait_for_lines, wait_until, worker, Scratch,
};
use support::nats::NatsServer;
use support::worker::{root, Worker};

const PROCESSES: usize = 1_000;
const CALLS: usize = 5;

#[test]
fn a_thousand_durable_processes_survive_a_kill_9_of_their_scheduler() {
    let script = steps_program(PROCESSES, CALLS);
    // Killed while every process waits on its third call.
    let mut first = FirstRun::start("thousand", &script, 200);
    wait_for_lines(&first.log, 2 * PROCESSES + 1);
    let (before, after) = first.crash_and_resume();
    let log = first.log.clone();
    let printed: Vec<&str> = before.lines().chain(after.lines()).collect();
    let expected = steps_endings(PROCESSES, CALLS);
    assert_eq!(printed.len(), PROCESSES, "each process printed once");
    let printed: BTreeSet<String> = printed.into_iter().map(str::to_string).collect();
    assert_eq!(printed, expected);

    each_call_acted_on_once(&log, PROCESSES * CALLS);
}

#[test]
fn a_durable_sleep_ends_at_its_deadline_across_a_crash() {
    let mut first = FirstRun::start(
        "sleep",
        "(defn nap [started]
           (println \"asleep\")
           (sleep 4000)
           (println \"slept\" (- (now-ms) started)))
         (spawn-durable nap (now-ms))",
        0,
    );
    wait_for_lines(&first.out, 1);
    std::thread::sleep(Duration::from_millis(300));
    let (_, text) = first.crash_and_resume();
    let slept: i64 = text
        .trim()
        .strip_prefix("slept ")
        .unwrap_or_else(|| panic!("unexpected output: {text}"))
        .parse()
        .unwrap();
    // From its first start: the deadline is wall time, not counted again
    // from the restore (which came about a second later).
    assert!((4_000..5_500).contains(&slept), "slept {slept} ms");
}

#[test]
fn a_durable_process_needs_a_store() {
    let out = Command::new(env!("CARGO_BIN_EXE_calf"))
        .args(["-e", "(spawn-durable (fn [] 1))"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spawn-durable needs a durable store"), "{err}");
    assert!(err.contains("--durable"), "says what to do: {err}");
}

/// Runs `body` (Python, one statement a line, inside an async function)
/// with `kv` the JetStream KV bucket `bucket` of the server at `url`;
/// `sys.argv[2..]` are `args`. How the tests damage a store.
fn with_bucket(url: &str, bucket: &str, body: &str, args: &[&str]) {
    let body: String = body.lines().map(|line| format!("    {line}\n")).collect();
    let script = format!(
        "import asyncio, sys, nats\n\
         async def main():\n\
         \x20   nc = await nats.connect(sys.argv[1])\n\
         \x20   kv = await nc.jetstream().key_value('{bucket}')\n\
         {body}\
         \x20   await nc.close()\n\
         asyncio.run(main())"
    );
    let status = Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg(script)
        .arg(url)
        .args(args)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the store's bucket {bucket} was not changed"
    );
}

/// A program running as a first node, beside nats-server (JetStream) and
/// the durable worker.
struct FirstRun {
    /// Removed when the run is dropped: the worker's log is in it.
    _scratch: Scratch,
    server: NatsServer,
    _worker: Worker,
    log: PathBuf,
    out: PathBuf,
    child: Child,
}

impl FirstRun {
    /// Runs `script` as node `node-first`, the worker answering after
    /// `delay_ms`.
    fn start(name: &str, script: &str, delay_ms: u32) -> FirstRun {
        FirstRun::start_with_files(name, script, delay_ms, &[])
    }

    /// The same, with `files` (relative path, text) beside the script.
    fn start_with_files(
        name: &str,
        script: &str,
        delay_ms: u32,
        files: &[(&str, &str)],
    ) -> FirstRun {
        let scratch = Scratch::new(name);
        for (path, text) in files {
            let path = scratch.0.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let server = NatsServer::start_jetstream(&scratch.0.join("js"));
        let log = scratch.0.join("calls.log");
        let worker = worker(&server.url(), &log, delay_ms);
        let path = scratch.0.join("script.calf");
        std::fs::write(&path, script).unwrap();
        let out = scratch.0.join("first.out");
        let child = start(&server.url(), "node-first", &path, &[], &out);
        FirstRun {
            _scratch: scratch,
            server,
            _worker: worker,
            log,
            out,
            child,
        }
    }

    fn dir(&self) -> &std::path::Path {
        &self._scratch.0
    }

    /// Kills the first node with -9 once its program printed `all stored`
    /// (`spawn-durable` returns once the store has the process), and
    /// resumes its durable processes on two survivors at once, which both
    /// hold their leases before the dead one's lapses: what each printed.
    fn crash_once_stored_and_resume_on_two(mut self) -> (String, String) {
        wait_until("the program to have spawned every process", || {
            lines(&self.out).contains(&"all stored".to_string())
        });
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let url = self.server.url();
        let (b, c) = std::thread::scope(|scope| {
            let b = scope.spawn(|| resume(&url, "node-b"));
            let c = scope.spawn(|| resume(&url, "node-c"));
            (b.join().unwrap(), c.join().unwrap())
        });
        (
            String::from_utf8_lossy(&b.stdout).to_string(),
            String::from_utf8_lossy(&c.stdout).to_string(),
        )
    }

    /// Kills the first node with -9 and resumes its durable processes on
    /// `node-second`: what each node printed.
    fn crash_and_resume(&mut self) -> (String, String) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let second = resume(&self.server.url(), "node-second");
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
        (
            std::fs::read_to_string(&self.out).unwrap(),
            String::from_utf8_lossy(&second.stdout).to_string(),
        )
    }
}

/// Runs `script`, kills it once the worker has logged `calls` requests
/// and `settle` more has passed (for the saves in the background), and
/// resumes it.
fn crash_and_resume(
    name: &str,
    script: &str,
    delay_ms: u32,
    calls: usize,
    settle: Duration,
) -> (String, String) {
    let mut first = FirstRun::start(name, script, delay_ms);
    wait_for_lines(&first.log, calls);
    std::thread::sleep(settle);
    first.crash_and_resume()
}

#[test]
fn a_restored_process_keeps_its_code_until_it_loads_a_new_version() {
    // Every message is sent (and stored) before the crash; the process
    // takes the first, and is killed waiting on its call.
    let script = "
        (require '[app.logic :as logic])
        (defn serve-loop []
          (receive
            [:ask n] (do (println (logic/answer (call \"durable.step\" n))) (serve-loop))
            :upgrade (do (require 'app.logic :reload) (println \"upgraded\") (serve-loop))
            :stop (println \"stopped\")))
        (defn start [] (call \"durable.step\" 0) (serve-loop))
        (def p (spawn-durable start))
        (doseq [m [[:ask 1] :upgrade [:ask 10] :stop]] (send p m))
        (sleep 60000)";
    let mut first = FirstRun::start_with_files(
        "code-version",
        script,
        1_000,
        &[("app/logic.calf", LOGIC_V1)],
    );
    // The first call's answer came a second after it was made; the call
    // for the first message is then a second away from its answer.
    wait_for_lines(&first.log, 1);
    std::thread::sleep(Duration::from_millis(300));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // The program's file changes while no scheduler runs it.
    std::fs::write(first.dir().join("app/logic.calf"), LOGIC_V2).unwrap();
    let second = resume_in(&first.server.url(), "node-second", first.dir());
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "v1 says 2\nupgraded\nv2 says 11\nstopped\n",
        "the restored process runs the code it was saved with until it loads the new one"
    );
}

const LOGIC_V1: &str = "(ns app.logic)\n(defn answer [x] (str \"v1 says \" x))\n";
const LOGIC_V2: &str = "(ns app.logic)\n(defn answer [x] (str \"v2 says \" x))\n";

#[test]
fn a_durable_supervisor_restarts_its_durable_child_after_the_crash() {
    // The child's call is answered after the crash: it exits :boom, the
    // restored supervisor restarts it, it exits again, and the second
    // restart within the period is one too many (intensity 1): the
    // supervisor stops, and with it the run.
    let script = "
        (defn child []
          (println \"child got\" (call \"durable.step\" 0))
          (exit :boom))
        (spawn-durable supervisor/run
                       {:intensity 1 :period-ms 60000}
                       [{:id :child :start [child] :durable true}])";
    let (before, after) =
        crash_and_resume("supervisor", script, 1_500, 0, Duration::from_millis(700));
    assert_eq!(before, "", "killed while the child waited on its call");
    assert_eq!(
        after.lines().collect::<Vec<_>>(),
        ["child got 1", "child got 1"],
        "{after}"
    );
}

#[test]
fn a_link_to_a_process_lost_in_the_crash_breaks_with_noconnection() {
    let script = "
        (defn watcher []
          (trap-exit! true)
          (call \"durable.step\" 0)
          (receive [:EXIT _ reason] (println \"link broke:\" reason)))
        (spawn-durable-link watcher)
        (sleep 60000)";
    let (_, after) = crash_and_resume("noconnection", script, 1_000, 0, Duration::from_millis(400));
    assert_eq!(after.trim(), "link broke: :noconnection");
}

#[test]
fn what_a_durable_process_printed_before_it_ended_outlives_a_kill_9() {
    // The main process sleeps on, so that nothing else writes the
    // program's output out.
    let mut first = FirstRun::start(
        "printed",
        "(spawn-durable (fn [] (call \"durable.step\" 1) (println \"done\")))
         (sleep 60000)",
        0,
    );
    // Another node's --resume ends once the store holds no process: the
    // durable one has ended and been forgotten.
    wait_for_lines(&first.log, 1);
    let second = resume(&first.server.url(), "node-second");
    assert!(second.status.success());
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // Forgotten by the store, it is never run again: its output must be
    // out before it is forgotten.
    assert_eq!(lines(&first.out), ["done"]);
}

#[test]
fn a_durable_process_is_stored_before_spawn_durable_returns() {
    // Killed while the process computes, before it ever parks: it was
    // saved when spawned, and starts over on the second node.
    let mut first = FirstRun::start(
        "spawned",
        "(defn busy []
           (loop [i 0] (when (< i 20000000) (recur (inc i))))
           (println \"computed, then\" (call \"durable.step\" 1)))
         (spawn-durable busy)
         (println \"spawned\")
         (sleep 60000)",
        0,
    );
    wait_until("the first node to print `spawned`", || {
        lines(&first.out).contains(&"spawned".to_string())
    });
    let log = first.log.clone();
    let (_, after) = first.crash_and_resume();
    assert_eq!(after.trim(), "computed, then 2");
    assert_eq!(lines(&log).len(), 1, "one call, made after the restore");
}

#[test]
fn a_server_without_jetstream_is_refused_at_start() {
    let server = NatsServer::start();
    let out = Command::new(env!("CARGO_BIN_EXE_calf"))
        .args(["--nats", &server.url(), "--durable", "node-a", "-e", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the durable store is unavailable"), "{err}");
    assert!(err.contains("JetStream"), "names what is missing: {err}");
}

#[test]
fn the_orphans_of_a_dead_scheduler_spread_over_the_survivors() {
    let script = "
        (defn step [n] (println \"process\" n \"got\" (call \"durable.step\" n)))
        (dotimes [n 200] (spawn-durable step n))
        (println \"all stored\")
        (sleep 60000)";
    let (b, c) = FirstRun::start("spread", script, 3_000).crash_once_stored_and_resume_on_two();
    let mut all: Vec<&str> = b.lines().chain(c.lines()).collect();
    all.sort();
    let mut expected: Vec<String> = (0..200)
        .map(|n| format!("process {n} got {}", n + 1))
        .collect();
    expected.sort();
    assert_eq!(all, expected, "every process ran to its end once");
    assert!(
        b.lines().count() > 40 && c.lines().count() > 40,
        "both survivors took a share: {} and {}",
        b.lines().count(),
        c.lines().count()
    );
}

#[test]
fn linked_durable_processes_taken_over_by_different_survivors_stay_linked() {
    // Twenty pairs: `a` traps exits and is linked to its durable partner
    // `b`. Spread over two survivors, about half the pairs are split; a
    // partner restored on the other survivor, or later, is not gone.
    let script = "
        (defn b [] (call \"durable.step\" 0) (sleep 4000) (println \"b done\"))
        (defn a []
          (trap-exit! true)
          (spawn-durable-link b)
          (call \"durable.step\" 0)
          (receive [:EXIT _ reason] (println \"link broke:\" reason)
                   (after 2000 (println \"a done\"))))
        (dotimes [_ 20] (spawn-durable a))
        (println \"all stored\")
        (sleep 60000)";
    let (b, c) =
        FirstRun::start("split-links", script, 3_000).crash_once_stored_and_resume_on_two();
    let printed = b + &c;
    assert!(!printed.contains("link broke"), "{printed}");
    assert_eq!(printed.matches("a done").count(), 20, "{printed}");
    assert_eq!(printed.matches("b done").count(), 20, "{printed}");
}

#[test]
fn the_partners_of_a_process_that_cannot_be_restored_are_told_why() {
    let script = "
        (defn target [] (sleep 60000))
        (defn watcher [t]
          (monitor t)
          (receive [:DOWN _ _ reason]
                   (println \"down:\" (:type (ex-data reason)) (ex-message reason))))
        (let [t (spawn-durable target)]
          (spawn-durable watcher t)
          (println \"target\" t))
        (sleep 60000)";
    let mut first = FirstRun::start("unrestorable-partner", script, 0);
    wait_for_lines(&first.out, 1);
    let target = lines(&first.out)[0]
        .strip_prefix("target #pid<")
        .and_then(|rest| rest.strip_suffix('>'))
        .expect("the target's pid is printed")
        .to_string();
    std::thread::sleep(Duration::from_millis(300));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // The target's saved image damaged: its owner kept, its image not.
    with_bucket(
        &first.server.url(),
        "calf_processes",
        "owner = b'node-first'\n\
         await kv.put(sys.argv[2], bytes([len(owner)]) + owner + b'damaged')",
        &[&target],
    );
    let second = resume(&first.server.url(), "node-second");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.starts_with(&format!(
            "down: :calf/unrestorable durable process #pid<{target}> cannot be restored, and ends:"
        )),
        "the monitor fires with the reason the target ended with:\n{stdout}{stderr}"
    );
}

#[test]
fn a_full_store_fails_the_call_with_a_clear_reason_and_the_scheduler_stays_up() {
    let scratch = Scratch::new("full");
    let server = NatsServer::start_jetstream(&scratch.0.join("js"));
    // The processes' bucket made beforehand, with room for small images
    // only: a scheduler takes a bucket as it finds it.
    let made = Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import asyncio, sys, nats
from nats.js.api import KeyValueConfig
async def main():
    nc = await nats.connect(sys.argv[1])
    await nc.jetstream().create_key_value(KeyValueConfig(bucket='calf_processes', history=1, max_value_size=2000))
    await nc.close()
asyncio.run(main())",
            &server.url(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let script = scratch.0.join("full.calf");
    std::fs::write(
        &script,
        "(defn big []
           (let [data (vec (range 5000))]
             ;; data is live across the call: the save holds it.
             (try (println (+ (call \"durable.step\" 1 {:deadline-ms 1500}) (count data)))
                  (catch e (println \"caught\" (:type (ex-data e)))))))
         (spawn-durable big)
         (println \"the program goes on\")",
    )
    .unwrap();
    let out = calf(&server.url(), "node-a").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("the program goes on"), "{stdout}");
    assert!(
        stdout.contains("caught :calf/store-unavailable"),
        "{stdout}"
    );
}

#[test]
fn a_message_taken_after_the_last_save_is_taken_again_after_a_crash() {
    // Saved before its call; the message comes (stored, then taken into
    // its mailbox) while the call waits; the crash comes before the next
    // save. Restored from the save before the call, it reads the message
    // from its inbox again.
    let mut first = FirstRun::start(
        "inbox",
        "(defn patient []
           (let [r (call \"durable.step\" 1)]
             (receive [:note n] (println \"note\" n \"after\" r))))
         (let [p (spawn-durable patient)]
           (send p [:note 7])
           (println \"sent\"))",
        2_000,
    );
    wait_for_lines(&first.out, 1);
    // The message reaches the mailbox; the call still waits.
    std::thread::sleep(Duration::from_millis(300));
    let (before, after) = first.crash_and_resume();
    assert_eq!(before, "sent\n");
    assert_eq!(after, "note 7 after 2\n");
}

#[test]
fn a_message_a_durable_process_cannot_store_is_refused_at_the_send() {
    let scratch = Scratch::new("not-storable");
    let server = NatsServer::start_jetstream(&scratch.0.join("js"));
    let out = calf(&server.url(), "node-send")
        .args([
            "-e",
            "(let [p (spawn-durable (fn [] (receive :stop :stopped)))]
               (println (try (send p inc) (catch e (:type (ex-data e)))))
               (println (try (send p (apply str (repeat 2000000 \"x\")))
                             (catch e (:type (ex-data e)))))
               (send p :stop))",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, ":calf/not-storable\n:calf/not-storable\n:stop\n");
}

#[test]
fn a_process_whose_code_is_gone_from_the_store_ends_with_a_clear_reason() {
    let mut first = FirstRun::start(
        "no-code",
        "(spawn-durable (fn [] (println \"asleep\") (sleep 60000) (println \"woke\")))",
        0,
    );
    wait_for_lines(&first.out, 1);
    std::thread::sleep(Duration::from_millis(300));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // Every image of code and namespaces taken out of the store.
    with_bucket(
        &first.server.url(),
        "calf_code",
        "for key in await kv.keys():\n\
         \x20   await kv.purge(key)",
        &[],
    );
    let second = resume(&first.server.url(), "node-second");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot be restored, and ends") && stderr.contains("not in the store"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&second.stdout).is_empty());
}
