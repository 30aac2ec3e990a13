//! Every script in `examples/` runs with the `calf` binary, ends by itself
//! within a time limit, exits with status 0 and prints its key line.

use std::fs;
use std::path::{Path, PathBuf};

mod support {
    pub mod script;
}
use support::script::run_script;

/// A line each example must print; an example missing here fails the test.
const KEY_LINES: &[(&str, &str)] = &[
    ("hello.calf", "Hello, Calf!"),
    ("ping_pong.calf", "played 3 rounds"),
    ("worker_pool.calf", "all 9 jobs done"),
    ("crash_restart.calf", "supervisor restarted it as #pid<"),
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("examples")
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
        match run_script(script) {
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
