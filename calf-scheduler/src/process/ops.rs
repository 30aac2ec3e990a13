//! The process requests of `Effect::Process`: link, monitor, exit,
//! trap-exit, the name registry, and the like.

use super::*;

impl Process {
    pub(super) fn process_request(&mut self, op: ProcessOp, args: Vec<Value>) -> Option<Exit> {
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
            ProcessOp::Unlink => {
                let other = pid_at(0)?;
                if let Some(seldom) = &mut self.seldom {
                    seldom.ties.links.retain(|p| *p != other);
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
                    self.seldom().ties.watching.push((reference, target?));
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
}
