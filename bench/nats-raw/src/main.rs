//! The baseline of the call benchmarks: the requests Calf's `call` makes,
//! made with async-nats alone.
//!
//!     nats-raw URL seq N      N requests, one after another
//!     nats-raw URL par N C    N requests from C tasks (N / C each, one at a
//!                             time): C in flight
//!     nats-raw URL latency N SUBJECT
//!                             N requests to SUBJECT, one after another,
//!                             each timed: prints `metric p50-us`, `p99-us`
//!                             and `max-us` (how `bench/serve` measures a
//!                             tenant's round trips through `calf serve`)
//!
//! `NATS_USER` and `NATS_PASSWORD`, when set, are the login. With
//! `NATS_RAW_TRACE` set, `latency` prints each request that took over a
//! millisecond to stderr, with when it was sent: how the slow ones were
//! found to start at the kernel's scheduler ticks.
//!
//! Each request is `math.add` with the body `[i 1]` (MessagePack), as
//! `bench/programs/calls_seq.calf` and `calls_par.calf` send it. Prints the
//! sum of the answers, then `elapsed-ms` and the milliseconds the requests
//! took (the connection is made before the clock starts), like every
//! program of `bench/`.

use std::process::ExitCode;
use std::time::Instant;

use async_nats::Client;

const SUBJECT: &str = "math.add";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("nats-raw: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), String> {
    let usage = || {
        "usage: nats-raw URL seq N | nats-raw URL par N C | nats-raw URL latency N SUBJECT"
            .to_owned()
    };
    let number = |i: usize| -> Result<u64, String> {
        args.get(i)
            .ok_or_else(usage)?
            .parse()
            .map_err(|e| format!("argument {i}: {e}"))
    };
    let url = args.first().ok_or_else(usage)?;
    let mode = args.get(1).ok_or_else(usage)?.as_str();
    let options = match (std::env::var("NATS_USER"), std::env::var("NATS_PASSWORD")) {
        (Ok(user), Ok(password)) => {
            async_nats::ConnectOptions::with_user_and_password(user, password)
        }
        _ => async_nats::ConnectOptions::new(),
    };
    let client = options
        .connect(url.as_str())
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    if mode == "latency" {
        let subject = args.get(3).ok_or_else(usage)?;
        return latency(client, number(2)?, subject).await;
    }
    let start = Instant::now();
    let total = match mode {
        "seq" => add_range(client.clone(), 0, number(2)?).await?,
        "par" => {
            let (n, c) = (number(2)?, number(3)?.max(1));
            let per = n / c;
            let tasks: Vec<_> = (0..c)
                .map(|j| tokio::spawn(add_range(client.clone(), j * per, (j + 1) * per)))
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.map_err(|e| e.to_string())??;
            }
            total
        }
        _ => return Err(usage()),
    };
    let elapsed = start.elapsed();
    println!("{total}");
    println!("elapsed-ms {}", elapsed.as_millis());
    Ok(())
}

/// Makes `n` requests to `subject`, one at a time, and prints the
/// percentiles of their round trips.
async fn latency(client: Client, n: u64, subject: &str) -> Result<(), String> {
    let n = n.max(1);
    let mut round_trips = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for i in 0..n {
        let body = rmp_serde::to_vec(&(i as i64)).map_err(|e| e.to_string())?;
        let sent = Instant::now();
        client
            .request(subject.to_string(), body.into())
            .await
            .map_err(|e| format!("request {i} to {subject}: {e}"))?;
        round_trips.push(sent.elapsed());
        if std::env::var_os("NATS_RAW_TRACE").is_some() && sent.elapsed().as_micros() > 1000 {
            eprintln!(
                "slow {} at {} us: {} us",
                i,
                start.elapsed().as_micros(),
                sent.elapsed().as_micros()
            );
        }
    }
    let elapsed = start.elapsed();
    round_trips.sort();
    let at = |q: f64| round_trips[((round_trips.len() - 1) as f64 * q) as usize].as_micros();
    println!("{n}");
    println!("metric p50-us {}", at(0.5));
    println!("metric p99-us {}", at(0.99));
    println!("metric max-us {}", at(1.0));
    println!("elapsed-ms {}", elapsed.as_millis());
    Ok(())
}

/// Asks `math.add` for `i + 1` for each i of from..to, one request at a
/// time; returns the sum of the answers.
async fn add_range(client: Client, from: u64, to: u64) -> Result<i64, String> {
    let mut total = 0;
    for i in from..to {
        let body = rmp_serde::to_vec(&(i as i64, 1i64)).map_err(|e| e.to_string())?;
        let reply = client
            .request(SUBJECT, body.into())
            .await
            .map_err(|e| format!("request {i}: {e}"))?;
        let sum: i64 = rmp_serde::from_slice(&reply.payload)
            .map_err(|e| format!("reply {i} is not an integer: {e}"))?;
        total += sum;
    }
    Ok(total)
}
