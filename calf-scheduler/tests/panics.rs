//! A panic that escapes a process (a bug in Calf, never a user's error)
//! ends that process with the reason `:calf/internal`, handled as any exit:
//! links and monitors hear of it, its name is freed, and a main process
//! that panics ends the program instead of leaving it hanging.
//!
//! The panic is injected with a native that panics, defined for these
//! tests only.

use std::sync::mpsc;
use std::time::Duration;

use calf_lang::prelude::new_globals;
use calf_lang::value::{Arity, Native, NativeKind};
use calf_lang::{RuntimeError, Sym, Value};
use calf_scheduler::{Ending, Failure, LoadPath};

mod support;
use support::run_captured;

fn panics(_: &[Value]) -> Result<Value, RuntimeError> {
    panic!("injected fault")
}

static BOOM: Native = Native {
    name: "boom",
    arity: Arity::exactly(0),
    kind: NativeKind::Pure(panics),
    doc: "Panics: a stand-in for a bug in a native.",
};

/// Runs `source` with `boom` defined; its stdout and how it ended. A
/// program still running after 30 s is a hang, and fails the test.
fn run(source: &str) -> (String, Ending) {
    let source = source.to_string();
    let (done, ended) = mpsc::channel();
    std::thread::spawn(move || {
        let globals = new_globals();
        globals
            .namespace(Sym::new("user"))
            .intern(Sym::new("boom"))
            .set(Value::Native(&BOOM));
        let (text, ending) = run_captured(globals, &source, LoadPath::default());
        let _ = done.send((text, ending));
    });
    ended
        .recv_timeout(Duration::from_secs(30))
        .expect("the program hung after a panic")
}

#[test]
fn a_process_that_panics_exits_with_calf_internal() {
    let (out, ending) = run(r#"
        (trap-exit! true)
        (def linked (spawn-link (fn [] (register! :doomed (self)) (receive :go (boom)))))
        (def watched (spawn (fn [] (receive :go (boom)))))
        (def ref (monitor watched))
        (send linked :go)
        (send watched :go)
        (receive [:EXIT pid reason]
          (prn :exit (= pid linked) (:type (ex-data reason)) (ex-message reason)))
        (receive [:DOWN r pid reason]
          (prn :down (= r ref) (= pid watched) (:type (ex-data reason))))
        (prn :name-freed (nil? (whereis :doomed)))
    "#);
    assert!(
        matches!(ending, Ending::Returned(_)),
        "the main process ended with {ending:?}"
    );
    assert_eq!(
        out,
        ":exit true :calf/internal \"internal error: injected fault (a bug in Calf: please report it)\"\n\
         :down true true :calf/internal\n\
         :name-freed true\n"
    );
}

#[test]
fn a_main_process_that_panics_ends_the_program() {
    let (out, ending) = run("(println :before) (boom) (println :after)");
    assert_eq!(out, ":before\n");
    let Ending::Failed(Failure::Thrown(thrown)) = ending else {
        panic!("the program ended with {ending:?}")
    };
    assert_eq!(
        calf_lang::error::message_of(&thrown.value),
        "internal error: injected fault (a bug in Calf: please report it)"
    );
}
