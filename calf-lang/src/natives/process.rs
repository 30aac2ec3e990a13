//! The process primitives. Each returns an effect: spawning, sending and
//! the rest are done by the scheduler, which resumes the process with the
//! answer (a pid, a ref, a boolean ...).

use crate::error::RuntimeError;
use crate::value::{Pid, Sym, Value};
use crate::vm::{Dest, Effect, ProcessOp};

fn function_arg(name: &str, args: &[Value], i: usize) -> Result<Value, RuntimeError> {
    match &args[i] {
        f @ (Value::Fn(_)
        | Value::Native(_)
        | Value::Keyword(_)
        | Value::Map(_)
        | Value::Set(_)
        | Value::Vector(_)) => Ok(f.clone()),
        other => Err(RuntimeError::wrong_type(name, i + 1, "a function", other)),
    }
}

fn spawn_with(
    name: &str,
    args: &[Value],
    link: bool,
    monitor: bool,
) -> Result<Effect, RuntimeError> {
    Ok(Effect::Spawn {
        function: function_arg(name, args, 0)?,
        args: args[1..].to_vec(),
        link,
        monitor,
        durable: false,
    })
}

/// A durable spawn: the same, saved whenever the new process parks.
fn durably(effect: Effect) -> Effect {
    match effect {
        Effect::Spawn {
            function,
            args,
            link,
            monitor,
            ..
        } => Effect::Spawn {
            function,
            args,
            link,
            monitor,
            durable: true,
        },
        other => other,
    }
}

fn spawn_durable(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_with("spawn-durable", args, false, false).map(durably)
}

fn spawn_durable_link(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_with("spawn-durable-link", args, true, false).map(durably)
}

fn spawn(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_with("spawn", args, false, false)
}

fn spawn_link(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_with("spawn-link", args, true, false)
}

fn spawn_monitor(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_with("spawn-monitor", args, false, true)
}

fn send(args: &[Value]) -> Result<Effect, RuntimeError> {
    send_effect(args[0].clone(), args[1].clone())
}

/// The effect of `(send to message)`; also the VM's `Send` instruction's.
pub(crate) fn send_effect(to: Value, message: Value) -> Result<Effect, RuntimeError> {
    match to {
        Value::Pid(_) | Value::Keyword(_) => Ok(Effect::Send { to, message }),
        other => Err(RuntimeError::wrong_type(
            "send",
            1,
            "a pid or a registered name",
            &other,
        )),
    }
}

fn self_pid(_: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::SelfPid)
}

fn pid_arg(name: &str, args: &[Value], i: usize) -> Result<Pid, RuntimeError> {
    match &args[i] {
        Value::Pid(pid) => Ok(*pid),
        other => Err(RuntimeError::wrong_type(name, i + 1, "a pid", other)),
    }
}

fn name_arg(name: &str, args: &[Value], i: usize) -> Result<Sym, RuntimeError> {
    match &args[i] {
        Value::Keyword(k) => Ok(*k),
        other => Err(RuntimeError::wrong_type(name, i + 1, "a keyword", other)),
    }
}

fn request(op: ProcessOp) -> Result<Effect, RuntimeError> {
    Ok(Effect::Process(op))
}

fn link(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Link(pid_arg("link", args, 0)?))
}

fn unlink(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Unlink(pid_arg("unlink", args, 0)?))
}

fn monitor(args: &[Value]) -> Result<Effect, RuntimeError> {
    let target = match &args[0] {
        Value::Pid(pid) => Dest::Pid(*pid),
        Value::Keyword(name) => Dest::Name(*name),
        other => {
            return Err(RuntimeError::wrong_type(
                "monitor",
                1,
                "a pid or a registered name",
                other,
            ))
        }
    };
    request(ProcessOp::Monitor(target))
}

fn demonitor(args: &[Value]) -> Result<Effect, RuntimeError> {
    match &args[0] {
        Value::Ref(reference) => request(ProcessOp::Demonitor(*reference)),
        other => Err(RuntimeError::wrong_type("demonitor", 1, "a ref", other)),
    }
}

fn exit(args: &[Value]) -> Result<Effect, RuntimeError> {
    match args {
        [reason] => request(ProcessOp::ExitSelf(reason.clone())),
        [_, reason] => request(ProcessOp::Exit {
            pid: pid_arg("exit", args, 0)?,
            reason: reason.clone(),
        }),
        _ => Err(RuntimeError::new(
            "calf/arity-error",
            format!("exit takes 1 or 2 arguments, given {}", args.len()),
        )),
    }
}

fn trap_exit(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::TrapExit(
        args.first().is_some_and(Value::is_truthy),
    ))
}

fn register(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Register {
        name: name_arg("register!", args, 0)?,
        pid: pid_arg("register!", args, 1)?,
    })
}

fn unregister(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Unregister(name_arg("unregister!", args, 0)?))
}

fn whereis(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Whereis(name_arg("whereis", args, 0)?))
}

fn alive(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Alive(pid_arg("alive?", args, 0)?))
}

fn processes(_: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Processes)
}

fn make_ref(_: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::MakeRef)
}

/// A node's name: a string, or a keyword for those who prefer them.
fn node_arg(name: &str, args: &[Value], i: usize) -> Result<String, RuntimeError> {
    match &args[i] {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Keyword(k) => Ok(k.name().to_string()),
        other => Err(RuntimeError::wrong_type(name, i + 1, "a node name", other)),
    }
}

fn spawn_on_with(name: &str, args: &[Value], link: bool) -> Result<Effect, RuntimeError> {
    request(ProcessOp::SpawnOn {
        node: node_arg(name, args, 0)?,
        function: function_arg(name, args, 1)?,
        args: args[2..].to_vec(),
        link,
    })
}

fn spawn_on(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_on_with("spawn-on", args, false)
}

fn spawn_link_on(args: &[Value]) -> Result<Effect, RuntimeError> {
    spawn_on_with("spawn-link-on", args, true)
}

fn nodes(_: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::Nodes)
}

fn node(args: &[Value]) -> Result<Effect, RuntimeError> {
    let pid = match args.first() {
        Some(_) => Some(pid_arg("node", args, 0)?),
        None => None,
    };
    request(ProcessOp::NodeOf(pid))
}

fn register_global(args: &[Value]) -> Result<Effect, RuntimeError> {
    request(ProcessOp::RegisterGlobal {
        name: name_arg("register-global", args, 0)?,
        pid: pid_arg("register-global", args, 1)?,
    })
}

natives! {
    effect "spawn" "1.." spawn,
        "Starts a process running (apply f args); returns its pid.";
    effect "spawn-link" "1.." spawn_link,
        "Like spawn, and links the new process to this one.";
    effect "spawn-monitor" "1.." spawn_monitor,
        "Like spawn, and monitors it: returns [pid ref].";
    effect "spawn-durable" "1.." spawn_durable,
        "Like spawn, for a durable process: its state is saved whenever it parks (a call, a sleep, a receive that waits), and after a crash of its scheduler another one resumes it from the last save. Needs a durable store (calf --nats URL --durable NODE).";
    effect "spawn-durable-link" "1.." spawn_durable_link,
        "Like spawn-durable, and links the new process to this one.";
    effect "send" "2" send,
        "Sends msg to a pid or a registered name; returns msg. Sending to a dead pid does nothing.";
    effect "self" "0" self_pid,
        "Returns the pid of this process.";
    effect "link" "1" link,
        "Links this process to pid: when one exits abnormally, the other gets an exit signal.";
    effect "unlink" "1" unlink,
        "Removes the link between this process and pid.";
    effect "monitor" "1" monitor,
        "Monitors a process: when it exits, this one gets [:DOWN ref pid reason]. Returns ref.";
    effect "demonitor" "1" demonitor,
        "Stops the monitor made with ref.";
    effect "exit" "1..=2" exit,
        "(exit reason) ends this process; (exit pid reason) sends pid an exit signal (:kill cannot be trapped).";
    effect "trap-exit!" "1" trap_exit,
        "When true, exit signals arrive as [:EXIT pid reason] messages. Returns the previous setting.";
    effect "register!" "2" register,
        "Registers pid under a keyword name, for send and whereis.";
    effect "unregister!" "1" unregister,
        "Removes a registered name.";
    effect "whereis" "1" whereis,
        "Returns the pid registered under name, or nil.";
    effect "alive?" "1" alive,
        "True while the process runs.";
    effect "processes" "0" processes,
        "Returns the pids of the running processes.";
    effect "make-ref" "0" make_ref,
        "Returns a new unique reference.";
    effect "spawn-on" "2.." spawn_on,
        "Starts a process running (apply f args) on the named node of the cluster (see (nodes)); returns its pid. f's code and the namespaces it uses go with it.";
    effect "spawn-link-on" "2.." spawn_link_on,
        "Like spawn-on, and links the new process to this one.";
    effect "nodes" "0" nodes,
        "Returns the names of the other live nodes of the cluster, sorted; [] outside a cluster.";
    effect "node" "0..=1" node,
        "(node) returns this node's name, nil outside a cluster; (node pid) the name of the node pid runs on.";
    effect "register-global" "2" register_global,
        "Registers pid under a keyword name unique across the cluster; whereis finds it from every node. Freed when the process ends or its node is gone.";
}
