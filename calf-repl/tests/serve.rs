//! `calf serve` end to end: a real nats-server running the accounts of
//! examples/serve/calf.toml, `calf serve` on it, and every verb run
//! through the `calf` binary as a tenant's user, as a person would.

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

mod support {
    pub mod serve;
}
use support::serve::{root, scratch, Serve, User};

const ACME: User = User {
    name: "acme-dev",
    password: "dev-acme",
};
const GLOBEX: User = User {
    name: "globex-dev",
    password: "dev-globex",
};

/// A program that prints, then waits for `[:stop]`.
const WAITS: &str = "(println \"hi\")\n(receive [:stop] :ok)\n";

fn config() -> PathBuf {
    root().join("examples/serve/calf.toml")
}

fn start(test: &str) -> (Serve, PathBuf) {
    let dir = scratch(test);
    (Serve::start(&config(), &dir, ACME), dir)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `output` succeeded; its stdout.
fn ok(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Asserts that `output` failed with status 1; its stderr.
fn refused(what: &str, output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what} should fail:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

/// Submits `text` as a one-file job; its pid as printed (`<12>`).
fn submit(serve: &Serve, user: User, dir: &std::path::Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("writable");
    let printed = ok(
        "calf submit",
        serve.verb(user, &["submit", &file.display().to_string()]),
    );
    let pid = printed.trim().to_string();
    assert!(
        pid.starts_with('<') && pid.ends_with('>'),
        "submit prints the pid: {printed:?}"
    );
    pid
}

/// Runs `check` until it holds, for up to ten seconds.
fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(why) if start.elapsed() > Duration::from_secs(10) => {
                panic!("{what} never happened: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn a_job_is_listed_inspected_sent_a_message_and_its_logs_read() {
    let (serve, dir) = start("job");
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);

    eventually("the job waiting in receive", || {
        let ps = ok("calf ps", serve.verb(ACME, &["ps"]));
        let row = ps.lines().find(|l| l.starts_with(&pid));
        match row {
            Some(row) if row.contains("waiting") => Ok(()),
            _ => Err(ps),
        }
    });
    let inspect = ok("calf inspect", serve.verb(ACME, &["inspect", &pid]));
    assert!(inspect.contains("waiting"), "{inspect}");
    assert!(inspect.contains("stack"), "{inspect}");
    assert!(
        inspect.contains("waits.calf"),
        "the stack names the file: {inspect}"
    );
    let json = ok(
        "calf inspect --json",
        serve.verb(ACME, &["inspect", &pid, "--json"]),
    );
    assert!(json.contains("\"status\": \"waiting\""), "{json}");

    ok("calf send", serve.verb(ACME, &["send", &pid, "[:stop]"]));
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    assert_eq!(ok("calf logs -f", logs.clone()), "hi\n");
    assert!(
        stderr(&logs).contains(":normal"),
        "the exit reason: {}",
        stderr(&logs)
    );

    // Ended, it is gone from ps, and its logs stay.
    let ps = ok("calf ps", serve.verb(ACME, &["ps"]));
    assert!(!ps.lines().any(|l| l.starts_with(&pid)), "{ps}");
    assert_eq!(ok("calf logs", serve.verb(ACME, &["logs", &pid])), "hi\n");
}

#[test]
fn kill_ends_a_job_with_its_reason() {
    let (serve, dir) = start("kill");
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);
    ok("calf kill", serve.verb(ACME, &["kill", &pid, ":enough"]));
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    ok("calf logs -f", logs.clone());
    assert!(stderr(&logs).contains(":enough"), "{}", stderr(&logs));
}

#[test]
fn a_program_that_does_not_read_is_refused_with_its_error() {
    let (serve, dir) = start("unreadable");
    let file = dir.join("broken.calf");
    std::fs::write(&file, "(println \"never\"\n").expect("writable");
    let error = refused(
        "submitting a program that does not read",
        serve.verb(ACME, &["submit", &file.display().to_string()]),
    );
    assert!(error.contains("broken.calf"), "names the file: {error}");
    assert!(error.contains('('), "shows the unclosed bracket: {error}");
}

#[test]
fn an_unknown_pid_is_a_clear_error() {
    let (serve, _dir) = start("unknown");
    for verb in [
        &["inspect", "<99999>"][..],
        &["kill", "99999"],
        &["send", "#pid<99999>", ":x"],
    ] {
        let error = refused("a verb on an unknown pid", serve.verb(ACME, verb));
        assert!(error.contains("no such process: <99999>"), "{error}");
    }
    let error = refused(
        "a message that is code",
        serve.verb(ACME, &["send", "1", "'x"]),
    );
    assert!(error.contains("never evaluated"), "{error}");
}

#[test]
fn attach_evaluates_lines_read_from_stdin() {
    let (serve, _dir) = start("attach");
    let session = serve.verb_with_input(ACME, &["attach"], "(+ 1 2)\n(println \"out\")\n");
    let out = ok("calf attach", session);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        lines.iter().any(|l| l.ends_with('3')),
        "the value of (+ 1 2): {out}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with("out")),
        "what the line printed: {out}"
    );
}

#[test]
fn a_tenant_sees_and_touches_only_its_own_processes() {
    let (serve, dir) = start("isolation");
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);
    let theirs = ok("calf ps as globex", serve.verb(GLOBEX, &["ps"]));
    assert!(
        !theirs.contains(&pid),
        "globex sees acme's process: {theirs}"
    );
    let error = refused(
        "globex killing acme's job",
        serve.verb(GLOBEX, &["kill", &pid]),
    );
    assert!(error.contains("no such process"), "{error}");
    let ours = ok("calf ps as acme", serve.verb(ACME, &["ps"]));
    assert!(ours.contains(&pid), "acme's job was not touched: {ours}");
}

#[test]
fn sigterm_stops_serve_promptly_with_status_zero() {
    let (mut serve, dir) = start("sigterm");
    submit(&serve, ACME, &dir, "waits.calf", WAITS);
    let status = serve.terminate(Duration::from_secs(10));
    assert_eq!(status, Some(0), "calf serve's log:\n{}", serve.log());
}

#[test]
fn without_a_scheduler_the_verbs_say_so() {
    let (mut serve, _dir) = start("absent");
    assert_eq!(serve.terminate(Duration::from_secs(10)), Some(0));
    let error = refused("calf ps with no scheduler", serve.verb(ACME, &["ps"]));
    assert!(error.contains("no `calf serve` answers"), "{error}");
}
