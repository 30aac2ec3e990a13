//! The verbs of `calf` that start or drive a central scheduler: `serve`,
//! `submit`, `ps`, `inspect`, `kill`, `send`, `logs`, `attach`. Each is a
//! few requests of the admin API (calf-serve's client) and the printing
//! of their answers; errors go to stderr with exit status 1.
//!
//! A verb is recognised only as the very first argument, so that every
//! other command line means what it meant before (`calf FILE`, `calf -e`,
//! the REPL); a script named like a verb runs as `calf ./ps`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use calf_serve::api;
use calf_serve::client::{Client, ClientError, Credentials};
use clap::{Args, Parser, Subcommand};

use crate::ERROR_STATUS;

/// The words that, as the first argument, name a verb.
pub const VERBS: [&str; 8] = [
    "serve", "submit", "ps", "inspect", "kill", "send", "logs", "attach",
];

/// How long one `logs` request of a follower waits for output.
pub const FOLLOW_WAIT: Duration = Duration::from_secs(25);

/// Whether `calf ARG ...` is a verb's command line.
pub fn is_verb(first: &str) -> bool {
    VERBS.contains(&first)
}

#[derive(Parser, Debug)]
#[command(name = "calf", about = "Drive a central scheduler (`calf serve`)")]
struct Admin {
    #[command(subcommand)]
    verb: Verb,
}

/// Where the scheduler is and who asks: a tenant's user.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// The NATS server.
    #[arg(
        long,
        value_name = "URL",
        env = "CALF_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats: String,
    /// A user of the tenant's account.
    #[arg(long, env = "CALF_NATS_USER")]
    user: Option<String>,
    /// That user's password.
    #[arg(long, env = "CALF_NATS_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// A NATS credentials file, instead of user and password.
    #[arg(long, value_name = "FILE", env = "CALF_NATS_CREDS")]
    creds: Option<PathBuf>,
}

impl Connection {
    fn credentials(&self) -> Credentials {
        Credentials {
            url: self.nats.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            creds_file: self.creds.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Verb {
    /// Run the central scheduler for the tenants of a calf.toml.
    Serve(Serve),
    /// Run a program as a new job; prints its pid.
    Submit {
        /// `.calf` files and directories (every `.calf` under them), then
        /// the program's arguments; `--` ends the files.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "FILE|DIR [ARGS]")]
        targets: Vec<String>,
        /// The file the job runs (default: `main.calf` of a directory, or
        /// the first file).
        #[arg(long, value_name = "PATH")]
        main: Option<String>,
        /// Make the job's main process durable: saved whenever it parks,
        /// and resumed after a crash of its scheduler (needs a calf serve
        /// started with --durable NODE; see docs/durability.md).
        #[arg(long)]
        durable: bool,
        /// Run it on this node of a cluster (its --durable NODE id) rather
        /// than the one the submission reaches.
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// List the tenant's processes.
    Ps {
        /// The list as JSON.
        #[arg(long)]
        json: bool,
        /// The tenant's figures and quotas instead.
        #[arg(long)]
        summary: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Show one process: status, stack, mailbox, links, monitors.
    Inspect {
        /// `12`, `<12>` or `#pid<12>`.
        pid: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Send a process an exit signal (default reason `:kill`).
    Kill {
        pid: String,
        /// Calf data, e.g. `:shutdown`.
        reason: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    /// Send a process a message, Calf data (never evaluated).
    Send {
        pid: String,
        /// e.g. `'[:stop]'`.
        message: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// Print a job's output, then how it ended; once it has ended, exit
    /// with its status.
    Logs {
        pid: String,
        /// Keep printing until the job ends (Ctrl-C stops following).
        #[arg(short = 'f', long)]
        follow: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// A REPL in the tenant's runtime; Ctrl-D detaches, its processes
    /// keep running.
    Attach {
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct Serve {
    #[command(subcommand)]
    print: Option<ServePrint>,
    /// The configuration: NATS server, tenants, users, quotas.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Connect to this NATS server instead of the configuration's.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    #[command(flatten)]
    durable: crate::durable_args::DurableArgs,
    /// Serve the web dashboard and /metrics on ADDR: `HOST:PORT`, or a
    /// port alone for the loopback address (docs/dashboard.md).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Append a span per foreign call (JSON lines) to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ServePrint {
    /// Print the nats-server configuration of a calf.toml's accounts.
    NatsConfig { config: PathBuf },
}

/// Runs the verb of `args` (the whole command line); its exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let admin = Admin::parse_from(args);
    match run(admin.verb) {
        Ok(status) => status,
        Err(message) => {
            print_error(&message);
            ERROR_STATUS
        }
    }
}

/// An error for stderr: a rendered failure as it is, a line after
/// `error: `.
pub fn print_error(message: &str) {
    let message = message.trim_end();
    if message.contains('\n') {
        eprintln!("{message}");
    } else {
        eprintln!("error: {message}");
    }
}

/// Runs `verb`; the exit status (that of the job `logs` saw end).
fn run(verb: Verb) -> Result<i32, String> {
    match verb {
        Verb::Serve(serve) => run_serve(serve).map(|()| 0),
        Verb::Submit {
            targets,
            main,
            durable,
            node,
            connection,
        } => {
            let submission = api::Submit {
                durable,
                node,
                ..submission(&targets, main.as_deref())?
            };
            let submitted = block_on(&connection, |c| async move { c.submit(&submission).await })?;
            println!("{}", pid_text(submitted.pid));
            Ok(0)
        }
        Verb::Ps {
            json,
            summary,
            connection,
        } => {
            if summary {
                let summary = block_on(&connection, |c| async move { c.summary().await })?;
                print!(
                    "{}",
                    if json {
                        to_json(&summary)
                    } else {
                        summary_text(&summary)
                    }
                );
            } else {
                let list = block_on(&connection, |c| async move { c.ps().await })?;
                print!(
                    "{}",
                    if json {
                        to_json(&list)
                    } else {
                        ps_table(&list.processes)
                    }
                );
            }
            Ok(0)
        }
        Verb::Inspect {
            pid,
            json,
            connection,
        } => {
            let pid = parse_pid(&pid)?;
            let detail = block_on(&connection, |c| async move { c.inspect(pid).await })?;
            print!(
                "{}",
                if json {
                    to_json(&detail)
                } else {
                    detail_text(&detail)
                }
            );
            Ok(0)
        }
        Verb::Kill {
            pid,
            reason,
            connection,
        } => {
            let pid = parse_pid(&pid)?;
            block_on(&connection, |c| async move { c.kill(pid, reason).await })?;
            Ok(0)
        }
        Verb::Send {
            pid,
            message,
            connection,
        } => {
            let pid = parse_pid(&pid)?;
            block_on(&connection, |c| async move { c.send(pid, message).await })?;
            Ok(0)
        }
        Verb::Logs {
            pid,
            follow,
            connection,
        } => {
            let pid = parse_pid(&pid)?;
            let end = block_on(
                &connection,
                |c| async move { print_logs(&c, pid, follow).await },
            )?;
            // A job seen to end gives its status, so that `calf logs -f`
            // in a script fails when the job did.
            Ok(end.map_or(0, |end| end.status))
        }
        Verb::Attach { connection } => {
            let runtime = runtime()?;
            let client = runtime
                .block_on(Client::connect(connection.credentials()))
                .map_err(|e| e.to_string())?;
            match crate::attach::run(client, &runtime) {
                0 => Ok(0),
                _ => Err("the session ended with an error".to_string()),
            }
        }
    }
}

fn run_serve(serve: Serve) -> Result<(), String> {
    if let Some(ServePrint::NatsConfig { config }) = serve.print {
        let config = load_config(&config)?;
        print!("{}", calf_serve::nats_config::render(&config));
        return Ok(());
    }
    let Some(path) = serve.config else {
        return Err("calf serve needs --config FILE (a calf.toml; see docs/serve.md)".to_string());
    };
    let config = load_config(&path)?;
    let durable = serve
        .durable
        .store()
        .map(|(node, store)| calf_serve::server::Durability { node, store });
    let http = serve.http.as_deref().map(http_address).transpose()?;
    let trace = match &serve.trace {
        None => None,
        Some(path) => Some(std::sync::Arc::new(
            calf_scheduler::telemetry::SpanSink::create(path)
                .map_err(|e| format!("cannot open the trace file {}: {e}", path.display()))?,
        )),
    };
    let observe = calf_serve::server::Observe { http, trace };
    calf_serve::server::run(config, crate::render_failure, serve.nats, durable, observe)
}

/// `--http`'s address: `HOST:PORT`, or a port alone on the loopback
/// address (the dashboard is for this machine unless said otherwise).
fn http_address(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse()
        .map_err(|_| format!("--http {text}: give HOST:PORT (e.g. 127.0.0.1:8080) or a port alone"))
}

fn load_config(path: &Path) -> Result<calf_serve::config::ServeConfig, String> {
    calf_serve::config::ServeConfig::load(path).map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))
}

/// Connects and runs `work` with the client, on a runtime of its own.
fn block_on<T, F, W>(connection: &Connection, work: W) -> Result<T, String>
where
    W: FnOnce(Client) -> F,
    F: std::future::Future<Output = Result<T, ClientError>>,
{
    let runtime = runtime()?;
    runtime
        .block_on(async {
            let client = Client::connect(connection.credentials()).await?;
            work(client).await
        })
        .map_err(|e| e.to_string())
}

/// A pid as the verbs print it: `<12>`, or `<3.12>` on node 3 of a
/// cluster.
pub fn pid_text(pid: u64) -> String {
    let printed = calf_lang::value::Pid(pid).to_string();
    printed.trim_start_matches("#pid").to_string()
}

/// A pid as people write it: `12`, `<12>`, `#pid<12>`, or with its node,
/// `#pid<3.12>`.
pub fn parse_pid(text: &str) -> Result<u64, String> {
    text.parse::<calf_lang::value::Pid>().map(|pid| pid.0)
}

/// Prints a job's output from the start, following it with `follow`,
/// then how it ended (to stderr).
/// Prints the job's output (and follows it, with `follow`); how it ended,
/// if it did.
async fn print_logs(
    client: &Client,
    pid: u64,
    follow: bool,
) -> Result<Option<api::JobEnd>, ClientError> {
    use std::io::Write;
    let mut from = 0;
    loop {
        let wait = if follow { FOLLOW_WAIT } else { Duration::ZERO };
        let chunk = client.logs(pid, from, wait).await?;
        if chunk.start > from {
            eprintln!(
                "[{} bytes of older output were dropped]",
                chunk.start - from
            );
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(chunk.text.as_bytes());
        let _ = stdout.flush();
        from = chunk.next;
        if let Some(end) = chunk.ended {
            print_end(pid, &end);
            return Ok(Some(end));
        }
        // Without -f, what is kept is read to its end and no more.
        if !follow && chunk.text.is_empty() {
            return Ok(None);
        }
    }
}

fn print_end(pid: u64, end: &api::JobEnd) {
    if let Some(failure) = &end.failure {
        eprint!("{}", failure);
        if !failure.ends_with('\n') {
            eprintln!();
        }
    }
    eprintln!(
        "[job <{pid}> ended: {} (status {})]",
        end.reason, end.status
    );
}

/// Submission of `targets`: the leading `.calf` files and directories (up
/// to `--` or the first other argument), then the program's arguments.
fn submission(targets: &[String], main: Option<&str>) -> Result<api::Submit, String> {
    let mut files: Vec<api::SubmittedFile> = Vec::new();
    let mut default_main = None;
    let mut rest = targets.iter();
    let mut args = Vec::new();
    for (i, target) in rest.by_ref().enumerate() {
        if target == "--" {
            break;
        }
        let path = Path::new(target);
        let found = if path.is_dir() {
            let mut under = Vec::new();
            calf_files(path, path, &mut under)?;
            if under.is_empty() {
                return Err(format!("{target} holds no .calf file"));
            }
            if under.iter().any(|f| f.path == "main.calf") {
                default_main.get_or_insert_with(|| "main.calf".to_string());
            } else if under.len() == 1 {
                default_main.get_or_insert_with(|| under[0].path.clone());
            }
            under
        } else if i == 0 || (target.ends_with(".calf") && path.is_file()) {
            let file = api::SubmittedFile {
                path: submitted_name(path),
                text: read(path)?,
            };
            default_main.get_or_insert_with(|| file.path.clone());
            vec![file]
        } else {
            args.push(target.clone());
            break;
        };
        for file in found {
            if files.iter().any(|f| f.path == file.path) {
                return Err(format!("two files would be submitted as {}", file.path));
            }
            files.push(file);
        }
    }
    args.extend(rest.cloned());
    let main = match main {
        Some(main) => main.to_string(),
        None => default_main.ok_or_else(|| {
            "which file does the job run? A directory without main.calf needs --main".to_string()
        })?,
    };
    if !files.iter().any(|f| f.path == main) {
        return Err(format!("--main {main} is not among the files submitted"));
    }
    Ok(api::Submit {
        main,
        files,
        args,
        durable: false,
        node: None,
    })
}

/// A file given by itself is submitted under its relative path when it
/// has one (`app/util.calf` stays the namespace `app.util`), else under
/// its name.
fn submitted_name(path: &Path) -> String {
    let plain = path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    let name = if plain {
        path.to_path_buf()
    } else {
        PathBuf::from(path.file_name().unwrap_or(path.as_os_str()))
    };
    slashed(&name)
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Every `.calf` file under `dir`, named relative to `root`, sorted.
fn calf_files(root: &Path, dir: &Path, found: &mut Vec<api::SubmittedFile>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            calf_files(root, &path, found)?;
        } else if path.extension().is_some_and(|e| e == "calf") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            found.push(api::SubmittedFile {
                path: slashed(relative),
                text: read(&path)?,
            });
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Bytes for people: `512 B`, `3.1 KiB`, `2.0 MiB`.
fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// An age for people: `850ms`, `12s`, `3m04s`, `2h05m`.
fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Rows of text in aligned columns, the numbers right-aligned.
fn table(header: &[&str], rows: &[Vec<String>], numeric: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                text.push_str("  ");
            }
            if numeric[i] {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < cells.len() {
                    text.push_str(&" ".repeat(pad));
                }
            }
        }
        text.push('\n');
        text
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

fn ps_table(processes: &[api::ProcessRow]) -> String {
    let rows: Vec<Vec<String>> = processes
        .iter()
        .map(|p| {
            vec![
                pid_text(p.pid),
                pid_text(p.job),
                p.name.clone().unwrap_or_else(|| "-".into()),
                p.status.clone(),
                p.function.clone().unwrap_or_else(|| "-".into()),
                p.mailbox.to_string(),
                p.reductions.to_string(),
                bytes(p.memory),
                age(p.age_ms),
                p.durable.as_ref().map_or("-".into(), durable_place),
            ]
        })
        .collect();
    table(
        &[
            "PID",
            "JOB",
            "NAME",
            "STATUS",
            "FUNCTION",
            "MAILBOX",
            "REDUCTIONS",
            "MEMORY",
            "AGE",
            "DURABLE",
        ],
        &rows,
        &[
            false, false, false, false, false, true, true, true, true, false,
        ],
    )
}

/// Where a durable process runs and how long ago it was last saved.
fn durable_place(durable: &api::Durable) -> String {
    match durable.saved_at_ms {
        Some(at) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let ago = u64::try_from(now - at).unwrap_or(0);
            format!("{}, saved {} ago", durable.node, age(ago))
        }
        None => format!("{}, not saved yet", durable.node),
    }
}

fn summary_text(s: &api::Summary) -> String {
    let q = &s.quotas;
    format!(
        "tenant           {}\n\
         processes        {} of {}\n\
         jobs             {}\n\
         reductions       {}\n\
         calls in flight  {} of {}\n\
         quota refusals   {}\n\
         max mailbox      {}\n\
         max output       {} per job\n\
         cpu share        {}\n",
        s.tenant,
        s.processes,
        q.max_processes,
        s.jobs,
        s.reductions,
        s.calls_in_flight,
        q.max_calls_in_flight,
        s.quota_refusals,
        q.max_mailbox,
        bytes(q.max_output),
        q.cpu_share,
    )
}

fn detail_text(d: &api::ProcessDetail) -> String {
    let r = &d.row;
    let pids = |pids: &[u64]| {
        if pids.is_empty() {
            "-".to_string()
        } else {
            pids.iter()
                .map(|p| pid_text(*p))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    let mut text = format!(
        "pid          {}\n\
         job          {}\n\
         name         {}\n\
         status       {}\n\
         function     {}\n\
         reductions   {}\n\
         memory       {}\n\
         age          {}\n\
         links        {}\n\
         monitors     {}\n\
         monitored by {}\n\
         traps exits  {}\n",
        pid_text(r.pid),
        pid_text(r.job),
        r.name.as_deref().unwrap_or("-"),
        r.status,
        r.function.as_deref().unwrap_or("-"),
        r.reductions,
        bytes(r.memory),
        age(r.age_ms),
        pids(&d.links),
        pids(&d.monitors),
        pids(&d.monitored_by),
        d.traps_exits,
    );
    if let Some(durable) = &r.durable {
        text.push_str(&format!(
            "durable      on {} ({} saved)\n",
            durable_place(durable),
            bytes(durable.saved_bytes)
        ));
    }
    if let Some(call) = &d.call {
        text.push_str(&format!(
            "calling      {} (attempt {}, deadline {} ms since the epoch)\n",
            call.subject, call.attempt, call.deadline_ms
        ));
    }
    text.push_str(&format!("mailbox      {} message(s)\n", r.mailbox));
    for message in &d.mailbox_items {
        text.push_str(&format!("  {message}\n"));
    }
    text.push_str("stack\n");
    for frame in &d.stack {
        text.push_str(&format!("  {frame}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_is_read_in_each_way_it_is_printed() {
        assert_eq!(parse_pid("12"), Ok(12));
        assert_eq!(parse_pid("<12>"), Ok(12));
        assert_eq!(parse_pid("#pid<12>"), Ok(12));
        assert_eq!(parse_pid("#pid<3.12>"), Ok((3 << 42) | 12));
        assert_eq!(parse_pid("3.12"), Ok((3 << 42) | 12));
        assert!(parse_pid("#pid<3.>").is_err());
        assert!(parse_pid("#pid<1048576.1>").is_err(), "past the last node");
        assert!(parse_pid("twelve").unwrap_err().contains("not a pid"));
    }

    #[test]
    fn ages_and_sizes_read_at_a_glance() {
        assert_eq!(age(850), "850ms");
        assert_eq!(age(184_000), "3m04s");
        assert_eq!(bytes(3 * 1024 + 100), "3.1 KiB");
    }

    #[test]
    fn numbers_are_right_aligned() {
        let text = table(
            &["PID", "N"],
            &[
                vec!["<1>".into(), "5".into()],
                vec!["<10>".into(), "500".into()],
            ],
            &[false, true],
        );
        assert_eq!(text, "PID     N\n<1>     5\n<10>  500\n");
    }

    #[test]
    fn files_then_arguments() {
        let dir = std::env::temp_dir().join(format!("calf-submit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("app")).expect("writable");
        std::fs::write(dir.join("main.calf"), "(println 1)").expect("writable");
        std::fs::write(dir.join("app/util.calf"), "(ns app.util)").expect("writable");
        let targets = [dir.display().to_string(), "x".into(), "y.calf".into()];
        let submit = submission(&targets, None).expect("a submission");
        assert_eq!(submit.main, "main.calf");
        let paths: Vec<_> = submit.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["app/util.calf", "main.calf"]);
        assert_eq!(submit.args, ["x", "y.calf"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
