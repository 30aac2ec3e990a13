//! The bundled core library written in Calf, and running pure code to
//! completion (loading it needs no host: it performs no effects).

use std::sync::Arc;

use crate::compiler::{Compiler, TopLevel};
use crate::error::{message_of, SourceError};
use crate::namespace::{Globals, CORE};
use crate::reader;
use crate::span::Span;
use crate::value::{Sym, Value};
use crate::vm::{Outcome, Vm};

/// The Calf source of the core library, shipped inside the binary.
pub const CORE_SOURCE: &str = include_str!("../../stdlib/core.calf");

/// The Calf source of the `supervisor` namespace.
pub const SUPERVISOR_SOURCE: &str = include_str!("../../stdlib/supervisor.calf");

/// A fresh runtime's globals: natives and the Calf-written core library.
pub fn new_globals() -> Arc<Globals> {
    let globals = Globals::new();
    crate::natives::install(&globals);
    if let Err(e) = load_pure(&globals, "stdlib/core.calf", CORE_SOURCE, Sym::new(CORE)) {
        // The bundled library is part of the binary; failing to load it is a
        // bug in Calf itself, caught by every test.
        panic!("the bundled core library failed to load: {e}");
    }
    let supervisor = Sym::new("supervisor");
    if let Err(e) = load_pure(
        &globals,
        "stdlib/supervisor.calf",
        SUPERVISOR_SOURCE,
        supervisor,
    ) {
        panic!("the bundled supervisor library failed to load: {e}");
    }
    globals
}

/// Reads, compiles and runs every form of `text` in namespace `ns`; the
/// code must not perform effects.
pub fn load_pure(globals: &Arc<Globals>, name: &str, text: &str, ns: Sym) -> Result<(), String> {
    let forms = reader::read_str(name, text).map_err(|e| e.to_string())?;
    let mut queue: std::collections::VecDeque<(Value, Span)> =
        forms.forms.into_iter().zip(forms.form_spans).collect();
    while let Some((form, span)) = queue.pop_front() {
        let mut compiler = Compiler::new(globals, ns, &forms.spans, span);
        match compiler
            .expand_toplevel(&form)
            .map_err(|e: SourceError| e.to_string())?
        {
            TopLevel::Forms(inner) => {
                for f in inner.into_iter().rev() {
                    queue.push_front((f, span));
                }
            }
            TopLevel::Code(code) => {
                run_pure(Vm::new(code)).map_err(|e| format!("{}: {e}", span.location()))?;
            }
        }
    }
    Ok(())
}

/// Runs a VM that must finish without effects.
pub fn run_pure(mut vm: Vm) -> Result<Value, String> {
    loop {
        match vm.run(u32::MAX) {
            Outcome::Done(v) => return Ok(v),
            Outcome::Yield => {}
            Outcome::Error(thrown) => return Err(message_of(&thrown.value)),
            Outcome::Effect(effect) => return Err(format!("unexpected effect {effect:?}")),
        }
    }
}
