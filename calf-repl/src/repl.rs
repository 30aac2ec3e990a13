//! The interactive REPL: reads lines with rustyline and evaluates them in
//! the main process of a runtime that lives as long as the session.
//!
//! The REPL's process is a Calf process like any other: `(self)` is its
//! pid, what it spawns keeps running between lines, and messages sent to
//! it wait in its mailbox until `(receive ...)` or `(flush)` takes them.
//! What processes print while a line is typed appears above the prompt
//! ([`crate::output`]); Tab completes names and the bracket matching the
//! one at the cursor is highlighted ([`crate::line_editor`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use calf_lang::namespace::USER;
use calf_lang::span::add_source;
use calf_lang::value::print::pr_str;
use calf_lang::Sym;
use calf_scheduler::{Ending, Failure, Io};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};

use crate::line_editor::LineHelper;
use crate::output::{AbovePrompt, PromptShown};
use crate::results::Results;
use crate::{render_failure, Options, Sink, ERROR_STATUS};

const HELP: &str = "\
Type a form and press Enter; an open bracket continues on the next line.
  Tab        complete a name, a namespace, alias/name or a :keyword
  *1 *2 *3   the last three results      *e   the last error
  (self)     this REPL's process         (flush)  print and drop its messages
  (doc name)     a var's docstring       (source name)  its definition
  (load-file \"f.calf\")  evaluate a file's forms here, returning the last value
  Ctrl-C     interrupt the running line (at the prompt: clear the input)
  Ctrl-D or :quit  leave                 :help  this text
";

/// Where history is kept: `$XDG_DATA_HOME/calf/history`, else
/// `~/.local/share/calf/history`.
/// Reads a line at the prompt of namespace `ns` (the continuation prompt
/// while `buffer` holds the start of a form): `None` when Ctrl-C cleared
/// the input, which also drops what `buffer` held.
pub(crate) fn read_line(
    editor: &mut Editor<LineHelper, DefaultHistory>,
    prompt_shown: &PromptShown,
    ns: &str,
    buffer: &mut String,
) -> rustyline::Result<Option<String>> {
    let prompt = if buffer.is_empty() {
        format!("{ns}=> ")
    } else {
        format!("{}#_=> ", " ".repeat(ns.len().saturating_sub(2)))
    };
    if let Some(helper) = editor.helper_mut() {
        helper.ns = Sym::new(ns);
    }
    prompt_shown.set(true);
    let read = editor.readline(&prompt);
    prompt_shown.set(false);
    match read {
        Ok(line) => Ok(Some(line)),
        Err(ReadlineError::Interrupted) => {
            buffer.clear();
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn history_path() -> Option<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/share"),
    };
    Some(data.join("calf").join("history"))
}

/// Runs the REPL until Ctrl-D, `:quit` or `exit-program`; returns the exit
/// status.
pub fn run(options: Options, mut stdout: Sink, mut stderr: Sink) -> i32 {
    let Options {
        config,
        load_path,
        nats_url,
        ..
    } = options;
    let globals = crate::globals_with_args(&[]);
    let config_editor = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<LineHelper, DefaultHistory> = match Editor::with_config(config_editor) {
        Ok(editor) => editor,
        Err(e) => {
            let _ = writeln!(stderr, "error: cannot start the line editor: {e}");
            return ERROR_STATUS;
        }
    };
    editor.set_helper(Some(LineHelper::new(globals.clone(), Sym::new(USER))));
    // Processes print above the prompt while a line is typed; without a
    // terminal (input from a pipe) they print straight out.
    let prompt_shown = PromptShown::default();
    let io = Io {
        stdout: Box::new(AbovePrompt::new(
            stdout.clone(),
            prompt_shown.clone(),
            editor.create_external_printer().ok(),
        )),
        stderr: Box::new(AbovePrompt::new(
            stderr.clone(),
            prompt_shown.clone(),
            editor.create_external_printer().ok(),
        )),
        render: render_failure,
        nats_url,
        durable: None,
        trace: None,
    };
    let mut session = match calf_scheduler::run_interactive(globals.clone(), config, load_path, io)
    {
        Ok(session) => session,
        Err(ending) => return ended(ending, &mut stdout, &mut stderr),
    };
    let results = Results::new(globals);

    // Ctrl-C while a line runs interrupts it; at the prompt the terminal is
    // in raw mode and rustyline sees the key instead.
    let evaluating = Arc::new(AtomicBool::new(false));
    {
        let evaluating = evaluating.clone();
        let interrupter = session.interrupter();
        let _ = ctrlc::set_handler(move || {
            if evaluating.load(Ordering::SeqCst) {
                interrupter.interrupt();
            }
        });
    }

    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let mut ns = USER.to_string();
    let mut buffer = String::new();
    let mut line_no = 0usize;
    let status = loop {
        let line = match read_line(&mut editor, &prompt_shown, &ns, &mut buffer) {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(ReadlineError::Eof) => break 0,
            Err(e) => {
                let _ = writeln!(stderr, "error: {e}");
                break ERROR_STATUS;
            }
        };
        if buffer.is_empty() {
            match line.trim() {
                "" => continue,
                ":quit" | ":q" => {
                    let _ = editor.add_history_entry(line.trim());
                    break 0;
                }
                ":help" | ":h" => {
                    let _ = editor.add_history_entry(line.trim());
                    let _ = write!(stdout, "{HELP}");
                    let _ = stdout.flush();
                    continue;
                }
                _ => {}
            }
        }
        buffer.push_str(&line);
        buffer.push('\n');
        line_no += 1;
        let file = add_source(format!("<repl:{line_no}>"), buffer.clone());
        let forms = match calf_lang::reader::read_file(file) {
            Ok(forms) => forms,
            Err(error) if error.incomplete => continue,
            Err(error) => {
                let _ = editor.add_history_entry(buffer.trim_end());
                buffer.clear();
                let failure = Failure::Source(error);
                let _ = stderr.write_all(render_failure(&failure).as_bytes());
                let _ = stderr.flush();
                results.error(&failure);
                continue;
            }
        };
        let _ = editor.add_history_entry(buffer.trim_end());
        buffer.clear();
        if forms.forms.is_empty() {
            continue;
        }
        evaluating.store(true, Ordering::SeqCst);
        let evaluated = session.eval(forms);
        evaluating.store(false, Ordering::SeqCst);
        session.flush();
        match evaluated {
            Ok(evaluated) => {
                ns = evaluated.ns.to_string();
                match evaluated.result {
                    Ok(value) => {
                        let _ = writeln!(stdout, "{}", pr_str(&value));
                        let _ = stdout.flush();
                        results.value(&value);
                    }
                    Err(failure) => {
                        let _ = stderr.write_all(render_failure(&failure).as_bytes());
                        let _ = stderr.flush();
                        results.error(&failure);
                    }
                }
            }
            Err(ending) => break ended(ending, &mut stdout, &mut stderr),
        }
    };
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    drop(session);
    let _ = stdout.flush();
    status
}

/// The status of a program that ended (`exit-program`, or a runtime that
/// could not start).
fn ended(ending: Ending, stdout: &mut Sink, stderr: &mut Sink) -> i32 {
    let _ = stdout.flush();
    match ending {
        Ending::Returned(_) => 0,
        Ending::Exit(status) => status,
        Ending::Failed(failure) => {
            let _ = stderr.write_all(render_failure(&failure).as_bytes());
            let _ = stderr.flush();
            ERROR_STATUS
        }
    }
}
