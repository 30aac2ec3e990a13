//! What `calf serve` does with requests no `calf` command sends: bodies
//! that do not decode, subjects it does not answer, the largest payload
//! the server takes, data nested past what the reader reads; and what
//! the verbs say of input they cannot send. Each gets a clear error, and
//! `calf serve` answers on. Real nats-server, real `calf serve`, a client
//! of the admin API of the test's own.

use std::time::Duration;

use async_nats::Client;
use calf_serve::api;

mod support {
    pub mod serve;
}
use support::serve::{example_config, ok, refused, scratch, stderr, submit, Serve, ACME, PATIENCE};

/// A program that prints, then waits for `[:stop]`.
const WAITS: &str = "(println \"hi\")\n(receive [:stop] :ok)\n";

/// Bytes that are no MessagePack value: 0xc1 is never used.
const GARBAGE: &[u8] = &[0xc1, 0xff, 0x00, 0x13, 0x37, 0xc1];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn pid_number(printed: &str) -> u64 {
    printed
        .trim_matches(['<', '>'])
        .parse()
        .expect("a pid as submit prints it")
}

async fn login(url: &str) -> Client {
    async_nats::ConnectOptions::with_user_and_password(
        ACME.name.to_string(),
        ACME.password.to_string(),
    )
    .connect(url)
    .await
    .expect("acme-dev logs in")
}

/// What a request got back: the error code and message of an error
/// reply, or the body of an answer.
#[derive(Debug)]
enum Got {
    Error { code: String, message: String },
    Answer(Vec<u8>),
}

async fn request(client: &Client, subject: &str, body: Vec<u8>) -> Got {
    let request = async_nats::Request::new()
        .payload(body.into())
        .timeout(Some(PATIENCE));
    let reply = client
        .send_request(subject.to_string(), request)
        .await
        .unwrap_or_else(|e| panic!("no reply to {subject}: {e}"));
    let header = |name: &str| {
        reply
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_string())
    };
    match (
        header("Nats-Service-Error-Code"),
        header("Nats-Service-Error"),
    ) {
        (Some(code), Some(message)) => Got::Error { code, message },
        (None, None) => Got::Answer(reply.payload.to_vec()),
        (code, message) => {
            panic!("an error reply to {subject} with one header: {code:?} {message:?}")
        }
    }
}

/// Asserts that `got` is an error reply with `code`; its message.
fn error(what: &str, got: Got, code: &str) -> String {
    match got {
        Got::Error { code: got, message } => {
            assert_eq!(got, code, "{what}: {message}");
            assert!(!message.is_empty(), "{what}: an empty message");
            message
        }
        Got::Answer(body) => panic!("{what} was answered ({} bytes)", body.len()),
    }
}

#[test]
fn malformed_requests_get_error_replies_and_serve_answers_on() {
    let dir = scratch("malformed");
    let serve = Serve::start(&example_config(), &dir, ACME);
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);
    let number = pid_number(&pid);

    runtime().block_on(async {
        let client = login(&serve.url).await;

        for subject in [
            api::subject::PS,
            api::subject::SUMMARY,
            api::subject::SUBMIT,
            api::subject::INSPECT,
            api::subject::KILL,
            api::subject::SEND,
            api::subject::LOGS,
            api::subject::ATTACH,
            api::subject::EVAL,
            api::subject::COMPLETE,
            api::subject::INTERRUPT,
            api::subject::DETACH,
        ] {
            let got = request(&client, subject, GARBAGE.to_vec()).await;
            let message = error(&format!("garbage to {subject}"), got, "400");
            assert!(message.contains("does not decode"), "{subject}: {message}");
        }

        // A body of the wrong shape: a pid that is text.
        let wrong = api::encode(&serde_json::json!({ "pid": "twelve" }));
        let got = request(&client, api::subject::INSPECT, wrong).await;
        error("a pid that is text", got, "400");
        let got = request(&client, api::subject::INSPECT, Vec::new()).await;
        error("inspect with an empty body", got, "400");

        for subject in ["calf.api.nope", "calf.api.ps.more", "calf.api.tenants"] {
            let got = request(&client, subject, api::encode(&api::Done {})).await;
            let message = error(subject, got, "404");
            assert!(message.contains("calf.api"), "{subject}: {message}");
        }

        // As large as the server takes, less room for the headers.
        let max = client.server_info().max_payload;
        let huge = vec![0xc1; max - 4096];
        let got = request(&client, api::subject::SUBMIT, huge).await;
        error("a request of the largest payload", got, "400");

        // Nested far past what the reader reads.
        let deep = "[".repeat(100_000);
        let send = api::encode(&api::Send {
            pid: number,
            message: deep.clone(),
        });
        let message = error(
            "a deeply nested message",
            request(&client, api::subject::SEND, send).await,
            "400",
        );
        assert!(message.contains("nested too deeply"), "{message}");
        let kill = api::encode(&api::Kill {
            pid: number,
            reason: Some(deep.replace('[', "{")),
        });
        let message = error(
            "a deeply nested reason",
            request(&client, api::subject::KILL, kill).await,
            "400",
        );
        assert!(message.contains("nested too deeply"), "{message}");
        let program = api::encode(&api::Submit {
            main: "deep.calf".to_string(),
            files: vec![api::SubmittedFile {
                path: "deep.calf".to_string(),
                text: "(".repeat(100_000),
            }],
            args: Vec::new(),
            durable: false,
            node: None,
        });
        let message = error(
            "a deeply nested program",
            request(&client, api::subject::SUBMIT, program).await,
            "422",
        );
        assert!(message.contains("nested too deeply"), "{message}");

        // The same in an attached session is the line's error.
        let Got::Answer(body) =
            request(&client, api::subject::ATTACH, api::encode(&api::Done {})).await
        else {
            panic!("attach refused");
        };
        let attached: api::Attached = api::decode(&body).expect("an attach reply");
        let eval = api::encode(&api::Eval {
            session: attached.session,
            source: "(".repeat(100_000),
        });
        let Got::Answer(body) = request(&client, api::subject::EVAL, eval).await else {
            panic!("eval refused");
        };
        let evaluated: api::Evaluated = api::decode(&body).expect("an eval reply");
        assert_eq!(evaluated.value, None);
        assert!(
            evaluated
                .error
                .as_deref()
                .is_some_and(|e| e.contains("nested too deeply")),
            "{evaluated:?}"
        );
        let detach = api::encode(&api::Session {
            session: attached.session,
        });
        assert!(matches!(
            request(&client, api::subject::DETACH, detach).await,
            Got::Answer(_)
        ));
    });

    // The job was not touched, and every verb still answers.
    let ps = ok("calf ps", serve.verb(ACME, &["ps"]));
    assert!(ps.contains(&pid), "{ps}");
    ok("calf send", serve.verb(ACME, &["send", &pid, "[:stop]"]));
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    assert_eq!(ok("calf logs -f", logs.clone()), "hi\n");
    assert!(stderr(&logs).contains(":normal"), "{}", stderr(&logs));
}

#[test]
fn a_submission_larger_than_the_servers_max_payload_is_a_clear_error() {
    let dir = scratch("too-large");
    let serve = Serve::start(&example_config(), &dir, ACME);
    let file = dir.join("large.calf");
    let line = format!(";; {}\n", "x".repeat(77));
    let text = line.repeat(5 * 1024 * 1024 / line.len()) + "(println \"large\")\n";
    std::fs::write(&file, text).expect("writable");

    let started = std::time::Instant::now();
    let error = refused(
        "submitting 5 MB",
        serve.verb(ACME, &["submit", &file.display().to_string()]),
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the refusal took {:?}",
        started.elapsed()
    );
    assert!(error.contains("too large"), "{error}");
    assert!(error.contains("max_payload"), "{error}");
    assert!(!error.contains("panicked"), "{error}");
    ok("calf ps", serve.verb(ACME, &["ps"]));
}

#[test]
fn the_verbs_refuse_what_they_cannot_read() {
    let dir = scratch("unreadable-verbs");
    let serve = Serve::start(&example_config(), &dir, ACME);
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);

    for message in ["[1 2", "{:a}", ")", "\"open", "[:a] [:b]", ""] {
        let error = refused(
            &format!("calf send {message:?}"),
            serve.verb(ACME, &["send", &pid, message]),
        );
        assert!(
            error.contains("Calf data") || error.contains("Calf value"),
            "{message:?}: {error}"
        );
        assert!(error.contains("(400)"), "{message:?}: {error}");
    }
    let error = refused(
        "calf kill with a reason that does not read",
        serve.verb(ACME, &["kill", &pid, "[:why"]),
    );
    assert!(error.contains("does not read"), "{error}");

    for verb in ["inspect", "send", "kill", "logs"] {
        let mut args = vec![verb, "notapid"];
        if verb == "send" {
            args.push(":x");
        }
        let error = refused(&format!("calf {verb} notapid"), serve.verb(ACME, &args));
        assert!(
            error.contains("notapid is not a pid: write 12, <12>, #pid<12> or #pid<3.12>"),
            "{verb}: {error}"
        );
    }
    for pid in ["<>", "#pid<1", "18446744073709551616"] {
        let error = refused(
            "calf inspect of no pid",
            serve.verb(ACME, &["inspect", pid]),
        );
        assert!(error.contains("is not a pid"), "{pid}: {error}");
    }

    // The job got none of it.
    let ps = ok("calf ps", serve.verb(ACME, &["ps"]));
    let row = ps.lines().find(|l| l.starts_with(&pid));
    assert!(row.is_some_and(|r| r.contains("waiting")), "{ps}");
}

#[test]
fn a_process_list_larger_than_the_servers_max_payload_comes_in_pages() {
    let dir = scratch("large-ps");
    let serve = Serve::start(&example_config(), &dir, ACME);
    // acme may run 20 000 processes; 15 000 rows are more than 1 MiB.
    let pid = submit(
        &serve,
        ACME,
        &dir,
        "many.calf",
        "(dotimes [_ 15000] (spawn (fn [] (receive [:stop] :ok))))\n\
         (println \"spawned\")\n\
         (receive [:stop] :ok)\n",
    );
    support::serve::eventually("the processes spawned", || {
        let logs = ok("calf logs", serve.verb(ACME, &["logs", &pid]));
        if logs.contains("spawned") {
            Ok(())
        } else {
            Err(logs)
        }
    });

    // The list comes a page of 1 000 rows at a time, each far below the
    // server's max payload (15 000 rows in one reply were more than 1 MiB).
    let ps = ok("calf ps of 15 000 processes", serve.verb(ACME, &["ps"]));
    let rows: Vec<&str> = ps.lines().skip(1).collect();
    assert_eq!(rows.len(), 15_001, "the header and then every process");
    assert!(rows[0].starts_with(&pid), "{}", rows[0]);
    let summary = ok(
        "calf ps --summary",
        serve.verb(ACME, &["ps", "--summary", "--json"]),
    );
    assert!(summary.contains("\"processes\": 15001"), "{summary}");
}

#[test]
fn a_request_published_without_a_reply_subject_is_not_carried_out() {
    let dir = scratch("no-reply");
    let serve = Serve::start(&example_config(), &dir, ACME);
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);
    let number = pid_number(&pid);
    runtime().block_on(async {
        let client = login(&serve.url).await;
        let kill = api::encode(&api::Kill {
            pid: number,
            reason: None,
        });
        client
            .publish(api::subject::KILL, kill.into())
            .await
            .expect("published");
        client.flush().await.expect("flushed");
        // A request after it, on the same connection, is answered after
        // the scheduler has read the publish before it.
        let ps = request(&client, api::subject::PS, Vec::new()).await;
        assert!(matches!(ps, Got::Answer(_)), "{ps:?}");
    });
    let ps = ok("calf ps", serve.verb(ACME, &["ps"]));
    assert!(
        ps.lines().any(|l| l.starts_with(&pid)),
        "still running: {ps}"
    );
    assert!(
        serve
            .log_so_far()
            .contains("a request without a reply subject is ignored"),
        "{}",
        serve.log_so_far()
    );
}
