//! Running `calf` as a durable scheduler, killing it and resuming its
//! processes on another: the pieces the durable tests share.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::worker::{root, Worker};

/// A directory of its own for one test, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("durable-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `calf` as durable scheduler `node`, with a lease of a second.
pub fn calf(url: &str, node: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command
        .args(["--nats", url, "--durable", node, "--lease-ms", "1000"])
        .env("CALF_LOG", "error")
        .stdin(Stdio::null());
    command
}

/// Starts `script` (with `args`) as node `node`, its output to `out`.
pub fn start(url: &str, node: &str, script: &Path, args: &[&str], out: &Path) -> Child {
    calf(url, node)
        .arg(script)
        .args(args)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// `calf --resume` as node `node`: takes the orphans over, runs them out.
pub fn resume(url: &str, node: &str) -> Output {
    resume_in(url, node, Path::new("."))
}

/// The same, run in `dir`: where the restored processes' requires look.
pub fn resume_in(url: &str, node: &str, dir: &Path) -> Output {
    let mut child = calf(url, node)
        .current_dir(dir)
        .arg("--resume")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("calf --resume did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits, at most a minute, until `ready` holds.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "{what}: never");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The value of field `name` in a flat JSON line as Python writes it
/// (`"name": value`), quotes taken off: enough for the workers' logs.
pub fn field(line: &str, name: &str) -> String {
    let key = format!("\"{name}\": ");
    let at = line
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + key.len();
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim_matches('"').to_string()
}

/// The durable worker of examples/durable/, at `url`, logging to `log`.
pub fn worker(url: &str, log: &Path, delay_ms: u32) -> Worker {
    let script = root().join("examples/durable/worker.py");
    let log = log.display().to_string();
    Worker::start_python(&script, &[url, &log, &delay_ms.to_string()])
}

/// Waits until `path` has `n` lines.
pub fn wait_for_lines(path: &Path, n: usize) {
    wait_until(&format!("{} reaching {n} lines", path.display()), || {
        lines(path).len() >= n
    });
}

/// One request the durable worker logged.
struct Logged {
    id: String,
    attempt: String,
    answer: i64,
    acted: bool,
}

/// Checks the durable worker's `log` once it has `calls` lines: every
/// call was acted on once; a call asked again after a crash came with
/// the same id and a later attempt, and got the same answer.
pub fn each_call_acted_on_once(log: &Path, calls: usize) {
    wait_for_lines(log, calls);
    let logged: Vec<Logged> = lines(log)
        .iter()
        .map(|line| Logged {
            id: field(line, "id"),
            attempt: field(line, "attempt"),
            answer: field(line, "answer").parse().unwrap(),
            acted: field(line, "acted") == "true",
        })
        .collect();
    let mut answers: BTreeMap<&str, i64> = BTreeMap::new();
    let mut acted: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &logged {
        let first = *answers.entry(&entry.id).or_insert(entry.answer);
        assert_eq!(
            first, entry.answer,
            "call {} answered twice differently",
            entry.id
        );
        if entry.acted {
            *acted.entry(&entry.id).or_default() += 1;
        } else {
            assert_ne!(entry.attempt, "1", "a repeated call is a later attempt");
        }
    }
    assert_eq!(answers.len(), calls, "one id per call");
    assert!(acted.values().all(|n| *n == 1), "each call acted on once");
    assert_eq!(acted.len(), calls);
}

/// A program that spawns `processes` durable processes, each making
/// `calls` calls of `durable.step` in a row, then printing `process N
/// ends with X`.
pub fn steps_program(processes: usize, calls: usize) -> String {
    format!(
        "(defn steps [n]
           (loop [i 0 x n]
             (if (< i {calls})
               (recur (inc i) (call \"durable.step\" x))
               (println \"process\" n \"ends with\" x))))
         (dotimes [n {processes}] (spawn-durable steps (* n 100)))"
    )
}

/// What the processes of [`steps_program`] print at their ends.
pub fn steps_endings(processes: usize, calls: usize) -> std::collections::BTreeSet<String> {
    (0..processes)
        .map(|n| format!("process {} ends with {}", n * 100, n * 100 + calls))
        .collect()
}
