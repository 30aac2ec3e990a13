//! `calf attach` in a pseudo-terminal, as a person uses it: the REPL of
//! `calf`, its process living in the tenant's runtime under `calf serve`.
//! Tab completes from the session's namespaces, Ctrl-C stops the running
//! line and nothing else, and what the session's processes print appears
//! above the prompt.

use expectrl::Eof;

mod support {
    pub mod serve;
    pub mod terminal;
}
use support::serve::{example_config, ok, scratch, Serve, ACME};
use support::terminal::Terminal;

#[test]
fn an_attached_session_completes_interrupts_and_shows_its_processes_output() {
    let dir = scratch("attach-pty");
    let serve = Serve::start(&example_config(), &dir, ACME);
    let mut t = Terminal::start_with(&[
        "attach",
        "--nats",
        &serve.url,
        "--user",
        ACME.name,
        "--password",
        ACME.password,
    ]);
    assert!(t
        .eval("(def unusual-name-for-completion 41)")
        .contains("unusual-name-for-completion"));
    assert_eq!(t.eval("(inc unusual-name-for-completion)"), "42");

    // Tab completes a name the session defined.
    t.send("(inc unusual-name-for");
    t.send("\t");
    t.wait_until("the name completed", |t| {
        t.row(t.cursor_row())
            .ends_with("(inc unusual-name-for-completion")
    });
    assert_eq!(t.eval(")"), "42");

    // Ctrl-C stops the running line; the session and its definitions stay.
    let printed = t.interrupt("(do (println \"spinning\") (loop [] (recur)))", "spinning");
    assert!(
        printed.iter().any(|r| r.contains("interrupted")),
        "{printed:?}"
    );
    assert_eq!(t.eval("(inc unusual-name-for-completion)"), "42");

    // A process the session spawned prints after its line has ended.
    t.eval("(spawn (fn [] (sleep 300) (println \"from a process\")))");
    t.wait_until("the process's output", |t| {
        t.contents().lines().any(|row| row == "from a process")
    });

    t.send(":quit\r");
    t.repl.expect(Eof).expect("attach ends");
    // The scheduler is untouched by all of it.
    ok("calf ps", serve.verb(ACME, &["ps"]));
}
