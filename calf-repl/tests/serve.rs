//! `calf serve` end to end: a real nats-server running the accounts of
//! examples/serve/calf.toml, `calf serve` on it, and every verb run
//! through the `calf` binary as a tenant's user, as a person would.

use std::path::PathBuf;
use std::time::Duration;

mod support {
    pub mod serve;
}
use support::serve::{eventually, ok, refused, root, scratch, stderr, submit, Serve, ACME, GLOBEX};

/// A program that prints, then waits for `[:stop]`.
const WAITS: &str = "(println \"hi\")\n(receive [:stop] :ok)\n";

fn config() -> PathBuf {
    root().join("examples/serve/calf.toml")
}

fn start(test: &str) -> (Serve, PathBuf) {
    let dir = scratch(test);
    (Serve::start(&config(), &dir, ACME), dir)
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
    assert!(stderr(&logs).contains(":enough"), "{}", stderr(&logs));
    // It exits with the job's status: a script following a job fails
    // when the job did.
    assert_eq!(logs.status.code(), Some(1), "{}", stderr(&logs));
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
    // A durable job needs a scheduler that keeps durable processes.
    let file = dir.join("durable.calf");
    std::fs::write(&file, "(println \"never\")\n").expect("writable");
    let error = refused(
        "submitting a durable job to a calf serve without --durable",
        serve.verb(ACME, &["submit", "--durable", &file.display().to_string()]),
    );
    assert!(
        error.contains("start calf serve with --durable NODE"),
        "{error}"
    );
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
