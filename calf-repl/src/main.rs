//! The `calf` command line.

// Deny rather than forbid: forbid cannot be relaxed below the crate root,
// and the allocator module, the binary's only unsafe code, must relax it.
#![deny(unsafe_code)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use calf_lang::span::add_source;
use calf_scheduler::{Config, LoadPath};

#[allow(unsafe_code)]
mod allocator;

/// Every value is an allocation of a few dozen bytes, made and freed from
/// many threads: mimalloc's per-thread free lists serve that pattern with
/// fewer instructions and page faults than the system allocator.
///
/// mimalloc is built with `no_thp` (see Cargo.toml): it would otherwise ask for
/// transparent huge pages, and where the kernel compacts memory on such a
/// fault (`defrag = madvise`, a common default) a fragmented machine stalls
/// the faulting thread: the same script took 0.13 s or 0.46 s from one run
/// to the next, and the resident size grew by a fifth.
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;

/// Calf: a Lisp for programs that coordinate work across many machines.
#[derive(Parser, Debug)]
#[command(
    name = "calf",
    version,
    about,
    trailing_var_arg = true,
    after_help = "calf help [TOPIC] says what each command and mode is for, and what to read.\n\n\
                  (require 'app.util) loads app/util.calf from the script's directory (the current \
                  directory for -e), then from each directory of CALF_PATH (separated by ':'), then \
                  from the stdlib bundled in calf.\n\n\
                  The central scheduler: calf serve, submit, ps, inspect, kill, send, logs, attach \
                  (calf VERB --help; docs/serve.md). calf nrepl starts an nREPL server for \
                  editors (docs/editors.md). calf test [PATHS...] runs the tests of \
                  *_test.calf files (docs/testing.md). A script named like one runs as ./NAME."
)]
struct Cli {
    /// Evaluate EXPR, print the result with prn, and exit.
    #[arg(
        short = 'e',
        long = "eval",
        value_name = "EXPR",
        conflicts_with = "file"
    )]
    eval: Option<String>,

    /// Send foreign calls to this NATS server instead of the embedded bus.
    #[arg(long, value_name = "URL", env = "CALF_NATS_URL")]
    nats: Option<String>,

    #[command(flatten)]
    durable: calf_repl::durable_args::DurableArgs,

    /// Run no program: take over the saved durable processes and run
    /// until every one has ended.
    #[arg(long, requires = "durable", conflicts_with_all = ["file", "eval"])]
    resume: bool,

    /// Print the bytecode of each top-level form before running it.
    #[arg(long)]
    disasm: bool,

    /// Append a span per foreign call (JSON lines) to FILE: trace id,
    /// process, subject, attempts, outcome (docs/dashboard.md).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    /// Reductions (calls and loop rounds) a process runs before it yields
    /// (1 yields at every call and loop round: slower, same results).
    #[arg(long, value_name = "N", default_value_t = Config::default().budget)]
    reductions: u32,

    /// Nested calls allowed before a stack-overflow error.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_depth)]
    max_depth: usize,

    /// Scheduler threads that run processes (default: one per core).
    #[arg(long, value_name = "N", env = "CALF_THREADS")]
    threads: Option<usize>,

    /// The script to run (none, and no -e: the REPL).
    file: Option<String>,

    /// Arguments for the script, in *command-line-args*.
    args: Vec<String>,
}

fn main() -> ExitCode {
    // The compiler recurses over nested forms; give it a roomy stack.
    let worker = std::thread::Builder::new().stack_size(256 << 20).spawn(run);
    match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        _ => ExitCode::from(calf_repl::ERROR_STATUS as u8),
    }
}

fn run() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let verb = args.get(1).and_then(|a| a.to_str());
    if let Some((verb, command)) = verb.and_then(|v| Some((v, calf_repl::command_of(v)?))) {
        let status = match command {
            calf_repl::Command::Help => calf_repl::help::main(args),
            calf_repl::Command::Test => {
                init_logging("warn");
                calf_repl::testing::main(args)
            }
            calf_repl::Command::Nrepl => {
                init_logging("warn");
                calf_repl::nrepl::main(args)
            }
            calf_repl::Command::Admin => {
                // The scheduler says what it does; a command, only what went
                // wrong. A client verb says itself why it cannot connect; the
                // NATS client's own log of it would say it twice.
                init_logging(if verb == "serve" {
                    "info"
                } else {
                    "warn,async_nats=off"
                });
                calf_repl::admin::main(args)
            }
        };
        return ExitCode::from(status.clamp(0, 255) as u8);
    }
    let cli = Cli::parse();
    init_logging("warn");
    let config = Config {
        budget: cli.reductions.max(1),
        max_depth: cli.max_depth,
        disassemble: cli.disasm,
        threads: cli.threads.unwrap_or(Config::default().threads).max(1),
        ..Config::default()
    };
    let mut stderr = std::io::stderr();

    let durable =
        cli.durable
            .store()
            .map(|(node, store)| calf_scheduler::durable::DurableOptions {
                node,
                store,
                until_store_empty: cli.resume,
            });
    let trace = match &cli.trace {
        None => None,
        Some(path) => match calf_scheduler::telemetry::SpanSink::create(path) {
            Ok(sink) => Some(std::sync::Arc::new(sink)),
            Err(e) => {
                let _ = writeln!(
                    stderr,
                    "error: cannot open the trace file {}: {e}",
                    path.display()
                );
                return ExitCode::from(calf_repl::ERROR_STATUS as u8);
            }
        },
    };
    let (file, print_result) = match (&cli.eval, &cli.file) {
        _ if cli.resume => (add_source("<resume>", "nil"), false),
        (Some(expr), _) => (add_source("<eval>", expr.clone()), true),
        (None, Some(path)) => match calf_repl::load_script(path) {
            Ok(file) => (file, false),
            Err(e) => {
                let _ = writeln!(stderr, "error: cannot read {path}: {e}");
                return ExitCode::from(calf_repl::ERROR_STATUS as u8);
            }
        },
        (None, None) => {
            let load_path = LoadPath::for_program(None, std::env::var_os("CALF_PATH").as_deref());
            let options = calf_repl::Options {
                config,
                load_path,
                nats_url: cli.nats,
                durable: None,
                print_result: true,
                trace: None,
            };
            let stdout = calf_repl::Sink::new(std::io::stdout());
            let stderr = calf_repl::Sink::new(std::io::stderr());
            let status = calf_repl::repl::run(options, stdout, stderr);
            return ExitCode::from(status.clamp(0, 255) as u8);
        }
    };
    let load_path = LoadPath::for_program(
        cli.file.as_deref().map(Path::new),
        std::env::var_os("CALF_PATH").as_deref(),
    );
    let stdout = calf_repl::Sink::new(BufWriter::new(std::io::stdout()));
    let stderr = calf_repl::Sink::new(std::io::stderr());
    let options = calf_repl::Options {
        config,
        load_path,
        nats_url: cli.nats,
        durable,
        print_result,
        trace,
    };
    let status = calf_repl::run_program(file, &cli.args, options, stdout, stderr);
    ExitCode::from(status.clamp(0, 255) as u8)
}

/// Logs go to stderr; `CALF_LOG` sets the level (default `warn`, `info`
/// for `calf serve`: every retried call is logged with why and when it is
/// tried next; `debug` shows each call attempt with its latency).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CALF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
