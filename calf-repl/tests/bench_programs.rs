//! Every Calf program of `bench/programs/` runs at a tiny size and prints
//! the answer its peers print, so `bench/run` never finds a broken program
//! first. The call programs go to a real nats-server (with JetStream, for
//! the durable ones) and the Python example worker (which answers
//! `math.add` as the Rust one does).

use std::process::{Command, Stdio};

mod support {
    pub mod nats;
    pub mod worker;
}
use support::nats::NatsServer;
use support::worker::{root, Worker};

/// A program's arguments at a tiny size and the answer it must print.
fn cases() -> Vec<(&'static str, Vec<&'static str>, String)> {
    let item_list = (0..100)
        .map(|i| format!("item-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let tail = &item_list[item_list.len() - 12..];
    vec![
        ("fib", vec!["15"], "610".into()),
        ("sum", vec!["1000"], "500500".into()),
        ("tak", vec!["2"], "14".into()),
        ("vector", vec!["1000"], "1000 499500".into()),
        ("map", vec!["1000"], "1000 999000".into()),
        (
            "strbuild",
            vec!["100"],
            format!("{} {tail}", item_list.len()),
        ),
        (
            "binary_trees",
            vec!["6"],
            "stretch tree of depth 7\t check: 255\n64\t trees of depth 4\t check: 1984\n\
             16\t trees of depth 6\t check: 2032\nlong lived tree of depth 6\t check: 127"
                .into(),
        ),
        ("fannkuch_redux", vec!["5"], "11\nPfannkuchen(5) = 7".into()),
        ("n_body", vec!["100"], "-0.169075164\n-0.169050762".into()),
        ("spectral_norm", vec!["10"], "1.271844019".into()),
        // Three batches: 1000, 1000, 500.
        ("spawn_wait", vec!["2500"], "2500".into()),
        ("ring", vec!["10", "5"], "50".into()),
        ("ping_pong", vec!["100"], "4950".into()),
        (
            "latency",
            vec!["10"],
            "idle 10\npure-2 10\npure-8 10\neffect-2 10\neffect-8 10\nnative-2 10\nnative-8 10"
                .into(),
        ),
        // The sum of i + 1 for i below n.
        ("calls_seq", vec!["20"], "210".into()),
        ("calls_par", vec!["40", "4"], "820".into()),
        ("durable_calls", vec!["durable", "20"], "210".into()),
        // The sum of i for i below n.
        ("durable_sends", vec!["durable", "20"], "190".into()),
    ]
}

/// Runs one program; its output without the `elapsed-ms` line and the
/// `metric` lines (measures, which vary from run to run).
fn run(name: &str, args: &[&str], flags: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_calf"))
        .args(flags)
        .arg(root().join("bench/programs").join(format!("{name}.calf")))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("calf runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines: Vec<&str> = stdout.lines().collect();
    let elapsed = lines.pop().unwrap_or_default();
    assert!(
        elapsed
            .strip_prefix("elapsed-ms ")
            .is_some_and(|ms| ms.parse::<u64>().is_ok()),
        "{name} must end with `elapsed-ms N`, not {elapsed:?}"
    );
    lines.retain(|line| !line.starts_with("metric "));
    lines.join("\n")
}

#[test]
fn every_calf_bench_program_prints_the_expected_answer() {
    let cases = cases();
    let mut programs: Vec<String> = std::fs::read_dir(root().join("bench/programs"))
        .expect("bench/programs")
        .filter_map(|entry| {
            let path = entry.expect("readable").path();
            (path.extension()? == "calf").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    programs.sort();
    let mut known: Vec<String> = cases.iter().map(|(name, _, _)| name.to_string()).collect();
    known.sort();
    assert_eq!(
        programs, known,
        "every program has a case here, and only they"
    );

    let store = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-programs-js-{}", std::process::id()));
    let server = NatsServer::start_jetstream(&store);
    let worker = Worker::start(&server.url());
    let url = server.url();
    for (name, args, expected) in &cases {
        let flags: &[&str] = if name.starts_with("calls_") {
            &["--nats", &url]
        } else if name.starts_with("durable_") {
            &["--nats", &url, "--durable", "bench-programs"]
        } else {
            &[]
        };
        assert_eq!(run(name, args, flags), *expected, "{name} {args:?}");
    }
    drop(worker);
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
}
