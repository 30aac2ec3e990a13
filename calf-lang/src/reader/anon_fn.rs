//! `#(...)` anonymous functions.
//!
//! `#(+ % %3)` reads as `(fn [%1 %2 %3] (+ %1 %3))`: `%` is renamed `%1`, the
//! parameters run from `%1` up to the highest `%N` used (at most
//! [`MAX_PARAMS`]), and `%&` adds `& %&`. The body is the list itself, so
//! `#(foo)` is `(fn [] (foo))`. Inside `#()`, any other symbol starting with
//! `%` is an error; outside, `%`, `%1` and `%&` are plain symbols.

use crate::error::SourceError;
use crate::span::Span;
use crate::value::{Sym, Value};

/// The highest `%N` allowed.
pub const MAX_PARAMS: usize = 20;

/// The parameters used so far by the `#()` being read.
pub struct AnonFn {
    /// The span of the first use of `%1`, `%2`, ...; its length is the
    /// highest N used.
    uses: Vec<Option<Span>>,
    rest: Option<Span>,
}

impl AnonFn {
    pub fn new() -> AnonFn {
        AnonFn {
            uses: Vec::new(),
            rest: None,
        }
    }

    /// If `symbol` is a parameter of the function, records it and returns the
    /// symbol to use instead (`%` becomes `%1`).
    pub fn param(&mut self, symbol: Sym, span: Span) -> Result<Option<Value>, SourceError> {
        let name = symbol.name();
        let Some(number) = name.strip_prefix('%') else {
            return Ok(None);
        };
        let n = match number {
            "" => 1,
            "&" => {
                self.rest.get_or_insert(span);
                return Ok(Some(Value::Symbol(symbol)));
            }
            _ => match number.parse::<usize>() {
                Ok(n) if (1..=MAX_PARAMS).contains(&n) && !number.starts_with(['0', '+']) => n,
                Ok(n) if n > MAX_PARAMS && !number.starts_with(['0', '+']) => {
                    return Err(SourceError::new(
                        format!("`{name}`: `#()` takes at most {MAX_PARAMS} parameters"),
                        span,
                    )
                    .with_hint("use (fn [...] ...) with named parameters instead"))
                }
                _ => {
                    return Err(SourceError::new(
                        format!("invalid parameter `{name}` in `#()`"),
                        span,
                    )
                    .with_hint(format!(
                        "parameters of #() are %, %1 to %{MAX_PARAMS}, and %& for the rest"
                    )))
                }
            },
        };
        if self.uses.len() < n {
            self.uses.resize(n, None);
        }
        if let Some(first) = self.uses.get_mut(n - 1) {
            first.get_or_insert(span);
        }
        Ok(Some(Value::Symbol(Sym::new(&format!("%{n}")))))
    }

    /// The parameter vector's items and their spans: the span of each
    /// parameter's first use, or `unused` for one that is never used.
    pub fn params(&self, unused: Span) -> (Vec<Value>, Vec<Span>) {
        let mut items = Vec::new();
        let mut spans = Vec::new();
        for (i, used) in self.uses.iter().enumerate() {
            items.push(Value::Symbol(Sym::new(&format!("%{}", i + 1))));
            spans.push(used.unwrap_or(unused));
        }
        if let Some(rest) = self.rest {
            items.push(Value::symbol("&"));
            spans.push(rest);
            items.push(Value::symbol("%&"));
            spans.push(rest);
        }
        (items, spans)
    }
}
