//! A busy process never keeps the others from running, whatever keeps it
//! busy: a plain loop, a loop that performs an effect in every round, or
//! a loop over natives that do a lot of work in one call. On one scheduler
//! thread a process that never yields stops everything, so there a
//! starvation is a hang, not a slowdown: each run must simply end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far more than a fair run takes (well under a second), far less than
/// forever.
const TIME_LIMIT: Duration = Duration::from_secs(10);

fn program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preemption/busy-neighbours.calf")
}

/// Runs the program with two busy processes of `kind` on one scheduler
/// thread; its stdout, or why it did not end well.
fn run_beside(kind: &str) -> Result<String, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calf"))
        .args(["--threads", "1"])
        .arg(program())
        .arg(kind)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start calf: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "beside two busy {kind} loops, still running after {TIME_LIMIT:?}: \
                     a busy process kept the runner"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for calf: {e}")),
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("cannot read calf's output: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "exited with {}:\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout)
}

fn check(kind: &str) {
    match run_beside(kind) {
        Ok(stdout) => assert_eq!(
            stdout, "ping-pong done\nsleep done\n",
            "beside {kind} loops"
        ),
        Err(why) => panic!("{why}"),
    }
}

#[test]
fn a_pure_loop_lets_the_others_run() {
    check("pure");
}

#[test]
fn a_loop_with_an_effect_in_it_lets_the_others_run() {
    check("effect");
}

#[test]
fn a_loop_over_costly_natives_lets_the_others_run() {
    check("native");
}

#[test]
fn a_loop_hashing_a_large_collection_lets_the_others_run() {
    check("hash");
}

#[test]
fn a_loop_comparing_large_collections_lets_the_others_run() {
    check("equal");
}
