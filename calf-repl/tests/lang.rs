//! The language cases: every `tests/lang/**/NAME.calf` runs as a program and
//! must print exactly `NAME.out` on stdout and `NAME.err` on stderr (empty
//! when the file is missing), exiting with status 1 when `NAME.err` exists
//! (or with the number in `NAME.status`), else 0.
//!
//! Every case runs twice: with the normal reduction budget, and with a
//! budget of 1 (the VM stops and is resumed after every instruction). Both
//! runs must be identical: a process can stop anywhere.
//!
//! A case's `require` finds namespaces in the case's own directory (as for
//! a script: its directory is first on the load path), then in the bundled
//! stdlib; `CALF_PATH` is not used. Files under a directory named `lib` are
//! not cases: they are the namespaces cases load (`tests/lang/ns/lib/util.calf`
//! is namespace `lib.util` for the cases in `tests/lang/ns/`).
//!
//! `UPDATE_EXPECT=1 cargo test --test lang` rewrites the expectations from
//! what the cases print now; review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use calf_scheduler::{Config, LoadPath};

mod support {
    pub mod nats;
}

/// Captured output.
#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("buffer")).into_owned()
    }
}

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Run {
    stdout: String,
    stderr: String,
    status: i32,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "lib") {
                cases(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "calf") {
            out.push(path);
        }
    }
}

fn run_case(root: &Path, path: &Path, budget: u32, nats: Option<&str>) -> Run {
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let text = fs::read_to_string(path).expect("readable case");
    let file = calf_lang::span::add_source(name.clone(), text);
    let stdout = Buffer::default();
    let stderr = Buffer::default();
    let config = Config {
        budget,
        ..Config::default()
    };
    let dir = path.parent().expect("a case is in a directory");
    let shown = Path::new(&name).parent().expect("a case is in a directory");
    let load_path = LoadPath::default().with_dir(dir, shown);
    let options = calf_repl::Options {
        config,
        load_path,
        nats_url: nats.map(str::to_string),
        durable: None,
        print_result: false,
        trace: None,
    };
    let status = calf_repl::run_program(
        file,
        &["arg1".to_string()],
        options,
        calf_repl::Sink::new(stdout.clone()),
        calf_repl::Sink::new(stderr.clone()),
    );
    Run {
        stdout: stdout.text(),
        stderr: stderr.text(),
        status,
    }
}

fn read_or_empty(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn check_case(root: &Path, path: &Path, update: bool, nats: Option<&str>) -> Result<(), String> {
    let normal = run_case(root, path, Config::default().budget, nats);
    let out_path = path.with_extension("out");
    let err_path = path.with_extension("err");
    let status_path = path.with_extension("status");
    if update {
        fs::write(&out_path, &normal.stdout).expect("writable");
        if normal.stderr.is_empty() {
            let _ = fs::remove_file(&err_path);
        } else {
            fs::write(&err_path, &normal.stderr).expect("writable");
        }
    }
    let expected_out = read_or_empty(&out_path);
    let expected_err = read_or_empty(&err_path);
    let expected_status = match fs::read_to_string(&status_path) {
        Ok(s) => s.trim().parse().expect("a number in .status"),
        Err(_) if err_path.exists() => 1,
        Err(_) => 0,
    };
    let mut problems = Vec::new();
    if normal.stdout != expected_out {
        problems.push(format!(
            "stdout:\n--- expected\n{expected_out}\n--- got\n{}",
            normal.stdout
        ));
    }
    if normal.stderr != expected_err {
        problems.push(format!(
            "stderr:\n--- expected\n{expected_err}\n--- got\n{}",
            normal.stderr
        ));
    }
    if normal.status != expected_status {
        problems.push(format!(
            "exit status: expected {expected_status}, got {}",
            normal.status
        ));
    }
    let stepped = run_case(root, path, 1, nats);
    if (&stepped.stdout, &stepped.stderr, stepped.status)
        != (&normal.stdout, &normal.stderr, normal.status)
    {
        problems.push(format!(
            "with a budget of 1 the case behaves differently:\n--- stdout\n{}\n--- stderr\n{}\n--- status {}",
            stepped.stdout, stepped.stderr, stepped.status
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}:\n{}", path.display(), problems.join("\n")))
    }
}

/// Checks every case of `paths` on a few threads with roomy stacks;
/// returns the failures.
fn check_all(root: &Path, paths: &[PathBuf], update: bool, nats: Option<&str>) -> Vec<String> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let chunks: Vec<Vec<PathBuf>> = (0..workers)
        .map(|w| paths.iter().skip(w).step_by(workers).cloned().collect())
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(scope, move || {
                        chunk
                            .iter()
                            .filter_map(|p| check_case(root, p, update, nats).err())
                            .collect::<Vec<_>>()
                    })
                    .expect("spawn")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("case thread"))
            .collect()
    })
}

fn report(what: &str, paths: &[PathBuf], failures: &[String]) {
    println!("{} {what}, {} failed", paths.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
}

#[test]
fn language_cases() {
    let root = repo_root();
    let mut paths = Vec::new();
    cases(&root.join("tests").join("lang"), &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no cases found under tests/lang");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let failures = check_all(&root, &paths, update, None);
    report("language cases", &paths, &failures);
}

/// The bus's promise: the call cases print the same on a real NATS server
/// as on the embedded bus.
#[test]
fn call_cases_on_nats() {
    let root = repo_root();
    let mut paths = Vec::new();
    cases(&root.join("tests").join("lang").join("calls"), &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no cases found under tests/lang/calls");
    let server = support::nats::NatsServer::start();
    let failures = check_all(&root, &paths, false, Some(&server.url()));
    report("call cases on NATS", &paths, &failures);
}
