//! A process: a VM, its mailbox, its links and monitors, run as a tokio
//! task one reduction budget at a time.
//!
//! Between two slices the process takes its signals (messages, exit
//! signals, links, monitors). When its VM returns an effect, the process
//! carries it out and resumes the VM with the answer; when it must wait (a
//! `receive` with nothing to take, a `sleep`) it parks until a signal
//! arrives or its timer fires, so a waiting process costs no CPU.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use calf_lang::compiler::{Compiler, TopLevel};
use calf_lang::reader::Forms;
use calf_lang::span::Span;
use calf_lang::value::Pid;
use calf_lang::vm::{Effect, Outcome, ProcessOp, Vm};
use calf_lang::{RuntimeError, Sym, Value};
use tokio::time::Instant;

use crate::mailbox::{ProcessHandle, Signal};
use crate::runtime::{Ending, Failure, Shared};

/// Instructions a process runs, at most, between two yields to tokio.
const YIELD_EVERY: u32 = 2000;

/// Why a process stopped: its exit reason, and the failure to report if it
/// crashed.
type Exit = (Value, Option<Failure>);

/// The main process's program: the top-level forms still to run.
pub(crate) struct Program {
    forms: VecDeque<(Value, Span)>,
    spans: calf_lang::SpanTable,
    ns: Sym,
}

impl Program {
    pub fn new(forms: Forms) -> Program {
        Program {
            forms: forms.forms.into_iter().zip(forms.form_spans).collect(),
            spans: forms.spans,
            ns: Sym::new(calf_lang::namespace::USER),
        }
    }
}

pub(crate) struct Process {
    pid: Pid,
    shared: Arc<Shared>,
    handle: Arc<ProcessHandle>,
    vm: Vm,
    mailbox: VecDeque<Value>,
    /// The next mailbox position `receive` looks at.
    cursor: usize,
    /// When the current `receive` gives up.
    deadline: Option<Instant>,
    links: Vec<Pid>,
    /// Who monitors this process, by reference.
    watchers: Vec<(u64, Pid)>,
    /// The processes this one monitors, by reference.
    watching: Vec<(u64, Pid)>,
    program: Option<Box<Program>>,
    signals: VecDeque<Signal>,
}

fn keyword(name: &str) -> Value {
    Value::keyword(name)
}

impl Process {
    pub fn new(pid: Pid, shared: Arc<Shared>, handle: Arc<ProcessHandle>, mut vm: Vm) -> Process {
        vm.set_max_depth(shared.config.max_depth);
        Process {
            pid,
            shared,
            handle,
            vm,
            mailbox: VecDeque::new(),
            cursor: 0,
            deadline: None,
            links: Vec::new(),
            watchers: Vec::new(),
            watching: Vec::new(),
            program: None,
            signals: VecDeque::new(),
        }
    }

    pub fn set_program(&mut self, program: Program) {
        self.program = Some(Box::new(program));
    }

    pub fn link_to(&mut self, pid: Pid) {
        self.links.push(pid);
    }

    pub fn watched_by(&mut self, watcher: Pid, reference: u64) {
        self.watchers.push((reference, watcher));
    }

    pub async fn run(mut self) {
        let (reason, failure) = self.run_until_exit().await;
        self.finish(reason, failure);
    }

    async fn run_until_exit(&mut self) -> Exit {
        if self.program.is_some() {
            if let Some(exit) = self.next_form() {
                return exit;
            }
        }
        let budget = self.shared.config.budget;
        // A tiny budget stops the VM often, but the task yields to the
        // other processes only after a full default slice of instructions.
        let mut since_yield: u32 = 0;
        loop {
            if let Some(exit) = self.take_signals() {
                return exit;
            }
            match self.vm.run(budget) {
                Outcome::Yield => {
                    since_yield += budget;
                    if since_yield >= YIELD_EVERY {
                        since_yield = 0;
                        tokio::task::yield_now().await;
                    }
                }
                Outcome::Done(value) => {
                    if self.program.is_none() {
                        return (keyword("normal"), None);
                    }
                    if self.program.as_ref().is_some_and(|p| p.forms.is_empty()) {
                        self.shared.end(Ending::Returned(value));
                        return (keyword("normal"), None);
                    }
                    if let Some(exit) = self.next_form() {
                        return exit;
                    }
                }
                Outcome::Error(thrown) => {
                    return (thrown.value.clone(), Some(Failure::Thrown(thrown)))
                }
                Outcome::Effect(effect) => {
                    if let Some(exit) = self.perform(effect).await {
                        return exit;
                    }
                }
            }
        }
    }

    /// Compiles the main program's next top-level form into the VM.
    fn next_form(&mut self) -> Option<Exit> {
        let program = self.program.as_mut()?;
        while let Some((form, span)) = program.forms.pop_front() {
            let mut compiler =
                Compiler::new(&self.shared.globals, program.ns, &program.spans, span);
            let expanded = compiler.expand_toplevel(&form);
            program.ns = compiler.ns;
            match expanded {
                Err(error) => {
                    return Some((
                        error.to_value("calf/syntax-error"),
                        Some(Failure::Source(error)),
                    ))
                }
                Ok(TopLevel::Forms(inner)) => {
                    for f in inner.into_iter().rev() {
                        program.forms.push_front((f, span));
                    }
                }
                Ok(TopLevel::Code(code)) => {
                    self.vm = Vm::new(code);
                    self.vm.set_max_depth(self.shared.config.max_depth);
                    return None;
                }
            }
        }
        // A program with no forms left returns nil.
        self.vm = Vm::call(
            Value::Native(&calf_lang::natives::misc::IDENTITY),
            vec![Value::Nil],
        );
        None
    }

    /// Takes pending signals; returns the exit one of them causes.
    fn take_signals(&mut self) -> Option<Exit> {
        self.handle.take_all(&mut self.signals);
        while let Some(signal) = self.signals.pop_front() {
            match signal {
                Signal::Message(message) => {
                    if self.mailbox.len() >= self.shared.config.max_mailbox {
                        let error = RuntimeError::new(
                            "calf/mailbox-overflow",
                            format!(
                                "the mailbox of #pid<{}> holds more than {} messages: is a receive missing a clause?",
                                self.pid.0, self.shared.config.max_mailbox
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
                Signal::Exit {
                    from,
                    reason,
                    link_broken,
                } => {
                    if link_broken {
                        // After an unlink the link has no effect, even if
                        // the other end died before it took the unlink.
                        if !self.links.contains(&from) {
                            continue;
                        }
                        self.links.retain(|p| *p != from);
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
                    } else if !is("normal") || (from == self.pid && !link_broken) {
                        // `:normal` from a link is ignored; from itself it ends.
                        return Some((reason, None));
                    }
                }
                Signal::Link(pid) => {
                    if !self.links.contains(&pid) {
                        self.links.push(pid);
                    }
                }
                Signal::Unlink(pid) => self.links.retain(|p| *p != pid),
                Signal::Monitor { watcher, reference } => self.watchers.push((reference, watcher)),
                Signal::Demonitor { reference } => self.watchers.retain(|(r, _)| *r != reference),
            }
        }
        None
    }

    /// Parks until a signal may have arrived or `deadline` passes.
    async fn park(&self, deadline: Option<Instant>) {
        match deadline {
            Some(at) => {
                tokio::select! {
                    _ = self.handle.woken() => {}
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
            None => self.handle.woken().await,
        }
    }

    async fn perform(&mut self, effect: Effect) -> Option<Exit> {
        match effect {
            Effect::Print { text, to_stderr } => {
                self.shared.write(&text, to_stderr);
                self.vm.resume(Value::Nil);
            }
            Effect::Sleep { ms } => {
                let until = Instant::now() + Duration::from_millis(ms);
                loop {
                    if let Some(exit) = self.take_signals() {
                        return Some(exit);
                    }
                    if Instant::now() >= until {
                        break;
                    }
                    self.park(Some(until)).await;
                }
                self.vm.resume(Value::Nil);
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
                    self.cursor = 0;
                    self.deadline = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
                }
                loop {
                    if let Some(exit) = self.take_signals() {
                        return Some(exit);
                    }
                    if let Some(message) = self.mailbox.get(self.cursor) {
                        let message = message.clone();
                        self.cursor += 1;
                        self.vm.resume_received(Some(message));
                        break;
                    }
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        self.vm.resume_received(None);
                        break;
                    }
                    self.park(self.deadline).await;
                }
            }
            Effect::ReceiveAccept => {
                if self.cursor > 0 {
                    self.mailbox.remove(self.cursor - 1);
                }
                self.cursor = 0;
                self.vm.resume(Value::Nil);
            }
            Effect::Spawn {
                function,
                args,
                link,
                monitor,
            } => {
                let me = self.pid;
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
                    self.links.push(pid);
                }
                match reference {
                    Some(r) => {
                        self.watching.push((r, pid));
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
                if let Some(handle) = target.and_then(|pid| self.shared.handle(pid)) {
                    // Sending to a process that just ended is silent.
                    let _ = handle.push(Signal::Message(message.clone()));
                }
                self.vm.resume(message);
            }
            Effect::SelfPid => self.vm.resume(Value::Pid(self.pid)),
            Effect::Process { op, args } => return self.process_request(op, args),
        }
        None
    }

    /// Throws `error` at the effect's call site.
    fn throw(&mut self, error: RuntimeError) -> Option<Exit> {
        match self.vm.resume_throw(error.into_value()) {
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
                if other != self.pid && !self.links.contains(&other) {
                    let delivered = self
                        .shared
                        .handle(other)
                        .map(|h| h.push(Signal::Link(self.pid)).is_ok());
                    if delivered == Some(true) {
                        self.links.push(other);
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
                self.links.retain(|p| *p != other);
                if let Some(h) = self.shared.handle(other) {
                    let _ = h.push(Signal::Unlink(self.pid));
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
                            watcher: self.pid,
                            reference,
                        })
                        .is_ok()
                    });
                if delivered {
                    self.watching.push((reference, target?));
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
                if let Some(i) = self.watching.iter().position(|(r, _)| *r == reference) {
                    let (_, pid) = self.watching.remove(i);
                    if let Some(h) = self.shared.handle(pid) {
                        let _ = h.push(Signal::Demonitor { reference });
                    }
                }
                // A DOWN that already arrived is dropped too.
                self.take_signals();
                self.mailbox.retain(|m| !is_down_for(m, reference));
                Value::Bool(true)
            }
            ProcessOp::Exit if args.len() == 1 => return Some((args[0].clone(), None)),
            ProcessOp::Exit => {
                let target = pid_at(0)?;
                if let Some(h) = self.shared.handle(target) {
                    let _ = h.push(Signal::Exit {
                        from: self.pid,
                        reason: args[1].clone(),
                        link_broken: false,
                    });
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
    fn finish(mut self, reason: Value, failure: Option<Failure>) {
        self.shared.remove(self.pid);
        // Signals taken with the one that ended it, and those still in the
        // inbox: links and monitors among them must hear of the exit.
        let mut pending = std::mem::take(&mut self.signals);
        pending.append(&mut self.handle.close());
        for signal in pending {
            match signal {
                Signal::Link(pid) if !self.links.contains(&pid) => self.links.push(pid),
                Signal::Monitor { watcher, reference } => self.watchers.push((reference, watcher)),
                _ => {}
            }
        }
        // The crash report comes before the exit signals, so that whoever
        // hears of this exit finds the report already written.
        if let (None, Some(failure)) = (&self.program, &failure) {
            let supervised = self
                .links
                .iter()
                .any(|pid| self.shared.handle(*pid).is_some_and(|h| h.traps_exits()));
            if !supervised {
                self.shared.report_crash(self.pid, failure);
            }
        }
        for pid in &self.links {
            if let Some(h) = self.shared.handle(*pid) {
                let _ = h.push(Signal::Exit {
                    from: self.pid,
                    reason: reason.clone(),
                    link_broken: true,
                });
            }
        }
        for (reference, watcher) in &self.watchers {
            if let Some(h) = self.shared.handle(*watcher) {
                let down = Value::vector([
                    keyword("DOWN"),
                    Value::Ref(*reference),
                    Value::Pid(self.pid),
                    reason.clone(),
                ]);
                let _ = h.push(Signal::Message(down));
            }
        }
        match (self.program.take(), failure) {
            (Some(_), Some(failure)) => self.shared.end(Ending::Failed(failure)),
            (Some(_), None) => self.shared.end(Ending::Returned(Value::Nil)),
            _ => {}
        }
    }
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
