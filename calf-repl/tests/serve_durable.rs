//! Durable processes under `calf serve`, on a real nats-server with the
//! accounts `calf serve nats-config` prints (JetStream in each tenant's
//! account) and the real Python worker of examples/durable/, logged in as
//! the tenant's user: a scheduler killed with SIGKILL while a thousand
//! processes wait on calls, and one stopped in order, lose no process.

mod support {
    pub mod durable;
    pub mod serve;
    pub mod worker;
}

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use support::durable::{
    each_call_acted_on_once, steps_endings, steps_program, wait_for_lines, worker,
};
use support::serve::{ok, scratch, write_nats_config, Nats, Serve, User, ACME};

/// One tenant whose quotas let a thousand calls wait at once.
const CONFIG: &str = r#"
nats_url = "nats://127.0.0.1:4222"

[operator]
user = "calf-operator"
password = "dev-operator"

[tenants.acme]
scheduler = { user = "acme-scheduler", password = "dev-acme-scheduler" }
users = [{ user = "acme-dev", password = "dev-acme" }]

[tenants.acme.quotas]
max_calls_in_flight = 5000
"#;

/// `calf serve` as durable node `node`, with leases of a second.
fn durable_args(node: &str) -> [&str; 4] {
    ["--durable", node, "--lease-ms", "1000"]
}

/// calf.toml and its nats-server in `dir`, and `calf serve` as `node`.
fn start(dir: &Path, node: &str) -> Serve {
    start_with(dir, &durable_args(node))
}

/// calf.toml and its nats-server in `dir`, and `calf serve ARGS`.
fn start_with(dir: &Path, args: &[&str]) -> Serve {
    let config = dir.join("calf.toml");
    std::fs::write(&config, CONFIG).expect("calf.toml is written");
    let conf = dir.join("nats.conf");
    write_nats_config(&config, &conf);
    let nats = Nats::start(&conf, &dir.join("jetstream"));
    Serve::start_with(nats, &config, ACME, args)
}

/// The NATS URL with the tenant user's login, as nats-py reads it.
fn user_url(serve: &Serve, user: User) -> String {
    serve.url.replacen(
        "nats://",
        &format!("nats://{}:{}@", user.name, user.password),
        1,
    )
}

/// Submits `source` as the tenant's job `main.calf`.
fn submit(serve: &Serve, dir: &Path, source: &str) {
    let main = dir.join("main.calf");
    std::fs::write(&main, source).expect("main.calf is written");
    ok(
        "calf submit",
        serve.verb(ACME, &["submit", &main.display().to_string()]),
    );
}

/// A durable job whose main process loads a namespace, makes calls in
/// top-level forms, and requires a second namespace only after them.
const DURABLE_MAIN: &str = "
(ns app.main (:require [app.steps :as steps]))
(println \"first\" (call \"durable.step\" 1000))
(def second-answer (call \"durable.step\" 2000))
(println \"second\" second-answer)
(do
  (require '[app.late :as late])
  (println (late/greet (steps/twice second-answer))))
(println \"third\" (call \"durable.step\" 3000))
";

/// The pids `calf ps` lists as durable, and the whole table.
fn durable_pids(serve: &Serve) -> (Vec<String>, String) {
    let table = ok("calf ps", serve.verb(ACME, &["ps"]));
    let pids = table
        .lines()
        .skip(1)
        .filter(|row| !row.trim_end().ends_with(" -"))
        .filter_map(|row| row.split_whitespace().next())
        .map(str::to_string)
        .collect();
    (pids, table)
}

/// Waits until `calf logs PID` holds `n` lines with `needle`; the log.
fn wait_for_logged(serve: &Serve, pid: &str, needle: &str, n: usize) -> String {
    let start = Instant::now();
    loop {
        let logs = serve.verb(ACME, &["logs", pid]);
        let text = String::from_utf8_lossy(&logs.stdout).into_owned();
        if text.matches(needle).count() >= n {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "calf logs {pid} never held {n} lines with {needle:?}:\n{text}{}",
            String::from_utf8_lossy(&logs.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

const PROCESSES: usize = 1_000;
const CALLS: usize = 5;

#[test]
fn a_thousand_durable_processes_survive_a_kill_9_of_calf_serve() {
    let dir = scratch("durable-thousand");
    let mut serve = start(&dir, "serve-a");
    let log = dir.join("calls.log");
    let _worker = worker(&user_url(&serve, ACME), &log, 300);
    // The job's main process ends once it has spawned them: durable
    // processes outlive their job, as they outlive a crash.
    submit(&serve, &dir, &steps_program(PROCESSES, CALLS));
    // Killed while every process waits on its third call.
    wait_for_lines(&log, 2 * PROCESSES + 1);

    let (pids, table) = durable_pids(&serve);
    assert_eq!(pids.len(), PROCESSES, "every process is durable:\n{table}");
    assert!(table.contains("serve-a, saved"), "{table}");
    let detail = ok("calf inspect", serve.verb(ACME, &["inspect", &pids[0]]));
    assert!(
        detail.contains("durable      on serve-a, saved") && detail.contains(" B saved)"),
        "{detail}"
    );

    serve.crash();
    serve.start_again(ACME, &durable_args("serve-b"));
    let text = wait_for_logged(&serve, &pids[0], "ends with", PROCESSES);
    let printed: BTreeSet<&str> = text.lines().filter(|l| l.contains("ends with")).collect();
    let expected = steps_endings(PROCESSES, CALLS);
    assert_eq!(
        text.matches("ends with").count(),
        PROCESSES,
        "each printed once"
    );
    assert_eq!(
        printed,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    each_call_acted_on_once(&log, PROCESSES * CALLS);
    // Ended, they are no longer saved or listed.
    let (left, table) = durable_pids(&serve);
    assert!(left.is_empty(), "{table}");
}

#[test]
fn a_scheduler_stopped_in_order_leaves_its_durable_processes_to_its_next_run() {
    let dir = scratch("durable-restart");
    let mut serve = start(&dir, "serve-a");
    submit(
        &serve,
        &dir,
        "(defn nap [n started]
           (sleep 3000)
           (println \"napper\" n \"slept\" (- (now-ms) started)))
         (dotimes [n 20] (spawn-durable nap n (now-ms)))",
    );
    let start = Instant::now();
    let pids = loop {
        let (pids, table) = durable_pids(&serve);
        if pids.len() == 20 && table.matches("serve-a, saved").count() == 20 {
            break pids;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{table}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // SIGTERM: the processes stay saved and the lease is given up, so the
    // same node, started again at once, takes them back.
    assert_eq!(serve.terminate(Duration::from_secs(20)), Some(0));
    serve.start_again(ACME, &durable_args("serve-a"));
    let text = wait_for_logged(&serve, &pids[0], "slept", 20);
    for n in 0..20 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("napper {n} slept")))
            .unwrap_or_else(|| panic!("napper {n} did not wake:\n{text}"));
        let slept: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        // The deadline is wall time from the first start, not counted
        // again from the restore.
        assert!((3_000..6_000).contains(&slept), "{line}");
    }
}

#[test]
fn a_message_sent_while_no_scheduler_runs_its_receiver_is_delivered_after() {
    let dir = scratch("durable-outage");
    // Leases of four seconds: the outage the message is sent in.
    let lease = ["--lease-ms", "4000"];
    let mut serve = start_with(&dir, &[&["--durable", "serve-a"][..], &lease].concat());
    submit(
        &serve,
        &dir,
        "(defn listen []
           (receive [:note n] (do (println \"got\" n) (listen))
                    :stop (println \"stopped\")))
         (spawn-durable listen)",
    );
    let start = Instant::now();
    let pid = loop {
        let (pids, table) = durable_pids(&serve);
        if table.contains("serve-a, saved") {
            break pids[0].clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{table}");
        std::thread::sleep(Duration::from_millis(50));
    };
    ok("calf send", serve.verb(ACME, &["send", &pid, "[:note 1]"]));
    wait_for_logged(&serve, &pid, "got 1", 1);
    // The receive that follows saves in the background.
    std::thread::sleep(Duration::from_millis(500));

    serve.crash();
    serve.start_again(ACME, &[&["--durable", "serve-b"][..], &lease].concat());
    let (running, table) = durable_pids(&serve);
    assert!(running.is_empty(), "taken over before the send:\n{table}");
    ok("calf send", serve.verb(ACME, &["send", &pid, "[:note 2]"]));
    let text = wait_for_logged(&serve, &pid, "got 2", 1);
    assert!(!text.contains("got 1"), "{text}");

    // Running here now, it takes messages as they come.
    ok("calf send", serve.verb(ACME, &["send", &pid, "[:note 3]"]));
    ok("calf send", serve.verb(ACME, &["send", &pid, ":stop"]));
    let text = wait_for_logged(&serve, &pid, "stopped", 1);
    assert_eq!(text, "got 2\ngot 3\nstopped\n");
    // Ended, it takes no more: a send says so.
    let start = Instant::now();
    while !durable_pids(&serve).0.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let late = serve.verb(ACME, &["send", &pid, "[:note 4]"]);
    assert!(!late.status.success());
}

#[test]
fn a_durable_jobs_main_process_survives_a_kill_9_in_the_middle_of_its_forms() {
    let dir = scratch("durable-main");
    let mut serve = start(&dir, "serve-a");
    let log = dir.join("calls.log");
    let _worker = worker(&user_url(&serve, ACME), &log, 500);
    let job = dir.join("job");
    std::fs::create_dir_all(job.join("app")).expect("the job's folder is made");
    std::fs::write(job.join("main.calf"), DURABLE_MAIN).expect("written");
    std::fs::write(
        job.join("app/steps.calf"),
        "(ns app.steps)\n(defn twice [x] (* 2 x))\n",
    )
    .expect("written");
    std::fs::write(
        job.join("app/late.calf"),
        "(ns app.late)\n(defn greet [x] (str \"late says \" x))\n",
    )
    .expect("written");
    let printed = ok(
        "calf submit --durable",
        serve.verb(
            ACME,
            &[
                "submit",
                "--durable",
                "--main",
                "main.calf",
                &job.display().to_string(),
            ],
        ),
    );
    let pid = printed.trim().to_string();
    // Killed once the first call is answered and the second is made: the
    // main process is then parked in a top-level form of its own.
    wait_for_lines(&log, 1);
    let start = Instant::now();
    loop {
        let detail = ok("calf inspect", serve.verb(ACME, &["inspect", &pid]));
        if detail.contains("calling") && detail.contains("main.calf:4") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{detail}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (pids, table) = durable_pids(&serve);
    assert_eq!(
        pids,
        vec![pid.clone()],
        "the main process is durable:\n{table}"
    );

    serve.crash();
    serve.start_again(ACME, &durable_args("serve-b"));
    let text = wait_for_logged(&serve, &pid, "third", 1);
    // What it printed before its last save is not printed again; the rest
    // is, in order, with the namespaces it had and the files it was
    // submitted with.
    assert_eq!(
        text, "second 2001\nlate says 4002\nthird 3001\n",
        "the main process goes on where it parked"
    );
    each_call_acted_on_once(&log, 3);
    let (left, table) = durable_pids(&serve);
    assert!(left.is_empty(), "ended, it is no longer saved:\n{table}");
}
