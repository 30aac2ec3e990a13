//! The forms a process evaluates one by one: the main program (a
//! script's top-level forms, or the REPL's lines), and the files that
//! `require` and `load-file` load, each run as a frame above the caller
//! it resumes when done.

use super::*;

/// What evaluating a frame's forms led to.
pub(super) enum Step {
    /// The VM holds code to run.
    Ran,
    /// A new frame was pushed: take its first form.
    Next,
    Exit(Exit),
    Failed(Failure),
}

/// A loading error, thrown at the `require`.
pub(super) fn plain(error: RuntimeError) -> Thrown {
    Thrown {
        value: error.into_value(),
        trace: Vec::new(),
    }
}

/// A compile error in a loaded file, thrown at the `require` that loaded
/// it, pointing into the file.
pub(super) fn source_error_value(error: calf_lang::SourceError) -> Thrown {
    Thrown {
        value: error.to_value("calf/syntax-error"),
        trace: vec![calf_lang::vm::TraceEntry {
            function: None,
            span: Some(error.span),
            times: 1,
        }],
    }
}

/// The main process's program: the top-level forms still to run.
pub(crate) struct Program {
    pub(super) forms: VecDeque<(Value, Span)>,
    pub(super) spans: calf_lang::SpanTable,
    pub(super) ns: Sym,
    /// For an interactive program: where each line's result goes, and the
    /// lines not started yet. Its forms run out at the end of each line,
    /// and the process then waits for the next one instead of ending.
    pub(super) repl: Option<(Sender<Evaluated>, VecDeque<Forms>)>,
    /// Where the last form run came from, while its value may still have
    /// to be realized for printing (see [`realize_for_printing`]).
    pub(super) last_span: Option<Span>,
}

impl Program {
    pub fn new(forms: Forms) -> Program {
        Program {
            forms: forms.forms.into_iter().zip(forms.form_spans).collect(),
            spans: forms.spans,
            ns: Sym::new(calf_lang::namespace::USER),
            repl: None,
            last_span: None,
        }
    }

    /// A program fed line by line; results go to `results`.
    pub fn interactive(results: Sender<Evaluated>) -> Program {
        Program {
            repl: Some((results, VecDeque::new())),
            ..Program::new(Forms {
                forms: Vec::new(),
                spans: calf_lang::SpanTable::new(),
                form_spans: Vec::new(),
            })
        }
    }

    /// Takes the next line's forms, if one was typed.
    pub(super) fn next_line(&mut self) -> bool {
        let Some(forms) = self.repl.as_mut().and_then(|(_, lines)| lines.pop_front()) else {
            return false;
        };
        self.forms
            .extend(forms.forms.into_iter().zip(forms.form_spans));
        self.spans.extend(forms.spans);
        true
    }

    pub(super) fn answer(&self, result: Result<Value, Failure>) {
        if let Some((results, _)) = &self.repl {
            let _ = results.send(Evaluated {
                result,
                ns: self.ns,
            });
        }
    }
}

/// The form that realizes `value` (a REPL line's, or the program's last,
/// which `calf -e` prints) when it holds a lazy seq not realized yet:
/// printed in Rust it would show `...`, and realizing it runs Calf code,
/// which only the process's VM may do. `None` when there is nothing to
/// realize.
fn realize_for_printing(value: &Value) -> Option<Value> {
    if !calf_lang::value::lazy::holds_unrealized(value) {
        return None;
    }
    let quoted = Value::list([Value::symbol("quote"), value.clone()]);
    Some(Value::list([
        Value::symbol("do"),
        Value::list([Value::symbol("calf.core/pr-str"), quoted.clone()]),
        quoted,
    ]))
}

/// Forms being evaluated one by one: the main program, or a file loaded
/// by `require` or `load-file` (then with the suspended caller to go back
/// to).
pub(super) struct Frame {
    pub(super) program: Program,
    pub(super) loading: Option<Box<Loading>>,
}

/// A `require` or `load-file` in progress.
pub(super) struct Loading {
    /// The VM that called `require` (or `load-file`), resumed when every
    /// lib (the file) is loaded.
    pub(super) caller: Vm,
    /// The answer the caller's `require` (or `load-file`) is owed.
    pub(super) answer: Resume,
    /// The namespace the caller runs in: libs are referred there.
    pub(super) caller_ns: Sym,
    /// `None` for a `load-file`: its caller gets the value of the file's
    /// last form.
    pub(super) require: Option<Require>,
    /// The lib whose file is being evaluated.
    pub(super) lib: usize,
    /// The loaded file's name, for errors.
    pub(super) file: String,
}

impl Process {
    pub fn set_program(&mut self, program: Program) {
        self.waiting = Some(if program.repl.is_some() {
            Wait::Input
        } else {
            Wait::Start
        });
        let seldom = self.seldom();
        seldom.forms.frames.push(Frame {
            program,
            loading: None,
        });
        seldom.forms.main = true;
    }

    pub(super) fn is_interactive(&self) -> bool {
        self.frames()
            .first()
            .is_some_and(|f| f.program.repl.is_some())
    }

    /// An interactive main process whose line failed (or that was told to
    /// exit) reports it and waits for the next line, keeping its mailbox,
    /// links and everything defined.
    pub(super) fn line_failed(&mut self, reason: Value, failure: Option<Failure>) {
        let failure = failure.unwrap_or_else(|| {
            let text = calf_lang::value::print::pr_str(&reason);
            Failure::Thrown(Thrown {
                value: RuntimeError::new("calf/exit", format!("the REPL process exited: {text}"))
                    .with("reason", reason)
                    .into_value(),
                trace: Vec::new(),
            })
        });
        self.cursor = 0;
        self.vm = Vm::call(Value::Nil, Vec::new());
        self.waiting = Some(Wait::Input);
        let seldom = self.seldom();
        seldom.forms.frames.truncate(1);
        for (_, call) in seldom.calls.in_flight.drain(..) {
            call.abort();
        }
        seldom.calls.call = None;
        seldom.timers.receive_deadline = None;
        let program = &mut seldom.forms.frames[0].program;
        program.forms.clear();
        program.answer(Err(failure));
    }

    /// Puts the next top-level form of the innermost frame into the VM;
    /// when a frame has run all its forms, finishes it (`last` is the value
    /// of its last form).
    pub(super) fn advance(&mut self, mut last: Value) -> Option<Exit> {
        loop {
            let frame = self.seldom.as_mut()?.forms.frames.last_mut()?;
            let Some((form, span)) = frame.program.forms.pop_front() else {
                match self.finish_frame(last) {
                    Step::Ran => return None,
                    Step::Exit(exit) => return Some(exit),
                    Step::Failed(failure) => return self.fail(failure),
                    Step::Next => {
                        last = Value::Nil;
                        continue;
                    }
                }
            };
            let program = &mut frame.program;
            program.last_span = Some(span);
            let mut compiler = Compiler::new(&self.job.globals, program.ns, &program.spans, span);
            let expanded = compiler.expand_toplevel(&form);
            program.ns = compiler.ns;
            match expanded {
                Err(error) => return self.fail(Failure::Source(error)),
                Ok(TopLevel::Forms(inner)) => {
                    for f in inner.into_iter().rev() {
                        program.forms.push_front((f, span));
                    }
                }
                Ok(TopLevel::Code(code)) => {
                    if self.shared.config.disassemble && self.frames().len() == 1 {
                        let listing = format!(";; {}\n{}", span.location(), code.disassemble());
                        self.job.write(&listing, false);
                    }
                    self.vm = Vm::new(code);
                    self.vm.set_max_depth(self.shared.config.max_depth);
                    return None;
                }
            }
        }
    }

    /// Ends the innermost frame: the main program ends the program; a
    /// loaded file makes its namespace usable and the `require` goes on.
    pub(super) fn finish_frame(&mut self, last: Value) -> Step {
        let Some(mut frame) = self.seldom.as_mut().and_then(|m| m.forms.frames.pop()) else {
            return Step::Ran;
        };
        if frame.loading.is_none() {
            if let Some(span) = frame.program.last_span.take() {
                if let Some(form) = realize_for_printing(&last) {
                    // One more form, in the process like any other: the
                    // line's value is answered when it is realized.
                    frame.program.forms.push_back((form, span));
                    self.seldom().forms.frames.push(frame);
                    return Step::Next;
                }
            }
        }
        let Some(loading) = frame.loading else {
            if frame.program.repl.is_some() {
                frame.program.answer(Ok(last));
                self.seldom().forms.frames.push(frame);
                self.waiting = Some(Wait::Input);
                return Step::Ran;
            }
            self.shared.end_job(&self.job, Ending::Returned(last));
            return Step::Exit((keyword("normal"), None));
        };
        let Some(require) = &loading.require else {
            return self.resume_caller(*loading, Ok(last));
        };
        let lib = &require.libs[loading.lib];
        if self.job.globals.find_namespace(lib.ns).is_none() {
            let error = crate::load::undefined_error(&loading.file, lib.ns);
            return self.resume_caller(*loading, Err(plain(error)));
        }
        let next = loading.lib + 1;
        self.continue_require(*loading, next)
    }

    /// Refers lib `from - 1` (just loaded) is done by the caller; loads the
    /// libs from `from` on, or resumes the caller when all are usable.
    pub(super) fn continue_require(&mut self, mut loading: Loading, from: usize) -> Step {
        let Some(require) = loading.require.clone() else {
            return self.resume_caller(loading, Ok(Value::Nil));
        };
        let globals = self.job.globals.clone();
        if from > 0 {
            let done = &require.libs[from - 1];
            if let Err(error) = refer(&globals, loading.caller_ns, done) {
                return self.resume_caller(loading, Err(plain(error)));
            }
        }
        for index in from..require.libs.len() {
            let lib = require.libs[index].clone();
            let chain = self.requirers(loading.caller_ns);
            if chain.contains(&lib.ns) {
                let start = chain.iter().position(|n| *n == lib.ns).unwrap_or(0);
                let error = crate::load::cycle_error(&chain[start..], lib.ns);
                return self.resume_caller(loading, Err(plain(error)));
            }
            if require.reload || globals.find_namespace(lib.ns).is_none() {
                let located = crate::load::locate(&self.job.load_path, lib.ns);
                if let Ok((file, _)) = &located {
                    self.job.keep_source(*file);
                }
                let (file, shown) = match located {
                    Ok(found) => found,
                    Err(error) => return self.resume_caller(loading, Err(plain(error))),
                };
                let forms = match calf_lang::reader::read_file(file) {
                    Ok(forms) => forms,
                    Err(error) => {
                        return self.resume_caller(loading, Err(source_error_value(error)))
                    }
                };
                loading.lib = index;
                loading.file = shown;
                self.seldom().forms.frames.push(Frame {
                    program: Program::new(forms),
                    loading: Some(Box::new(loading)),
                });
                return Step::Next;
            }
            if let Err(error) = refer(&globals, loading.caller_ns, &lib) {
                return self.resume_caller(loading, Err(plain(error)));
            }
        }
        self.resume_caller(loading, Ok(Value::Nil))
    }

    /// Starts evaluating the file at `path` for `load-file`, in the
    /// caller's namespace.
    pub(super) fn load_file(&mut self, loading: Loading, path: &str) -> Step {
        let registered = crate::load::register_file(&self.job.load_path, path);
        if let Ok(file) = &registered {
            self.job.keep_source(*file);
        }
        let file = match registered {
            Ok(file) => file,
            Err(error) => return self.resume_caller(loading, Err(plain(error))),
        };
        match calf_lang::reader::read_file(file) {
            Ok(forms) => self.evaluate(loading, forms, &calf_lang::span::source(file).name),
            Err(error) => self.resume_caller(loading, Err(source_error_value(error))),
        }
    }

    /// Starts evaluating `form` for `eval`, in the caller's namespace, as
    /// a one-form file: its errors point at the caller's `eval`.
    pub(super) fn eval_form(&mut self, loading: Loading, form: Value) -> Step {
        let span = loading.caller.current_span().unwrap_or_else(eval_span);
        let forms = calf_lang::reader::Forms {
            forms: vec![form],
            spans: calf_lang::SpanTable::new(),
            form_spans: vec![span],
        };
        self.evaluate(loading, forms, "eval")
    }

    /// Starts evaluating the forms of `text` for `load-string`.
    pub(super) fn load_string(&mut self, loading: Loading, text: &str) -> Step {
        let file = calf_lang::span::add_source("<load-string>", text.to_string());
        self.job.keep_source(file);
        match calf_lang::reader::read_file(file) {
            Ok(forms) => self.evaluate(loading, forms, "<load-string>"),
            Err(error) => self.resume_caller(loading, Err(source_error_value(error))),
        }
    }

    /// Runs `forms` (read from `name`) as a file loaded by the caller, in
    /// its namespace.
    fn evaluate(
        &mut self,
        mut loading: Loading,
        forms: calf_lang::reader::Forms,
        name: &str,
    ) -> Step {
        let mut program = Program::new(forms);
        program.ns = loading.caller_ns;
        loading.file = name.to_string();
        self.seldom().forms.frames.push(Frame {
            program,
            loading: Some(Box::new(loading)),
        });
        Step::Next
    }

    /// `form` expanded once if it is a call of a macro (with `all`, until
    /// it is not), in the namespace this process evaluates in.
    /// The namespace the code running now is evaluated in: what a
    /// `resolve` or `eval` reads names in.
    pub(super) fn current_ns(&self) -> Sym {
        self.frames()
            .last()
            .map_or(Sym::new(calf_lang::namespace::USER), |f| f.program.ns)
    }

    pub(super) fn macroexpand(&self, form: Value, all: bool) -> Result<Value, RuntimeError> {
        let ns = self.current_ns();
        let spans = calf_lang::SpanTable::new();
        let span = self.vm.current_span().unwrap_or_else(eval_span);
        let mut compiler = Compiler::new(&self.job.globals, ns, &spans, span);
        let mut form = form;
        loop {
            match compiler.macroexpand_1(&form) {
                Ok(Some(expanded)) if all => form = expanded,
                Ok(Some(expanded)) => return Ok(expanded),
                Ok(None) => return Ok(form),
                Err(error) => return Err(RuntimeError::new("calf/macroexpand", error.message)),
            }
        }
    }

    /// The namespaces waiting on requires, outermost first, then `current`.
    pub(super) fn requirers(&self, current: Sym) -> Vec<Sym> {
        let mut chain: Vec<Sym> = self
            .frames()
            .iter()
            .filter_map(|f| f.loading.as_ref())
            .map(|l| l.caller_ns)
            .collect();
        chain.push(current);
        chain
    }

    /// Gives the VM back to the code that called `require` or `load-file`,
    /// with its answer.
    pub(super) fn resume_caller(
        &mut self,
        loading: Loading,
        result: Result<Value, Thrown>,
    ) -> Step {
        self.vm = loading.caller;
        match result {
            Ok(value) => {
                self.vm.resume(loading.answer, value);
                Step::Ran
            }
            Err(thrown) => match self.vm.resume_throw(loading.answer, thrown.value.clone()) {
                None => Step::Ran,
                Some(Outcome::Error(mut outer)) => {
                    let mut trace = thrown.trace;
                    trace.append(&mut outer.trace);
                    outer.trace = trace;
                    Step::Failed(Failure::Thrown(outer))
                }
                Some(_) => Step::Ran,
            },
        }
    }

    /// Sets the VM that called `require` or `load-file` aside until the
    /// loading is done.
    pub(super) fn suspend_for_loading(
        &mut self,
        answer: Resume,
        require: Option<Require>,
    ) -> Loading {
        let caller_ns = self
            .frames()
            .last()
            .map_or(Sym::new(calf_lang::namespace::USER), |f| f.program.ns);
        let caller = std::mem::replace(&mut self.vm, Vm::call(Value::Nil, Vec::new()));
        Loading {
            caller,
            answer,
            caller_ns,
            require,
            lib: 0,
            file: String::new(),
        }
    }

    pub(super) fn after_loading_step(&mut self, step: Step) -> Option<Exit> {
        match step {
            Step::Ran => None,
            Step::Next => self.advance(Value::Nil),
            Step::Exit(exit) => Some(exit),
            Step::Failed(failure) => self.fail(failure),
        }
    }
}

/// Where a form `eval` runs is, when its caller's place is not known.
fn eval_span() -> calf_lang::span::Span {
    static EVAL: std::sync::OnceLock<calf_lang::span::FileId> = std::sync::OnceLock::new();
    let file = *EVAL.get_or_init(|| calf_lang::span::add_source("<eval>", String::new()));
    calf_lang::span::Span::new(file, 0, 0)
}
