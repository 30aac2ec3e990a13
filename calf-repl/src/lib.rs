//! # calf-repl: the `calf` command
//!
//! Owns everything a person touches: the command line, running scripts and
//! `-e` expressions, the REPL, and rendering errors for a terminal.
//!
//! It must not implement language or runtime behaviour: it drives
//! calf-scheduler's host and calf-lang's reader, and only decides how
//! results and errors are shown.

pub mod diagnostic;

use std::io::Write;
use std::sync::Arc;

use calf_lang::namespace::{Globals, CORE};
use calf_lang::span::{add_source, FileId};
use calf_lang::{Sym, Value};
use calf_scheduler::{Config, Failure, Host, LoadPath};

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

/// Runs a whole program from source text and returns its exit status.
/// With `print_result`, the value of the last form is printed as `prn`
/// would (for `calf -e`). `require` finds namespaces on `load_path`.
pub fn run_program(
    file: FileId,
    args: &[String],
    config: Config,
    load_path: LoadPath,
    print_result: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let globals = globals_with_args(args);
    let mut host = Host::new(globals, config, stdout, stderr).with_load_path(load_path);
    let result = host.eval_file(file);
    host.flush();
    drop(host);
    match result {
        Ok(value) => {
            if print_result {
                let _ = writeln!(stdout, "{}", calf_lang::value::print::pr_str(&value));
            }
            0
        }
        Err(failure) => report(&failure, stderr),
    }
}

/// Prints a failure and returns the exit status it means.
pub fn report(failure: &Failure, stderr: &mut dyn Write) -> i32 {
    match failure {
        Failure::Exit(status) => *status,
        Failure::Source(error) => {
            let _ = stderr.write_all(diagnostic::source_error(error).as_bytes());
            ERROR_STATUS
        }
        Failure::Thrown(thrown) => {
            let _ = stderr.write_all(diagnostic::thrown(thrown).as_bytes());
            ERROR_STATUS
        }
    }
}

/// Registers a script's text under its path.
pub fn load_script(path: &str) -> std::io::Result<FileId> {
    let text = std::fs::read_to_string(path)?;
    Ok(add_source(path, text))
}

/// Prints the bytecode of each top-level form of a source, defining and
/// requiring as it goes (so later forms see earlier macros and aliases) but
/// running nothing else. What loaded files print is dropped.
pub fn disassemble(file: FileId, load_path: LoadPath, out: &mut dyn Write) -> Result<(), Failure> {
    use calf_lang::bytecode::Op;
    use calf_lang::compiler::{Compiler, TopLevel};
    let globals = globals_with_args(&[]);
    let forms = calf_lang::reader::read_file(file).map_err(Failure::Source)?;
    let (mut quiet_out, mut quiet_err) = (std::io::sink(), std::io::sink());
    let mut host = Host::new(
        globals.clone(),
        Config::default(),
        &mut quiet_out,
        &mut quiet_err,
    )
    .with_load_path(load_path);
    let mut queue: std::collections::VecDeque<_> = forms
        .forms
        .iter()
        .cloned()
        .zip(forms.form_spans.iter().copied())
        .collect();
    while let Some((form, span)) = queue.pop_front() {
        let mut compiler = Compiler::new(&globals, host.ns, &forms.spans, span);
        let expanded = compiler.expand_toplevel(&form).map_err(Failure::Source)?;
        host.ns = compiler.ns;
        match expanded {
            TopLevel::Forms(inner) => {
                for f in inner.into_iter().rev() {
                    queue.push_front((f, span));
                }
            }
            TopLevel::Code(code) => {
                let _ = writeln!(out, ";; {}", span.location());
                let _ = out.write_all(code.disassemble().as_bytes());
                // Definitions and required namespaces must exist for later
                // forms to compile.
                let defines = code.ops.iter().any(|op| matches!(op, Op::Def(_)));
                let requires = code
                    .vars
                    .iter()
                    .any(|var| var.name.name() == "calf.core/require");
                if defines || requires {
                    let result = host.run(&mut calf_lang::vm::Vm::new(code));
                    // Later forms cannot compile without the namespace.
                    if requires {
                        result?;
                    }
                }
            }
        }
    }
    Ok(())
}
