//! A process: a VM, its mailbox, its links and monitors, run as a task of
//! the runtime's pool (`executor.rs`) one reduction budget at a time.
//!
//! Between two slices the process takes its signals (messages, exit
//! signals, links, monitors). When its VM returns an effect, the process
//! carries it out and resumes the VM with the answer; when it must wait (a
//! `receive` with nothing to take, a `sleep`) it parks until a signal
//! arrives or its timer fires, so a waiting process costs no CPU. A send,
//! a receive that finds its message and the accepting clause are answered
//! while the VM runs (`Inline`, the VM's `Host`), without it returning.
//!
//! A process is its own future, written by hand: the pool keeps a task's
//! future inline in the task, and an `async fn` would hold the process and
//! the state of every await point besides. What most processes never use
//! (links, monitors, loading files, calls, timers) is in a box allocated on
//! first use, so a process waiting in `receive` is a small task, its
//! handle, and its VM's two short stacks.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use calf_lang::compiler::{Compiler, TopLevel};
use calf_lang::reader::Forms;
use calf_lang::require::{refer, Require};
use calf_lang::span::Span;
use calf_lang::value::Pid;
use calf_lang::vm::{Effect, Outcome, ProcessOp, Thrown, Vm};
use calf_lang::{RuntimeError, Sym, Value};
use tokio::time::Instant;

use crate::call::{self, Policy};
use crate::mailbox::{ExitSignal, ProcessHandle, Queue, Signal};
use crate::runtime::{Ending, Evaluated, Failure, Shared};
use std::sync::mpsc::Sender;

/// What evaluating a frame's forms led to.
enum Step {
    /// The VM holds code to run.
    Ran,
    /// A new frame was pushed: take its first form.
    Next,
    Exit(Exit),
    Failed(Failure),
}

/// The exit reason of a process that threw `thrown`: an error map as it
/// is; any other value wrapped in one (`:type :calf/throw`, `:value`), so
/// that `(throw :normal)` is not mistaken for a normal exit.
fn exit_reason_of(thrown: &Value) -> Value {
    match thrown {
        Value::Map(_) => thrown.clone(),
        other => RuntimeError::new(
            "calf/throw",
            format!(
                "uncaught throw of {}",
                calf_lang::value::print::pr_str(other)
            ),
        )
        .with("value", other.clone())
        .into_value(),
    }
}

/// A loading error, thrown at the `require`.
fn plain(error: RuntimeError) -> Thrown {
    Thrown {
        value: error.into_value(),
        trace: Vec::new(),
    }
}

/// A compile error in a loaded file, thrown at the `require` that loaded
/// it, pointing into the file.
fn source_error_value(error: calf_lang::SourceError) -> Thrown {
    Thrown {
        value: error.to_value("calf/syntax-error"),
        trace: vec![calf_lang::vm::TraceEntry {
            function: None,
            span: Some(error.span),
            times: 1,
        }],
    }
}

/// Reductions a process spends, at most, between two yields to the other
/// processes of its runner (more when the configured budget is larger).
const YIELD_EVERY: u32 = 20_000;

/// Reductions an effect carried out by the process (not answered in the
/// VM) costs besides its call: `now-ms` in a loop takes about four times
/// as long per round as a plain loop's round.
const EFFECT_COST: u32 = 4;

/// Why a process stopped: its exit reason, and the failure to report if it
/// crashed.
type Exit = (Value, Option<Failure>);

/// The main process's program: the top-level forms still to run.
pub(crate) struct Program {
    forms: VecDeque<(Value, Span)>,
    spans: calf_lang::SpanTable,
    ns: Sym,
    /// For an interactive program: where each line's result goes, and the
    /// lines not started yet. Its forms run out at the end of each line,
    /// and the process then waits for the next one instead of ending.
    repl: Option<(Sender<Evaluated>, VecDeque<Forms>)>,
}

impl Program {
    pub fn new(forms: Forms) -> Program {
        Program {
            forms: forms.forms.into_iter().zip(forms.form_spans).collect(),
            spans: forms.spans,
            ns: Sym::new(calf_lang::namespace::USER),
            repl: None,
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
    fn next_line(&mut self) -> bool {
        let Some(forms) = self.repl.as_mut().and_then(|(_, lines)| lines.pop_front()) else {
            return false;
        };
        self.forms
            .extend(forms.forms.into_iter().zip(forms.form_spans));
        self.spans.extend(forms.spans);
        true
    }

    fn answer(&self, result: Result<Value, Failure>) {
        if let Some((results, _)) = &self.repl {
            let _ = results.send(Evaluated {
                result,
                ns: self.ns,
            });
        }
    }
}

/// Forms being evaluated one by one: the main program, or a file loaded
/// by `require` or `load-file` (then with the suspended caller to go back
/// to).
struct Frame {
    program: Program,
    loading: Option<Box<Loading>>,
}

/// A `require` or `load-file` in progress.
struct Loading {
    /// The VM that called `require` (or `load-file`), resumed when every
    /// lib (the file) is loaded.
    caller: Vm,
    /// The namespace the caller runs in: libs are referred there.
    caller_ns: Sym,
    /// `None` for a `load-file`: its caller gets the value of the file's
    /// last form.
    require: Option<Require>,
    /// The lib whose file is being evaluated.
    lib: usize,
    /// The loaded file's name, for errors.
    file: String,
}

/// A process. Only what every process uses is here: a million of them
/// must fit in memory (see `the_waiting_process_stays_small`).
pub(crate) struct Process {
    /// Its inbox, shared with those who send to it; also its pid.
    handle: Arc<ProcessHandle>,
    shared: Arc<Shared>,
    vm: Vm,
    mailbox: Queue<Value>,
    /// The next mailbox position `receive` looks at.
    cursor: u32,
    /// What the VM waits for before it can run again.
    waiting: Option<Wait>,
    /// The process it sent its last message to (see `send_message`).
    last_sent: Option<Arc<ProcessHandle>>,
    /// The rest, allocated when first needed.
    more: Option<Box<More>>,
}

/// What few processes use: most never link, monitor, load a file, call
/// out, sleep, or time out a `receive`.
#[derive(Default)]
struct More {
    links: Vec<Pid>,
    /// Who monitors this process, by reference.
    watchers: Vec<(u64, Pid)>,
    /// The processes this one monitors, by reference.
    watching: Vec<(u64, Pid)>,
    /// Forms still to evaluate: the main program at the bottom, files
    /// being loaded above it.
    frames: Vec<Frame>,
    /// Whether this is the program's main process.
    main: bool,
    /// Signals taken from the inbox and not handled yet: those after the
    /// one that ended the process, which must still be looked at.
    signals: Queue<Signal>,
    /// `call-async` calls in flight, stopped if this process ends first.
    calls: Vec<(u64, tokio::task::AbortHandle)>,
    /// The `call` this process waits for, once sent (`call_sender.rs`):
    /// polled by the process itself, as a task of its own would cost a
    /// spawn and a second wake-up per reply. Dropping it (when the process
    /// ends) stops the call.
    call: Option<crate::call_sender::Call>,
    /// Finished calls not awaited yet: the reply, or the error to throw.
    replies: Vec<(u64, Result<Value, Value>)>,
    /// When the current `receive` gives up.
    receive_deadline: Option<Instant>,
    /// When a `sleep` ends, or an awaited reply is given up on.
    until: Option<Instant>,
    /// The call whose reply `Wait::Reply` waits for.
    promise: u64,
    /// Wakes the task when a timed wait runs out. Boxed: a timer is big.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Why a process is not running. The times and the promise it waits on are
/// in `More`, which keeps this one byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The main program: its first form is still to compile.
    Start,
    /// A `receive` with no message to hand out yet (until
    /// `receive_deadline`, if set).
    Message,
    /// A `sleep`, until `until`.
    Sleep,
    /// A `call`, or an `await` of a `call-async` promise: the reply to
    /// `promise` (a `call` is polled in `More::call` once sent), until
    /// `until` if set.
    Reply,
    /// An interactive main process between two lines.
    Input,
}

/// The frames of a process that evaluates no forms.
const NO_FRAMES: &[Frame] = &[];

fn keyword(name: &str) -> Value {
    Value::keyword(name)
}

impl Process {
    pub fn new(shared: Arc<Shared>, handle: Arc<ProcessHandle>, mut vm: Vm) -> Process {
        vm.set_max_depth(shared.config.max_depth);
        Process {
            handle,
            shared,
            vm,
            mailbox: Queue::default(),
            cursor: 0,
            waiting: None,
            last_sent: None,
            more: None,
        }
    }

    fn pid(&self) -> Pid {
        self.handle.pid()
    }

    /// The rarely used part, allocated now if it was not.
    fn more(&mut self) -> &mut More {
        self.more.get_or_insert_with(Box::default)
    }

    fn links(&self) -> &[Pid] {
        self.more.as_ref().map_or(&[], |m| &m.links)
    }

    fn frames(&self) -> &[Frame] {
        self.more.as_ref().map_or(NO_FRAMES, |m| &m.frames)
    }

    pub fn set_program(&mut self, program: Program) {
        self.waiting = Some(if program.repl.is_some() {
            Wait::Input
        } else {
            Wait::Start
        });
        let more = self.more();
        more.frames.push(Frame {
            program,
            loading: None,
        });
        more.main = true;
    }

    pub fn link_to(&mut self, pid: Pid) {
        self.more().links.push(pid);
    }

    pub fn watched_by(&mut self, watcher: Pid, reference: u64) {
        self.more().watchers.push((reference, watcher));
    }

    fn is_interactive(&self) -> bool {
        self.frames()
            .first()
            .is_some_and(|f| f.program.repl.is_some())
    }

    /// An interactive main process whose line failed (or that was told to
    /// exit) reports it and waits for the next line, keeping its mailbox,
    /// links and everything defined.
    fn line_failed(&mut self, reason: Value, failure: Option<Failure>) {
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
        let more = self.more();
        more.frames.truncate(1);
        for (_, call) in more.calls.drain(..) {
            call.abort();
        }
        more.call = None;
        more.receive_deadline = None;
        let program = &mut more.frames[0].program;
        program.forms.clear();
        program.answer(Err(failure));
    }

    /// Runs the process until it exits, or must wait (`Pending`, with the
    /// task set to be woken when it can go on).
    fn run_until_exit(&mut self, cx: &mut Context<'_>) -> Poll<Exit> {
        let budget = self.shared.config.budget;
        // The reductions this poll may still spend, one account across the
        // VM's stops: an effect hands the VM back here, and a loop around
        // one must not start a fresh budget each round. A tiny budget stops
        // the VM often, but the task yields to the other processes only
        // after a full default slice.
        let mut left = budget.max(YIELD_EVERY);
        // Signals are taken before a wait is resumed, between slices, and
        // after effects that may have signalled this very process (an exit
        // to itself): not after a send or the acceptance of a received
        // message, the two effects of every message passed on.
        let mut take = true;
        loop {
            if take || self.waiting.is_some() {
                if let Some(exit) = self.take_signals() {
                    return Poll::Ready(exit);
                }
            }
            take = true;
            if let Some(wait) = self.waiting {
                match self.try_resume(wait, cx) {
                    Ok(resumed) => {
                        self.waiting = None;
                        if let Some(more) = &mut self.more {
                            more.timer = None;
                        }
                        if let Some(exit) = resumed {
                            return Poll::Ready(exit);
                        }
                    }
                    Err(deadline) => {
                        if self.park(cx, deadline) {
                            return Poll::Pending;
                        }
                        continue;
                    }
                }
            }
            if left == 0 {
                // A task that wakes itself before it returns `Pending`
                // goes to the back of its runner's queue.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut allowance = budget.min(left);
            let given = allowance;
            let outcome = {
                let Process {
                    vm,
                    handle,
                    shared,
                    mailbox,
                    cursor,
                    last_sent,
                    more,
                    ..
                } = self;
                vm.run_with(
                    &mut allowance,
                    &mut Inline {
                        handle,
                        shared,
                        mailbox,
                        cursor,
                        last_sent,
                        more,
                    },
                )
            };
            left -= given - allowance;
            match outcome {
                Outcome::Yield => {}
                Outcome::Done(value) => {
                    if self.frames().is_empty() {
                        return Poll::Ready((keyword("normal"), None));
                    }
                    if let Some(exit) = self.advance(value) {
                        return Poll::Ready(exit);
                    }
                }
                Outcome::Error(thrown) => {
                    if let Some(exit) = self.fail(Failure::Thrown(thrown)) {
                        return Poll::Ready(exit);
                    }
                }
                Outcome::Effect(effect) => {
                    left = left.saturating_sub(EFFECT_COST);
                    take = !matches!(effect, Effect::Send { .. } | Effect::ReceiveAccept);
                    if let Some(exit) = self.perform(effect) {
                        return Poll::Ready(exit);
                    }
                }
            }
        }
    }

    /// Puts the next top-level form of the innermost frame into the VM;
    /// when a frame has run all its forms, finishes it (`last` is the value
    /// of its last form).
    fn advance(&mut self, mut last: Value) -> Option<Exit> {
        loop {
            let frame = self.more.as_mut()?.frames.last_mut()?;
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
            let mut compiler =
                Compiler::new(&self.shared.globals, program.ns, &program.spans, span);
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
                        self.shared.write(&listing, false);
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
    fn finish_frame(&mut self, last: Value) -> Step {
        let Some(frame) = self.more.as_mut().and_then(|m| m.frames.pop()) else {
            return Step::Ran;
        };
        let Some(loading) = frame.loading else {
            if frame.program.repl.is_some() {
                frame.program.answer(Ok(last));
                self.more().frames.push(frame);
                self.waiting = Some(Wait::Input);
                return Step::Ran;
            }
            self.shared.end(Ending::Returned(last));
            return Step::Exit((keyword("normal"), None));
        };
        let Some(require) = &loading.require else {
            return self.resume_caller(*loading, Ok(last));
        };
        let lib = &require.libs[loading.lib];
        if self.shared.globals.find_namespace(lib.ns).is_none() {
            let error = crate::load::undefined_error(&loading.file, lib.ns);
            return self.resume_caller(*loading, Err(plain(error)));
        }
        let next = loading.lib + 1;
        self.continue_require(*loading, next)
    }

    /// Refers lib `from - 1` (just loaded) is done by the caller; loads the
    /// libs from `from` on, or resumes the caller when all are usable.
    fn continue_require(&mut self, mut loading: Loading, from: usize) -> Step {
        let Some(require) = loading.require.clone() else {
            return self.resume_caller(loading, Ok(Value::Nil));
        };
        let globals = self.shared.globals.clone();
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
                let (file, shown) = match crate::load::locate(&self.shared.load_path, lib.ns) {
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
                self.more().frames.push(Frame {
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
    fn load_file(&mut self, mut loading: Loading, path: &str) -> Step {
        let file = match crate::load::register_file(&self.shared.load_path, path) {
            Ok(file) => file,
            Err(error) => return self.resume_caller(loading, Err(plain(error))),
        };
        let forms = match calf_lang::reader::read_file(file) {
            Ok(forms) => forms,
            Err(error) => return self.resume_caller(loading, Err(source_error_value(error))),
        };
        let mut program = Program::new(forms);
        program.ns = loading.caller_ns;
        loading.file = calf_lang::span::source(file).name.clone();
        self.more().frames.push(Frame {
            program,
            loading: Some(Box::new(loading)),
        });
        Step::Next
    }

    /// The namespaces waiting on requires, outermost first, then `current`.
    fn requirers(&self, current: Sym) -> Vec<Sym> {
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
    fn resume_caller(&mut self, loading: Loading, result: Result<Value, Thrown>) -> Step {
        self.vm = loading.caller;
        match result {
            Ok(value) => {
                self.vm.resume(value);
                Step::Ran
            }
            Err(thrown) => match self.vm.resume_throw(thrown.value.clone()) {
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

    /// An uncaught error: inside a loaded file it is thrown at the
    /// `require`; otherwise the process ends with it.
    fn fail(&mut self, mut failure: Failure) -> Option<Exit> {
        loop {
            let loading = self
                .more
                .as_mut()
                .and_then(|m| m.frames.last_mut())
                .and_then(|frame| frame.loading.take());
            let Some(loading) = loading else {
                let reason = match &failure {
                    Failure::Thrown(thrown) => exit_reason_of(&thrown.value),
                    Failure::Source(error) => error.to_value("calf/syntax-error"),
                };
                return Some((reason, Some(failure)));
            };
            self.more().frames.pop();
            let thrown = match failure {
                Failure::Thrown(thrown) => thrown,
                Failure::Source(error) => source_error_value(error),
            };
            match self.resume_caller(*loading, Err(thrown)) {
                Step::Failed(next) => failure = next,
                _ => return None,
            }
        }
    }

    /// Takes pending signals; returns the exit one of them causes.
    #[must_use = "a signal taken may have ended this process"]
    fn take_signals(&mut self) -> Option<Exit> {
        let mut signals = self.handle.take_all();
        if let Some(more) = &mut self.more {
            if !more.signals.is_empty() {
                let mut earlier = std::mem::take(&mut more.signals);
                earlier.append(signals);
                signals = earlier;
            }
        }
        // Mostly none, or the one message that woke the process.
        let mut signals = match signals {
            Queue::Empty => return None,
            Queue::One(signal) => return self.take_signal(signal),
            many => many,
        };
        while let Some(signal) = signals.pop_front() {
            if let Some(exit) = self.take_signal(signal) {
                if !signals.is_empty() {
                    self.more().signals = signals;
                }
                return Some(exit);
            }
        }
        None
    }

    /// Handles one signal; returns the exit it causes.
    fn take_signal(&mut self, signal: Signal) -> Option<Exit> {
        match signal {
            Signal::Message(message) => {
                if self.mailbox.len() >= self.shared.config.max_mailbox {
                    let error = RuntimeError::new(
                        "calf/mailbox-overflow",
                        format!(
                            "the mailbox of #pid<{}> holds more than {} messages: is a receive missing a clause?",
                            self.pid().0, self.shared.config.max_mailbox
                        ),
                    );
                    let value = error.into_value();
                    let failure = Failure::Thrown(calf_lang::vm::Thrown {
                        value: value.clone(),
                        trace: self.vm.trace(),
                    });
                    return Some((value, Some(failure)));
                }
                self.mailbox.push_back(message);
            }
            Signal::Exit(exit) => {
                let ExitSignal {
                    from,
                    reason,
                    link_broken,
                } = *exit;
                if link_broken {
                    // After an unlink the link has no effect, even if the
                    // other end died before it took the unlink.
                    if !self.links().contains(&from) {
                        return None;
                    }
                    self.more().links.retain(|p| *p != from);
                }
                let is = |name: &str| matches!(&reason, Value::Keyword(k) if k.name() == name);
                if !link_broken && is("kill") {
                    return Some((keyword("killed"), None));
                }
                if self.handle.traps_exits() {
                    self.mailbox.push_back(Value::vector([
                        keyword("EXIT"),
                        Value::Pid(from),
                        reason,
                    ]));
                } else if !is("normal") || (from == self.pid() && !link_broken) {
                    // `:normal` from a link is ignored; from itself it ends.
                    return Some((reason, None));
                }
            }
            Signal::Link(pid) => {
                if !self.links().contains(&pid) {
                    self.more().links.push(pid);
                }
            }
            Signal::Unlink(pid) => {
                if let Some(more) = &mut self.more {
                    more.links.retain(|p| *p != pid);
                }
            }
            Signal::Monitor { watcher, reference } => {
                self.more().watchers.push((reference, watcher));
            }
            Signal::Demonitor { reference } => {
                if let Some(more) = &mut self.more {
                    more.watchers.retain(|(r, _)| *r != reference);
                }
            }
            Signal::CallSent(sent) => {
                // A call given back after the process stopped waiting for
                // it (a REPL line interrupted) is dropped, which stops it.
                let waiting = self.waiting == Some(Wait::Reply);
                let more = self.more();
                if waiting && more.promise == sent.promise {
                    more.call = Some(sent.call);
                }
            }
            Signal::CallDone { promise, result } => {
                let more = self.more();
                more.calls.retain(|(p, _)| *p != promise);
                more.replies.push((promise, *result));
            }
            Signal::Input(forms) => {
                if let Some((_, lines)) = self
                    .more
                    .as_mut()
                    .and_then(|m| m.frames.first_mut())
                    .and_then(|f| f.program.repl.as_mut())
                {
                    lines.push_back(*forms);
                }
            }
            Signal::Interrupt => {
                if self.is_interactive() && self.waiting != Some(Wait::Input) {
                    let error = RuntimeError::new("calf/interrupted", "interrupted (Ctrl-C)");
                    let value = error.into_value();
                    let failure = Failure::Thrown(Thrown {
                        value: value.clone(),
                        trace: self.vm.trace(),
                    });
                    return Some((value, Some(failure)));
                }
            }
        }
        None
    }

    /// Resumes the VM if what it waits for is there; else says until when
    /// to park (`None`: until a signal arrives).
    fn try_resume(
        &mut self,
        wait: Wait,
        cx: &mut Context<'_>,
    ) -> Result<Option<Exit>, Option<Instant>> {
        let until = self.more.as_ref().and_then(|m| m.until);
        match wait {
            Wait::Start => Ok(self.advance(Value::Nil)),
            Wait::Message => {
                let deadline = self.more.as_ref().and_then(|m| m.receive_deadline);
                if let Some(message) = self.mailbox.get(self.cursor as usize) {
                    self.vm.resume_received(Some(message));
                    self.cursor += 1;
                    Ok(None)
                } else if deadline.is_some_and(|d| Instant::now() >= d) {
                    self.vm.resume_received(None);
                    Ok(None)
                } else {
                    Err(deadline)
                }
            }
            Wait::Sleep => match until {
                Some(at) if Instant::now() < at => Err(Some(at)),
                _ => {
                    self.vm.resume(Value::Nil);
                    Ok(None)
                }
            },
            Wait::Input => loop {
                if !self
                    .more
                    .as_mut()
                    .and_then(|m| m.frames.last_mut())
                    .is_some_and(|f| f.program.next_line())
                {
                    return Err(None);
                }
                self.waiting = None;
                if let Some(exit) = self.advance(Value::Nil) {
                    return Ok(Some(exit));
                }
                // A line with nothing to run is answered at once.
                if !matches!(self.waiting, Some(Wait::Input)) {
                    return Ok(None);
                }
            },
            Wait::Reply => {
                let more = self.more();
                let promise = more.promise;
                let polled = match &mut more.call {
                    Some(call) => match call.as_mut().poll(cx) {
                        Poll::Ready(result) => {
                            more.call = None;
                            Some(result)
                        }
                        Poll::Pending => None,
                    },
                    None => None,
                };
                let replied = || {
                    let i = more.replies.iter().position(|(p, _)| *p == promise)?;
                    Some(more.replies.swap_remove(i).1)
                };
                if let Some(result) = polled.or_else(replied) {
                    return Ok(match result {
                        Ok(value) => {
                            self.vm.resume(value);
                            None
                        }
                        Err(error) => self.throw_value(error),
                    });
                }
                if until.is_some_and(|d| Instant::now() >= d) {
                    let error = RuntimeError::new(
                        "calf/timeout",
                        "await: the promise was not fulfilled in time (the call goes on; await it again to wait longer)",
                    );
                    return Ok(self.throw(error));
                }
                Err(until)
            }
        }
    }

    /// Sets the task to be woken when a signal arrives or `deadline`
    /// passes. False when either already happened: then the process goes
    /// on at once.
    fn park(&mut self, cx: &mut Context<'_>, deadline: Option<Instant>) -> bool {
        // What the program printed shows before it waits (a no-op when
        // nothing is buffered).
        self.shared.flush_stdout();
        match deadline {
            Some(at) => {
                let timer = match &mut self.more().timer {
                    Some(timer) => {
                        if timer.deadline() != at {
                            timer.as_mut().reset(at);
                        }
                        timer
                    }
                    slot => slot.insert(Box::pin(tokio::time::sleep_until(at))),
                };
                if timer.as_mut().poll(cx).is_ready() {
                    return false;
                }
            }
            None => {
                if let Some(more) = &mut self.more {
                    more.timer = None;
                }
            }
        }
        if !self.handle.park(cx.waker()) {
            return false;
        }
        // A burst of messages is over: its buffer is freed while waiting.
        self.mailbox.release();
        true
    }

    fn perform(&mut self, effect: Effect) -> Option<Exit> {
        match effect {
            Effect::Print { text, to_stderr } => {
                self.shared.write(&text, to_stderr);
                self.vm.resume(Value::Nil);
            }
            Effect::Sleep { ms } => {
                self.more().until = Some(Instant::now() + Duration::from_millis(ms));
                self.waiting = Some(Wait::Sleep);
            }
            Effect::ExitProgram { status } => {
                self.shared.end(Ending::Exit(status));
                return Some((keyword("normal"), None));
            }
            Effect::NowMs => {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                self.vm.resume(Value::Int(ms));
            }
            Effect::Receive {
                restart,
                timeout_ms,
            } => {
                if restart {
                    start_receive(&mut self.cursor, &mut self.more, timeout_ms);
                }
                self.waiting = Some(Wait::Message);
            }
            Effect::ReceiveAccept => {
                accept(&mut self.mailbox, &mut self.cursor);
                self.vm.resume(Value::Nil);
            }
            Effect::Spawn {
                function,
                args,
                link,
                monitor,
            } => {
                let me = self.pid();
                let reference = monitor.then(|| self.shared.new_ref());
                let pid = self.shared.spawn(Vm::call(function, args), |child| {
                    if link {
                        child.link_to(me);
                    }
                    if let Some(r) = reference {
                        child.watched_by(me, r);
                    }
                });
                if link {
                    self.more().links.push(pid);
                }
                match reference {
                    Some(r) => {
                        self.more().watching.push((r, pid));
                        self.vm
                            .resume(Value::vector([Value::Pid(pid), Value::Ref(r)]));
                    }
                    None => self.vm.resume(Value::Pid(pid)),
                }
            }
            Effect::Send { to, message } => {
                let target = match &to {
                    Value::Pid(pid) => Some(*pid),
                    Value::Keyword(name) => match self.shared.whereis(*name) {
                        Some(pid) => Some(pid),
                        None => {
                            let error = RuntimeError::new(
                                "calf/noproc",
                                format!("send: no process is registered as {to}"),
                            )
                            .with("name", to.clone());
                            return self.throw(error);
                        }
                    },
                    _ => None,
                };
                if let Some(pid) = target {
                    send_message(&self.shared, &mut self.last_sent, pid, message.clone());
                }
                self.vm.resume(message);
            }
            Effect::SelfPid => self.vm.resume(Value::Pid(self.pid())),
            Effect::Call {
                subject,
                payload,
                options,
                wait,
            } => {
                let policy = match Policy::from_options(&options) {
                    Ok(policy) => policy,
                    Err(error) => return self.throw(error),
                };
                let body = match crate::bus::encode_payload(&payload) {
                    Ok(body) => body,
                    Err(error) => return self.throw(error),
                };
                let bus = self.shared.bus.clone();
                let call = call::run(bus, subject, payload, body, policy, call::new_call_id());
                let promise = self.shared.new_ref();
                if wait {
                    self.shared
                        .call_sender
                        .send(self.handle.clone(), promise, Box::pin(call));
                    let more = self.more();
                    more.promise = promise;
                    more.until = None;
                    self.waiting = Some(Wait::Reply);
                    return None;
                }
                let me = self.handle.clone();
                let task = tokio::spawn(async move {
                    let result = call.await;
                    let _ = me.push(Signal::CallDone {
                        promise,
                        result: Box::new(result),
                    });
                });
                self.more().calls.push((promise, task.abort_handle()));
                self.vm.resume(Value::Ref(promise));
            }
            Effect::Await {
                promise,
                timeout_ms,
            } => {
                let replied = |process: &Process| {
                    process
                        .more
                        .as_ref()
                        .is_some_and(|m| m.replies.iter().any(|(p, _)| *p == promise))
                };
                let known = replied(self)
                    || self
                        .more
                        .as_ref()
                        .is_some_and(|m| m.calls.iter().any(|(p, _)| *p == promise));
                if !known {
                    if let Some(exit) = self.take_signals() {
                        return Some(exit);
                    }
                }
                let known = known || replied(self);
                if !known {
                    return self.throw(RuntimeError::new(
                        "calf/illegal-argument",
                        "await: not a pending promise of this process (a promise is awaited once, by the process that made it)",
                    ));
                }
                let more = self.more();
                more.promise = promise;
                more.until = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
                self.waiting = Some(Wait::Reply);
            }
            Effect::Serve { subject, handler } => {
                let loop_fn = self
                    .shared
                    .globals
                    .core()
                    .lookup(Sym::new("-serve-loop"))
                    .and_then(|v| v.get());
                let Some(loop_fn) = loop_fn else {
                    return self.throw(RuntimeError::new(
                        "calf/internal",
                        "the core library has no -serve-loop",
                    ));
                };
                let pid = self.shared.spawn(Vm::call(loop_fn, vec![handler]), |_| {});
                let service = Arc::new(crate::bus::ProcessService::new(&self.shared, pid));
                let registered = self.shared.bus.serve(&subject, pid, service);
                // Answer with the pid once the bus serves the subject (NATS
                // subscribes in the background), so a call right after
                // `serve` finds it.
                let promise = self.shared.new_ref();
                let me = self.handle.clone();
                let task = tokio::spawn(async move {
                    let result = match registered.await {
                        Ok(()) => Ok(Value::Pid(pid)),
                        Err(why) => {
                            Err(RuntimeError::new("calf/bus-unavailable", why).into_value())
                        }
                    };
                    let _ = me.push(Signal::CallDone {
                        promise,
                        result: Box::new(result),
                    });
                });
                let more = self.more();
                more.calls.push((promise, task.abort_handle()));
                more.promise = promise;
                more.until = None;
                self.waiting = Some(Wait::Reply);
            }
            Effect::Reply { request, result } => {
                self.shared.reply(request, &result);
                self.vm.resume(Value::Nil);
            }
            Effect::Require(require) => {
                let loading = self.suspend_for_loading(Some(require));
                let step = self.continue_require(loading, 0);
                return self.after_loading_step(step);
            }
            Effect::LoadFile { path } => {
                let loading = self.suspend_for_loading(None);
                let step = self.load_file(loading, &path);
                return self.after_loading_step(step);
            }
            Effect::Process { op, args } => return self.process_request(op, args),
        }
        None
    }

    /// Sets the VM that called `require` or `load-file` aside until the
    /// loading is done.
    fn suspend_for_loading(&mut self, require: Option<Require>) -> Loading {
        let caller_ns = self
            .frames()
            .last()
            .map_or(Sym::new(calf_lang::namespace::USER), |f| f.program.ns);
        let caller = std::mem::replace(&mut self.vm, Vm::call(Value::Nil, Vec::new()));
        Loading {
            caller,
            caller_ns,
            require,
            lib: 0,
            file: String::new(),
        }
    }

    fn after_loading_step(&mut self, step: Step) -> Option<Exit> {
        match step {
            Step::Ran => None,
            Step::Next => self.advance(Value::Nil),
            Step::Exit(exit) => Some(exit),
            Step::Failed(failure) => self.fail(failure),
        }
    }

    /// Throws `error` at the effect's call site.
    fn throw(&mut self, error: RuntimeError) -> Option<Exit> {
        self.throw_value(error.into_value())
    }

    fn throw_value(&mut self, error: Value) -> Option<Exit> {
        match self.vm.resume_throw(error) {
            Some(Outcome::Error(thrown)) => {
                Some((thrown.value.clone(), Some(Failure::Thrown(thrown))))
            }
            _ => None,
        }
    }

    fn process_request(&mut self, op: ProcessOp, args: Vec<Value>) -> Option<Exit> {
        let pid_at = |i: usize| match args.get(i) {
            Some(Value::Pid(p)) => Some(*p),
            _ => None,
        };
        let name_at = |i: usize| match args.get(i) {
            Some(Value::Keyword(k)) => Some(*k),
            _ => None,
        };
        let answer = match op {
            ProcessOp::Link => {
                let other = pid_at(0)?;
                if other != self.pid() && !self.links().contains(&other) {
                    let delivered = self
                        .shared
                        .handle(other)
                        .map(|h| h.push(Signal::Link(self.pid())).is_ok());
                    if delivered == Some(true) {
                        self.more().links.push(other);
                    } else if self.handle.traps_exits() {
                        self.mailbox.push_back(Value::vector([
                            keyword("EXIT"),
                            Value::Pid(other),
                            keyword("noproc"),
                        ]));
                    } else {
                        return Some((keyword("noproc"), None));
                    }
                }
                Value::Bool(true)
            }
            ProcessOp::Unlink => {
                let other = pid_at(0)?;
                if let Some(more) = &mut self.more {
                    more.links.retain(|p| *p != other);
                }
                if let Some(h) = self.shared.handle(other) {
                    let _ = h.push(Signal::Unlink(self.pid()));
                }
                Value::Bool(true)
            }
            ProcessOp::Monitor => {
                let reference = self.shared.new_ref();
                let target = match &args[0] {
                    Value::Keyword(name) => self.shared.whereis(*name),
                    Value::Pid(pid) => Some(*pid),
                    _ => None,
                };
                let delivered = target
                    .and_then(|pid| self.shared.handle(pid))
                    .is_some_and(|h| {
                        h.push(Signal::Monitor {
                            watcher: self.pid(),
                            reference,
                        })
                        .is_ok()
                    });
                if delivered {
                    self.more().watching.push((reference, target?));
                } else {
                    self.mailbox.push_back(Value::vector([
                        keyword("DOWN"),
                        Value::Ref(reference),
                        args[0].clone(),
                        keyword("noproc"),
                    ]));
                }
                Value::Ref(reference)
            }
            ProcessOp::Demonitor => {
                let Value::Ref(reference) = args[0] else {
                    return None;
                };
                let watching = self.more.as_mut().and_then(|m| {
                    let i = m.watching.iter().position(|(r, _)| *r == reference)?;
                    Some(m.watching.remove(i))
                });
                if let Some((_, pid)) = watching {
                    if let Some(h) = self.shared.handle(pid) {
                        let _ = h.push(Signal::Demonitor { reference });
                    }
                }
                // A DOWN that already arrived is dropped too. Taking the
                // signals may bring an exit (a link that broke): it ends
                // this process here, as it would at the next slice.
                if let Some(exit) = self.take_signals() {
                    return Some(exit);
                }
                self.mailbox.retain(|m| !is_down_for(m, reference));
                Value::Bool(true)
            }
            ProcessOp::Exit if args.len() == 1 => return Some((args[0].clone(), None)),
            ProcessOp::Exit => {
                let target = pid_at(0)?;
                if let Some(h) = self.shared.handle(target) {
                    let _ = h.push(Signal::Exit(Box::new(ExitSignal {
                        from: self.pid(),
                        reason: args[1].clone(),
                        link_broken: false,
                    })));
                }
                Value::Bool(true)
            }
            ProcessOp::TrapExit => {
                let on = args.first().is_some_and(Value::is_truthy);
                Value::Bool(self.handle.trap_exit.swap(on, Ordering::AcqRel))
            }
            ProcessOp::Register => {
                let (name, pid) = (name_at(0)?, pid_at(1)?);
                if !self.shared.is_alive(pid) {
                    return self.throw(RuntimeError::new(
                        "calf/noproc",
                        format!("register!: #pid<{}> is not alive", pid.0),
                    ));
                }
                if let Err(holder) = self.shared.register(name, pid) {
                    return self.throw(RuntimeError::new(
                        "calf/already-registered",
                        format!(
                            "register!: :{name} is already registered to #pid<{}>",
                            holder.0
                        ),
                    ));
                }
                Value::Bool(true)
            }
            ProcessOp::Unregister => Value::Bool(self.shared.unregister(name_at(0)?)),
            ProcessOp::Whereis => self
                .shared
                .whereis(name_at(0)?)
                .map_or(Value::Nil, Value::Pid),
            ProcessOp::Alive => Value::Bool(self.shared.is_alive(pid_at(0)?)),
            ProcessOp::Processes => Value::vector(self.shared.pids().into_iter().map(Value::Pid)),
            ProcessOp::MakeRef => Value::Ref(self.shared.new_ref()),
        };
        self.vm.resume(answer);
        None
    }

    /// Frees the process, reports a crash, and tells links and monitors.
    fn finish(&mut self, reason: Value, failure: Option<Failure>) {
        let pid = self.pid();
        self.shared.remove(pid);
        self.shared.bus.unserve(pid);
        if let Some(more) = &self.more {
            for (_, call) in &more.calls {
                call.abort();
            }
        }
        // Signals taken with the one that ended it, and those still in the
        // inbox: links and monitors among them must hear of the exit.
        let mut pending = match &mut self.more {
            Some(more) => std::mem::take(&mut more.signals),
            None => Queue::default(),
        };
        pending.append(self.handle.close());
        for signal in pending {
            match signal {
                Signal::Link(other) if !self.links().contains(&other) => {
                    self.more().links.push(other);
                }
                Signal::Monitor { watcher, reference } => {
                    self.more().watchers.push((reference, watcher));
                }
                _ => {}
            }
        }
        let none = More::default();
        let more = self.more.take();
        let more = more.as_deref().unwrap_or(&none);
        // The crash report comes before the exit signals, so that whoever
        // hears of this exit finds the report already written.
        if let (false, Some(failure)) = (more.main, &failure) {
            let supervised = more
                .links
                .iter()
                .any(|pid| self.shared.handle(*pid).is_some_and(|h| h.traps_exits()));
            if !supervised {
                self.shared.report_crash(pid, failure);
            }
        }
        for link in &more.links {
            if let Some(h) = self.shared.handle(*link) {
                let _ = h.push(Signal::Exit(Box::new(ExitSignal {
                    from: pid,
                    reason: reason.clone(),
                    link_broken: true,
                })));
            }
        }
        for (reference, watcher) in &more.watchers {
            if let Some(h) = self.shared.handle(*watcher) {
                let down = Value::vector([
                    keyword("DOWN"),
                    Value::Ref(*reference),
                    Value::Pid(pid),
                    reason.clone(),
                ]);
                let _ = h.push(Signal::Message(down));
            }
        }
        match (more.main, failure) {
            (true, Some(failure)) => self.shared.end(Ending::Failed(failure)),
            (true, None) => self.shared.end(Ending::Returned(Value::Nil)),
            _ => {}
        }
    }
}

/// Delivers `message` to `to`; to a process that has ended, nothing.
/// The handle of the last process sent to is kept in `last_sent`: a
/// process mostly sends to the same few, and looking a pid up in the
/// process table was a sixth of the time of a message passed round a ring.
fn send_message(
    shared: &Shared,
    last_sent: &mut Option<Arc<ProcessHandle>>,
    to: Pid,
    message: Value,
) {
    let cached = last_sent.as_ref().is_some_and(|h| h.pid() == to);
    if !cached {
        *last_sent = shared.handle(to);
    }
    let Some(handle) = last_sent else {
        return;
    };
    if handle.push(Signal::Message(message)).is_err() {
        // It has ended: its handle need not be kept alive.
        *last_sent = None;
    }
}

/// A new `receive`: it looks at the mailbox from the first message, and
/// gives up after `timeout_ms` from now.
fn start_receive(cursor: &mut u32, more: &mut Option<Box<More>>, timeout_ms: Option<u64>) {
    *cursor = 0;
    let deadline = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
    if deadline.is_some() || more.is_some() {
        more.get_or_insert_with(Box::default).receive_deadline = deadline;
    }
}

/// A clause took the message `receive` handed out last.
fn accept(mailbox: &mut Queue<Value>, cursor: &mut u32) {
    if *cursor > 0 {
        mailbox.remove(*cursor as usize - 1);
    }
    *cursor = 0;
}

/// What a running VM may ask of its process without stopping (see
/// `calf_lang::vm::Host`): the parts of `Process` other than the VM.
/// Each answer is the one `perform` and `try_resume` would give, so a
/// message passed on costs no trip out of the VM and back.
struct Inline<'a> {
    handle: &'a ProcessHandle,
    shared: &'a Shared,
    mailbox: &'a mut Queue<Value>,
    cursor: &'a mut u32,
    last_sent: &'a mut Option<Arc<ProcessHandle>>,
    more: &'a mut Option<Box<More>>,
}

impl calf_lang::vm::Host for Inline<'_> {
    fn next_message(&mut self, restart: bool, timeout_ms: Option<u64>) -> Option<&Value> {
        // Signals come first, as they would on returning to the process:
        // one of them may end it, or bring the next message.
        if self.handle.has_signals() {
            return None;
        }
        let at = if restart { 0 } else { *self.cursor as usize };
        let message = self.mailbox.get(at)?;
        // Declined above, the receive is started by `perform`, with the
        // same effect; here only when there is a message to hand out.
        if restart {
            start_receive(self.cursor, self.more, timeout_ms);
        }
        *self.cursor = at as u32 + 1;
        Some(message)
    }

    fn accept_message(&mut self) -> bool {
        accept(self.mailbox, self.cursor);
        true
    }

    fn perform_now(&mut self, effect: Effect) -> Result<Value, Effect> {
        match effect {
            Effect::Send {
                to: Value::Pid(pid),
                message,
            } => {
                send_message(self.shared, self.last_sent, pid, message.clone());
                Ok(message)
            }
            Effect::SelfPid => Ok(Value::Pid(self.handle.pid())),
            other => Err(other),
        }
    }
}

/// A process is the future of its task: each poll runs it until it must
/// wait (with the task set to be woken) or has exited.
impl Future for Process {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let process = self.get_mut();
        loop {
            // A panic is a bug in Calf, never a user's error; it must not
            // take the runtime down nor leave the process half-ended, with
            // its links, monitors and name never told. The VM it left may
            // be in any state, and is not run again: the process ends (an
            // interactive one starts its next line on a fresh VM).
            let ran = catch_unwind(AssertUnwindSafe(|| process.run_until_exit(cx)));
            let (reason, failure) = match ran {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(exit)) => exit,
                Err(panic) => internal_error(panic.as_ref()),
            };
            if process.is_interactive() && !process.shared.has_ended() {
                process.line_failed(reason, failure);
                continue;
            }
            process.finish(reason, failure);
            return Poll::Ready(());
        }
    }
}

/// The exit of a process that panicked: an error of type
/// `:calf/internal` with the panic's message.
fn internal_error(panic: &(dyn std::any::Any + Send)) -> Exit {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let reason = RuntimeError::new(
        "calf/internal",
        format!("internal error: {message} (a bug in Calf: please report it)"),
    )
    .into_value();
    let failure = Failure::Thrown(Thrown {
        value: reason.clone(),
        trace: Vec::new(),
    });
    (reason, Some(failure))
}

fn is_down_for(message: &Value, reference: u64) -> bool {
    match message.as_seq() {
        Some(items) if items.len() == 4 => {
            matches!(&items[0], Value::Keyword(k) if k.name() == "DOWN")
                && items[1] == Value::Ref(reference)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// A million waiting processes must fit in memory. The pool keeps a
    /// process in a task with 32 bytes of its own (reference counts, its
    /// state, the pool), all in one allocation: at most 192 bytes, a
    /// 208-byte chunk for glibc's allocator.
    #[test]
    fn the_waiting_process_stays_small() {
        assert!(
            crate::executor::task_bytes::<Process>() <= 192,
            "a process's task is {} bytes",
            crate::executor::task_bytes::<Process>()
        );
        assert!(
            size_of::<Process>() <= 160,
            "Process is {} bytes: move what few processes use into `More`",
            size_of::<Process>()
        );
        assert!(
            size_of::<Vm>() <= 88,
            "Vm is {} bytes: every process holds one inline; box what few use",
            size_of::<Vm>()
        );
        assert!(
            size_of::<Signal>() <= 24,
            "Signal is {} bytes: box a large, rare kind",
            size_of::<Signal>()
        );
        // With the 16 bytes of its `Arc`, a 96-byte allocation.
        assert!(
            size_of::<ProcessHandle>() <= 72,
            "ProcessHandle is {} bytes",
            size_of::<ProcessHandle>()
        );
    }
}
