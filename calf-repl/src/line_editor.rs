//! What the REPL adds to rustyline's line editing: Tab completes names
//! ([`calf_lang::completion`]) and the bracket matching the one at the cursor
//! is highlighted ([`crate::brackets`]).

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

use calf_lang::namespace::Globals;
use calf_lang::Sym;
use rustyline::completion::Completer;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// How a matching bracket stands out: bold blue. (Under `NO_COLOR`
/// rustyline asks for no highlighting at all.)
const BRACKET_STYLE: &str = "\x1b[1;34m";
const RESET: &str = "\x1b[0m";

/// Completions of the word ending at a position of a line: where the
/// word starts, and the names.
pub type Complete = Box<dyn Fn(&str, usize) -> (usize, Vec<String>)>;

/// Where completions come from: this process's namespaces, or an attached
/// session's (a request to the scheduler).
pub enum Names {
    Local(Arc<Globals>),
    Remote(Complete),
}

/// The REPL's rustyline helper.
pub struct LineHelper {
    names: Names,
    /// The namespace the next line is read in: names are completed there.
    pub ns: Sym,
    /// Whether the line is shown with a bracket highlighted.
    bracket_shown: Cell<bool>,
}

impl LineHelper {
    pub fn new(globals: Arc<Globals>, ns: Sym) -> LineHelper {
        LineHelper::with_names(Names::Local(globals), ns)
    }

    pub fn with_names(names: Names, ns: Sym) -> LineHelper {
        LineHelper {
            names,
            ns,
            bracket_shown: Cell::new(false),
        }
    }
}

impl Completer for LineHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(match &self.names {
            Names::Local(globals) => calf_lang::completion::complete(globals, self.ns, line, pos),
            Names::Remote(complete) => complete(line, pos),
        })
    }
}

impl Highlighter for LineHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        let partner = crate::brackets::matching_bracket(line, pos);
        let Some(partner) = partner.filter(|_| self.bracket_shown.get()) else {
            return Cow::Borrowed(line);
        };
        let mut styled = String::with_capacity(line.len() + 16);
        styled.push_str(&line[..partner]);
        styled.push_str(BRACKET_STYLE);
        styled.push_str(&line[partner..=partner]);
        styled.push_str(RESET);
        styled.push_str(&line[partner + 1..]);
        Cow::Owned(styled)
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: CmdKind) -> bool {
        let shown = kind != CmdKind::ForcedRefresh
            && crate::brackets::matching_bracket(line, pos).is_some();
        self.bracket_shown.set(shown);
        shown
    }
}

impl Hinter for LineHelper {
    type Hint = String;
}

impl Validator for LineHelper {
    /// Every line is taken as typed (the REPL itself reads on while a
    /// bracket is open); a line shown with a highlighted bracket is drawn
    /// once more without it, so that it stays plain above the next prompt.
    fn validate(&self, _: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let redraw_plain = self.bracket_shown.get().then(String::new);
        Ok(ValidationResult::Valid(redraw_plain))
    }
}

impl Helper for LineHelper {}
