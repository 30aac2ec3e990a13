//! What the tests of calf-serve share: a real nats-server started from a
//! printed configuration, scratch directories, the example files.

#![allow(dead_code)]

pub mod nats;

use std::path::{Path, PathBuf};

use calf_serve::config::ServeConfig;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `examples/serve/calf.toml`.
pub fn example_path() -> PathBuf {
    root().join("examples/serve/calf.toml")
}

/// The text of `examples/serve/calf.toml`.
pub fn example_text() -> String {
    std::fs::read_to_string(example_path()).expect("examples/serve/calf.toml is readable")
}

/// `examples/serve/calf.toml`, read and checked (it reads no environment).
pub fn example() -> ServeConfig {
    ServeConfig::parse_with_env(&example_text(), &example_path(), |_| None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh, empty directory under cargo's scratch directory for tests,
/// unique to this test process and `name`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("calf-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Writes the nats-server configuration of `config` into `dir` and starts
/// a server with it, JetStream storing under `dir` too.
pub fn start_server(config: &ServeConfig, dir: &Path) -> (nats::NatsServer, PathBuf) {
    let conf = dir.join("nats.conf");
    std::fs::write(&conf, calf_serve::nats_config::render(config)).expect("writable");
    let store = dir.join("jetstream");
    (nats::NatsServer::start(&conf, &store), conf)
}

/// A client logged in as `user`.
pub async fn login(url: &str, user: &str, password: &str) -> async_nats::Client {
    try_login(url, user, password)
        .await
        .unwrap_or_else(|e| panic!("{user} could not log in: {e}"))
}

/// A client logged in as `user`, or why the server refused it.
pub async fn try_login(
    url: &str,
    user: &str,
    password: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::with_user_and_password(user.to_string(), password.to_string())
        .connect(url)
        .await
}

/// Waits until the server has taken everything `client` sent before, its
/// subscriptions above all (`Client::flush` only writes them out): the
/// server handles one connection's messages in order, so when a probe
/// the client publishes to itself comes back, what it sent before is in
/// place. The probe's subject starts with `sync.`.
pub async fn sync(client: &async_nats::Client) {
    use futures_util::StreamExt;
    let subject = format!("sync.{}", client.new_inbox().replace('.', "-"));
    let mut probe = client.subscribe(subject.clone()).await.expect("subscribe");
    client
        .publish(subject, bytes::Bytes::new())
        .await
        .expect("publish");
    tokio::time::timeout(std::time::Duration::from_secs(5), probe.next())
        .await
        .expect("the probe comes back in time")
        .expect("the probe's subscription is open");
}
