//! examples/serve/worker.py, logged in as a tenant's user against the
//! nats-server printed for examples/serve/calf.toml, answers that tenant's
//! calls and no one else's.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{Client, HeaderMap, Message, RequestErrorKind};
use calf_protocol::header;
use serde::Serialize;
use support::login;

/// A worker process, stopped on drop.
struct Worker(Child);

impl Worker {
    /// Runs examples/serve/worker.py with `args` and `env`, and waits for
    /// the line that says it serves.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Worker {
        let python = support::root().join(".venv/bin/python");
        assert!(
            python.is_file(),
            "run `bash scripts/setup-test-env` first: no .venv/bin/python"
        );
        let mut command = Command::new(python);
        command
            .arg(support::root().join("examples/serve/worker.py"))
            .args(args)
            .env_remove("CALF_NATS_URL")
            .env_remove("CALF_NATS_USER")
            .env_remove("CALF_NATS_PASSWORD")
            .env_remove("CALF_TENANT")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("the worker runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the worker says it serves");
        let worker = Worker(child);
        assert!(
            line.starts_with("serving"),
            "unexpected worker output: {line:?}"
        );
        worker
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A call as Calf makes one: the protocol's headers, a MessagePack body.
async fn call(
    client: &Client,
    tenant: &str,
    subject: &str,
    body: impl Serialize,
) -> Result<Message, async_nats::RequestError> {
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(5);
    let mut headers = HeaderMap::new();
    headers.insert(header::CALL_ID, "test-1");
    headers.insert(header::ATTEMPT, "1");
    headers.insert(header::DEADLINE, deadline.as_millis().to_string().as_str());
    headers.insert(header::TENANT, tenant);
    let body = rmp_serde::to_vec(&body).expect("encodes");
    client
        .request_with_headers(subject.to_string(), headers, body.into())
        .await
}

fn error_code(reply: &Message) -> Option<&str> {
    reply
        .headers
        .as_ref()
        .and_then(|h| h.get(header::ERROR_CODE))
        .map(|v| v.as_str())
}

#[tokio::test]
async fn the_worker_answers_its_tenant_only() {
    let config = support::example();
    let dir = support::scratch_dir("worker");
    let (server, _) = support::start_server(&config, &dir);
    let url = server.url();

    let _acme_worker = Worker::start(
        &[
            "--nats",
            &url,
            "--user",
            "acme-dev",
            "--password",
            "dev-acme",
        ],
        &[],
    );
    let acme = login(&url, "acme-dev", "dev-acme").await;
    let globex = login(&url, "globex-dev", "dev-globex").await;

    let reply = call(&acme, "acme", "greet", "Ada").await.expect("greet");
    assert_eq!(error_code(&reply), None);
    let greeting: String = rmp_serde::from_slice(&reply.payload).expect("a string");
    assert_eq!(greeting, "hello, Ada, from acme");

    let reply = call(&acme, "acme", "slow-add", (2, 3, 50))
        .await
        .expect("slow-add");
    assert_eq!(error_code(&reply), None);
    assert_eq!(rmp_serde::from_slice::<i64>(&reply.payload).unwrap(), 5);

    let reply = call(&acme, "acme", "slow-add", "two").await.expect("reply");
    assert_eq!(error_code(&reply), Some("bad-args"));

    // globex has no such worker: its calls find no one.
    for subject in ["greet", "slow-add"] {
        match call(&globex, "globex", subject, "Ada").await {
            Err(e) if e.kind() == RequestErrorKind::NoResponders => {}
            Err(e) => panic!("globex's {subject}: expected no responders, got {e}"),
            Ok(reply) => panic!("globex's {subject} was answered: {:?}", reply.payload),
        }
    }

    // globex's own worker, configured by the environment, answers globex;
    // acme's calls still reach acme's.
    let _globex_worker = Worker::start(
        &[],
        &[
            ("CALF_NATS_URL", &url),
            ("CALF_NATS_USER", "globex-dev"),
            ("CALF_NATS_PASSWORD", "dev-globex"),
        ],
    );
    let reply = globex
        .request("greet", rmp_serde::to_vec(&"Bob").unwrap().into())
        .await
        .expect("greet");
    let greeting: String = rmp_serde::from_slice(&reply.payload).expect("a string");
    assert_eq!(greeting, "hello, Bob, from globex");
    for _ in 0..5 {
        let reply = call(&acme, "acme", "greet", "Ada").await.expect("greet");
        let greeting: String = rmp_serde::from_slice(&reply.payload).expect("a string");
        assert_eq!(greeting, "hello, Ada, from acme");
    }
}

#[test]
fn the_worker_refuses_to_start_without_a_login() {
    let python = support::root().join(".venv/bin/python");
    let output = Command::new(python)
        .arg(support::root().join("examples/serve/worker.py"))
        .env_remove("CALF_NATS_USER")
        .env_remove("CALF_NATS_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("python runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--user"), "{stderr}");
}
