//! `calf help [TOPIC]`: what each verb and mode of `calf` does, its
//! options, and the page of docs/ to read next. `--help` lists a command's
//! options; a topic says what the command is for.

use std::ffi::OsString;
use std::io::Write;

use crate::ERROR_STATUS;

/// One subject of `calf help`.
pub struct Topic {
    pub name: &'static str,
    /// One line for the list of topics.
    pub summary: &'static str,
    pub text: &'static str,
}

/// How the verbs that reach a scheduler log in: said once, shown by each.
const CONNECTION: &str = "\
Connection (every scheduler verb): --nats URL (default nats://127.0.0.1:4222),
then --user NAME --password SECRET, or --creds FILE; or CALF_NATS_URL,
CALF_NATS_USER, CALF_NATS_PASSWORD, CALF_NATS_CREDS. The user is one of a
tenant's in calf.toml, and sees only that tenant's processes.";

pub const TOPICS: &[Topic] = &[
    Topic {
        name: "run",
        summary: "run a script, or evaluate an expression",
        text: "\
calf FILE.calf [ARGS...]    run a script; ARGS are in *command-line-args*
calf -e 'EXPR'              evaluate EXPR, print the result with prn, exit

The script runs as the main process; when it returns, the program exits
with status 0, or 1 after an uncaught error (message, source line, Calf
stack on stderr), or n after (exit-program n). Foreign calls go over the
embedded bus, answered by (serve ...) stubs in the program, unless --nats
sends them to workers on a NATS server.

Options:
  --nats URL          foreign calls go to this NATS server (CALF_NATS_URL)
  --threads N         scheduler threads (default: one per core; CALF_THREADS)
  --reductions N      calls and loop rounds a process runs before it yields
  --max-depth N       nested calls allowed before a stack-overflow error
  --disasm            print each top-level form's bytecode, then run it
  --trace FILE        append a span per foreign call to FILE (JSON lines)

(require 'app.util) loads app/util.calf from the script's directory, then
each directory of CALF_PATH, then the stdlib bundled in calf.

Read: docs/language.md (the language), examples/tour.calf (a first look).",
    },
    Topic {
        name: "repl",
        summary: "the interactive prompt (calf with no script)",
        text: "\
calf [--nats URL] [--threads N]

The REPL is itself a process: (self) is its pid, what it spawns keeps
running between lines, and messages sent to it wait until (receive ...)
or (flush). *1 *2 *3 are the last results, *e the last error; (doc f)
and (source f) show a var; (load-file \"scratch.calf\") evaluates a file.
Ctrl-C interrupts a line, Ctrl-D or :quit leaves, :help lists the rest.
History is kept in $XDG_DATA_HOME/calf/history.

Read: README.md (Using calf), docs/language.md.",
    },
    Topic {
        name: "test",
        summary: "run the tests of *_test.calf files",
        text: "\
calf test [PATHS...]

Runs every deftest of the given files, or of the *_test.calf files under
the given directories (default: the current one), and exits with status 1
if any failed.

Options:
  --junit FILE        also write the results as JUnit XML
  --jobs N            test files run at once (default: one per core)
  --timeout-ms MS     a test running longer is stopped and reported as an
                      error (default: 60000; a deftest may set its own)
  --nats URL          foreign calls go to this NATS server (CALF_NATS_URL)

Read: docs/testing.md.",
    },
    Topic {
        name: "nrepl",
        summary: "an nREPL server for CIDER, Calva and Conjure",
        text: "\
calf nrepl [--port N] [--bind ADDR]

Starts an nREPL server and writes its port to .nrepl-port; connect your
editor to it as to a Clojure REPL. Anyone who can connect can run code as
you: keep --bind on the loopback interface (the default).

Options:
  --port N            the port (default 0: any free port)
  --bind ADDR         the address (default 127.0.0.1)
  --nats URL          foreign calls go to this NATS server (CALF_NATS_URL)
  --threads N         scheduler threads (CALF_THREADS)

Read: docs/editors.md.",
    },
    Topic {
        name: "serve",
        summary: "the central scheduler for the tenants of a calf.toml",
        text: "\
calf serve --config calf.toml [--nats URL] [--http ADDR] [--trace FILE]
calf serve nats-config calf.toml

The first runs one scheduler for many tenants: each tenant is a NATS
account, with its own processes, subjects and quotas. The second prints the
nats-server configuration of calf.toml's accounts and users, to start
nats-server with. The other verbs (submit, ps, inspect, kill, send, logs,
attach) are its clients.

  --http ADDR         the web dashboard and /metrics on ADDR (HOST:PORT, or
                      a port alone on 127.0.0.1); log in as a NATS user
  --trace FILE        append a span per foreign call to FILE (JSON lines)
  --durable NODE      keep durable processes in each tenant's JetStream, as
                      node NODE; the calf serve nodes on one NATS with
                      --durable are one cluster (docs/cluster.md)
  --lease-ms MS       how long a node may be silent before the others take
                      its durable processes over (default 10000)

Read: docs/serve.md (a walk through on one machine, with
examples/serve/calf.toml), docs/dashboard.md, docs/cluster.md.",
    },
    Topic {
        name: "submit",
        summary: "run a program as a job of your tenant on the scheduler",
        text: "\
calf submit FILE.calf|DIR [ARGS...] [--main PATH] [--durable] [--node NODE]

Sends the files (every .calf under a directory) to the scheduler, which
runs them as a new job; prints the job's pid. The job runs main.calf of a
directory, or the first file, unless --main names another; `--` ends the
files and starts the program's arguments. --durable makes the job's main
process durable; in a cluster, the job runs on the node the submission
reaches, or on the one --node names.

Read: docs/serve.md.",
    },
    Topic {
        name: "ps",
        summary: "your tenant's processes",
        text: "\
calf ps [--json] [--summary]

Lists your tenant's processes on the scheduler: pid, job, registered
name, status, function, mailbox length, reductions, memory, age. --json
prints the list as JSON; --summary prints the tenant's figures
(processes, calls in flight) and its quotas instead.

Read: docs/serve.md.",
    },
    Topic {
        name: "inspect",
        summary: "one process: status, Calf stack, mailbox, links, call",
        text: "\
calf inspect PID [--json]

Shows one process of your tenant: its status, its Calf stack, its mailbox,
its links and monitors, and the call it waits on. PID is 12, <12> or
#pid<12>, or <3.12> for a process of node 3 of a cluster.

Read: docs/serve.md.",
    },
    Topic {
        name: "kill",
        summary: "send a process an exit signal",
        text: "\
calf kill PID [REASON]

Sends the process an exit signal, as (exit pid reason) does: REASON is
Calf data (default :kill, which cannot be trapped). Its links and
monitors hear of it, and a supervisor restarts it as its spec says.

Read: docs/serve.md, docs/language.md (Processes).",
    },
    Topic {
        name: "send",
        summary: "send a process a message from outside",
        text: "\
calf send PID 'EDN'

Sends the process a message: Calf data, read and never evaluated, e.g.
calf send 12 '[:stop]'.

Read: docs/serve.md.",
    },
    Topic {
        name: "logs",
        summary: "a job's output and how it ended",
        text: "\
calf logs PID [-f]

Prints what the job of PID printed, then how it ended (its exit reason).
-f keeps printing until the job ends; Ctrl-C stops following.

Read: docs/serve.md.",
    },
    Topic {
        name: "attach",
        summary: "a REPL whose process lives in the scheduler",
        text: "\
calf attach

A REPL in your tenant's runtime on the scheduler: what it spawns runs
there. Ctrl-D detaches; its processes keep running.

Read: docs/serve.md.",
    },
    Topic {
        name: "durable",
        summary: "processes that survive the crash of their scheduler",
        text: "\
calf --nats URL --durable NODE [--lease-ms MS] FILE.calf
calf --nats URL --durable NODE --resume

A process started with (spawn-durable f args...) is saved in the NATS
server's JetStream whenever it parks (a call, a sleep, a receive that
waits). When its scheduler dies, another one run with --durable takes it
over once the dead one's lease has lapsed, and resumes it where it parked;
the call it waited on is made again with the same Calf-Call-Id.

Options:
  --durable NODE      this scheduler's name (CALF_DURABLE_NODE); needs --nats
  --lease-ms MS       how long its lease lives unrenewed (default 10000):
                      how soon others take over after a crash
  --resume            run no program: take over the saved processes and run
                      until every one has ended

Read: docs/durability.md.",
    },
];

/// The topic named `name`, if there is one.
pub fn topic(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// `calf help [TOPIC]` (the whole command line): its exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let words: Vec<String> = args
        .iter()
        .skip(2)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut out = std::io::stdout().lock();
    match words.as_slice() {
        [] => {
            let _ = out.write_all(index().as_bytes());
            0
        }
        [name] => match topic(name) {
            Some(t) => {
                let _ = out.write_all(page(t).as_bytes());
                0
            }
            None => {
                eprintln!(
                    "error: there is no help topic {name:?}; `calf help` lists them: {}",
                    names()
                );
                ERROR_STATUS
            }
        },
        _ => {
            eprintln!("error: calf help takes one topic at most; `calf help` lists them");
            ERROR_STATUS
        }
    }
}

/// What `calf help` prints: every topic with its line.
pub fn index() -> String {
    let mut text = String::from(
        "Calf: a Lisp for programs that coordinate work across many machines.\n\n\
         calf help TOPIC says what one of these does, its options, and what to read:\n\n",
    );
    for t in TOPICS {
        text.push_str(&format!("  {:<9} {}\n", t.name, t.summary));
    }
    text.push_str(
        "\ncalf --help and calf VERB --help list the options alone; calf --version the version.\n\
         A first look: calf examples/tour.calf\n",
    );
    text
}

/// What `calf help TOPIC` prints.
pub fn page(topic: &Topic) -> String {
    let mut text = format!("calf {}: {}\n\n{}\n", topic.name, topic.summary, topic.text);
    if crate::admin::is_verb(topic.name) && topic.name != "serve" {
        text.push('\n');
        text.push_str(CONNECTION);
        text.push('\n');
    }
    text
}

fn names() -> String {
    TOPICS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_has_a_topic() {
        // `help` itself is the list of topics.
        for verb in crate::verbs().filter(|v| *v != "help") {
            assert!(topic(verb).is_some(), "calf help has no topic {verb:?}");
        }
        // The modes that are not verbs: running a script, the REPL,
        // durable processes.
        for mode in ["run", "repl", "durable"] {
            assert!(topic(mode).is_some(), "calf help has no topic {mode:?}");
        }
    }

    #[test]
    fn every_topic_is_listed_and_names_a_page_that_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let index = index();
        for t in TOPICS {
            assert!(index.contains(&format!("  {:<9} {}", t.name, t.summary)));
            let read = t
                .text
                .lines()
                .find(|l| l.starts_with("Read: "))
                .unwrap_or_else(|| panic!("topic {} names nothing to read", t.name));
            let pages: Vec<&str> = read
                .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
                .map(|w| w.trim_end_matches('.'))
                .filter(|w| w.ends_with(".md") || w.ends_with(".calf") || w.ends_with(".toml"))
                .collect();
            assert!(!pages.is_empty(), "topic {}: {read}", t.name);
            for p in pages {
                assert!(
                    root.join(p).exists(),
                    "topic {} names {p}, which is not there",
                    t.name
                );
            }
        }
    }

    #[test]
    fn a_topic_page_fits_a_screen() {
        for t in TOPICS {
            let page = page(t);
            assert!(
                page.lines().count() <= 40,
                "calf help {} is too long",
                t.name
            );
            assert!(
                page.lines().all(|l| l.chars().count() <= 80),
                "calf help {}: a line is wider than 80",
                t.name
            );
        }
    }
}
