//! Every script in `examples/` runs with the `calf` binary, ends by itself
//! within a time limit, exits with status 0 and prints its key line.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    ("tour.calf", "together they took"),
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

/// The tour is the first thing a newcomer runs: each of its sections says
/// what it shows and shows it, and the whole takes well under a second
/// (the limit here is loose, for a debug build on a busy machine).
#[test]
fn tour_shows_each_section() {
    let started = Instant::now();
    let (status, out, err) = run_script(&examples_dir().join("tour.calf")).expect("tour runs");
    let took = started.elapsed();
    assert_eq!(status, 0, "the tour failed:\n{err}");
    assert!(took < Duration::from_secs(5), "the tour took {took:?}");
    let expected = [
        "== 1. Processes under a supervisor ==",
        "a supervisor started two workers: [[:pricer-1 #pid<",
        "3 apples cost 9 and 2 pears 10",
        "== 2. A worker crashes and is restarted ==",
        "crashed: *: argument 1 must be a number, got nil",
        "and it answers again: 1 pear costs 5",
        "== 3. Foreign calls, answered by stubs ==",
        "(call \"inventory.stock\" \"apple\") => 12",
        "(stock \"pear\") => 0",
        "after 2 attempts, an error {:subject \"billing.charge\", :type :calf/no-responders}",
        "== 4. A retried call ==",
        ":attempt 2",
        "== 5. Calls in parallel ==",
        "read with await-all: [900 900 1000 1000]",
        "together they took",
        "== Next ==",
    ];
    let mut lines = out.lines();
    for want in expected {
        assert!(
            lines.any(|line| line.contains(want)),
            "no line with {want:?} (in this order) in\n{out}"
        );
    }
    // The retry of section 4 is logged where a user would look for it.
    assert!(
        err.contains("subject=\"shipping.quote\"") && err.contains("warehouse busy"),
        "the retry is not logged:\n{err}"
    );
}
