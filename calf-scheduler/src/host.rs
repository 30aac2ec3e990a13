//! Running a program's main process on the current thread.
//!
//! The host reads and compiles top-level forms one at a time, runs each on
//! the main process's VM in slices of its reduction budget, and carries out
//! the effects the VM returns.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use calf_lang::compiler::{Compiler, TopLevel};
use calf_lang::error::SourceError;
use calf_lang::namespace::{Globals, USER};
use calf_lang::reader;
use calf_lang::span::{FileId, Span, SpanTable};
use calf_lang::vm::{Effect, Outcome, Thrown, Vm};
use calf_lang::{Sym, Value};

use crate::load::LoadPath;

/// How a process runs.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Instructions a process runs before it yields to the scheduler.
    pub budget: u32,
    /// Nested calls allowed before a stack-overflow error.
    pub max_depth: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            budget: 2000,
            max_depth: calf_lang::vm::DEFAULT_MAX_DEPTH,
        }
    }
}

/// Why evaluation stopped early.
#[derive(Debug)]
pub enum Failure {
    /// The source could not be read or compiled.
    Source(SourceError),
    /// A value was thrown and not caught.
    Thrown(Thrown),
    /// The program asked to exit with this status.
    Exit(i32),
}

/// The main process of a program, with its namespace and output streams.
pub struct Host<'o> {
    globals: Arc<Globals>,
    /// The namespace the next form compiles in.
    pub ns: Sym,
    config: Config,
    stdout: &'o mut dyn Write,
    stderr: &'o mut dyn Write,
    /// Where `require` finds namespaces' files.
    pub(crate) load_path: LoadPath,
    /// The namespaces waiting on a `require` whose file is being loaded,
    /// outermost first: requiring one of them again is a cycle.
    pub(crate) requirers: Vec<Sym>,
}

impl<'o> Host<'o> {
    pub fn new(
        globals: Arc<Globals>,
        config: Config,
        stdout: &'o mut dyn Write,
        stderr: &'o mut dyn Write,
    ) -> Host<'o> {
        Host {
            globals,
            ns: Sym::new(USER),
            config,
            stdout,
            stderr,
            load_path: LoadPath::default(),
            requirers: Vec::new(),
        }
    }

    /// Sets where `require` finds namespaces' files (by default only in the
    /// bundled stdlib).
    pub fn with_load_path(mut self, load_path: LoadPath) -> Self {
        self.load_path = load_path;
        self
    }

    pub fn globals(&self) -> &Arc<Globals> {
        &self.globals
    }

    /// Reads and evaluates every form of a registered source; returns the
    /// value of the last.
    pub fn eval_file(&mut self, file: FileId) -> Result<Value, Failure> {
        let forms = reader::read_file(file).map_err(Failure::Source)?;
        let mut last = Value::Nil;
        for (form, span) in forms.forms.iter().zip(forms.form_spans.iter()) {
            last = self.eval_form(form, &forms.spans, *span)?;
        }
        Ok(last)
    }

    /// Evaluates one top-level form.
    pub fn eval_form(
        &mut self,
        form: &Value,
        spans: &SpanTable,
        span: Span,
    ) -> Result<Value, Failure> {
        let mut queue = std::collections::VecDeque::from([form.clone()]);
        let mut last = Value::Nil;
        while let Some(form) = queue.pop_front() {
            let mut compiler = Compiler::new(&self.globals, self.ns, spans, span);
            let expanded = compiler.expand_toplevel(&form);
            self.ns = compiler.ns;
            match expanded.map_err(Failure::Source)? {
                TopLevel::Forms(inner) => {
                    last = Value::Nil;
                    for f in inner.into_iter().rev() {
                        queue.push_front(f);
                    }
                }
                TopLevel::Code(code) => {
                    let mut vm = Vm::new(code);
                    vm.set_max_depth(self.config.max_depth);
                    last = self.run(&mut vm)?;
                }
            }
        }
        Ok(last)
    }

    /// Runs `vm` to its end, carrying out its effects.
    pub fn run(&mut self, vm: &mut Vm) -> Result<Value, Failure> {
        loop {
            match vm.run(self.config.budget) {
                Outcome::Done(value) => return Ok(value),
                Outcome::Yield => {}
                Outcome::Error(thrown) => return Err(Failure::Thrown(thrown)),
                Outcome::Effect(Effect::Require(require)) => match self.require(require) {
                    Ok(()) => vm.resume(Value::Nil),
                    Err(Failure::Exit(status)) => return Err(Failure::Exit(status)),
                    Err(Failure::Thrown(inner)) => {
                        // Thrown at the require; the trace goes on from
                        // where the loaded file failed.
                        if let Some(Outcome::Error(mut thrown)) = vm.resume_throw(inner.value) {
                            let mut trace = inner.trace;
                            trace.append(&mut thrown.trace);
                            thrown.trace = trace;
                            return Err(Failure::Thrown(thrown));
                        }
                    }
                    Err(Failure::Source(error)) => {
                        if let Some(Outcome::Error(thrown)) =
                            vm.resume_throw(error.to_value("calf/syntax-error"))
                        {
                            return Err(Failure::Thrown(thrown));
                        }
                    }
                },
                Outcome::Effect(effect) => match self.perform(effect) {
                    Ok(answer) => vm.resume(answer),
                    Err(Failure::Exit(status)) => return Err(Failure::Exit(status)),
                    // An `eval` that failed throws where it was called.
                    Err(Failure::Thrown(thrown)) => {
                        if let Some(Outcome::Error(thrown)) = vm.resume_throw(thrown.value) {
                            return Err(Failure::Thrown(thrown));
                        }
                    }
                    Err(Failure::Source(error)) => {
                        if let Some(Outcome::Error(thrown)) =
                            vm.resume_throw(error.to_value("calf/syntax-error"))
                        {
                            return Err(Failure::Thrown(thrown));
                        }
                    }
                },
            }
        }
    }

    fn perform(&mut self, effect: Effect) -> Result<Value, Failure> {
        match effect {
            Effect::Print { text, to_stderr } => {
                let out: &mut dyn Write = if to_stderr { self.stderr } else { self.stdout };
                // A closed stream (a pipe whose reader went away) is not the
                // program's error; the output just goes nowhere.
                let _ = out.write_all(text.as_bytes());
                if to_stderr {
                    let _ = self.stdout.flush();
                    let _ = self.stderr.flush();
                }
                Ok(Value::Nil)
            }
            Effect::Sleep { ms } => {
                let _ = self.stdout.flush();
                std::thread::sleep(Duration::from_millis(ms));
                Ok(Value::Nil)
            }
            Effect::ExitProgram { status } => Err(Failure::Exit(status)),
            Effect::NowMs => {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                Ok(Value::Int(ms))
            }
            // `run` carries out requires itself, to keep the loaded file's
            // trace; this is the same without it.
            Effect::Require(require) => self.require(require).map(|()| Value::Nil),
            Effect::Eval { form } => {
                let spans = SpanTable::new();
                let span = Span::new(
                    calf_lang::span::add_source("<eval>", calf_lang::value::print::pr_str(&form)),
                    0,
                    0,
                );
                self.eval_form(&form, &spans, span)
            }
        }
    }

    pub fn flush(&mut self) {
        let _ = self.stdout.flush();
        let _ = self.stderr.flush();
    }
}
