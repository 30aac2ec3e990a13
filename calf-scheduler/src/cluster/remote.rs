//! Signals between nodes: how each crosses (a MessagePack array, with the
//! mapping of docs/protocol.md), and the task that takes a node's signals
//! off its subject and hands them to its processes.
//!
//! A body is `[kind to from payload flag]`:
//!
//! | kind | signal | payload | flag |
//! |---|---|---|---|
//! | 0 | a message | the message | - |
//! | 1 | link `to` to `from` | - | - |
//! | 2 | unlink | - | - |
//! | 3 | exit signal from `from` | the reason | whether a link broke |
//! | 4 | `from` monitors `to` | the monitor's ref | - |
//! | 5 | demonitor | the ref | - |
//!
//! A link or a monitor that reaches a process that has ended is answered
//! as Erlang does: an exit signal `:noproc` to the linker, a `DOWN` with
//! `:noproc` to the watcher.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use calf_lang::value::Pid;
use calf_lang::Value;
use futures_util::StreamExt;

use super::Cluster;
use crate::mailbox::{ExitSignal, Signal};
use crate::runtime::Shared;

const MESSAGE: i64 = 0;
const LINK: i64 = 1;
const UNLINK: i64 = 2;
const EXIT: i64 = 3;
const MONITOR: i64 = 4;
const DEMONITOR: i64 = 5;

fn body(kind: i64, to: Pid, from: Pid, payload: Value, flag: bool) -> Vec<Value> {
    vec![
        Value::Int(kind),
        Value::Pid(to),
        Value::Pid(from),
        payload,
        Value::Bool(flag),
    ]
}

fn write(items: Vec<Value>) -> Result<Bytes, String> {
    crate::wire::encode(&Value::vector(items)).map(Bytes::from)
}

/// A message to `to`, or why it cannot go to another node.
pub(super) fn encode_message(to: Pid, message: &Value) -> Result<Bytes, String> {
    write(body(MESSAGE, to, Pid(0), message.clone(), false))
}

/// The body of `signal` to `to`; `None` for a signal that never leaves
/// its node.
pub(super) fn encode(to: Pid, signal: &Signal) -> Option<Bytes> {
    let items = match signal {
        Signal::Message(message) => return encode_message(to, message).ok(),
        Signal::Link(from) => body(LINK, to, *from, Value::Nil, false),
        Signal::Unlink(from) => body(UNLINK, to, *from, Value::Nil, false),
        Signal::Exit(exit) => {
            // A reason that cannot cross (a function in it) crosses
            // printed: the link still breaks.
            let reason = match crate::wire::encode(&exit.reason) {
                Ok(_) => exit.reason.clone(),
                Err(_) => Value::str(calf_lang::value::print::pr_str(&exit.reason).as_str()),
            };
            body(EXIT, to, exit.from, reason, exit.link_broken)
        }
        Signal::Monitor { watcher, reference } => {
            body(MONITOR, to, *watcher, Value::Ref(*reference), false)
        }
        Signal::Demonitor { reference } => {
            body(DEMONITOR, to, Pid(0), Value::Ref(*reference), false)
        }
        _ => return None,
    };
    write(items).ok()
}

/// The process a body is for, and the signal.
fn decode(bytes: &[u8]) -> Result<(Pid, Signal), String> {
    let value = crate::wire::decode(bytes)?;
    let items: Vec<Value> = match &value {
        Value::Vector(v) | Value::List(v) => v.iter().cloned().collect(),
        _ => return Err("not an array".into()),
    };
    let [Value::Int(kind), Value::Pid(to), Value::Pid(from), payload, Value::Bool(flag)] =
        <[Value; 5]>::try_from(items).map_err(|_| "not five items".to_string())?
    else {
        return Err("items of the wrong kinds".into());
    };
    let reference = || match &payload {
        Value::Ref(r) => Ok(*r),
        _ => Err("no ref".to_string()),
    };
    let signal = match kind {
        MESSAGE => Signal::Message(payload.clone()),
        LINK => Signal::Link(from),
        UNLINK => Signal::Unlink(from),
        EXIT => Signal::Exit(Box::new(ExitSignal {
            from,
            reason: payload.clone(),
            link_broken: flag,
        })),
        MONITOR => Signal::Monitor {
            watcher: from,
            reference: reference()?,
        },
        DEMONITOR => Signal::Demonitor {
            reference: reference()?,
        },
        other => return Err(format!("unknown kind {other}")),
    };
    Ok((to, signal))
}

/// Hands `signal` to process `to` of this node; answers a link or a
/// monitor of a process that has ended.
fn deliver(shared: &Shared, cluster: &Cluster, to: Pid, signal: Signal) {
    let refused = match shared.handle(to) {
        Some(handle) => handle.push(signal).err(),
        None => Some(signal),
    };
    let noproc = || Value::keyword("noproc");
    match refused {
        Some(Signal::Link(linker)) => {
            let exit = Signal::Exit(Box::new(ExitSignal {
                from: to,
                reason: noproc(),
                link_broken: true,
            }));
            let _ = cluster.forward(linker, exit);
        }
        Some(Signal::Monitor { watcher, reference }) => {
            let down = crate::process::down_message(reference, to, noproc());
            let _ = cluster.forward(watcher, Signal::Message(down));
        }
        _ => {}
    }
}

/// Takes the signals for this node's processes, in order, while the
/// runtime lives.
pub(super) fn keep_taking(cluster: &Arc<Cluster>, weak: Weak<Shared>) {
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let subject = super::signal_subject(cluster.index());
        let mut signals = match cluster.client.subscribe(subject.clone()).await {
            Ok(signals) => signals,
            Err(e) => {
                tracing::error!(%subject, why = %e, "cannot take signals from other nodes");
                return;
            }
        };
        while let Some(message) = signals.next().await {
            let Some(shared) = super::runtime(&weak) else {
                return;
            };
            match decode(&message.payload) {
                Ok((to, signal)) => deliver(&shared, &cluster, to, signal),
                Err(why) => tracing::warn!(%why, "a signal from another node does not read"),
            }
        }
    });
}

/// The question "is `pid` alive?", for its node.
pub(super) fn alive_question(pid: Pid) -> Bytes {
    let mut body = vec![super::spawn::ALIVE];
    body.extend_from_slice(&pid.0.to_be_bytes());
    body.into()
}

pub(super) fn alive_answer(answer: &[u8]) -> bool {
    answer == [1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_crosses_and_reads_back() {
        let to = Pid::on_node(2, 7);
        let from = Pid::on_node(1, 3);
        let signals = [
            Signal::Message(Value::vector([Value::keyword("token"), Value::Int(5)])),
            Signal::Link(from),
            Signal::Unlink(from),
            Signal::Exit(Box::new(ExitSignal {
                from,
                reason: Value::keyword("boom"),
                link_broken: true,
            })),
            Signal::Monitor {
                watcher: from,
                reference: 99,
            },
            Signal::Demonitor { reference: 99 },
        ];
        for signal in signals {
            let bytes = encode(to, &signal).expect("crosses");
            let (at, back) = decode(&bytes).expect("reads back");
            assert_eq!(at, to);
            assert_eq!(format!("{back:?}"), format!("{signal:?}"));
        }
    }

    #[test]
    fn a_function_does_not_cross_but_an_exit_reason_holding_one_does_printed() {
        let f = Value::Native(calf_lang::natives::by_name("inc").expect("inc"));
        let to = Pid::on_node(2, 7);
        let error = encode_message(to, &Value::vector([f.clone()])).unwrap_err();
        assert!(!error.is_empty());
        let exit = Signal::Exit(Box::new(ExitSignal {
            from: Pid::on_node(1, 1),
            reason: Value::vector([Value::keyword("bad"), f]),
            link_broken: true,
        }));
        let (_, back) = decode(&encode(to, &exit).expect("crosses")).expect("reads");
        let Signal::Exit(exit) = back else {
            panic!("an exit")
        };
        assert!(matches!(exit.reason, Value::Str(_)), "{:?}", exit.reason);
    }

    #[test]
    fn a_malformed_body_is_refused() {
        assert!(decode(b"\x01").is_err());
        let wrong = crate::wire::encode(&Value::vector([Value::Int(9)])).expect("encodes");
        assert!(decode(&wrong).is_err());
    }
}
