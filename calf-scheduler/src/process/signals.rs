//! Signals between processes, as a process takes them between two
//! slices (messages, exit signals, links, monitors), and what its end
//! tells the others.

use super::*;

/// The exit reason of a process that threw `thrown`: an error map as it
/// is; any other value wrapped in one (`:type :calf/throw`, `:value`), so
/// that `(throw :normal)` is not mistaken for a normal exit.
pub(super) fn exit_reason_of(thrown: &Value) -> Value {
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

/// The message a monitor of `pid` gets when it ends with `reason`.
pub(crate) fn down_message(reference: u64, pid: Pid, reason: Value) -> Value {
    Value::vector([
        keyword("DOWN"),
        Value::Ref(reference),
        Value::Pid(pid),
        reason,
    ])
}

pub(super) fn is_down_for(message: &Value, reference: u64) -> bool {
    match message.as_seq() {
        Some(items) if items.len() == 4 => {
            matches!(&items[0], Value::Keyword(k) if k.name() == "DOWN")
                && items[1] == Value::Ref(reference)
        }
        _ => false,
    }
}

impl Process {
    /// Takes pending signals; returns the exit one of them causes.
    #[must_use = "a signal taken may have ended this process"]
    pub(super) fn take_signals(&mut self) -> Option<Exit> {
        let mut signals = self.handle.take_all();
        if let Some(seldom) = &mut self.seldom {
            if !seldom.signals.is_empty() {
                let mut earlier = std::mem::take(&mut seldom.signals);
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
                    self.seldom().signals = signals;
                }
                return Some(exit);
            }
        }
        None
    }

    /// Puts `message` in the mailbox; the exit a full mailbox causes.
    #[inline]
    fn take_message(&mut self, message: Value) -> Option<Exit> {
        let limit = self.shared.quotas.max_mailbox();
        if self.mailbox.len() >= limit {
            let what = format!(
                "the mailbox of {} holds more than {limit} messages (is a receive missing a clause?)",
                self.pid()
            );
            let error = match self.shared.quotas.tenant {
                Some(_) => self.shared.quotas.exceeded("max-mailbox", limit, &what),
                None => RuntimeError::new("calf/mailbox-overflow", what),
            };
            let value = error.into_value();
            let failure = Failure::Thrown(calf_lang::vm::Thrown {
                value: value.clone(),
                trace: self.vm.trace(),
            });
            return Some((value, Some(failure)));
        }
        self.mailbox.push_back(message);
        None
    }

    /// Handles one signal; returns the exit it causes.
    pub(super) fn take_signal(&mut self, signal: Signal) -> Option<Exit> {
        match signal {
            Signal::Message(message) => return self.take_message(message),
            Signal::Inbox(stored) => {
                let (seq, message) = *stored;
                let slot = self.durable_slot()?;
                // A message it has already: fetched twice across a restore.
                if !slot.took_from_inbox(seq) {
                    return None;
                }
                return self.take_message(message);
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
                    self.seldom().ties.links.retain(|p| *p != from);
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
                    self.seldom().ties.links.push(pid);
                }
            }
            Signal::Unlink(pid) => {
                if let Some(seldom) = &mut self.seldom {
                    seldom.ties.links.retain(|p| *p != pid);
                }
            }
            Signal::Monitor { watcher, reference } => {
                self.seldom().ties.watchers.push((reference, watcher));
            }
            Signal::Demonitor { reference } => {
                if let Some(seldom) = &mut self.seldom {
                    seldom.ties.watchers.retain(|(r, _)| *r != reference);
                }
            }
            Signal::CallSent(sent) => {
                // A call given back after the process stopped waiting for
                // it (a REPL line interrupted) is dropped, which stops it.
                let waiting = matches!(self.waiting, Some(Wait::Reply(_)));
                let seldom = self.seldom();
                if waiting && seldom.calls.promise == sent.promise {
                    seldom.calls.call = Some(sent.call);
                }
            }
            Signal::CallDone { promise, result } => {
                let seldom = self.seldom();
                seldom.calls.in_flight.retain(|(p, _)| *p != promise);
                seldom.calls.replies.push((promise, *result));
            }
            Signal::Input(forms) => {
                if let Some((_, lines)) = self
                    .seldom
                    .as_mut()
                    .and_then(|m| m.forms.frames.first_mut())
                    .and_then(|f| f.program.repl.as_mut())
                {
                    lines.push_back(*forms);
                }
            }
            Signal::Inspect(reply) => {
                let _ = reply.send(self.describe());
            }
            Signal::NodeDown(node) => return self.node_down(node),
            Signal::Interrupt => {
                if self.is_interactive() && !matches!(self.waiting, Some(Wait::Input)) {
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

    /// Node `node` of the cluster is gone: a link to one of its processes
    /// breaks with `:noconnection`, a monitor of one fires with it, and
    /// its processes watching this one are forgotten.
    fn node_down(&mut self, node: u32) -> Option<Exit> {
        let on_node = |pid: &Pid| pid.node() == Some(node);
        let seldom = self.seldom.as_mut()?;
        let links: Vec<Pid> = seldom.ties.links.iter().copied().filter(on_node).collect();
        let (fired, kept) = std::mem::take(&mut seldom.ties.watching)
            .into_iter()
            .partition(|(_, pid)| on_node(pid));
        seldom.ties.watching = kept;
        seldom.ties.watchers.retain(|(_, pid)| !on_node(pid));
        let fired: Vec<(u64, Pid)> = fired;
        for (reference, pid) in fired {
            let down = down_message(reference, pid, keyword("noconnection"));
            if let Some(exit) = self.take_message(down) {
                return Some(exit);
            }
        }
        for from in links {
            let exit = Signal::Exit(Box::new(ExitSignal {
                from,
                reason: keyword("noconnection"),
                link_broken: true,
            }));
            if let Some(exit) = self.take_signal(exit) {
                return Some(exit);
            }
        }
        None
    }

    /// Frees the process, reports a crash, and tells links and monitors.
    pub(super) fn finish(&mut self, reason: Value, failure: Option<Failure>) {
        let pid = self.pid();
        self.shared.remove(pid);
        if self.durable_slot().is_some() {
            self.shared.inboxes.close(pid);
        }
        // Its copy taken over by another scheduler runs on, and one
        // stopped with its runtime goes on at the next: the store keeps
        // them.
        if !is_fenced(&reason) && !self.shared.is_leaving() {
            self.forget_saved();
        } else if self.durable_slot().is_some() {
            self.shared.durable_ended();
        }
        self.shared.bus.unserve(pid);
        if let Some(seldom) = &self.seldom {
            for (_, call) in &seldom.calls.in_flight {
                call.abort();
            }
        }
        // Signals taken with the one that ended it, and those still in the
        // inbox: links and monitors among them must hear of the exit.
        let mut pending = match &mut self.seldom {
            Some(seldom) => std::mem::take(&mut seldom.signals),
            None => Queue::default(),
        };
        pending.append(self.handle.close());
        for signal in pending {
            match signal {
                Signal::Link(other) if !self.links().contains(&other) => {
                    self.seldom().ties.links.push(other);
                }
                Signal::Monitor { watcher, reference } => {
                    self.seldom().ties.watchers.push((reference, watcher));
                }
                _ => {}
            }
        }
        let none = Seldom::default();
        let seldom = self.seldom.take();
        let seldom = seldom.as_deref().unwrap_or(&none);
        // The crash report comes before the exit signals, so that whoever
        // hears of this exit finds the report already written.
        if let (false, Some(failure)) = (seldom.forms.main, &failure) {
            let supervised = seldom
                .ties
                .links
                .iter()
                .any(|pid| self.shared.handle(*pid).is_some_and(|h| h.traps_exits()));
            if !supervised {
                self.shared.report_crash(&self.job, pid, failure);
            }
        }
        for link in &seldom.ties.links {
            let exit = Signal::Exit(Box::new(ExitSignal {
                from: pid,
                reason: reason.clone(),
                link_broken: true,
            }));
            let _ = self.shared.signal(*link, exit);
        }
        for (reference, watcher) in &seldom.ties.watchers {
            let down = down_message(*reference, pid, reason.clone());
            let _ = self.shared.signal(*watcher, Signal::Message(down));
        }
        match (seldom.forms.main, failure) {
            (true, Some(failure)) => self.shared.end_job(&self.job, Ending::Failed(failure)),
            // Ended by an exit signal: the program failed with its reason.
            (true, None) if !matches!(&reason, Value::Keyword(k) if k.name() == "normal") => {
                let thrown = Thrown {
                    value: reason,
                    trace: Vec::new(),
                };
                self.shared
                    .end_job(&self.job, Ending::Failed(Failure::Thrown(thrown)))
            }
            (true, None) => self.shared.end_job(&self.job, Ending::Returned(Value::Nil)),
            _ => {}
        }
    }
}

/// Whether a process ended because another scheduler took it over.
fn is_fenced(reason: &Value) -> bool {
    let Value::Map(map) = reason else {
        return false;
    };
    let data = map.get(&Value::keyword("data"));
    matches!(
        data.and_then(|d| match d {
            Value::Map(d) => d.get(&Value::keyword("type")).cloned(),
            _ => None,
        }),
        Some(Value::Keyword(k)) if k.name() == "calf/fenced"
    )
}
