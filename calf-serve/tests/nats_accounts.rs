//! The printed nats-server configuration, run by a real nats-server: the
//! example's tenants log in, and nothing one of them does reaches
//! another, nor the operator account; a tenant added and reloaded logs in
//! without disturbing the others.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, RequestErrorKind, Subscriber};
use bytes::Bytes;
use calf_serve::config::ServeConfig;
use calf_serve::nats_config;
use futures_util::StreamExt;
use support::{login, sync, try_login};

/// Long enough for a message that was going to arrive to arrive: the
/// positive controls beside each silence see theirs in far less.
const SILENCE: Duration = Duration::from_millis(300);

const WAIT: Duration = Duration::from_secs(5);

/// The next message of `sub` but its own client's probes ([`sync`]).
async fn next(sub: &mut Subscriber) -> async_nats::Message {
    loop {
        let msg = tokio::time::timeout(WAIT, sub.next())
            .await
            .expect("a message in time")
            .expect("the subscription is open");
        if !msg.subject.starts_with("sync.") {
            return msg;
        }
    }
}

/// Checks that `sub` receives nothing but its own client's probes
/// ([`sync`]).
async fn assert_silent(sub: &mut Subscriber, who: &str) {
    let deadline = tokio::time::Instant::now() + SILENCE;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
        assert!(
            msg.subject.starts_with("sync."),
            "{who} received {} ({:?}) from another account",
            msg.subject,
            msg.payload
        );
    }
}

/// Answers every request on `subject` with `answer`, from `client`.
async fn respond(client: &Client, subject: &str, answer: &'static str) {
    let mut sub = client
        .subscribe(subject.to_string())
        .await
        .expect("subscribe");
    sync(client).await;
    let client = client.clone();
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            if let Some(reply) = msg.reply {
                let _ = client
                    .publish(reply, Bytes::from_static(answer.as_bytes()))
                    .await;
            }
        }
    });
}

async fn assert_no_responders(client: &Client, subject: &str) {
    match client.request(subject.to_string(), Bytes::new()).await {
        Err(e) if e.kind() == RequestErrorKind::NoResponders => {}
        Err(e) => panic!("{subject}: expected no responders, got {e}"),
        Ok(msg) => panic!("{subject}: expected no responders, got {:?}", msg.payload),
    }
}

/// A JetStream API request and its JSON reply.
async fn js(client: &Client, subject: &str, body: &str) -> serde_json::Value {
    let reply = client
        .request(subject.to_string(), Bytes::from(body.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{subject}: {e}"));
    serde_json::from_slice(&reply.payload)
        .unwrap_or_else(|e| panic!("{subject}: {e}: {:?}", reply.payload))
}

#[tokio::test]
async fn the_example_keeps_its_tenants_apart() {
    let config = support::example();
    let dir = support::scratch_dir("isolation");
    let (server, _) = support::start_server(&config, &dir);
    let url = server.url();

    let acme = login(&url, "acme-dev", "dev-acme").await;
    let acme_scheduler = login(&url, "acme-scheduler", "dev-acme-scheduler").await;
    let globex = login(&url, "globex-dev", "dev-globex").await;
    let operator = login(&url, "calf-operator", "dev-operator").await;

    // Everything globex and the operator could listen to.
    let mut listeners = Vec::new();
    for subject in [">", "calf.api.>", "work.>", "_INBOX.>", "$KV.>"] {
        listeners.push((
            format!("globex-dev on {subject}"),
            globex.subscribe(subject).await.expect("subscribe"),
        ));
    }
    listeners.push((
        "calf-operator on >".to_string(),
        operator.subscribe(">").await.expect("subscribe"),
    ));
    // In acme's account, acme's scheduler hears acme's users.
    let mut same_account = acme_scheduler.subscribe(">").await.expect("subscribe");
    for client in [&globex, &operator, &acme_scheduler] {
        sync(client).await;
    }

    let published = ["calf.api.ps", "work.job", "greet", "_INBOX.acme.1"];
    for subject in published {
        acme.publish(subject, Bytes::from_static(b"acme's"))
            .await
            .expect("publish");
    }
    sync(&acme).await;
    for subject in published {
        assert_eq!(next(&mut same_account).await.subject.as_str(), subject);
    }
    for (who, sub) in &mut listeners {
        assert_silent(sub, who).await;
    }
    // Subscribers that never answer would take the requests below.
    drop(listeners);
    drop(same_account);
    for client in [&globex, &operator, &acme_scheduler] {
        sync(client).await;
    }

    // acme's admin API answers acme, and is no one's to globex or the
    // operator.
    respond(&acme_scheduler, "calf.api.ps", "acme's processes").await;
    let reply = acme
        .request("calf.api.ps", Bytes::new())
        .await
        .expect("acme's own scheduler answers");
    assert_eq!(reply.payload, "acme's processes");
    assert_no_responders(&globex, "calf.api.ps").await;
    assert_no_responders(&operator, "calf.api.ps").await;

    // globex cannot answer acme's requests: not by subscribing to acme's
    // subjects, nor by publishing to an inbox it guessed.
    respond(&globex, "work.>", "globex's answer").await;
    assert_no_responders(&acme, "work.job").await;
    // While acme's worker holds a request, globex publishes to its reply
    // subject.
    let mut held = acme_scheduler
        .subscribe("billing.charge")
        .await
        .expect("subscribe");
    let mut inbox = acme.subscribe("_INBOX.acme.2").await.expect("subscribe");
    sync(&acme_scheduler).await;
    sync(&acme).await;
    acme.publish_with_reply("billing.charge", "_INBOX.acme.2", Bytes::new())
        .await
        .expect("publish");
    let request = next(&mut held).await;
    assert_eq!(request.reply.as_deref(), Some("_INBOX.acme.2"));
    globex
        .publish("_INBOX.acme.2", Bytes::from_static(b"forged"))
        .await
        .expect("publish");
    sync(&globex).await;
    assert_silent(&mut inbox, "acme-dev's inbox").await;
    drop(held);
    sync(&acme_scheduler).await;

    // Nor can the operator account's user answer them.
    respond(&operator, "billing.>", "operator's answer").await;
    assert_no_responders(&acme, "billing.charge").await;
    drop(server);
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let config = support::example();
    let dir = support::scratch_dir("passwords");
    let (server, _) = support::start_server(&config, &dir);
    let url = server.url();
    for (user, password) in [
        ("acme-dev", "dev-globex"),
        ("globex-dev", "dev-acme"),
        ("acme-dev", ""),
        ("calf-operator", "dev-acme"),
        ("nobody", "dev-acme"),
    ] {
        match try_login(&url, user, password).await {
            Err(e) => assert_eq!(
                e.kind(),
                ConnectErrorKind::AuthorizationViolation,
                "{user}: {e}"
            ),
            Ok(_) => panic!("{user} logged in with {password:?}"),
        }
    }
    match async_nats::connect(&url).await {
        Err(e) => assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation),
        Ok(_) => panic!("a client without a user logged in"),
    }
}

#[tokio::test]
async fn jetstream_works_inside_an_account_and_only_there() {
    let config = support::example();
    let dir = support::scratch_dir("jetstream");
    let (server, _) = support::start_server(&config, &dir);
    let url = server.url();
    let acme = login(&url, "acme-dev", "dev-acme").await;
    let globex = login(&url, "globex-dev", "dev-globex").await;

    // The account's limits are the tenant's quotas.
    let info = js(&acme, "$JS.API.INFO", "").await;
    let acme_quotas = config.tenant("acme").expect("acme").quotas;
    assert_eq!(
        info["limits"]["max_memory"], acme_quotas.jetstream_max_memory,
        "{info}"
    );
    assert_eq!(
        info["limits"]["max_storage"], acme_quotas.jetstream_max_storage,
        "{info}"
    );

    // A key-value bucket, as the NATS clients make one: the stream
    // KV_<bucket> over $KV.<bucket>.>.
    let created = js(
        &acme,
        "$JS.API.STREAM.CREATE.KV_settings",
        r#"{"name":"KV_settings","subjects":["$KV.settings.>"],"max_msgs_per_subject":1,
            "storage":"file","allow_direct":true,"allow_rollup_hdrs":true,"deny_delete":true,
            "discard":"new","num_replicas":1}"#,
    )
    .await;
    assert!(created.get("error").is_none(), "{created}");
    let ack = js(&acme, "$KV.settings.colour", "blue").await;
    assert_eq!(ack["stream"], "KV_settings", "{ack}");
    let value = acme
        .request(
            "$JS.API.DIRECT.GET.KV_settings.$KV.settings.colour",
            Bytes::new(),
        )
        .await
        .expect("direct get");
    assert_eq!(value.payload, "blue");

    // globex sees no such bucket, and its own of the same name is another.
    let names = js(&globex, "$JS.API.STREAM.NAMES", "").await;
    assert_eq!(names["total"], 0, "{names}");
    let info = js(&globex, "$JS.API.STREAM.INFO.KV_settings", "").await;
    assert_eq!(info["error"]["code"], 404, "{info}");
    let created = js(
        &globex,
        "$JS.API.STREAM.CREATE.KV_settings",
        r#"{"name":"KV_settings","subjects":["$KV.settings.>"],"max_msgs_per_subject":1,
            "storage":"file","allow_direct":true,"num_replicas":1}"#,
    )
    .await;
    assert!(created.get("error").is_none(), "{created}");
    let info = js(&globex, "$JS.API.STREAM.INFO.KV_settings", "").await;
    assert_eq!(info["state"]["messages"], 0, "{info}");
    let info = js(&acme, "$JS.API.STREAM.INFO.KV_settings", "").await;
    assert_eq!(info["state"]["messages"], 1, "{info}");
}

#[tokio::test]
async fn an_accounts_connection_limit_holds() {
    let text = "[operator]\nuser = \"op\"\npassword = \"op\"\n\
        [tenants.tiny]\nscheduler = { user = \"tiny-scheduler\", password = \"s\" }\n\
        [tenants.tiny.quotas]\nmax_connections = 2\n";
    let config = ServeConfig::parse_with_env(text, Path::new("calf.toml"), |_| None)
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = support::scratch_dir("limits");
    let (server, _) = support::start_server(&config, &dir);
    let url = server.url();
    let _first = login(&url, "tiny-scheduler", "s").await;
    let _second = login(&url, "tiny-scheduler", "s").await;
    assert!(
        try_login(&url, "tiny-scheduler", "s").await.is_err(),
        "a third connection got in past max_connections = 2"
    );
    // The operator account has its own.
    let _operator = login(&url, "op", "op").await;
}

#[tokio::test]
async fn a_password_of_any_characters_logs_in() {
    let password =
        "q\"uote \\back$HOME ${X} #hash //sl ;semi {b} [k] 'apos' é 🐄 tab\tnl\ncr\r\u{1}\u{7f}";
    let config = ServeConfig::parse_with_env(
        "[operator]\nuser = \"op\"\npassword_env = \"P\"\n[tenants.acme]\n\
         scheduler = { user = \"acme-scheduler\", password_env = \"P\" }\n\
         users = [{ user = \"acme-dev\", password = \"plain\" }]\n",
        Path::new("calf.toml"),
        |_| Some(password.to_string()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = support::scratch_dir("quoting");
    let (server, _) = support::start_server(&config, &dir);
    let url = server.url();
    login(&url, "op", password).await;
    login(&url, "acme-scheduler", password).await;
    login(&url, "acme-dev", "plain").await;
    // What a reader that took the escapes literally would have seen.
    let written = nats_config::quote(password);
    assert!(try_login(&url, "op", &written[1..written.len() - 1])
        .await
        .is_err());
}

#[tokio::test]
async fn a_tenant_added_and_reloaded_logs_in_while_the_others_stay_connected() {
    let text = support::example_text();
    let path = support::example_path();
    let config = ServeConfig::parse_with_env(&text, &path, |_| None).unwrap();
    let dir = support::scratch_dir("reload");
    let (server, conf) = support::start_server(&config, &dir);
    let url = server.url();

    let disconnects = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&disconnects);
    let acme = async_nats::ConnectOptions::with_user_and_password(
        "acme-dev".to_string(),
        "dev-acme".to_string(),
    )
    .event_callback(move |event| {
        let counter = Arc::clone(&counter);
        async move {
            if matches!(event, async_nats::Event::Disconnected) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
    .connect(&url)
    .await
    .expect("acme-dev logs in");
    let acme_scheduler = login(&url, "acme-scheduler", "dev-acme-scheduler").await;
    respond(&acme_scheduler, "calf.api.ps", "acme's processes").await;
    assert!(try_login(&url, "initech-dev", "dev-initech").await.is_err());

    let added = format!(
        "{text}\n[tenants.initech]\n\
         scheduler = {{ user = \"initech-scheduler\", password = \"dev-initech-scheduler\" }}\n\
         users = [{{ user = \"initech-dev\", password = \"dev-initech\" }}]\n"
    );
    let config = ServeConfig::parse_with_env(&added, &path, |_| None).unwrap();
    std::fs::write(&conf, nats_config::render(&config)).expect("writable");
    server.reload();

    let initech = login(&url, "initech-dev", "dev-initech").await;
    assert_no_responders(&initech, "calf.api.ps").await;
    // acme's connections and subscriptions went on through the reload.
    let reply = acme
        .request("calf.api.ps", Bytes::new())
        .await
        .expect("acme's scheduler still answers");
    assert_eq!(reply.payload, "acme's processes");
    assert_eq!(
        acme.connection_state(),
        async_nats::connection::State::Connected
    );
    assert_eq!(
        disconnects.load(Ordering::SeqCst),
        0,
        "acme-dev was disconnected"
    );
    // Still apart from the new tenant.
    let mut initech_all = initech.subscribe(">").await.expect("subscribe");
    sync(&initech).await;
    acme.publish("work.job", Bytes::from_static(b"acme's"))
        .await
        .expect("publish");
    sync(&acme).await;
    assert_silent(&mut initech_all, "initech-dev on >").await;
}
