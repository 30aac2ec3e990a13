//! The durable store on a real nats-server with JetStream: leases, saves
//! that are compare-and-sets, take-overs of orphans that exactly one node
//! wins, and a store that goes away giving errors, not hangs.

#[path = "../../calf-repl/tests/support/nats.rs"]
mod nats;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use calf_lang::snapshot::Hash;
use calf_scheduler::durable::{Store, StoreConfig, StoreError};
use nats::NatsServer;

/// A JetStream store directory of its own, removed on drop.
struct StoreDir(PathBuf);

impl StoreDir {
    fn new(name: &str) -> StoreDir {
        let dir = std::env::temp_dir().join(format!("calf-durable-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        StoreDir(dir)
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config() -> StoreConfig {
    StoreConfig {
        lease_ttl: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
    }
}

async fn open(server: &NatsServer, node: &str) -> Store {
    let client = async_nats::connect(server.url()).await.unwrap();
    Store::open(client, node, config()).await.unwrap()
}

#[tokio::test]
async fn a_process_taken_over_is_fenced_from_its_old_owner() {
    let dir = StoreDir::new("fence");
    let server = NatsServer::start_jetstream(&dir.0);
    let a = open(&server, "node-a").await;
    let b = open(&server, "node-b").await;

    let first = a.save(1, b"state-1", None).await.unwrap();
    let second = a.save(1, b"state-2", Some(first)).await.unwrap();
    assert!(second > first);
    assert_eq!(
        a.processes().await.unwrap(),
        vec![(1, "node-a".to_string())]
    );
    assert!(b.claim(1).await.unwrap().is_none(), "its owner is alive");

    a.release().await.unwrap();
    let claimed = b.claim(1).await.unwrap().expect("an orphan now");
    assert_eq!(&claimed.image[..], b"state-2");
    assert_eq!(
        b.processes().await.unwrap(),
        vec![(1, "node-b".to_string())]
    );

    // The old owner comes back and saves over the take-over: refused.
    let err = a.save(1, b"state-3", Some(second)).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Fenced {
            pid: 1,
            owner: "node-b".to_string()
        }
    );
    assert!(err.to_string().contains("taken over by scheduler node-b"));
    // The new owner goes on from the revision of its claim.
    b.save(1, b"state-3", Some(claimed.revision)).await.unwrap();
    b.remove(1, claimed.revision + 1).await.unwrap();
    assert!(b.processes().await.unwrap().is_empty());
}

#[tokio::test]
async fn two_nodes_racing_for_the_same_orphans_each_win_once() {
    let dir = StoreDir::new("race");
    let server = NatsServer::start_jetstream(&dir.0);
    let dead = open(&server, "node-dead").await;
    for pid in 1..=20u64 {
        dead.save(pid, format!("state of {pid}").as_bytes(), None)
            .await
            .unwrap();
    }
    dead.release().await.unwrap();
    let (b, c) = (open(&server, "node-b").await, open(&server, "node-c").await);
    assert_eq!(
        b.orphans(|_| false).await.unwrap(),
        (1..=20).collect::<Vec<u64>>()
    );

    let (won_b, won_c) = tokio::join!(claim_all(&b), claim_all(&c));
    let mut all: Vec<u64> = won_b.iter().chain(won_c.iter()).copied().collect();
    all.sort();
    assert_eq!(
        all,
        (1..=20).collect::<Vec<u64>>(),
        "each orphan won exactly once: {won_b:?} {won_c:?}"
    );
    assert!(b.orphans(|_| false).await.unwrap().is_empty());
}

/// The orphans among pids 1 to 20 that `store` wins.
async fn claim_all(store: &Store) -> Vec<u64> {
    let mut won = Vec::new();
    for pid in 1..=20u64 {
        if let Some(claimed) = store.claim(pid).await.unwrap() {
            assert_eq!(&claimed.image[..], format!("state of {pid}").as_bytes());
            won.push(pid);
        }
    }
    won
}

#[tokio::test]
async fn a_lease_lapses_when_its_node_stops_renewing_it() {
    let dir = StoreDir::new("lapse");
    let server = NatsServer::start_jetstream(&dir.0);
    let crashed = open(&server, "node-crashed").await;
    crashed.save(7, b"state", None).await.unwrap();
    let survivor = open(&server, "node-survivor").await;
    // Renewed while it lives: still there after several times to live.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(survivor
        .live_nodes()
        .await
        .unwrap()
        .contains(&"node-crashed".to_string()));
    assert!(survivor.orphans(|_| false).await.unwrap().is_empty());

    drop(crashed);
    let start = Instant::now();
    while !survivor.orphans(|_| false).await.unwrap().contains(&7) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the lease never lapsed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(survivor.claim(7).await.unwrap().is_some());
}

#[tokio::test]
async fn a_node_id_names_one_running_scheduler() {
    let dir = StoreDir::new("node");
    let server = NatsServer::start_jetstream(&dir.0);
    let _a = open(&server, "node-a").await;
    let client = async_nats::connect(server.url()).await.unwrap();
    let err = Store::open(client.clone(), "node-a", config())
        .await
        .err()
        .unwrap();
    assert_eq!(err, StoreError::NodeTaken("node-a".to_string()));
    let err = Store::open(client, "no spaces", config())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("letters, digits"), "{err}");
}

#[tokio::test]
async fn images_are_stored_under_their_hash() {
    let dir = StoreDir::new("images");
    let server = NatsServer::start_jetstream(&dir.0);
    let a = open(&server, "node-a").await;
    let bytes = bytes::Bytes::from_static(b"CALF\x02\x00\x01body");
    let hash = Hash::of(&bytes);
    assert_eq!(a.image(&hash).await.unwrap(), None);
    a.put_image(hash, bytes.clone()).await.unwrap();
    assert_eq!(a.image(&hash).await.unwrap(), Some(bytes));
}

#[tokio::test]
async fn a_store_that_goes_away_gives_errors_within_its_timeout() {
    let dir = StoreDir::new("away");
    let mut server = NatsServer::start_jetstream(&dir.0);
    let a = open(&server, "node-a").await;
    let revision = a.save(1, b"state", None).await.unwrap();
    server.stop();
    let start = Instant::now();
    let err = a.save(1, b"state-2", Some(revision)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    // Back, with what it stored: the save goes on from the same revision.
    server.start_again();
    let start = Instant::now();
    loop {
        match a.save(1, b"state-2", Some(revision)).await {
            Ok(_) => break,
            Err(StoreError::Unavailable(_)) if start.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
}
