//! `match` and `receive`: clauses of `pattern [:when guard] body`.
//!
//! One pattern language for both. A pattern is a literal (compared with
//! `=`), `_`, a symbol (binds; the same symbol twice must match equal
//! values), `'sym` (the symbol itself), a vector (a list or vector of that
//! many items; `& rest` takes the others as a list) or a map (each key
//! present and its value matching). Matching compiles to tests that jump to
//! the next clause on failure; nothing is interpreted at run time.

use super::{destructure, list_items, Compiler, Result, Tail};
use crate::bytecode::Op;
use crate::value::{Sym, Value};

/// One clause: its pattern, optional guard and body, and where it came from.
struct Clause {
    pattern: Value,
    guard: Option<Value>,
    body: Value,
}

/// A test a clause makes first, before it binds anything: the next clause
/// may make the same ones (`[:token 0]` then `[:token k]`), and a failure
/// after them in one clause goes on past them in the next.
enum Test {
    /// A list or vector of `len` items (at least, with `at_least`).
    Seq { len: u16, at_least: bool },
    /// Item `index` equals a literal (`None`: `_`, no test at all).
    Item { index: u16, literal: Option<Value> },
}

impl Test {
    fn same_as(&self, other: &Test) -> bool {
        match (self, other) {
            (
                Test::Seq { len, at_least },
                Test::Seq {
                    len: l,
                    at_least: a,
                },
            ) => len == l && at_least == a,
            (
                Test::Item { index, literal },
                Test::Item {
                    index: i,
                    literal: l,
                },
            ) => {
                index == i
                    && match (literal, l) {
                        (None, None) => true,
                        // Equal and of one type: `=` may call 1 and 1.0 equal.
                        (Some(a), Some(b)) => a == b && a.type_name() == b.type_name(),
                        _ => false,
                    }
            }
            _ => false,
        }
    }
}

/// The tests a clause makes first (see [`Test`]), where its code stands
/// after each, and how many had passed when each failing jump was made.
#[derive(Default)]
struct Prefix {
    tests: Vec<Test>,
    /// `after[k]`: the address past test `k`.
    after: Vec<usize>,
    /// For the clause's failing jumps, in order: the tests passed before.
    passed: Vec<usize>,
}

impl Prefix {
    /// Test `test` was emitted, and the failing jumps made so far (`fails`
    /// of them) came before it passed.
    fn push(&mut self, test: Test, fails: usize, after: usize) {
        self.note_fails(fails);
        self.tests.push(test);
        self.after.push(after);
    }

    /// The failing jumps not noted yet, up to `fails`, come after every
    /// test pushed so far.
    fn note_fails(&mut self, fails: usize) {
        while self.passed.len() < fails {
            self.passed.push(self.tests.len());
        }
    }
}

impl Compiler<'_> {
    /// `(match value pattern [:when guard] body ...)`.
    pub(super) fn compile_match(
        &mut self,
        form: &Value,
        items: &[Value],
        tail: Tail,
    ) -> Result<()> {
        if items.len() < 2 {
            return Err(self
                .error_at(form, "match needs a value and clauses")
                .with_hint("write it as (match value pattern body ...)"));
        }
        let clauses = self.parse_clauses(form, &items[2..])?;
        let scope = self.begin_scope();
        self.compile(&items[1], self.spans.item_span(form, 1), Tail::No)?;
        let subject = self.bind_local(destructure::gensym("match"))?;
        self.emit(Op::SetLocal(subject));
        let to_end = self.compile_clauses(&clauses, subject, false, tail)?;
        self.emit(Op::Local(subject));
        self.emit(Op::NoMatch);
        let end = self.code().here();
        for jump in to_end {
            self.code().patch(jump, end);
        }
        self.end_scope(scope);
        Ok(())
    }

    /// `(receive pattern [:when guard] body ... (after ms body))`.
    pub(super) fn compile_receive(
        &mut self,
        form: &Value,
        items: &[Value],
        tail: Tail,
    ) -> Result<()> {
        let mut rest = &items[1..];
        let mut after: Option<(Value, Value)> = None;
        if let Some(last) = rest.last() {
            if let Some(parts) = list_items(last).filter(|p| p[0].is_symbol("after")) {
                if parts.len() != 3 {
                    return Err(self
                        .error_at(last, "after takes a timeout and one body form")
                        .with_hint("write it as (after 500 :timeout); use do for more forms"));
                }
                after = Some((parts[1].clone(), parts[2].clone()));
                rest = &rest[..rest.len() - 1];
            }
        }
        let clauses = self.parse_clauses(form, rest)?;
        if clauses.is_empty() && after.is_none() {
            return Err(self
                .error_at(form, "receive needs at least one clause or an after")
                .with_hint(
                    "write it as (receive [:ping from] (send from :pong) (after 1000 :timeout))",
                ));
        }
        let scope = self.begin_scope();
        let timeout_slot = match &after {
            Some((ms, _)) => {
                self.compile(ms, None, Tail::No)?;
                let slot = self.bind_local(destructure::gensym("timeout"))?;
                self.emit(Op::SetLocal(slot));
                slot
            }
            None => u16::MAX,
        };
        let message = self.bind_local(destructure::gensym("message"))?;
        self.emit(Op::Receive {
            restart: true,
            timeout_slot,
        });
        let check = self.code().here();
        let to_timeout = self.emit(Op::JumpIfFalse(0));
        self.emit(Op::SetLocal(message));
        let to_end = self.compile_clauses(&clauses, message, true, tail)?;
        // No clause took it: it stays in the mailbox; look at the next one.
        self.emit(Op::Receive {
            restart: false,
            timeout_slot,
        });
        self.emit(Op::Jump(check as u32));
        let timeout = self.code().here();
        self.code().patch(to_timeout, timeout);
        self.emit(Op::Pop);
        match &after {
            Some((_, body)) => self.compile(body, None, tail)?,
            None => {
                self.emit(Op::Nil);
            }
        }
        let end = self.code().here();
        for jump in to_end {
            self.code().patch(jump, end);
        }
        self.end_scope(scope);
        Ok(())
    }

    fn parse_clauses(&self, form: &Value, forms: &[Value]) -> Result<Vec<Clause>> {
        let mut clauses = Vec::new();
        let mut i = 0;
        while i < forms.len() {
            let pattern = forms[i].clone();
            let guarded = matches!(forms.get(i + 1), Some(Value::Keyword(k)) if k.name() == "when");
            let (guard, body_at) = if guarded {
                (forms.get(i + 2).cloned(), i + 3)
            } else {
                (None, i + 1)
            };
            let Some(body) = forms.get(body_at) else {
                return Err(self
                    .error_at(form, format!("the clause for pattern {} has no body", pattern))
                    .with_hint("each clause is `pattern body` or `pattern :when guard body`; use do for several forms"));
            };
            if guarded && guard.is_none() {
                return Err(self.error_at(form, ":when needs a guard expression"));
            }
            clauses.push(Clause {
                pattern,
                guard,
                body: body.clone(),
            });
            i = body_at + 1;
        }
        Ok(clauses)
    }

    /// Compiles `clauses` one after the other against the value in
    /// `subject`; returns the jumps to patch to the end of the whole form.
    /// A clause that fails goes on with the next, past the tests they
    /// share; the last one's failures go to the code emitted next.
    fn compile_clauses(
        &mut self,
        clauses: &[Clause],
        subject: u16,
        accept: bool,
        tail: Tail,
    ) -> Result<Vec<usize>> {
        let mut to_end = Vec::new();
        let mut previous: Option<(Prefix, Vec<usize>)> = None;
        for clause in clauses {
            let start = self.code().here();
            let (jump, prefix, fails) = self.compile_clause(clause, subject, accept, tail)?;
            if let Some((before, failed)) = previous.take() {
                let shared = before
                    .tests
                    .iter()
                    .zip(&prefix.tests)
                    .take_while(|(a, b)| a.same_as(b))
                    .count();
                for (at, passed) in failed.into_iter().zip(before.passed) {
                    let skip = passed.min(shared);
                    let target = if skip == 0 {
                        start
                    } else {
                        prefix.after[skip - 1]
                    };
                    self.code().patch(at, target);
                }
            }
            to_end.push(jump);
            previous = Some((prefix, fails));
        }
        let next = self.code().here();
        for at in previous.map(|(_, fails)| fails).unwrap_or_default() {
            self.code().patch(at, next);
        }
        Ok(to_end)
    }

    /// Compiles one clause against the value in `subject`; returns the jump
    /// to patch to the end of the whole form, the tests it makes first, and
    /// its failing jumps, for the caller to patch.
    fn compile_clause(
        &mut self,
        clause: &Clause,
        subject: u16,
        accept: bool,
        tail: Tail,
    ) -> Result<(usize, Prefix, Vec<usize>)> {
        let scope = self.begin_scope();
        let mut fails = Vec::new();
        let mut bound = Vec::new();
        let mut prefix = Prefix::default();
        match &clause.pattern {
            Value::Vector(items) => {
                self.compile_sequence(items, subject, &mut fails, &mut bound, Some(&mut prefix))?
            }
            pattern => self.compile_pattern(pattern, subject, &mut fails, &mut bound)?,
        }
        if let Some(guard) = &clause.guard {
            self.compile(guard, None, Tail::No)?;
            fails.push(self.emit(Op::JumpIfFalse(0)));
        }
        prefix.note_fails(fails.len());
        if accept {
            self.emit(Op::ReceiveAccept);
            self.emit(Op::Pop);
        }
        self.compile(&clause.body, None, tail)?;
        let to_end = self.emit(Op::Jump(0));
        self.end_scope(scope);
        Ok((to_end, prefix, fails))
    }

    /// Emits the tests of `pattern` against local `slot`, binding its names;
    /// every failing test jumps to an address pushed on `fails`.
    fn compile_pattern(
        &mut self,
        pattern: &Value,
        slot: u16,
        fails: &mut Vec<usize>,
        bound: &mut Vec<(Sym, u16)>,
    ) -> Result<()> {
        match pattern {
            Value::Symbol(s) if s.name() == "_" => Ok(()),
            Value::Symbol(s) if s.namespace().is_none() && s.name() != "&" => {
                if let Some((_, earlier)) = bound.iter().find(|(name, _)| name == s) {
                    let earlier = *earlier;
                    self.emit(Op::Local(slot));
                    self.emit(Op::Local(earlier));
                    self.emit(Op::Eq);
                    fails.push(self.emit(Op::JumpIfFalse(0)));
                } else {
                    let local = self.bind_local(*s)?;
                    self.emit(Op::Local(slot));
                    self.emit(Op::SetLocal(local));
                    bound.push((*s, local));
                }
                Ok(())
            }
            Value::Vector(items) => self.compile_sequence(items, slot, fails, bound, None),
            Value::Map(entries) => {
                self.emit(Op::Local(slot));
                self.emit(Op::TestMap);
                fails.push(self.emit(Op::JumpIfFalse(0)));
                for (key, part) in entries.iter() {
                    if !is_literal(key) {
                        return Err(self
                            .error_here(format!("map pattern keys must be literals, not {key}"))
                            .with_hint("match on keywords, strings or numbers as keys"));
                    }
                    self.emit(Op::Local(slot));
                    self.compile_constant(key.clone())?;
                    self.emit(Op::HasKey);
                    fails.push(self.emit(Op::JumpIfFalse(0)));
                    self.emit(Op::Local(slot));
                    self.compile_constant(key.clone())?;
                    self.emit(Op::GetKey);
                    self.match_part(part, fails, bound)?;
                }
                Ok(())
            }
            Value::List(items) if items.len() == 2 && items[0].is_symbol("quote") => {
                self.literal_test(items[1].clone(), slot, fails)
            }
            literal if is_literal(literal) => self.literal_test(literal.clone(), slot, fails),
            other => Err(self
                .error_at(other, format!("{other} cannot be used as a pattern"))
                .with_hint("patterns are literals, _, symbols, 'symbols, vectors and maps")),
        }
    }

    /// The tests of a vector pattern against local `slot`. With `prefix`
    /// (a clause's own pattern), the tests it makes before it binds
    /// anything are recorded there.
    fn compile_sequence(
        &mut self,
        items: &crate::value::Vector,
        slot: u16,
        fails: &mut Vec<usize>,
        bound: &mut Vec<(Sym, u16)>,
        mut prefix: Option<&mut Prefix>,
    ) -> Result<()> {
        let rest_at = items.iter().position(|p| p.is_symbol("&"));
        let fixed = rest_at.unwrap_or(items.len());
        if let Some(at) = rest_at {
            if at + 2 != items.len() {
                return Err(self
                    .error_here("& in a pattern must be followed by exactly one pattern")
                    .with_hint("write it as [first & more]"));
            }
        }
        if fixed > u16::MAX as usize {
            return Err(self.error_here("pattern too long"));
        }
        let (len, at_least) = (fixed as u16, rest_at.is_some());
        self.test_seq(slot, len, at_least, fails);
        if let Some(prefix) = prefix.as_deref_mut() {
            let after = self.code().here();
            prefix.push(Test::Seq { len, at_least }, fails.len(), after);
        }
        for (i, item) in items.iter().take(fixed).enumerate() {
            let index = i as u16;
            if let Some(prefix) = prefix.as_deref_mut() {
                let literal = match item {
                    Value::Symbol(s) if s.name() == "_" => Some(None),
                    Value::List(quoted) if quoted.len() == 2 && quoted[0].is_symbol("quote") => {
                        Some(Some(quoted[1].clone()))
                    }
                    literal if is_literal(literal) => Some(Some(literal.clone())),
                    _ => None,
                };
                if let Some(literal) = literal {
                    if let Some(value) = &literal {
                        self.emit(Op::LocalItem { slot, index });
                        self.test_top_equals(value.clone(), fails)?;
                    }
                    let after = self.code().here();
                    prefix.push(Test::Item { index, literal }, fails.len(), after);
                    continue;
                }
            }
            // Past the first name (or nested pattern) nothing is shared.
            prefix = None;
            self.match_item(item, slot, index, fails, bound)?;
        }
        if let Some(at) = rest_at {
            self.emit(Op::Local(slot));
            self.emit(Op::ItemsFrom(fixed as u16));
            self.match_part(&items[at + 1], fails, bound)?;
        }
        Ok(())
    }

    /// Jumps to a failure unless local `slot` is a list or vector of `len`
    /// items (at least, with `at_least`).
    fn test_seq(&mut self, slot: u16, len: u16, at_least: bool, fails: &mut Vec<usize>) {
        if let (Ok(slot), Ok(len)) = (u8::try_from(slot), u8::try_from(len)) {
            fails.push(self.emit(Op::JumpUnlessSeq {
                slot,
                len,
                at_least,
                target: 0,
            }));
            return;
        }
        self.emit(Op::Local(slot));
        self.emit(Op::TestSeq { len, at_least });
        fails.push(self.emit(Op::JumpIfFalse(0)));
    }

    /// Matches item `index` of the sequence in local `slot` against
    /// `part`. The common parts need no local of their own: `_` reads
    /// nothing, a literal is compared where it is pushed, a new name takes
    /// the item straight into its slot.
    fn match_item(
        &mut self,
        part: &Value,
        slot: u16,
        index: u16,
        fails: &mut Vec<usize>,
        bound: &mut Vec<(Sym, u16)>,
    ) -> Result<()> {
        match part {
            Value::Symbol(s) if s.name() == "_" => Ok(()),
            Value::Symbol(s)
                if s.namespace().is_none()
                    && s.name() != "&"
                    && !bound.iter().any(|(name, _)| name == s) =>
            {
                self.emit(Op::LocalItem { slot, index });
                let local = self.bind_local(*s)?;
                self.emit(Op::SetLocal(local));
                bound.push((*s, local));
                Ok(())
            }
            Value::List(items) if items.len() == 2 && items[0].is_symbol("quote") => {
                self.emit(Op::LocalItem { slot, index });
                self.test_top_equals(items[1].clone(), fails)
            }
            literal if is_literal(literal) => {
                self.emit(Op::LocalItem { slot, index });
                self.test_top_equals(literal.clone(), fails)
            }
            _ => {
                self.emit(Op::LocalItem { slot, index });
                self.match_part(part, fails, bound)
            }
        }
    }

    /// Matches the value on top of the stack against `part`.
    fn match_part(
        &mut self,
        part: &Value,
        fails: &mut Vec<usize>,
        bound: &mut Vec<(Sym, u16)>,
    ) -> Result<()> {
        let temp = self.bind_local(destructure::gensym("part"))?;
        self.emit(Op::SetLocal(temp));
        self.compile_pattern(part, temp, fails, bound)
    }

    fn literal_test(&mut self, literal: Value, slot: u16, fails: &mut Vec<usize>) -> Result<()> {
        self.emit(Op::Local(slot));
        self.test_top_equals(literal, fails)
    }

    /// Pops the top of the stack and jumps to a failure unless it equals
    /// `literal` (one instruction with the comparison, see `emit`).
    fn test_top_equals(&mut self, literal: Value, fails: &mut Vec<usize>) -> Result<()> {
        match literal {
            Value::Int(k) if i16::try_from(k).is_ok() => {
                self.emit(Op::EqInt(k as i32));
            }
            other => {
                self.compile_constant(other)?;
                self.emit(Op::Eq);
            }
        }
        fails.push(self.emit(Op::JumpIfFalse(0)));
        Ok(())
    }
}

fn is_literal(v: &Value) -> bool {
    matches!(
        v,
        Value::Nil
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Str(_)
            | Value::Keyword(_)
            | Value::Char(_)
    )
}
