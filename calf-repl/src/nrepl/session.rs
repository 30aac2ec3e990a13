//! One nREPL session: a REPL process in the server's runtime, as `calf
//! attach` has under `calf serve` (`calf_scheduler::hosted::Attached`).
//!
//! Its evaluations run one after another, in the order they arrived, on a
//! task of their own, so that the connection goes on reading (an
//! `interrupt` can arrive while a loop runs). What the session's process,
//! and every process it spawned, prints goes to the connection and
//! message id of the evaluation that came last, as nREPL's sessions do.

use std::sync::{Arc, Mutex};

use calf_lang::namespace::Globals;
use calf_lang::value::print::pr_str;
use calf_lang::{Sym, Value};
use calf_scheduler::hosted::{Attached, Hosted, JobEnd, JobOutput, Refused};
use calf_scheduler::{Failure, LoadPath};
use tokio::sync::mpsc;

use super::bencode::Bencode;
use super::compat;
use super::message::{Outbox, Reply};
use crate::results::Results;

/// What a session evaluates: a request's code, with where it comes from.
pub struct Work {
    pub id: Option<Bencode>,
    pub outbox: Outbox,
    pub code: String,
    /// The namespace it starts in; `None`: where the last one ended.
    pub ns: Option<Sym>,
    /// The name its errors and definitions give as their file.
    pub file: String,
    /// Where in that file the code starts (1-based).
    pub line: usize,
    pub column: usize,
    /// A file loaded (`load-file`): the session's namespace is left as
    /// it was, as Clojure's `load-file` leaves `*ns*`.
    pub keeps_ns: bool,
}

/// How the last failed evaluation was reported (its `err`), shared by a
/// server's sessions.
#[derive(Clone, Default)]
pub struct LastError(Arc<Mutex<Option<String>>>);

impl LastError {
    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, text: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }
}

/// Whether an `interrupt` found something to stop.
#[derive(Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// The evaluation with this id is being stopped.
    Running(Bencode),
    /// Nothing is being evaluated.
    Idle,
    /// Another evaluation than the one named is running.
    Mismatch,
}

pub struct Session {
    pub id: String,
    attached: Attached,
    /// `*1 *2 *3` and `*e`: in `calf.core`, which every session shares.
    results: Results,
    last_error: LastError,
    output: Arc<Output>,
    /// Evaluations waiting their turn; taken by `close`.
    queue: Mutex<Option<mpsc::UnboundedSender<Work>>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The id of the evaluation running, if one is.
    running: Option<Option<Bencode>>,
    /// Whether it was asked to stop.
    interrupted: bool,
}

impl Session {
    /// Starts a session's process in `hosted` (compiling in `globals`,
    /// loading from `load_path`) and the task running its evaluations;
    /// must be called on the server's tokio runtime.
    pub fn start(
        id: String,
        hosted: &Hosted,
        globals: Arc<Globals>,
        load_path: LoadPath,
        last_error: LastError,
    ) -> Result<Arc<Session>, Refused> {
        let output = Arc::new(Output {
            session: id.clone(),
            target: Mutex::new(None),
        });
        let results = Results::new(globals.clone());
        let attached = hosted.attach_to(globals, load_path, output.clone())?;
        let (queue, mut work) = mpsc::unbounded_channel();
        let session = Arc::new(Session {
            id,
            attached,
            results,
            last_error,
            output,
            queue: Mutex::new(Some(queue)),
            state: Mutex::new(State::default()),
        });
        let runner = session.clone();
        tokio::spawn(async move {
            while let Some(work) = work.recv().await {
                runner.run(work).await;
            }
        });
        Ok(session)
    }

    /// The namespace the next evaluation starts in.
    pub fn ns(&self) -> Sym {
        self.attached.ns()
    }

    /// Queues an evaluation; false once the session is closed.
    pub fn submit(&self, work: Work) -> bool {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.as_ref().is_some_and(|queue| queue.send(work).is_ok())
    }

    /// Stops the evaluation running, if it has the id `only` (any, when
    /// `None`).
    pub fn interrupt(&self, only: Option<&Bencode>) -> Interrupted {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(running) = state.running.clone() else {
            return Interrupted::Idle;
        };
        if only.is_some() && only != running.as_ref() {
            return Interrupted::Mismatch;
        }
        state.interrupted = true;
        self.attached.interrupt();
        Interrupted::Running(running.unwrap_or(Bencode::str("")))
    }

    /// Ends the session: its process is stopped now (an evaluation
    /// running ends with it) and nothing more is evaluated; what it
    /// spawned keeps running.
    pub fn close(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.attached.stop();
    }

    async fn run(&self, work: Work) {
        *self.output.target.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((work.outbox.clone(), work.id.clone()));
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.running = Some(work.id.clone());
            state.interrupted = false;
        }
        let before = self.attached.ns();
        // What an editor evaluates for itself, written for Clojure, gets
        // the answer Clojure would give, in the namespace it runs in.
        let code = if work.keeps_ns {
            None
        } else {
            let ns = work.ns.unwrap_or(before);
            compat::calf_for(&work.code, ns.name(), self.last_error.get().as_deref())
        };
        let source = positioned(
            code.as_deref().unwrap_or(&work.code),
            work.line,
            work.column,
        );
        let reply = || Reply::new(work.id.as_ref(), &self.id);
        // An eval gives one value per top-level form, as nREPL's do; each
        // form sees what the ones before it defined, and the first error
        // ends the request. A file loaded gives its last value.
        let forms = if work.keeps_ns {
            vec![source]
        } else {
            one_by_one(&source)
        };
        let mut ns_given = work.ns;
        for form in forms {
            let evaluated = self
                .attached
                .eval_in(ns_given.take(), &work.file, &form)
                .await;
            let mut ns = evaluated.ns;
            if work.keeps_ns && ns != before {
                ns = self.attached.eval_in(Some(before), "<nrepl>", "").await.ns;
            }
            if self.take_interrupted() {
                self.finish();
                reply().status(&["interrupted", "done"]).send(&work.outbox);
                return;
            }
            match evaluated.result {
                Ok(value) => {
                    self.results.value(&value);
                    reply()
                        .text("value", pr_str(&value))
                        .text("ns", ns.name())
                        .send(&work.outbox);
                }
                Err(failure) => {
                    self.results.error(&failure);
                    let report = crate::render_failure(&failure);
                    self.last_error.set(report.clone());
                    reply().text("err", report).send(&work.outbox);
                    let kind = failure_type(&failure);
                    reply()
                        .text("ex", kind.clone())
                        .text("root-ex", kind)
                        .text("ns", ns.name())
                        .status(&["eval-error"])
                        .send(&work.outbox);
                    break;
                }
            }
        }
        self.finish();
        reply().status(&["done"]).send(&work.outbox);
    }

    /// Whether the evaluation running was asked to stop.
    fn take_interrupted(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut state.interrupted)
    }

    /// No evaluation runs any more.
    fn finish(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running = None;
        state.interrupted = false;
    }
}

/// `source`'s top-level forms, each as the whole text with everything
/// before the form blanked (newlines kept), so that each names its place;
/// the whole text as one when it holds one form, or does not read (its
/// evaluation reports the error).
fn one_by_one(source: &str) -> Vec<String> {
    let spans = match calf_lang::reader::read_data("<nrepl>", source) {
        Ok(forms) if forms.form_spans.len() > 1 => forms.form_spans,
        _ => return vec![source.to_string()],
    };
    spans
        .iter()
        .map(|span| {
            let (start, end) = (span.start as usize, span.end as usize);
            let mut text: String = source[..start]
                .chars()
                .map(|c| if c == '\n' { c } else { ' ' })
                .collect();
            text.push_str(&source[start..end]);
            text
        })
        .collect()
}

/// `code` placed at `line` and `column` of its file: the lines and
/// columns before it are blank, so that errors and definitions name the
/// place in the editor's buffer. Past a limit the padding would cost more
/// than the place is worth, and the code is taken as it is.
fn positioned(code: &str, line: usize, column: usize) -> String {
    const MAX_LINE: usize = 100_000;
    const MAX_COLUMN: usize = 1_000;
    let lines = if (1..=MAX_LINE).contains(&line) {
        line - 1
    } else {
        0
    };
    let columns = if (1..=MAX_COLUMN).contains(&column) {
        column - 1
    } else {
        0
    };
    let mut text = String::with_capacity(lines + columns + code.len());
    text.extend(std::iter::repeat_n('\n', lines));
    text.extend(std::iter::repeat_n(' ', columns));
    text.push_str(code);
    text
}

/// What nREPL calls the exception's class: the `:type` of a Calf error.
fn failure_type(failure: &Failure) -> String {
    let value = match failure {
        Failure::Source(_) => return "calf/syntax-error".to_string(),
        Failure::Thrown(thrown) => &thrown.value,
    };
    let kind = match value {
        Value::Map(map) => match map.get(&Value::keyword("data")) {
            Some(Value::Map(data)) => data.get(&Value::keyword("type")).cloned(),
            _ => None,
        },
        _ => None,
    };
    match kind {
        Some(Value::Keyword(kind)) => kind.to_string(),
        Some(other) => pr_str(&other),
        None => "calf/thrown".to_string(),
    }
}

/// Where the session's processes print: the connection and id of the last
/// evaluation.
struct Output {
    session: String,
    target: Mutex<Option<(Outbox, Option<Bencode>)>>,
}

impl JobOutput for Output {
    fn write(&self, text: &str, to_stderr: bool) {
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((outbox, id)) = &*target {
            let key = if to_stderr { "err" } else { "out" };
            Reply::new(id.as_ref(), &self.session)
                .text(key, text)
                .send(outbox);
        }
    }

    /// The session's process ended (`exit-program`, or it was killed):
    /// its next evaluation says so.
    fn ended(&self, _end: JobEnd) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_placed_where_the_editor_has_it() {
        assert_eq!(positioned("(f)", 3, 5), "\n\n    (f)");
        assert_eq!(positioned("(f)", 1, 1), "(f)");
        assert_eq!(positioned("(f)", 0, 0), "(f)");
        assert_eq!(positioned("(f)", 1, 100_000), "(f)");
    }
}
