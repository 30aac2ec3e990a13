//! Dynamic bindings and captured output: effects on the process's own
//! state, which the VM answers itself (`vm/dynamic.rs`). The macros
//! `binding`, `bound-fn` and `with-out-str` are in `core.calf`.

use super::helpers::type_error;
use crate::error::RuntimeError;
use crate::value::Value;
use crate::vm::{DynamicOp, Effect};

fn push_thread_bindings(args: &[Value]) -> Result<Effect, RuntimeError> {
    match &args[0] {
        Value::Map(_) => Ok(Effect::Dynamic(DynamicOp::Push(args[0].clone()))),
        _ => Err(type_error("push-thread-bindings", args, 0, "a map")),
    }
}

fn pop_thread_bindings(_: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Dynamic(DynamicOp::Pop))
}

fn get_thread_bindings(_: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Dynamic(DynamicOp::Bindings))
}

fn dynamic_value(args: &[Value]) -> Result<Effect, RuntimeError> {
    match &args[0] {
        Value::Symbol(name) => Ok(Effect::Dynamic(DynamicOp::Get {
            name: *name,
            root: args[1].clone(),
        })),
        _ => Err(type_error("dynamic-value", args, 0, "a symbol")),
    }
}

fn capture_output(_: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Dynamic(DynamicOp::Capture))
}

fn captured_output(_: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Dynamic(DynamicOp::EndCapture))
}

natives! {
    effect "push-thread-bindings" "1" push_thread_bindings,
        "Binds, in this process, the dynamic vars a map names (by their qualified symbols) to its values, on top of the bindings in force; pop-thread-bindings undoes it. binding is made of the two.";
    effect "pop-thread-bindings" "0" pop_thread_bindings,
        "Undoes the last push-thread-bindings of this process.";
    effect "get-thread-bindings" "0" get_thread_bindings,
        "The dynamic bindings in force in this process: a map from each bound var's qualified symbol to its value.";
    effect "dynamic-value" "2" dynamic_value,
        "The value of the dynamic var named sym (a qualified symbol) in this process: its binding, else root. A read of a dynamic var compiles to it.";
    effect "capture-output" "0" capture_output,
        "Starts capturing what this process prints to standard output, until captured-output; with-out-str is made of the two.";
    effect "captured-output" "0" captured_output,
        "Stops the last capture-output of this process and returns what it captured, as a string.";
}
