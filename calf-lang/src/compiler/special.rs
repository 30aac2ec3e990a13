//! The special forms: what the compiler handles itself instead of calling.

use std::sync::Arc;

use super::vars::DefMeta;
use super::{destructure, list_items, syntax_quote, Compiler, Level, RecurTarget, Result, Tail};
use crate::bytecode::Op;
use crate::value::{Closure, FnProto, Sym, Value};

/// Names the compiler treats specially wherever they head a list.
pub const SPECIAL_FORMS: &[&str] = &[
    "def",
    "if",
    "do",
    "let",
    "let*",
    "fn",
    "fn*",
    "loop",
    "recur",
    "quote",
    "syntax-quote",
    "unquote",
    "unquote-splicing",
    "try",
    "catch",
    "finally",
    "throw",
    "defmacro",
    "ns",
    "in-ns",
    "match",
    "receive",
    "var-meta",
    "var",
    "source-location",
    "if-macro",
    "alter-var-root",
];

impl Compiler<'_> {
    pub(super) fn is_special(&self, sym: Sym) -> bool {
        SPECIAL_FORMS.contains(&sym.name())
    }

    /// Compiles `form` if its head names a special form.
    pub(super) fn compile_special(
        &mut self,
        head: Sym,
        form: &Value,
        items: &[Value],
        tail: Tail,
    ) -> Option<Result<()>> {
        let result = match head.name() {
            "def" => self.compile_def(form, items, false),
            "defmacro" => self.compile_def(form, items, true),
            "if" => self.compile_if(form, items, tail),
            "do" => self.compile_body(&items[1..], form, 1, tail),
            "let" | "let*" => self.compile_let(form, items, tail),
            "fn" | "fn*" => self.compile_fn(form, items, None),
            "loop" => self.compile_loop(form, items, tail),
            "recur" => self.compile_recur(form, items, tail),
            "quote" => self.compile_quote(form, items),
            "syntax-quote" => self.compile_syntax_quote(form, items, tail),
            "unquote" | "unquote-splicing" => Err(self
                .error_at(form, format!("{} used outside of a syntax-quote", head))
                .with_hint("~ and ~@ only mean something inside `(...)")),
            "catch" | "finally" => {
                Err(self.error_at(form, format!("{head} used outside of a try")))
            }
            "try" => self.compile_try(form, items, tail),
            "throw" => self.compile_throw(form, items),
            "ns" => self.compile_ns(form, items),
            "in-ns" => self.compile_in_ns(form, items),
            "match" => self.compile_match(form, items, tail),
            "receive" => self.compile_receive(form, items, tail),
            "var-meta" => self.compile_var_meta(form, items),
            "var" => self.compile_var(form, items),
            "alter-var-root" => self.compile_alter_var_root(form, items),
            "source-location" => self.compile_source_location(form, items),
            "if-macro" => self.compile_if_macro(form, items, tail),
            _ => return None,
        };
        Some(result)
    }

    pub(super) fn expect_args(
        &self,
        form: &Value,
        items: &[Value],
        min: usize,
        max: usize,
        usage: &str,
    ) -> Result<()> {
        let n = items.len() - 1;
        if n < min || n > max {
            return Err(self
                .error_at(form, format!("wrong number of forms in {}: {n}", items[0]))
                .with_hint(format!("write it as {usage}")));
        }
        Ok(())
    }

    fn compile_if(&mut self, form: &Value, items: &[Value], tail: Tail) -> Result<()> {
        self.expect_args(form, items, 2, 3, "(if test then else?)")?;
        self.compile(&items[1], self.spans.item_span(form, 1), Tail::No)?;
        let to_else = self.emit(Op::JumpIfFalse(0));
        self.compile(&items[2], self.spans.item_span(form, 2), tail)?;
        let to_end = self.emit(Op::Jump(0));
        let here = self.code().here();
        self.code().patch(to_else, here);
        match items.get(3) {
            Some(otherwise) => self.compile(otherwise, self.spans.item_span(form, 3), tail)?,
            None => {
                self.emit(Op::Nil);
            }
        }
        let here = self.code().here();
        self.code().patch(to_end, here);
        Ok(())
    }

    fn compile_quote(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        self.expect_args(form, items, 1, 1, "(quote form)")?;
        self.compile_constant(items[1].clone())
    }

    fn compile_syntax_quote(&mut self, form: &Value, items: &[Value], tail: Tail) -> Result<()> {
        self.expect_args(form, items, 1, 1, "`form")?;
        let expanded =
            syntax_quote::expand(&items[1]).map_err(|message| self.error_at(form, message))?;
        self.compile(&expanded, self.spans.span_of(form), tail)
    }

    fn compile_throw(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        self.expect_args(form, items, 1, 1, "(throw value)")?;
        self.compile(&items[1], self.spans.item_span(form, 1), Tail::No)?;
        self.emit(Op::Throw);
        Ok(())
    }

    /// The binding vector of a `let` or `loop`, checked.
    fn binding_vector<'v>(
        &self,
        form: &'v Value,
        items: &'v [Value],
        what: &str,
    ) -> Result<&'v Value> {
        let usage = format!("({what} [name value ...] body...)");
        let Some(bindings @ Value::Vector(pairs)) = items.get(1) else {
            return Err(self
                .error_at(form, format!("{what} needs a vector of bindings"))
                .with_hint(format!("write it as {usage}")));
        };
        if pairs.len() % 2 != 0 {
            return Err(self
                .error_at(
                    bindings,
                    format!(
                        "{what} bindings need an even number of forms: a name and a value each"
                    ),
                )
                .with_hint(format!("write it as {usage}")));
        }
        Ok(bindings)
    }

    fn compile_let(&mut self, form: &Value, items: &[Value], tail: Tail) -> Result<()> {
        let bindings = self.binding_vector(form, items, "let")?;
        let scope = self.begin_scope();
        self.compile_bindings(bindings)?;
        self.compile_body(&items[2..], form, 2, tail)?;
        self.end_scope(scope);
        Ok(())
    }

    /// Evaluates and binds each pair of a binding vector, destructuring.
    fn compile_bindings(&mut self, bindings: &Value) -> Result<()> {
        let pairs = bindings.as_seq().expect("checked vector");
        for i in (0..pairs.len()).step_by(2) {
            let pattern = &pairs[i];
            let hint = self.spans.item_span(bindings, i + 1);
            let simple = destructure::expand(pattern, &pairs[i + 1])
                .map_err(|m| self.error_at(bindings, m))?;
            for (name, init) in simple {
                let init_hint = if init == pairs[i + 1] {
                    hint
                } else {
                    self.spans.item_span(bindings, i)
                };
                self.compile(&init, init_hint, Tail::No)?;
                let slot = self.bind_local(name)?;
                self.emit(Op::SetLocal(slot));
            }
        }
        Ok(())
    }

    fn compile_loop(&mut self, form: &Value, items: &[Value], tail: Tail) -> Result<()> {
        let bindings = self.binding_vector(form, items, "loop")?;
        let pairs = bindings.as_seq().expect("checked vector").clone();
        let scope = self.begin_scope();
        // Each binding's value goes to one slot that `recur` rebinds; a
        // destructuring pattern is taken apart again on every iteration.
        let mut slots = Vec::new();
        let mut patterns = Vec::new();
        for i in (0..pairs.len()).step_by(2) {
            self.compile(
                &pairs[i + 1],
                self.spans.item_span(bindings, i + 1),
                Tail::No,
            )?;
            let name = match &pairs[i] {
                Value::Symbol(s) => *s,
                pattern => {
                    let temp = destructure::gensym("loop");
                    patterns.push((pattern.clone(), temp));
                    temp
                }
            };
            let slot = self.bind_local(name)?;
            self.emit(Op::SetLocal(slot));
            slots.push(slot);
        }
        let start = self.code().here();
        let target = RecurTarget { start, slots };
        let saved = self.level().recur.replace(target);
        let inner = self.begin_scope();
        let result = (|| {
            for (pattern, temp) in &patterns {
                let simple = destructure::expand(pattern, &Value::Symbol(*temp))
                    .map_err(|m| self.error_at(bindings, m))?;
                for (name, init) in simple {
                    self.compile(&init, None, Tail::No)?;
                    let slot = self.bind_local(name)?;
                    self.emit(Op::SetLocal(slot));
                }
            }
            let body_tail = if tail == Tail::Fn {
                Tail::Fn
            } else {
                Tail::Loop
            };
            self.compile_body(&items[2..], form, 2, body_tail)
        })();
        self.end_scope(inner);
        self.level().recur = saved;
        self.end_scope(scope);
        result
    }

    fn compile_recur(&mut self, form: &Value, items: &[Value], tail: Tail) -> Result<()> {
        let Some(target) = self.level().recur.clone() else {
            return Err(self
                .error_at(form, "recur outside of a loop or fn")
                .with_hint(
                    "recur jumps back to the nearest enclosing loop or fn (and not across a try)",
                ));
        };
        if !tail.allows_recur() {
            return Err(self
                .error_at(form, "recur must be in tail position")
                .with_hint("recur has to be the last thing its loop or fn does; use an ordinary call otherwise"));
        }
        let argc = items.len() - 1;
        if argc != target.slots.len() {
            return Err(self.error_at(
                form,
                format!(
                    "recur given {argc} values, but its loop or fn binds {}",
                    target.slots.len()
                ),
            ));
        }
        for (i, arg) in items.iter().enumerate().skip(1) {
            self.compile(arg, self.spans.item_span(form, i), Tail::No)?;
        }
        let first = target.slots.first().copied().unwrap_or(0);
        let consecutive = target
            .slots
            .iter()
            .enumerate()
            .all(|(i, slot)| *slot as usize == first as usize + i);
        match u8::try_from(argc) {
            Ok(count) if count > 0 && consecutive => {
                self.emit(Op::Recur {
                    first,
                    count,
                    target: target.start as u32,
                });
            }
            _ => {
                for slot in target.slots.iter().rev() {
                    self.emit(Op::SetLocal(*slot));
                }
                self.emit(Op::Jump(target.start as u32));
            }
        }
        Ok(())
    }

    /// `(fn name? [params] body...)` or `(fn name? ([params] body...) ...)`.
    /// `def_name` names an anonymous fn after the var it is defined as.
    pub(super) fn compile_fn(
        &mut self,
        form: &Value,
        items: &[Value],
        def_name: Option<Sym>,
    ) -> Result<()> {
        let mut index = 1;
        let self_name = match items.get(1) {
            Some(Value::Symbol(s)) => {
                index = 2;
                Some(*s)
            }
            _ => None,
        };
        let name = self_name.or(def_name);
        // Each arity: its parameter vector, its body, and the form holding
        // them (for spans).
        let mut arities: Vec<(Value, Vec<Value>, Value, usize)> = Vec::new();
        match items.get(index) {
            Some(params @ Value::Vector(_)) => {
                arities.push((
                    params.clone(),
                    items[index + 1..].to_vec(),
                    form.clone(),
                    index + 1,
                ));
            }
            Some(Value::List(_)) => {
                for arity in &items[index..] {
                    match list_items(arity) {
                        Some(parts) if matches!(parts[0], Value::Vector(_)) => {
                            arities.push((parts[0].clone(), parts.iter().skip(1).cloned().collect(), arity.clone(), 1));
                        }
                        _ => {
                            return Err(self
                                .error_at(arity, "each arity of a fn must be a list starting with a parameter vector")
                                .with_hint("write it as (fn ([x] ...) ([x y] ...))"))
                        }
                    }
                }
            }
            _ => {
                return Err(self
                    .error_at(form, "fn needs a parameter vector")
                    .with_hint("write it as (fn name? [params] body...)"))
            }
        }

        let mut captures = Vec::new();
        let mut fixed: Vec<Arc<crate::bytecode::Code>> = Vec::new();
        let mut variadic = None;
        for (params, body, holder, body_index) in &arities {
            self.levels
                .push(Level::new(self_name, std::mem::take(&mut captures)));
            let span = self.spans.span_of(holder).or(self
                .levels
                .iter()
                .rev()
                .nth(1)
                .and_then(|l| l.code.span()));
            self.code().set_span(span);
            let compiled = self.compile_arity(params, body, holder, *body_index);
            let level = self.levels.pop().expect("pushed above");
            captures = level.captures;
            let (param_count, is_variadic) = compiled?;
            let code = Arc::new(
                level
                    .code
                    // Traces name anonymous fns `fn`; top-level code has no name.
                    .finish(
                        Some(name.unwrap_or_else(|| Sym::new("fn"))),
                        param_count,
                        is_variadic,
                        level.max_slots,
                    ),
            );
            if is_variadic {
                if variadic.is_some() {
                    return Err(self.error_at(form, "a fn can have only one variadic arity"));
                }
                variadic = Some(code);
            } else {
                if fixed.iter().any(|c| c.params() == param_count) {
                    return Err(self.error_at(
                        form,
                        format!("a fn has two arities taking {param_count} arguments"),
                    ));
                }
                fixed.push(code);
            }
        }
        if let Some(v) = &variadic {
            if fixed.iter().any(|c| c.params() >= v.params()) {
                return Err(self
                    .error_at(form, "a fixed arity of this fn takes as many arguments as its variadic arity requires")
                    .with_hint("the variadic arity must take more required arguments than every fixed one"));
            }
        }
        if captures.len() > u16::MAX as usize {
            return Err(self
                .error_at(form, "this fn captures too many locals (at most 65535)")
                .with_hint("pass what it needs in a map or a vector instead"));
        }
        let proto = FnProto {
            name,
            fixed: fixed.into_boxed_slice(),
            variadic,
            captures: captures.iter().map(|(_, c)| *c).collect(),
        };
        let proto = Arc::new(proto);
        if proto.captures.is_empty() {
            // Nothing to capture: every evaluation would make the same
            // closure, so it is made once, here, and shared.
            let closure = Value::Fn(triomphe::Arc::new(Closure {
                proto,
                captures: Box::new([]),
            }));
            let constant = self.code().constant(closure);
            self.emit(Op::Const(constant));
        } else {
            let index = self.code().proto(proto);
            self.emit(Op::Closure(index));
        }
        Ok(())
    }

    /// Binds the parameters and compiles one arity's body into the current
    /// level; returns its parameter count and whether it is variadic.
    fn compile_arity(
        &mut self,
        params: &Value,
        body: &[Value],
        holder: &Value,
        body_index: usize,
    ) -> Result<(u16, bool)> {
        let list = params.as_seq().expect("a vector");
        let mut slots = Vec::new();
        let mut patterns = Vec::new();
        let mut variadic = false;
        let mut i = 0;
        while i < list.len() {
            let param = &list[i];
            if param.is_symbol("&") {
                if i + 2 != list.len() {
                    return Err(self
                        .error_at(params, "& must be followed by exactly one parameter")
                        .with_hint("write it as [a b & more]"));
                }
                variadic = true;
                i += 1;
                continue;
            }
            let name = match param {
                Value::Symbol(s) if s.namespace().is_none() => *s,
                Value::Vector(_) | Value::Map(_) => {
                    let temp = destructure::gensym("p");
                    patterns.push((param.clone(), temp));
                    temp
                }
                other => {
                    return Err(self.error_at(
                        params,
                        format!(
                            "bad parameter {}: expected a symbol or a destructuring pattern",
                            crate::value::print::pr_str(other)
                        ),
                    ))
                }
            };
            slots.push(self.bind_local(name)?);
            i += 1;
        }
        if slots.len() > 255 {
            return Err(self.error_at(params, "a fn can take at most 255 parameters"));
        }
        self.level().recur = Some(RecurTarget {
            start: 0,
            slots: slots.clone(),
        });
        for (pattern, temp) in &patterns {
            let simple = destructure::expand(pattern, &Value::Symbol(*temp))
                .map_err(|m| self.error_at(params, m))?;
            for (name, init) in simple {
                self.compile(&init, None, Tail::No)?;
                let slot = self.bind_local(name)?;
                self.emit(Op::SetLocal(slot));
            }
        }
        self.compile_body(body, holder, body_index, Tail::Fn)?;
        self.emit(Op::Return);
        Ok((slots.len() as u16, variadic))
    }

    /// `(def name)`, `(def name value)`, `(def name "doc" value)`, and
    /// `defmacro` with a fn's parameters and body.
    fn compile_def(&mut self, form: &Value, items: &[Value], is_macro: bool) -> Result<()> {
        let what = if is_macro { "defmacro" } else { "def" };
        let Some(Value::Symbol(name)) = items.get(1) else {
            return Err(self
                .error_at(form, format!("{what} needs a symbol to name"))
                .with_hint(if is_macro {
                    "(defmacro name [params] body...)"
                } else {
                    "(def name value)"
                }));
        };
        if let Some(ns) = name.namespace() {
            if ns != self.ns.name() {
                return Err(
                    self.error_at(form, format!("can't def {name} from namespace {}", self.ns))
                );
            }
        }
        let local = Sym::new(name.local_name());
        let (meta, rest) = DefMeta::split(&items[2..], is_macro);
        let var = self.globals.namespace(self.ns).intern(local);
        // A `def` made by a macro (`defn`) has no span: the form the macro
        // was called with is the definition as written.
        let span = Some(
            self.spans
                .span_of(form)
                .unwrap_or_else(|| self.current_span()),
        );
        if rest.is_empty() && !is_macro {
            // `(def name)` declares: what the var knows stays.
            var.update_meta(|m| m.defined_at = m.defined_at.or(span));
        } else {
            meta.record(&var, span);
        }
        if is_macro {
            // The rest is a fn's parameters and body.
            let mut fn_form = vec![Value::symbol("fn"), Value::Symbol(local)];
            fn_form.extend(rest.iter().cloned());
            let fn_form = Value::list(fn_form);
            self.compile_fn(
                &fn_form,
                list_items(&fn_form)
                    .expect("non-empty")
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .as_slice(),
                Some(local),
            )?;
        } else {
            match rest {
                [] => {
                    let symbol = self.code().constant(Value::Symbol(var.name));
                    self.emit(Op::Const(symbol));
                    return Ok(());
                }
                [init] => {
                    let hint = self.spans.item_span(form, items.len() - 1);
                    match list_items(init) {
                        Some(parts)
                            if parts[0].is_symbol("fn")
                                && self.resolve_local(Sym::new("fn")).is_none() =>
                        {
                            let parts: Vec<Value> = parts.iter().cloned().collect();
                            let span = self.spans.span_of(init).or(hint);
                            let saved = self.code().set_span(span);
                            let result = self.compile_fn(init, &parts, Some(local));
                            self.code().restore_span(saved);
                            result?;
                        }
                        _ => self.compile(init, hint, Tail::No)?,
                    }
                }
                _ => {
                    return Err(self
                        .error_at(form, "too many forms in def")
                        .with_hint("write it as (def name value) or (def name \"doc\" value)"))
                }
            }
        }
        let index = self.code().var(var);
        self.emit(Op::Def(index));
        if is_macro {
            self.emit(Op::MarkMacro(index));
        }
        Ok(())
    }

    /// `(try body... (catch e handler...) (finally cleanup...))`.
    fn compile_try(&mut self, form: &Value, items: &[Value], _tail: Tail) -> Result<()> {
        let mut body_end = items.len();
        let mut catch: Option<(Sym, Vec<Value>, Value)> = None;
        let mut finally: Option<Value> = None;
        for (i, item) in items.iter().enumerate().skip(1) {
            let head = list_items(item).and_then(|parts| parts[0].as_symbol());
            match head.map(|h| h.name()) {
                Some("catch") => {
                    body_end = body_end.min(i);
                    if catch.is_some() || finally.is_some() {
                        return Err(self
                            .error_at(item, "a try has at most one catch, before its finally")
                            .with_hint("(catch e ...) catches every thrown value; dispatch on (ex-data e) inside it"));
                    }
                    catch = Some(self.parse_catch(item)?);
                }
                Some("finally") => {
                    body_end = body_end.min(i);
                    if finally.is_some() || i + 1 != items.len() {
                        return Err(self.error_at(item, "finally must be the last form of a try"));
                    }
                    finally = Some(item.clone());
                }
                _ if body_end < items.len() => {
                    return Err(
                        self.error_at(item, "only catch and finally may follow them in a try")
                    );
                }
                _ => {}
            }
        }
        let saved_recur = self.level().recur.take();
        let result = self.compile_try_parts(form, &items[1..body_end], catch, finally);
        self.level().recur = saved_recur;
        result
    }

    fn parse_catch(&self, clause: &Value) -> Result<(Sym, Vec<Value>, Value)> {
        let parts = list_items(clause).expect("a catch list");
        // `(catch e body...)`; Clojure's `(catch Exception e body...)` and
        // `(catch :default e body...)` are accepted and also catch everything.
        let typed = parts.len() >= 3
            && matches!(&parts[2], Value::Symbol(_))
            && match &parts[1] {
                Value::Keyword(k) => k.name() == "default",
                Value::Symbol(s) => s.local_name().starts_with(|c: char| c.is_ascii_uppercase()),
                _ => false,
            };
        let at = if typed { 2 } else { 1 };
        match parts.get(at) {
            Some(Value::Symbol(name)) => Ok((
                *name,
                parts.iter().skip(at + 1).cloned().collect(),
                clause.clone(),
            )),
            _ => Err(self
                .error_at(clause, "catch needs a name for the thrown value")
                .with_hint("write it as (catch e body...)")),
        }
    }

    fn compile_try_parts(
        &mut self,
        form: &Value,
        body: &[Value],
        catch: Option<(Sym, Vec<Value>, Value)>,
        finally: Option<Value>,
    ) -> Result<()> {
        if catch.is_none() && finally.is_none() {
            return self.compile_body(body, form, 1, Tail::No);
        }
        let handler = self.emit(Op::PushHandler(0));
        self.compile_body(body, form, 1, Tail::No)?;
        self.emit(Op::PopHandler);
        let mut to_after = vec![self.emit(Op::Jump(0))];
        let here = self.code().here();
        self.code().patch(handler, here);
        if let Some((name, handler_body, clause)) = &catch {
            let inner = finally.as_ref().map(|_| self.emit(Op::PushHandler(0)));
            let scope = self.begin_scope();
            let slot = self.bind_local(*name)?;
            self.emit(Op::SetLocal(slot));
            let first_index = list_items(clause).map_or(2, |p| p.len() - handler_body.len());
            self.compile_body(handler_body, clause, first_index, Tail::No)?;
            self.end_scope(scope);
            if let Some(inner) = inner {
                self.emit(Op::PopHandler);
                to_after.push(self.emit(Op::Jump(0)));
                let here = self.code().here();
                self.code().patch(inner, here);
            } else {
                to_after.push(self.emit(Op::Jump(0)));
            }
        }
        if let Some(clause) = &finally {
            // A throw from the body or the handler: clean up, throw again.
            let cleanup: Vec<Value> = list_items(clause)
                .expect("a finally list")
                .iter()
                .skip(1)
                .cloned()
                .collect();
            let scope = self.begin_scope();
            let temp = self.bind_local(destructure::gensym("thrown"))?;
            self.emit(Op::SetLocal(temp));
            self.compile_body(&cleanup, clause, 1, Tail::No)?;
            self.emit(Op::Pop);
            self.emit(Op::Local(temp));
            self.emit(Op::Rethrow);
            self.end_scope(scope);
        }
        let after = self.code().here();
        for jump in to_after {
            self.code().patch(jump, after);
        }
        if let Some(clause) = &finally {
            let cleanup: Vec<Value> = list_items(clause)
                .expect("a finally list")
                .iter()
                .skip(1)
                .cloned()
                .collect();
            self.compile_body(&cleanup, clause, 1, Tail::No)?;
            self.emit(Op::Pop);
        }
        Ok(())
    }
}
