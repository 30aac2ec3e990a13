//! Running `calf` as a durable scheduler, killing it and resuming its
//! processes on another: the pieces the durable tests share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    let mut child = calf(url, node)
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
