//! The effects a process carries out for its VM: what the VM returns
//! (`perform`, then `try_resume` when it had to wait), and what the
//! running VM asks without returning (`Inline`, its `Host`).

use super::*;

/// Delivers `message` to `to`; to a process that has ended, nothing.
/// The handle of the last process sent to is kept in `last_sent`: a
/// process mostly sends to the same few, and looking a pid up in the
/// process table was a sixth of the time of a message passed round a ring.
pub(super) fn send_message(
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
pub(super) fn start_receive(
    cursor: &mut u32,
    seldom: &mut Option<Box<Seldom>>,
    timeout_ms: Option<u64>,
) {
    *cursor = 0;
    let deadline = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
    if deadline.is_some() || seldom.is_some() {
        seldom
            .get_or_insert_with(Box::default)
            .timers
            .receive_deadline = deadline;
    }
}

/// A clause took the message `receive` handed out last.
pub(super) fn accept(mailbox: &mut Queue<Value>, cursor: &mut u32) {
    if *cursor > 0 {
        mailbox.remove(*cursor as usize - 1);
    }
    *cursor = 0;
}

/// What a running VM may ask of its process without stopping (see
/// `calf_lang::vm::Host`): the parts of `Process` other than the VM.
/// Each answer is the one `perform` and `try_resume` would give, so a
/// message passed on costs no trip out of the VM and back.
pub(super) struct Inline<'a> {
    pub(super) handle: &'a ProcessHandle,
    pub(super) shared: &'a Shared,
    pub(super) mailbox: &'a mut Queue<Value>,
    pub(super) cursor: &'a mut u32,
    pub(super) last_sent: &'a mut Option<Arc<ProcessHandle>>,
    pub(super) seldom: &'a mut Option<Box<Seldom>>,
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
            start_receive(self.cursor, self.seldom, timeout_ms);
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
            } if !durable::is_stored_send(self.shared, pid)
                && self.shared.remote(pid).is_none() =>
            {
                send_message(self.shared, self.last_sent, pid, message.clone());
                Ok(message)
            }
            Effect::SelfPid => Ok(Value::Pid(self.handle.pid())),
            other => Err(other),
        }
    }
}

impl Process {
    pub(super) fn perform(&mut self, effect: Effect, answer: Resume) -> Option<Exit> {
        match effect {
            Effect::Print { text, to_stderr } => {
                self.job.write(&text, to_stderr);
                self.vm.resume(answer, Value::Nil);
            }
            Effect::Sleep { ms } => {
                let until_ms = durable::now_ms().saturating_add(ms.min(i64::MAX as u64) as i64);
                if let Some(save) = self.save(durable::Parked::Sleep { until_ms }, until_ms) {
                    // Saved first: a sleep is a deadline in wall time, and
                    // one restored after a crash ends when it would have.
                    let slept = self.durable_sleep(until_ms);
                    let sleep = async move {
                        save.await?;
                        slept.await
                    };
                    self.wait_for(Box::pin(sleep), answer);
                    return None;
                }
                self.seldom().timers.until = Some(Instant::now() + Duration::from_millis(ms));
                self.waiting = Some(Wait::Sleep(answer));
            }
            Effect::ExitProgram { status } => {
                self.shared.end_job(&self.job, Ending::Exit(status));
                return Some((keyword("normal"), None));
            }
            Effect::NowMs => {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                self.vm.resume(answer, Value::Int(ms));
            }
            Effect::ReceiveAccept => {
                accept(&mut self.mailbox, &mut self.cursor);
                self.vm.resume(answer, Value::Nil);
            }
            Effect::Spawn {
                function,
                args,
                link,
                monitor,
                durable,
            } => {
                if durable && self.shared.durable.is_none() {
                    return self.throw(answer, RuntimeError::new(
                        "calf/no-durable-store",
                        "spawn-durable needs a durable store: run the program with --nats URL (a server with JetStream) and --durable NODE-ID",
                    ));
                }
                let me = self.pid();
                let reference = monitor.then(|| self.shared.new_ref());
                let pid = durable.then(crate::durable::new_pid);
                let mut first_save = None;
                let spawned =
                    self.shared
                        .spawn_as(&self.job, pid, Vm::call(function, args), |child| {
                            if link {
                                child.link_to(me);
                            }
                            if let Some(r) = reference {
                                child.watched_by(me, r);
                            }
                            if durable {
                                child.make_durable();
                                first_save = child.save_at_start();
                            }
                        });
                let pid = match spawned {
                    Ok(pid) => pid,
                    Err(error) => return self.throw(answer, error),
                };
                if link {
                    self.seldom().ties.links.push(pid);
                }
                if let Some(save) = first_save {
                    // The pid is given once the store has the process; a
                    // store that stays unavailable stops it.
                    let shared = self.shared.clone();
                    let saved = async move {
                        match save.await {
                            Ok(()) => Ok(Value::Pid(pid)),
                            Err(error) => {
                                if let Some(child) = shared.handle(pid) {
                                    let _ = child.push(Signal::Exit(Box::new(ExitSignal {
                                        from: pid,
                                        reason: Value::keyword("kill"),
                                        link_broken: false,
                                    })));
                                }
                                Err(error)
                            }
                        }
                    };
                    self.wait_for(Box::pin(saved), answer);
                    return None;
                }
                match reference {
                    Some(r) => {
                        self.seldom().ties.watching.push((r, pid));
                        self.vm
                            .resume(answer, Value::vector([Value::Pid(pid), Value::Ref(r)]));
                    }
                    None => self.vm.resume(answer, Value::Pid(pid)),
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
                            return self.throw(answer, error);
                        }
                    },
                    _ => None,
                };
                if let Some(cluster) = target.and_then(|pid| self.shared.remote(pid)) {
                    let pid = target.expect("a remote pid");
                    if let Err(why) = cluster.send_message(pid, &message) {
                        let error = RuntimeError::new(
                            "calf/not-sendable",
                            format!("send: a message to {pid}, on another node, {why}"),
                        )
                        .with("pid", Value::Pid(pid));
                        return self.throw(answer, error);
                    }
                } else if let Some(pid) = target {
                    match durable::stored_send(&self.shared, pid, &message) {
                        Some(Ok(stored)) => {
                            self.wait_for(stored, answer);
                            return None;
                        }
                        Some(Err(error)) => return self.throw(answer, error),
                        None => {
                            send_message(&self.shared, &mut self.last_sent, pid, message.clone())
                        }
                    }
                }
                self.vm.resume(answer, message);
            }
            Effect::SelfPid => self.vm.resume(answer, Value::Pid(self.pid())),
            Effect::Call {
                subject,
                payload,
                options,
                wait,
            } => {
                let policy = match Policy::from_options(&options) {
                    Ok(policy) => policy,
                    Err(error) => return self.throw(answer, error),
                };
                let body = match crate::bus::encode_payload(&payload) {
                    Ok(body) => body,
                    Err(error) => return self.throw(answer, error),
                };
                let bus = self.shared.bus.clone();
                let mut context = call::CallContext {
                    telemetry: self.shared.telemetry.clone().map(|t| (t, self.pid())),
                    ..Default::default()
                };
                if let Some(tenant) = &self.shared.quotas.tenant {
                    context.tenant = Some(tenant.clone());
                    context.permits = self.shared.quotas.call_permits();
                    if wait {
                        // What `inspect` shows of the call it waits on.
                        let attempt = Arc::new(std::sync::atomic::AtomicU32::new(0));
                        context.attempt = Some(attempt.clone());
                        self.seldom().calls.waiting_on = Some(super::CallInfo {
                            subject: subject.clone(),
                            deadline_ms: call::deadline_ms(&policy),
                            attempt,
                        });
                    }
                }
                let call_id = call::new_call_id();
                if wait && self.durable_slot().is_some() {
                    // Saved before the first attempt is sent: restored, the
                    // process makes the call again with the same id.
                    let deadline_ms = call::deadline_ms(&policy);
                    context.deadline_ms = Some(deadline_ms);
                    let parked = durable::Parked::Call {
                        subject: &subject,
                        payload: &payload,
                        options: &options,
                        id: &call_id,
                        deadline_ms,
                    };
                    if let Some(save) = self.save(parked, deadline_ms) {
                        let call = call::run(bus, subject, payload, body, policy, call_id, context);
                        let saved_then_called = async move {
                            save.await?;
                            call.await
                        };
                        self.wait_for(Box::pin(saved_then_called), answer);
                        return None;
                    }
                }
                let call = call::run(bus, subject, payload, body, policy, call_id, context);
                let promise = self.shared.new_ref();
                if wait {
                    self.shared
                        .call_sender
                        .send(self.handle.clone(), promise, Box::pin(call));
                    let seldom = self.seldom();
                    seldom.calls.promise = promise;
                    seldom.timers.until = None;
                    self.waiting = Some(Wait::Reply(answer));
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
                self.seldom()
                    .calls
                    .in_flight
                    .push((promise, task.abort_handle()));
                self.vm.resume(answer, Value::Ref(promise));
            }
            Effect::Await {
                promise,
                timeout_ms,
            } => {
                let replied = |process: &Process| {
                    process
                        .seldom
                        .as_ref()
                        .is_some_and(|m| m.calls.replies.iter().any(|(p, _)| *p == promise))
                };
                let known = replied(self)
                    || self
                        .seldom
                        .as_ref()
                        .is_some_and(|m| m.calls.in_flight.iter().any(|(p, _)| *p == promise));
                if !known {
                    if let Some(exit) = self.take_signals() {
                        return Some(exit);
                    }
                }
                let known = known || replied(self);
                if !known {
                    return self.throw(answer, RuntimeError::new(
                        "calf/illegal-argument",
                        "await: not a pending promise of this process (a promise is awaited once, by the process that made it)",
                    ));
                }
                let seldom = self.seldom();
                seldom.calls.promise = promise;
                seldom.timers.until =
                    timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
                self.waiting = Some(Wait::Reply(answer));
            }
            Effect::Serve { subject, handler } => {
                let loop_fn = self
                    .job
                    .globals
                    .core()
                    .lookup(Sym::new("-serve-loop"))
                    .and_then(|v| v.get());
                let Some(loop_fn) = loop_fn else {
                    return self.throw(
                        answer,
                        RuntimeError::new("calf/internal", "the core library has no -serve-loop"),
                    );
                };
                let pid =
                    match self
                        .shared
                        .spawn(&self.job, Vm::call(loop_fn, vec![handler]), |_| {})
                    {
                        Ok(pid) => pid,
                        Err(error) => return self.throw(answer, error),
                    };
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
                let seldom = self.seldom();
                seldom.calls.in_flight.push((promise, task.abort_handle()));
                seldom.calls.promise = promise;
                seldom.timers.until = None;
                self.waiting = Some(Wait::Reply(answer));
            }
            Effect::Reply { request, result } => {
                self.shared.reply(request, &result);
                self.vm.resume(answer, Value::Nil);
            }
            Effect::Require(require) => {
                let loading = self.suspend_for_loading(answer, Some(require));
                let step = self.continue_require(loading, 0);
                return self.after_loading_step(step);
            }
            Effect::LoadFile { path } => {
                let loading = self.suspend_for_loading(answer, None);
                let step = self.load_file(loading, &path);
                return self.after_loading_step(step);
            }
            Effect::Eval(form) => {
                let loading = self.suspend_for_loading(answer, None);
                let step = self.eval_form(loading, form);
                return self.after_loading_step(step);
            }
            Effect::LoadString(text) => {
                let loading = self.suspend_for_loading(answer, None);
                let step = self.load_string(loading, &text);
                return self.after_loading_step(step);
            }
            Effect::Macroexpand { form, all } => match self.macroexpand(form, all) {
                Ok(expanded) => self.vm.resume(answer, expanded),
                Err(error) => return self.throw(answer, error),
            },
            Effect::Namespace(op) => {
                let current = self.current_ns();
                match calf_lang::reflection::answer(op, &self.job.globals, current) {
                    Ok(value) => self.vm.resume(answer, value),
                    Err(error) => return self.throw(answer, error),
                }
            }
            Effect::Process(op) => return self.process_request(op, answer),
            // The VM answers these itself; here only for completeness.
            Effect::Dynamic(op) => match self.vm.perform_dynamic(op) {
                Ok(value) => self.vm.resume(answer, value),
                Err(error) => return self.throw(answer, error),
            },
        }
        None
    }

    /// A `receive` with no message to hand out while the VM ran: it waits
    /// for one (see `try_resume`).
    pub(super) fn receive(&mut self, restart: bool, timeout_ms: Option<u64>, answer: Received) {
        if restart {
            start_receive(&mut self.cursor, &mut self.seldom, timeout_ms);
        }
        self.waiting = Some(Wait::Message(answer));
        if self.mailbox.get(self.cursor as usize).is_none() && self.durable_slot().is_some() {
            self.save_in_background();
        }
    }

    /// Parks the VM until `future` gives its answer (or the error to
    /// throw), polled as a `call` is.
    pub(super) fn wait_for(&mut self, future: crate::call_sender::Call, answer: Resume) {
        let promise = self.shared.new_ref();
        self.shared
            .call_sender
            .send(self.handle.clone(), promise, future);
        let seldom = self.seldom();
        seldom.calls.promise = promise;
        seldom.timers.until = None;
        self.waiting = Some(Wait::Reply(answer));
    }

    /// Throws `error` at the effect's call site.
    pub(super) fn throw(&mut self, answer: Resume, error: RuntimeError) -> Option<Exit> {
        self.throw_value(answer, error.into_value())
    }

    pub(super) fn throw_value(&mut self, answer: Resume, error: Value) -> Option<Exit> {
        match self.vm.resume_throw(answer, error) {
            Some(Outcome::Error(thrown)) => {
                Some((thrown.value.clone(), Some(Failure::Thrown(thrown))))
            }
            _ => None,
        }
    }

    /// Resumes the VM if what it waits for is there; else says until when
    /// to park (`None`: until a signal arrives).
    /// Gives the wait back, with the deadline, when it must go on.
    pub(super) fn try_resume(
        &mut self,
        wait: Wait,
        cx: &mut Context<'_>,
    ) -> Result<Option<Exit>, (Wait, Option<Instant>)> {
        let until = self.seldom.as_ref().and_then(|m| m.timers.until);
        match wait {
            Wait::Start => Ok(self.advance(Value::Nil)),
            Wait::Message(answer) => {
                let deadline = self.seldom.as_ref().and_then(|m| m.timers.receive_deadline);
                if let Some(message) = self.mailbox.get(self.cursor as usize) {
                    self.vm.resume_received(answer, Some(message));
                    self.cursor += 1;
                    Ok(None)
                } else if deadline.is_some_and(|d| Instant::now() >= d) {
                    self.vm.resume_received(answer, None);
                    Ok(None)
                } else {
                    Err((Wait::Message(answer), deadline))
                }
            }
            Wait::Sleep(answer) => match until {
                Some(at) if Instant::now() < at => Err((Wait::Sleep(answer), Some(at))),
                _ => {
                    self.vm.resume(answer, Value::Nil);
                    Ok(None)
                }
            },
            Wait::Input => loop {
                if !self
                    .seldom
                    .as_mut()
                    .and_then(|m| m.forms.frames.last_mut())
                    .is_some_and(|f| f.program.next_line())
                {
                    return Err((Wait::Input, None));
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
            Wait::Reply(answer) => {
                let seldom = self.seldom();
                let promise = seldom.calls.promise;
                let polled = match &mut seldom.calls.call {
                    Some(call) => match call.as_mut().poll(cx) {
                        Poll::Ready(result) => {
                            seldom.calls.call = None;
                            Some(result)
                        }
                        Poll::Pending => None,
                    },
                    None => None,
                };
                let replied = || {
                    let i = seldom
                        .calls
                        .replies
                        .iter()
                        .position(|(p, _)| *p == promise)?;
                    Some(seldom.calls.replies.swap_remove(i).1)
                };
                if let Some(result) = polled.or_else(replied) {
                    return Ok(match result {
                        Ok(value) => {
                            self.vm.resume(answer, value);
                            None
                        }
                        Err(error) => self.throw_value(answer, error),
                    });
                }
                if until.is_some_and(|d| Instant::now() >= d) {
                    let error = RuntimeError::new(
                        "calf/timeout",
                        "await: the promise was not fulfilled in time (the call goes on; await it again to wait longer)",
                    );
                    return Ok(self.throw(answer, error));
                }
                Err((Wait::Reply(answer), until))
            }
        }
    }
}
