//! The process requests of `Effect::Process`: link, monitor, exit,
//! trap-exit, the name registry, and the like.

use calf_lang::vm::Dest;

use super::*;

impl Process {
    pub(super) fn process_request(&mut self, op: ProcessOp, answer: Resume) -> Option<Exit> {
        let value = match op {
            ProcessOp::Link(other) => {
                if other != self.pid() && !self.links().contains(&other) {
                    let delivered = self
                        .shared
                        .handle(other)
                        .map(|h| h.push(Signal::Link(self.pid())).is_ok());
                    if delivered == Some(true) {
                        self.seldom().ties.links.push(other);
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
            ProcessOp::Unlink(other) => {
                if let Some(seldom) = &mut self.seldom {
                    seldom.ties.links.retain(|p| *p != other);
                }
                if let Some(h) = self.shared.handle(other) {
                    let _ = h.push(Signal::Unlink(self.pid()));
                }
                Value::Bool(true)
            }
            ProcessOp::Monitor(dest) => {
                let reference = self.shared.new_ref();
                let target = match dest {
                    Dest::Name(name) => self.shared.whereis(name),
                    Dest::Pid(pid) => Some(pid),
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
                match (delivered, target) {
                    (true, Some(pid)) => self.seldom().ties.watching.push((reference, pid)),
                    _ => self.mailbox.push_back(Value::vector([
                        keyword("DOWN"),
                        Value::Ref(reference),
                        dest.to_value(),
                        keyword("noproc"),
                    ])),
                }
                Value::Ref(reference)
            }
            ProcessOp::Demonitor(reference) => {
                let watching = self.seldom.as_mut().and_then(|m| {
                    let i = m.ties.watching.iter().position(|(r, _)| *r == reference)?;
                    Some(m.ties.watching.remove(i))
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
            ProcessOp::ExitSelf(reason) => return Some((reason, None)),
            ProcessOp::Exit { pid, reason } => {
                if let Some(h) = self.shared.handle(pid) {
                    let _ = h.push(Signal::Exit(Box::new(ExitSignal {
                        from: self.pid(),
                        reason,
                        link_broken: false,
                    })));
                }
                Value::Bool(true)
            }
            ProcessOp::TrapExit(on) => {
                Value::Bool(self.handle.trap_exit.swap(on, Ordering::AcqRel))
            }
            ProcessOp::Register { name, pid } => {
                if !self.shared.is_alive(pid) {
                    return self.throw(
                        answer,
                        RuntimeError::new(
                            "calf/noproc",
                            format!("register!: #pid<{}> is not alive", pid.0),
                        ),
                    );
                }
                if let Err(holder) = self.shared.register(name, pid) {
                    return self.throw(
                        answer,
                        RuntimeError::new(
                            "calf/already-registered",
                            format!(
                                "register!: :{name} is already registered to #pid<{}>",
                                holder.0
                            ),
                        ),
                    );
                }
                Value::Bool(true)
            }
            ProcessOp::Unregister(name) => Value::Bool(self.shared.unregister(name)),
            ProcessOp::Whereis(name) => self.shared.whereis(name).map_or(Value::Nil, Value::Pid),
            ProcessOp::Alive(pid) => Value::Bool(self.shared.is_alive(pid)),
            ProcessOp::Processes => Value::vector(self.shared.pids().into_iter().map(Value::Pid)),
            ProcessOp::MakeRef => Value::Ref(self.shared.new_ref()),
        };
        self.vm.resume(answer, value);
        None
    }
}
