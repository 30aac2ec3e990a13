//! The REPL driven through a pseudo-terminal, as a person would use it.

use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Session};

fn start() -> (Session, std::path::PathBuf) {
    let data = std::env::temp_dir().join(format!("calf-repl-test-{}", std::process::id()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command
        .env("XDG_DATA_HOME", &data)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env_remove("CALF_NATS_URL");
    let mut repl = Session::spawn(command).expect("the calf binary starts in a pty");
    repl.set_expect_timeout(Some(Duration::from_secs(20)));
    (repl, data)
}

/// Types `line`, waits for the next prompt, and returns what was printed
/// before it (the pty does not echo what is typed).
fn eval(repl: &mut Session, line: &str) -> String {
    repl.send_line(line).expect("typing");
    let found = repl
        .expect("=> ")
        .unwrap_or_else(|e| panic!("no prompt after {line:?}: {e}"));
    String::from_utf8_lossy(found.before()).into_owned()
}

fn assert_prints(repl: &mut Session, line: &str, output: &str) {
    let printed = eval(repl, line);
    assert!(
        printed.contains(output),
        "after {line:?}, expected {output:?} in {printed:?}"
    );
}

#[test]
fn a_session_at_the_repl() {
    let (mut repl, data) = start();
    repl.expect("user=> ").expect("the prompt");

    assert_eq!(eval(&mut repl, "(+ 1 2)"), "3\r\nuser");

    // An open bracket continues the input on the next line.
    assert_eq!(eval(&mut repl, "(defn twice [x]"), "  #_");
    assert_prints(&mut repl, "  (* 2 x))", "user/twice");
    assert_prints(&mut repl, "(twice 21)", "42\r\n");
    assert_prints(&mut repl, "(+ *1 1)", "43\r\n");

    // An error is a diagnostic pointing into the line; the session goes on.
    let printed = eval(&mut repl, "(twice (/ 1 0))");
    assert!(printed.contains("divide by zero"), "{printed}");
    assert!(printed.contains("(twice (/ 1 0))"), "{printed}");
    assert_eq!(eval(&mut repl, "(twice 5)"), "10\r\nuser");
    assert_prints(&mut repl, "(:type (ex-data *e))", ":calf/divide-by-zero");

    // The REPL is a process: a spawned process can send it a message.
    assert_prints(
        &mut repl,
        "(let [me (self)] (spawn (fn [] (send me [:hello (twice 4)]))))",
        "#pid<",
    );
    assert_eq!(eval(&mut repl, "(receive [:hello n] (+ n 1))"), "9\r\nuser");
    assert_prints(&mut repl, "(do (send (self) :waiting) nil)", "nil");
    assert_prints(&mut repl, "(flush)", ":waiting\r\nnil");

    // Ctrl-C stops a running line; definitions stay.
    repl.send_line("(do (println \"spinning\") (loop [] (recur)))")
        .expect("typing");
    repl.expect("spinning").expect("the line runs");
    repl.send([3u8]).expect("Ctrl-C");
    let printed =
        String::from_utf8_lossy(repl.expect("=> ").expect("a prompt").before()).into_owned();
    assert!(printed.contains("interrupted"), "{printed}");
    assert_eq!(eval(&mut repl, "(twice 100)"), "200\r\nuser");

    // The prompt shows the current namespace.
    assert!(eval(&mut repl, "(in-ns 'scratch)").ends_with("\r\nscratch"));

    repl.send_line(":quit").expect("typing");
    repl.expect(Eof).expect("the REPL ends");
    let history = std::fs::read_to_string(data.join("calf/history")).unwrap_or_default();
    assert!(history.contains("(twice 21)"), "history: {history:?}");
    let _ = std::fs::remove_dir_all(data);
}
