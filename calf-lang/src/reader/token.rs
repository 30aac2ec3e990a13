//! Tokens: `nil`, `true`, `false`, numbers, symbols and keywords.
//!
//! A token is a run of characters up to whitespace, a comma or one of
//! `" ; @ ^ ` ~ ( ) [ ] { } \`. Symbols follow Clojure: `foo`, `ns/foo`,
//! `a.b/c`, `+`, `->>`, `foo?`, `x#`, `%1` and `/` are all symbols.
//!
//! `.5`, `-.5` and `+.5` are errors rather than symbols (Clojure reads them
//! as symbols, which only leads to a confusing "unable to resolve" later).

use crate::error::SourceError;
use crate::span::Span;
use crate::value::{Sym, Value};

use super::number::{read_number, starts_number};

/// Reads one token.
pub fn read_token(token: &str, span: Span) -> Result<Value, SourceError> {
    match token {
        "nil" => return Ok(Value::Nil),
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if starts_number(token) {
        return read_number(token, span);
    }
    if leading_dot_number(token) {
        return Err(SourceError::new(format!("`{token}` is not a number"), span)
            .with_hint("a number needs a digit before the `.`, as in 0.5 or -0.5"));
    }
    match token.strip_prefix(':') {
        Some(name) => keyword(token, name, span),
        None => symbol(token, span),
    }
}

/// Whether the token starts like `.5`, `-.5` or `+.5`.
fn leading_dot_number(token: &str) -> bool {
    let rest = token.strip_prefix(['+', '-']).unwrap_or(token);
    rest.strip_prefix('.')
        .is_some_and(|after| after.starts_with(|c: char| c.is_ascii_digit()))
}

fn symbol(token: &str, span: Span) -> Result<Value, SourceError> {
    match name_problem(token, false) {
        None => Ok(Value::Symbol(Sym::new(token))),
        Some(hint) => {
            Err(SourceError::new(format!("invalid symbol `{token}`"), span).with_hint(hint))
        }
    }
}

fn keyword(token: &str, name: &str, span: Span) -> Result<Value, SourceError> {
    // `::name` and `::alias/name`: kept with their `:` for the compiler to
    // resolve in the namespace the form is compiled in.
    if let Some(auto) = name.strip_prefix(':') {
        return match name_problem(auto, true) {
            None if !auto.is_empty() && !auto.starts_with(':') => {
                Ok(Value::Keyword(Sym::keyword(name)))
            }
            _ => Err(SourceError::new(format!("invalid keyword `{token}`"), span)
                .with_hint("auto-resolved keywords look like ::name or ::alias/name")),
        };
    }
    if name.is_empty() {
        return Err(
            SourceError::new("`:` must be followed by a keyword name", span)
                .with_hint("keywords look like :name or :ns/name"),
        );
    }
    match name_problem(name, true) {
        None => Ok(Value::Keyword(Sym::keyword(name))),
        Some(hint) => {
            Err(SourceError::new(format!("invalid keyword `{token}`"), span).with_hint(hint))
        }
    }
}

/// What is wrong with a symbol or keyword name, if anything. Keyword names
/// may start with a digit (`:1`); the name part of a symbol may not.
fn name_problem(name: &str, keyword: bool) -> Option<&'static str> {
    if name == "/" {
        return None;
    }
    if name.ends_with(':') || name.contains("::") {
        return Some("a name cannot end with `:` or contain `::`");
    }
    let (ns, local) = name.split_once('/')?;
    if ns.is_empty() {
        return Some("a namespace must come before `/`, as in ns/name");
    }
    if local == "/" {
        return None;
    }
    if local.is_empty() {
        return Some("a name must follow `/`, as in ns/name");
    }
    if local.contains('/') {
        return Some("a name can contain only one `/`, between the namespace and the name");
    }
    if !keyword && local.starts_with(|c: char| c.is_ascii_digit()) {
        return Some("the name after `/` cannot start with a digit");
    }
    None
}
