//! `calf attach`: the REPL, its process living in the tenant's runtime
//! under `calf serve`. Lines are read here, as in the local REPL (an open
//! bracket continues on the next line), and evaluated there; completion
//! asks the session; what the session's processes print comes from
//! following `logs` of its pid, above the prompt while a line is typed.
//!
//! Ctrl-C while a line runs interrupts that line only. Ctrl-D detaches:
//! the REPL's process ends, what it spawned keeps running.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calf_lang::Sym;
use calf_serve::api;
use calf_serve::client::{Client, ClientError};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};
use tokio::runtime::Runtime;
use tokio::sync::watch;

use crate::admin::{print_error, FOLLOW_WAIT};
use crate::line_editor::{LineHelper, Names};
use crate::output::{AbovePrompt, PromptShown};
use crate::ERROR_STATUS;

const HELP: &str = "\
A REPL in the scheduler: its process and what it spawns run there.
  Tab        complete a name in the session's namespaces
  Ctrl-C     interrupt the running line (at the prompt: clear the input)
  Ctrl-D or :quit  detach (processes spawned keep running)   :help  this text
";

/// How long a value waits for the output printed before it to arrive.
const OUTPUT_PATIENCE: Duration = Duration::from_secs(2);

/// Runs an attached session until EOF or `:quit`; the exit status.
pub fn run(client: Client, runtime: &Runtime) -> i32 {
    let attached = match runtime.block_on(client.attach()) {
        Ok(attached) => attached,
        Err(e) => {
            print_error(&e.to_string());
            return ERROR_STATUS;
        }
    };
    let session = attached.session;
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    if interactive {
        eprintln!(
            "attached to {} as process <{}>; Ctrl-D detaches, :help for help",
            client.url(),
            attached.pid
        );
    }

    let mut editor = match editor(&client, runtime, session) {
        Ok(editor) => editor,
        Err(e) => {
            print_error(&format!("cannot start the line editor: {e}"));
            let _ = runtime.block_on(client.detach(session));
            return ERROR_STATUS;
        }
    };
    let prompt_shown = PromptShown::default();
    let output = Arc::new(Mutex::new(AbovePrompt::new(
        std::io::stdout(),
        prompt_shown.clone(),
        editor.create_external_printer().ok(),
    )));
    let (printed_to, printed) = watch::channel(0u64);
    let follower = runtime.spawn(follow(
        client.clone(),
        attached.pid,
        output.clone(),
        printed_to,
    ));

    let evaluating = Arc::new(AtomicBool::new(false));
    {
        let (evaluating, client, tokio) =
            (evaluating.clone(), client.clone(), runtime.handle().clone());
        let _ = ctrlc::set_handler(move || {
            if evaluating.load(Ordering::SeqCst) {
                let client = client.clone();
                tokio.spawn(async move { client.interrupt(session).await });
            }
        });
    }
    let history = crate::repl::history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let mut ns = attached.ns.clone();
    let mut buffer = String::new();
    let status = loop {
        let line = match crate::repl::read_line(&mut editor, &prompt_shown, &ns, &mut buffer) {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(ReadlineError::Eof) => break 0,
            Err(e) => {
                print_error(&e.to_string());
                break ERROR_STATUS;
            }
        };
        if buffer.is_empty() {
            match line.trim() {
                "" => continue,
                ":quit" | ":q" => break 0,
                ":help" | ":h" => {
                    eprint!("{HELP}");
                    continue;
                }
                _ => {}
            }
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if still_open(&buffer) {
            continue;
        }
        let _ = editor.add_history_entry(buffer.trim_end());
        let source = std::mem::take(&mut buffer);
        evaluating.store(true, Ordering::SeqCst);
        let evaluated = runtime.block_on(client.eval(session, source));
        evaluating.store(false, Ordering::SeqCst);
        match evaluated {
            Ok(evaluated) => {
                wait_for_output(runtime, printed.clone(), evaluated.output_next);
                if let Ok(mut output) = output.lock() {
                    let _ = output.flush();
                }
                show(&evaluated);
                ns = evaluated.ns;
            }
            Err(e) => {
                print_error(&e.to_string());
                if gone(&e) {
                    break ERROR_STATUS;
                }
            }
        }
    };
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    let detached = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), client.detach(session)).await
    });
    if let Ok(Err(e)) = detached {
        if !gone(&e) {
            print_error(&format!("detaching: {e}"));
        }
    }
    follower.abort();
    if let Ok(mut output) = output.lock() {
        let _ = output.flush();
    }
    status
}

fn editor(
    client: &Client,
    runtime: &Runtime,
    session: u64,
) -> rustyline::Result<Editor<LineHelper, DefaultHistory>> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<LineHelper, DefaultHistory> = Editor::with_config(config)?;
    let (client, tokio) = (client.clone(), runtime.handle().clone());
    // Completing waits for the scheduler, briefly: a slow answer is no
    // completion rather than a stuck line.
    let complete = move |line: &str, pos: usize| {
        let request = client.complete(session, line.to_string(), pos);
        let answer =
            tokio.block_on(async { tokio::time::timeout(Duration::from_secs(2), request).await });
        match answer {
            Ok(Ok(completions)) => (completions.start as usize, completions.names),
            _ => (pos, Vec::new()),
        }
    };
    editor.set_helper(Some(LineHelper::with_names(
        Names::Remote(Box::new(complete)),
        Sym::new(calf_lang::namespace::USER),
    )));
    Ok(editor)
}

/// Whether `text` ends inside an open form: the next line continues it.
fn still_open(text: &str) -> bool {
    matches!(calf_lang::reader::read_str("<attach>", text), Err(e) if e.incomplete)
}

/// Whether an error means the session is gone (or the scheduler is).
fn gone(error: &ClientError) -> bool {
    matches!(error, ClientError::NoScheduler { .. }) || error.code() == Some(api::code::NOT_FOUND)
}

/// Prints the session's output as it comes, until the session ends.
async fn follow(
    client: Client,
    pid: u64,
    output: Arc<Mutex<AbovePrompt>>,
    printed: watch::Sender<u64>,
) {
    let mut from = 0;
    loop {
        match client.logs(pid, from, FOLLOW_WAIT).await {
            Ok(chunk) => {
                if let Ok(mut output) = output.lock() {
                    let _ = output.write_all(chunk.text.as_bytes());
                    let _ = output.flush();
                }
                from = chunk.next;
                printed.send_replace(from);
                if chunk.ended.is_some() {
                    return;
                }
            }
            Err(e) if gone(&e) => return,
            // A timeout or a lost connection: ask again shortly.
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Waits until the output up to `offset` is printed, or a little while.
fn wait_for_output(runtime: &Runtime, mut printed: watch::Receiver<u64>, offset: u64) {
    runtime.block_on(async {
        let _ = tokio::time::timeout(OUTPUT_PATIENCE, printed.wait_for(|at| *at >= offset)).await;
    });
}

fn show(evaluated: &api::Evaluated) {
    if let Some(value) = &evaluated.value {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{value}");
        let _ = stdout.flush();
    }
    if let Some(error) = &evaluated.error {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(error.as_bytes());
        let _ = stderr.flush();
    }
}
