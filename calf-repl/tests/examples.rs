//! Every script in `examples/` runs with the `calf` binary, ends by itself
//! within a time limit, exits with status 0 and prints its key line.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A line each example must print; an example missing here fails the test.
const KEY_LINES: &[(&str, &str)] = &[
    ("hello.calf", "Hello, Calf!"),
    ("ping_pong.calf", "played 3 rounds"),
    ("worker_pool.calf", "all 9 jobs done"),
    ("crash_restart.calf", "supervisor restarted it as #pid<"),
];

const TIME_LIMIT: Duration = Duration::from_secs(60);

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("examples")
}

/// Runs `script`; returns its exit status and output, or why it failed.
fn run(script: &Path) -> Result<(i32, String, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calf"))
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start calf: {e}"))?;
    // Read the pipes on their own threads so that a chatty script never
    // blocks on a full pipe while it is being waited for.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {TIME_LIMIT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for calf: {e}")),
        }
    };
    let out = out.join().expect("stdout reader");
    let err = err.join().expect("stderr reader");
    Ok((status.code().unwrap_or(-1), out, err))
}

#[test]
fn examples_run_and_end() {
    let mut scripts: Vec<PathBuf> = fs::read_dir(examples_dir())
        .expect("examples directory")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "calf"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no examples found");

    let mut failures = Vec::new();
    for script in &scripts {
        let name = script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((_, key)) = KEY_LINES.iter().find(|(file, _)| *file == name) else {
            failures.push(format!("{name}: no key line in KEY_LINES"));
            continue;
        };
        match run(script) {
            Err(why) => failures.push(format!("{name}: {why}")),
            Ok((status, out, err)) => {
                if status != 0 {
                    failures.push(format!("{name}: exit status {status}\n{err}"));
                } else if !out.lines().any(|line| line.contains(key)) {
                    failures.push(format!("{name}: no line with {key:?} in\n{out}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
