//! The REPL driven through a pseudo-terminal, as a person would use it.
//!
//! What the REPL writes is fed to a terminal emulator (vt100), so the
//! assertions are about the screen a person would see: the line being
//! edited, what was printed above it, which bracket is highlighted (colours
//! are on: the screen's text is the same with or without them).

use expectrl::Eof;

mod support {
    pub mod terminal;
}
use support::terminal::{Terminal, COLUMNS};

#[test]
fn a_session_at_the_repl() {
    let mut t = Terminal::start();
    assert_eq!(t.row(t.cursor_row()), "user=>");

    assert_eq!(t.eval("(+ 1 2)"), "3");

    // An open bracket continues the input on the next line.
    assert_eq!(t.eval("(defn twice [x]"), "");
    assert_eq!(t.row(t.cursor_row()), "  #_=>");
    assert_eq!(t.eval("  (* 2 x))"), "user/twice");
    assert_eq!(t.eval("(twice 21)"), "42");
    assert_eq!(t.eval("(+ *1 1)"), "43");

    // An error is a diagnostic pointing into the line; the session goes on.
    let printed = t.eval("(twice (/ 1 0))");
    assert!(printed.contains("divide by zero"), "{printed}");
    assert!(printed.contains("(twice (/ 1 0))"), "{printed}");
    assert_eq!(t.eval("(twice 5)"), "10");
    assert_eq!(t.eval("(:type (ex-data *e))"), ":calf/divide-by-zero");

    // The REPL is a process: a spawned process can send it a message.
    t.assert_prints(
        "(let [me (self)] (spawn (fn [] (send me [:hello (twice 4)]))))",
        "#pid<",
    );
    assert_eq!(t.eval("(receive [:hello n] (+ n 1))"), "9");
    assert_eq!(t.eval("(do (send (self) :waiting) nil)"), "nil");
    assert_eq!(t.eval("(flush)"), ":waiting\nnil");

    // Tab completes a defined name, and a keyword read before.
    t.send("(twi\t");
    t.wait_until("twice completed", |t| {
        t.row(t.cursor_row()) == "user=> (twice"
    });
    assert_eq!(t.eval(" 4)"), "8");
    t.send("(= :hel\t");
    t.wait_until(":hello completed", |t| {
        t.row(t.cursor_row()) == "user=> (= :hello"
    });
    assert_eq!(t.eval(" :hello)"), "true");

    // The bracket matching the one at the cursor stands out while the line
    // is edited, and not once it is entered.
    t.send("(+ 1 (* 2 3))");
    let row = t.cursor_row();
    t.wait_until("the line typed", |t| t.row(row) == "user=> (+ 1 (* 2 3))");
    t.send("\x01"); // Ctrl-A: to the start of the line, on the first bracket.
    let closing = "user=> (+ 1 (* 2 3)".len() as u16;
    let highlighted = |t: &Terminal, column: u16| {
        t.screen
            .screen()
            .cell(row, column)
            .is_some_and(|cell| cell.bold() && cell.fgcolor() == vt100::Color::Idx(4))
    };
    t.wait_until("the closing bracket highlighted", |t| {
        highlighted(t, closing)
    });
    assert!(
        (0..COLUMNS).all(|column| column == closing || !highlighted(&t, column)),
        "one bracket highlighted"
    );
    assert_eq!(t.eval(""), "7");
    assert!(
        (0..COLUMNS).all(|column| !highlighted(&t, column)),
        "the entered line is drawn plain"
    );

    // (source f) shows the definition as it was typed.
    assert_eq!(t.eval("(source twice)"), "(defn twice [x]\n  (* 2 x))\nnil");
    assert_eq!(
        t.eval("(source count)"),
        "calf.core/count is a native function, written in Rust: it has no Calf source\nnil"
    );

    // What a process prints while a line is typed appears above the
    // prompt, and the line being typed stays whole.
    t.assert_prints(
        "(spawn (fn [] (sleep 200) (println \"from a process\")))",
        "#pid<",
    );
    let prompt = t.cursor_row();
    t.send("(+ 1");
    t.wait_until("the process's line above the prompt", |t| {
        t.cursor_row() == prompt + 1
            && t.row(prompt) == "from a process"
            && t.row(prompt + 1) == "user=> (+ 1"
    });
    assert_eq!(t.eval(" 2)"), "3");

    // (load-file ...) evaluates a file here and returns its last value; an
    // error in it points into the file.
    let dir = t.data.join("files");
    std::fs::create_dir_all(&dir).expect("a temp directory");
    let good = dir.join("scratch.calf");
    std::fs::write(&good, "(defn from-file [] :loaded)\n\n(+ 40 2)\n").expect("a file");
    assert_eq!(t.eval(&format!("(load-file {:?})", good.display())), "42");
    assert_eq!(t.eval("(from-file)"), ":loaded");
    assert_eq!(
        t.eval("(source from-file)"),
        "(defn from-file [] :loaded)\nnil"
    );
    let bad = dir.join("broken.calf");
    std::fs::write(&bad, "(def ok 1)\n(+ ok :two)\n").expect("a file");
    let printed = t.eval(&format!("(load-file {:?})", bad.display()));
    let location = format!("{}:2:1", bad.display());
    assert!(printed.contains(&location), "{location} in {printed}");

    // Ctrl-C stops a running line; definitions stay.
    let printed = t.interrupt("(do (println \"spinning\") (loop [] (recur)))", "spinning");
    assert!(
        printed.iter().any(|r| r.contains("interrupted")),
        "{printed:?}"
    );
    assert_eq!(t.eval("(twice 100)"), "200");

    // The prompt shows the current namespace.
    assert_eq!(t.eval("(in-ns 'scratch)"), "nil");
    assert_eq!(t.row(t.cursor_row()), "scratch=>");

    t.send(":quit\r");
    t.repl.expect(Eof).expect("the REPL ends");
    let history = std::fs::read_to_string(t.data.join("calf/history")).unwrap_or_default();
    assert!(history.contains("(twice 21)"), "history: {history:?}");
    let _ = std::fs::remove_dir_all(&t.data);
}
