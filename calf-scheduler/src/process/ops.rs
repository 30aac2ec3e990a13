//! The process requests of `Effect::Process`: link, monitor, exit,
//! trap-exit, the name registry, and the like.

use calf_lang::vm::Dest;

use crate::cluster::names::NotRegistered;

use super::*;

impl Process {
    pub(super) fn process_request(&mut self, op: ProcessOp, answer: Resume) -> Option<Exit> {
        let value = match op {
            ProcessOp::Link(other) => {
                if other != self.pid() && !self.links().contains(&other) {
                    if self.shared.signal(other, Signal::Link(self.pid())).is_ok() {
                        self.seldom().ties.links.push(other);
                    } else {
                        let reason = keyword(self.unreachable(other));
                        if self.handle.traps_exits() {
                            self.mailbox.push_back(Value::vector([
                                keyword("EXIT"),
                                Value::Pid(other),
                                reason,
                            ]));
                        } else {
                            return Some((reason, None));
                        }
                    }
                }
                Value::Bool(true)
            }
            ProcessOp::Unlink(other) => {
                if let Some(seldom) = &mut self.seldom {
                    seldom.ties.links.retain(|p| *p != other);
                }
                let _ = self.shared.signal(other, Signal::Unlink(self.pid()));
                Value::Bool(true)
            }
            ProcessOp::Monitor(dest) => {
                let reference = self.shared.new_ref();
                let target = match dest {
                    Dest::Name(name) => self.shared.whereis(name),
                    Dest::Pid(pid) => Some(pid),
                };
                let watcher = self.pid();
                let delivered = target.map(|pid| {
                    let monitor = Signal::Monitor { watcher, reference };
                    self.shared.signal(pid, monitor).is_ok()
                });
                match (delivered, target) {
                    (Some(true), Some(pid)) => self.seldom().ties.watching.push((reference, pid)),
                    _ => {
                        let reason = target.map_or("noproc", |pid| self.unreachable(pid));
                        self.mailbox.push_back(Value::vector([
                            keyword("DOWN"),
                            Value::Ref(reference),
                            dest.to_value(),
                            keyword(reason),
                        ]))
                    }
                }
                Value::Ref(reference)
            }
            ProcessOp::Demonitor(reference) => {
                let watching = self.seldom.as_mut().and_then(|m| {
                    let i = m.ties.watching.iter().position(|(r, _)| *r == reference)?;
                    Some(m.ties.watching.remove(i))
                });
                if let Some((_, pid)) = watching {
                    let _ = self.shared.signal(pid, Signal::Demonitor { reference });
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
                let exit = Signal::Exit(Box::new(ExitSignal {
                    from: self.pid(),
                    reason,
                    link_broken: false,
                }));
                let _ = self.shared.signal(pid, exit);
                Value::Bool(true)
            }
            ProcessOp::TrapExit(on) => {
                Value::Bool(self.handle.trap_exit.swap(on, Ordering::AcqRel))
            }
            ProcessOp::Register { name, pid } => {
                if !self.shared.is_alive(pid) {
                    return self.throw(
                        answer,
                        RuntimeError::new("calf/noproc", format!("register!: {pid} is not alive")),
                    );
                }
                if let Err(holder) = self.shared.register(name, pid) {
                    return self.throw(
                        answer,
                        RuntimeError::new(
                            "calf/already-registered",
                            format!("register!: :{name} is already registered to {holder}",),
                        ),
                    );
                }
                Value::Bool(true)
            }
            ProcessOp::Unregister(name) => Value::Bool(self.shared.unregister(name)),
            ProcessOp::Whereis(name) => match (self.shared.whereis(name), &self.shared.cluster) {
                (Some(pid), _) => Value::Pid(pid),
                (None, None) => Value::Nil,
                (None, Some(cluster)) => {
                    let cluster = cluster.clone();
                    let global = async move {
                        let holder = cluster.names().whereis(name).await;
                        let holder = holder.map_err(|e| store_error(&e))?;
                        // A holder on a node gone is no one.
                        let gone = |pid: Pid| cluster.membership().is_gone(pid.node().unwrap_or(0));
                        Ok(holder.filter(|p| !gone(*p)).map_or(Value::Nil, Value::Pid))
                    };
                    self.wait_for(Box::pin(global), answer);
                    return None;
                }
            },
            ProcessOp::Alive(pid) => match self.shared.remote(pid) {
                None => Value::Bool(self.shared.is_alive(pid)),
                Some(_) => {
                    let shared = self.shared.clone();
                    let asked = async move {
                        let cluster = shared.cluster.clone().expect("a remote pid");
                        Ok(Value::Bool(cluster.is_alive(&shared, pid).await))
                    };
                    self.wait_for(Box::pin(asked), answer);
                    return None;
                }
            },
            ProcessOp::Processes => Value::vector(self.shared.pids().into_iter().map(Value::Pid)),
            ProcessOp::MakeRef => Value::Ref(self.shared.new_ref()),
            ProcessOp::SpawnOn {
                node,
                function,
                args,
                link,
            } => return self.spawn_on(node, function, args, link, answer),
            ProcessOp::Nodes => {
                let nodes = match &self.shared.cluster {
                    Some(cluster) => cluster.membership().alive(),
                    None => Vec::new(),
                };
                let me = self.shared.cluster.as_ref().map(|c| c.node().to_string());
                Value::vector(
                    nodes
                        .into_iter()
                        .filter(|n| Some(n) != me.as_ref())
                        .map(|n| Value::str(n.as_str())),
                )
            }
            ProcessOp::NodeOf(pid) => {
                let name = self.shared.cluster.as_ref().and_then(|cluster| match pid {
                    None => Some(cluster.node().to_string()),
                    Some(pid) if self.shared.is_alive(pid) => Some(cluster.node().to_string()),
                    Some(pid) => cluster.membership().name_of(pid.node()?),
                });
                name.map_or(Value::Nil, |n| Value::str(n.as_str()))
            }
            ProcessOp::RegisterGlobal { name, pid } => {
                return self.register_global(name, pid, answer)
            }
        };
        self.vm.resume(answer, value);
        None
    }
}

/// The error of a global name the store could not read or write.
fn store_error(error: &crate::durable::StoreError) -> Value {
    RuntimeError::new("calf/store-unavailable", error.to_string()).into_value()
}

impl Process {
    /// Why `pid` cannot be reached: `noconnection` when it is on a node
    /// gone, `noproc` when it has ended.
    fn unreachable(&self, pid: Pid) -> &'static str {
        match self.shared.remote(pid) {
            Some(_) => "noconnection",
            None => "noproc",
        }
    }

    fn spawn_on(
        &mut self,
        node: String,
        function: Value,
        args: Vec<Value>,
        link: bool,
        answer: Resume,
    ) -> Option<Exit> {
        let Some(cluster) = self.shared.cluster.clone() else {
            return self.throw(
                answer,
                RuntimeError::new(
                    "calf/no-cluster",
                    "spawn-on needs a cluster: run calf serve --durable NODE on each machine, \
                     all on one NATS (docs/cluster.md)",
                ),
            );
        };
        let Some(index) = cluster.membership().index_of(&node) else {
            let alive = cluster.membership().alive().join(", ");
            return self.throw(
                answer,
                RuntimeError::new(
                    "calf/no-node",
                    format!("spawn-on: no live node is named {node:?}; the live ones are {alive}"),
                )
                .with("node", Value::str(node.as_str())),
            );
        };
        let me = self.pid();
        if index == cluster.index() {
            let spawned = self
                .shared
                .spawn(&self.job, Vm::call(function, args), |child| {
                    if link {
                        child.link_to(me);
                    }
                });
            return match spawned {
                Ok(pid) => {
                    if link {
                        self.seldom().ties.links.push(pid);
                    }
                    self.vm.resume(answer, Value::Pid(pid));
                    None
                }
                Err(error) => self.throw(answer, error),
            };
        }
        let spawning =
            match crate::cluster::spawn::prepare(&cluster, &self.job, function, args, me, link) {
                Ok(spawning) => spawning,
                Err(e) => {
                    return self.throw(
                        answer,
                        RuntimeError::new(
                            "calf/snapshot",
                            format!("spawn-on: the process cannot go to another node: {e}"),
                        ),
                    )
                }
            };
        // The new process's link to this one comes as a signal from its
        // node, before any exit of it can.
        let started = async move {
            match spawning.start(&cluster, index).await {
                Ok(pid) => Ok(Value::Pid(pid)),
                Err(why) => Err(RuntimeError::new(
                    "calf/spawn-failed",
                    format!("spawn-on {node}: {why}"),
                )
                .into_value()),
            }
        };
        self.wait_for(Box::pin(started), answer);
        None
    }

    fn register_global(&mut self, name: Sym, pid: Pid, answer: Resume) -> Option<Exit> {
        let Some(cluster) = self.shared.cluster.clone() else {
            return self.throw(
                answer,
                RuntimeError::new(
                    "calf/no-cluster",
                    "register-global needs a cluster: run calf serve --durable NODE \
                     (docs/cluster.md); register! names a process on this node",
                ),
            );
        };
        if !self.shared.is_alive(pid) {
            let why = match self.shared.remote(pid) {
                Some(_) => format!(
                    "register-global: {pid} runs on another node; register it there \
                     (a name is freed with its process by the process's node)"
                ),
                None => format!("register-global: {pid} is not alive"),
            };
            return self.throw(answer, RuntimeError::new("calf/noproc", why));
        }
        let shared = self.shared.clone();
        let registered = async move {
            let alive = |holder: Pid| {
                let (shared, cluster) = (shared.clone(), cluster.clone());
                async move { cluster.is_alive(&shared, holder).await }
            };
            match cluster.names().register(name, pid, alive).await {
                Ok(()) => Ok(Value::Bool(true)),
                Err(NotRegistered::Taken(holder)) => Err(RuntimeError::new(
                    "calf/already-registered",
                    format!("register-global: :{name} is already registered to {holder}"),
                )
                .into_value()),
                Err(NotRegistered::Store(e)) => Err(store_error(&e)),
            }
        };
        self.wait_for(Box::pin(registered), answer);
        None
    }
}
