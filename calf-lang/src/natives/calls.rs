//! Foreign calls: `call`, `call-async`, `await`, `serve`. Each returns an
//! effect; the scheduler's bus carries the call out, with retries, while
//! the calling process waits and the others run.

use crate::error::RuntimeError;
use crate::value::Value;
use crate::vm::Effect;

/// The subject argument of `call`, `call-async` (`wildcards` false: a call
/// goes to one literal subject, docs/protocol.md) or `serve` (`wildcards`
/// true: a worker may subscribe to `billing.>`, so may a Calf process).
fn subject_arg(name: &str, args: &[Value], wildcards: bool) -> Result<String, RuntimeError> {
    let s = match &args[0] {
        Value::Str(s) => s.as_str(),
        other => return Err(RuntimeError::wrong_type(name, 1, "a subject string", other)),
    };
    let invalid = |why: &str| {
        Err(RuntimeError::new(
            "calf/illegal-argument",
            format!("{name}: {s:?} is not a valid subject ({why})"),
        )
        .with("subject", Value::str(s)))
    };
    if s.is_empty() || s.contains(char::is_whitespace) {
        return invalid("non-empty, no spaces, like \"billing.charge\"");
    }
    if s.split('.').any(str::is_empty) {
        return invalid("no empty token between dots, like \"billing.charge\"");
    }
    if !wildcards && s.split('.').any(|token| token == "*" || token == ">") {
        return invalid(
            "a call goes to one literal subject, and * and > are wildcards: name the subject itself, like \"billing.charge\"; a worker may serve a wildcard and read the subject it was sent on",
        );
    }
    Ok(s.to_string())
}

fn options_arg(name: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    match args.get(2) {
        None | Some(Value::Nil) => Ok(Value::Nil),
        Some(m @ Value::Map(_)) => Ok(m.clone()),
        Some(other) => Err(RuntimeError::wrong_type(name, 3, "a map of options", other)),
    }
}

fn call_with(name: &str, args: &[Value], wait: bool) -> Result<Effect, RuntimeError> {
    Ok(Effect::Call {
        subject: subject_arg(name, args, false)?,
        payload: args.get(1).cloned().unwrap_or(Value::Nil),
        options: options_arg(name, args)?,
        wait,
    })
}

fn call(args: &[Value]) -> Result<Effect, RuntimeError> {
    call_with("call", args, true)
}

fn call_async(args: &[Value]) -> Result<Effect, RuntimeError> {
    call_with("call-async", args, false)
}

fn await_promise(args: &[Value]) -> Result<Effect, RuntimeError> {
    let Value::Ref(promise) = args[0] else {
        return Err(RuntimeError::wrong_type(
            "await",
            1,
            "a promise from call-async",
            &args[0],
        ));
    };
    let timeout_ms = match args.get(1) {
        None | Some(Value::Nil) => None,
        Some(Value::Int(ms)) if *ms >= 0 => Some(*ms as u64),
        Some(other) => {
            return Err(RuntimeError::wrong_type(
                "await",
                2,
                "a timeout in milliseconds",
                other,
            ))
        }
    };
    Ok(Effect::Await {
        promise,
        timeout_ms,
    })
}

fn serve(args: &[Value]) -> Result<Effect, RuntimeError> {
    let subject = subject_arg("serve", args, true)?;
    match &args[1] {
        f @ (Value::Fn(_) | Value::Native(_)) => Ok(Effect::Serve {
            subject,
            handler: f.clone(),
        }),
        other => Err(RuntimeError::wrong_type("serve", 2, "a function", other)),
    }
}

fn reply(args: &[Value]) -> Result<Effect, RuntimeError> {
    let Value::Ref(request) = args[0] else {
        return Err(RuntimeError::wrong_type(
            "-reply",
            1,
            "a request ref",
            &args[0],
        ));
    };
    Ok(Effect::Reply {
        request,
        result: args[1].clone(),
    })
}

natives! {
    effect "call" "2..=3" call,
        "Calls the workers of subject with payload and waits for the reply, retrying as the options say: (call \"svc.op\" payload {:timeout-ms 2000 :deadline-ms 30000 :retry {...}}).";
    effect "call-async" "2..=3" call_async,
        "Starts a call like call and returns a promise at once; read it with await.";
    effect "await" "1..=2" await_promise,
        "Waits for a call-async promise and returns its reply (or throws its error); with a timeout in ms, throws :calf/timeout when it passes.";
    effect "serve" "2" serve,
        "Answers calls on subject with (handler payload), in a new process; returns its pid. A local stub for a worker, or a worker written in Calf.";
    effect "-reply" "2" reply,
        "Sends a serving process's answer to a request; used by serve.";
}
