//! A real nats-server for tests, started from a configuration file
//! (`-c FILE -a 127.0.0.1 -p -1 -sd DIR`, as docs/serve.md tells the
//! operator to start it) and killed on drop. The binary is
//! `$NATS_SERVER_BIN`, else `.venv/bin/nats-server` in the workspace (what
//! `scripts/setup-test-env` installs), else `nats-server` on the PATH;
//! without one the test fails, never skips.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct NatsServer {
    child: Child,
    port: u16,
    config: PathBuf,
    log: Arc<Log>,
}

/// The server's log lines, as it writes them.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(bin);
    }
    let venv = super::root().join(".venv/bin/nats-server");
    if venv.is_file() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("nats-server"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!("this test needs a nats-server and found none: run `bash scripts/setup-test-env` from the workspace root")
    })
}

impl NatsServer {
    /// Starts a server with the configuration file `config`, JetStream
    /// storing under `store_dir`, on a port it picks itself (`-p -1`),
    /// read back from its log: no window in which two tests could pick
    /// the same port.
    pub fn start(config: &Path, store_dir: &Path) -> NatsServer {
        let bin = binary();
        let mut child = Command::new(&bin)
            .arg("-c")
            .arg(config)
            .args(["-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(store_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", bin.display()));
        let mut reader = BufReader::new(child.stderr.take().expect("piped"));
        let mut port = None;
        let mut seen = String::new();
        let mut line = String::new();
        while port.is_none() {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "nats-server ({}) exited before it listened, with the configuration {}:\n{seen}",
                    bin.display(),
                    config.display()
                );
            }
            seen.push_str(&line);
            port = line
                .split("Listening for client connections on ")
                .nth(1)
                .and_then(|addr| addr.trim().rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok());
        }
        let log = Arc::new(Log::default());
        log.lines
            .lock()
            .unwrap()
            .extend(seen.lines().map(str::to_string));
        // Keep reading the log, so that the server never blocks on it and
        // the tests can wait for what it says.
        let keeper = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                keeper.lines.lock().unwrap().push(line);
                keeper.grew.notify_all();
            }
        });
        let port = port.expect("parsed above");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nats-server does not accept connections"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        NatsServer {
            child,
            port,
            config: config.to_path_buf(),
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lines.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Has the server read its configuration file again
    /// (`nats-server --signal reload=PID`), and waits until its log says
    /// it did.
    pub fn reload(&self) {
        let before = self.log.lines.lock().unwrap().len();
        let status = Command::new(binary())
            .arg("--signal")
            .arg(format!("reload={}", self.pid()))
            .status()
            .expect("nats-server --signal runs");
        assert!(status.success(), "nats-server --signal reload failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = self.log.lines.lock().unwrap();
        loop {
            if let Some(error) = lines[before..]
                .iter()
                .find(|l| l.contains("Failed to reload") || l.contains("[FTL]"))
            {
                panic!(
                    "nats-server did not reload {}: {error}",
                    self.config.display()
                );
            }
            if lines[before..]
                .iter()
                .any(|l| l.contains("Reloaded server configuration"))
            {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "nats-server did not say it reloaded");
            lines = self.log.grew.wait_timeout(lines, left).unwrap().0;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
