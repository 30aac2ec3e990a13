//! # calf-repl: the `calf` command
//!
//! Owns everything a person touches: the command line, running scripts and
//! `-e` expressions, the REPL, and rendering errors for a terminal.
//!
//! It must not implement language or runtime behaviour: it drives
//! calf-scheduler's host and calf-lang's reader, and only decides how
//! results and errors are shown.

// Everything a person touches is safe Rust; the only unsafe code of the
// binary is its allocator, which lives in main.rs.
#![forbid(unsafe_code)]

pub mod admin;
mod attach;
mod brackets;
pub mod diagnostic;
pub mod durable_args;
pub mod help;
mod line_editor;
pub mod nrepl;
mod output;
pub mod repl;
mod results;
pub mod testing;

use std::io::Write;
use std::sync::{Arc, Mutex};

use calf_lang::namespace::{Globals, CORE};
use calf_lang::span::{add_source, FileId};
use calf_lang::{Sym, Value};
use calf_scheduler::{Config, Ending, Failure, Io, LoadPath};

/// What a command line whose first word is a verb runs, instead of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Test,
    Nrepl,
    Help,
    /// One of `admin::VERBS`: the scheduler and its clients.
    Admin,
}

/// The verbs `calf` handles itself (the scheduler's are `admin::VERBS`).
const LOCAL_VERBS: [(&str, Command); 3] = [
    ("test", Command::Test),
    ("nrepl", Command::Nrepl),
    ("help", Command::Help),
];

/// The command that `first`, the first argument, names; a script named like
/// a verb runs as `calf ./NAME`.
pub fn command_of(first: &str) -> Option<Command> {
    LOCAL_VERBS
        .iter()
        .find(|(word, _)| *word == first)
        .map(|(_, command)| *command)
        .or_else(|| admin::is_verb(first).then_some(Command::Admin))
}

/// Every word that, first on the command line, names a verb.
pub fn verbs() -> impl Iterator<Item = &'static str> {
    LOCAL_VERBS
        .iter()
        .map(|(word, _)| *word)
        .chain(admin::VERBS.iter().copied())
}

/// The exit status for an uncaught error or a bad program.
pub const ERROR_STATUS: i32 = 1;

/// Globals with the core library loaded and `*command-line-args*` set.
pub fn globals_with_args(args: &[String]) -> Arc<Globals> {
    let globals = calf_lang::prelude::new_globals();
    globals
        .core()
        .intern(Sym::new("*command-line-args*"))
        .set(Value::vector(args.iter().map(|a| Value::str(a.as_str()))));
    let _ = CORE;
    globals
}

/// An output stream shared by the runtime and the runner.
#[derive(Clone)]
pub struct Sink(Arc<Mutex<Box<dyn Write + Send>>>);

impl Sink {
    pub fn new(inner: impl Write + Send + 'static) -> Sink {
        Sink(Arc::new(Mutex::new(Box::new(inner))))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// How to run a program.
pub struct Options {
    pub config: Config,
    /// Where `require` finds namespaces.
    pub load_path: LoadPath,
    /// The NATS server for foreign calls; `None`: the embedded bus.
    pub nats_url: Option<String>,
    /// Where durable processes are saved; `None`: they cannot be spawned.
    pub durable: Option<calf_scheduler::durable::DurableOptions>,
    /// Print the value of the last form as `prn` would (for `calf -e`).
    pub print_result: bool,
    /// The trace file the program's calls' spans go to (`--trace FILE`).
    pub trace: Option<Arc<calf_scheduler::telemetry::SpanSink>>,
}

/// Runs a whole program and returns its exit status.
pub fn run_program(
    file: FileId,
    args: &[String],
    options: Options,
    mut stdout: Sink,
    mut stderr: Sink,
) -> i32 {
    let Options {
        config,
        load_path,
        nats_url,
        durable,
        print_result,
        trace,
    } = options;
    let globals = globals_with_args(args);
    let io = Io {
        stdout: Box::new(stdout.clone()),
        stderr: Box::new(stderr.clone()),
        render: render_failure,
        nats_url,
        durable,
        trace: trace.clone(),
    };
    let status = match calf_scheduler::run_program(globals, config, load_path, file, io) {
        Ending::Returned(value) => {
            if print_result {
                let _ = writeln!(stdout, "{}", calf_lang::value::print::pr_str(&value));
            }
            0
        }
        Ending::Exit(status) => status,
        Ending::Failed(failure) => {
            let _ = stdout.flush();
            let _ = stderr.write_all(render_failure(&failure).as_bytes());
            ERROR_STATUS
        }
    };
    if let Some(trace) = trace {
        // Every call's span is in the file before the program exits.
        trace.close();
    }
    let _ = stdout.flush();
    let _ = stderr.flush();
    status
}

/// A failure as people read it: message, source, hint, Calf stack.
pub fn render_failure(failure: &Failure) -> String {
    match failure {
        Failure::Source(error) => diagnostic::source_error(error),
        Failure::Thrown(thrown) => diagnostic::thrown(thrown),
    }
}

/// Registers a script's text under its path.
pub fn load_script(path: &str) -> std::io::Result<FileId> {
    let text = std::fs::read_to_string(path)?;
    Ok(add_source(path, text))
}
