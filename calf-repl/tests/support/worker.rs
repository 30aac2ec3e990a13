//! Example workers for the tests that call them, each waited for until it
//! says it serves and stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The project venv's Python (nats-py and msgpack installed).
fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "run `bash scripts/setup-test-env` first: no .venv/bin/python"
    );
    venv
}

/// A running worker, stopped on drop.
pub struct Worker(Child);

impl Worker {
    /// The Python example worker, which answers `math.add` among others.
    #[allow(dead_code)]
    pub fn start(url: &str) -> Worker {
        Worker::start_script(&root().join("examples/workers/python/worker.py"), url)
    }

    /// A Python worker script.
    #[allow(dead_code)]
    pub fn start_script(script: &Path, url: &str) -> Worker {
        Worker::start_python(script, &[url])
    }

    /// A Python worker script with these arguments.
    pub fn start_python(script: &Path, args: &[&str]) -> Worker {
        let mut command = Command::new(python());
        command.arg(script).args(args);
        Worker::spawn(command)
    }

    /// Runs `command` and waits for its first line, which says it serves.
    pub fn spawn(mut command: Command) -> Worker {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the worker runs");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the worker says it serves");
        assert!(
            line.starts_with("serving"),
            "unexpected worker output: {line}"
        );
        Worker(child)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
