//! A Calf worker in Rust, with the calf-worker SDK.
//!
//!     cargo run -p calf-worker --example worker -- [NATS_URL]
//!
//! The URL defaults to `$NATS_URL`, else `nats://127.0.0.1:4222`. Answers
//! `math.add`, `echo`, `fail` and `slow` in the queue group `calf` (see
//! `handlers.rs`); on SIGTERM or ctrl-c it stops taking requests, answers
//! the ones it has, and exits.

mod handlers;

use calf_worker::Worker;

#[tokio::main]
async fn main() -> Result<(), calf_worker::Error> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("NATS_URL").ok())
        .unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned());
    let worker = Worker::connect(url.as_str()).await?;
    println!("serving math.add, echo, fail, slow on {url}");
    handlers::register(worker).run().await
}
