//! What `calf serve` shows of itself (docs/dashboard.md): the web
//! dashboard driven in a real headless chromium, `/metrics` scraped
//! against a job whose calls are known, and a call's trace id followed
//! into the Python worker and back in the exported spans. Real
//! nats-server, real `calf serve --http`, the example worker.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support {
    pub mod http;
    pub mod serve;
}
use support::http::{basic, http};
use support::serve::{
    eventually, example_config, ok, root, scratch, submit, Serve, User, Worker, ACME, GLOBEX,
};

const OPERATOR: User = User {
    name: "calf-operator",
    password: "dev-operator",
};

/// Starts nats-server and `calf serve --http` on a port of the system's
/// choosing (and `more` arguments); the dashboard's address.
fn serve_with_dashboard(dir: &Path, more: &[&str]) -> (Serve, String) {
    let conf = dir.join("nats.conf");
    support::serve::write_nats_config(&example_config(), &conf);
    let nats = support::serve::Nats::start(&conf, &dir.join("jetstream"));
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend_from_slice(more);
    let serve = Serve::start_with(nats, &example_config(), ACME, &args);
    let log = serve.wait_for_log(0, "dashboard on http://");
    let address = log
        .split("dashboard on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the dashboard's address in the log")
        .to_string();
    (serve, address)
}

/// `GET /api/process` of acme's process `pid`, as acme: status and body.
fn process_view(address: &str, acme: &str, pid: &dyn std::fmt::Display) -> (u16, String) {
    http(
        address,
        "GET",
        &format!("/api/process?tenant=acme&pid={pid}"),
        &[acme],
        "",
    )
}

/// The value of the sample `name{labels}` in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A job of acme's whose calls are known: 5 greet calls answered, 2
/// calls of a subject nobody answers, 3 attempts each; then it waits.
const KNOWN: &str = r#"
(dotimes [i 5] (call "greet" (str "n" i)))
(dotimes [i 2]
  (try (call "nobody.home" i {:retry {:maximum-attempts 3 :initial-interval-ms 10}})
       (catch e nil)))
(println "calls done")
(receive [:stop] :ok)
"#;

#[test]
fn metrics_count_a_known_jobs_calls_per_tenant() {
    let dir = scratch("dashboard-metrics");
    let (serve, address) = serve_with_dashboard(&dir, &[]);
    let _worker = Worker::start(&serve.url, ACME);
    let job = submit(&serve, ACME, &dir, "known.calf", KNOWN);
    let acme = basic(ACME);
    eventually("the job's calls are done", || {
        let logs = serve.verb(ACME, &["logs", &job]);
        let text = String::from_utf8_lossy(&logs.stdout).to_string();
        text.contains("calls done").then_some(()).ok_or(text)
    });
    let (status, scrape) = http(&address, "GET", "/metrics", &[&acme], "");
    assert_eq!(status, 200, "{scrape}");
    let expect = [
        ("calf_processes{tenant=\"acme\"}", 1.0),
        ("calf_jobs{tenant=\"acme\"}", 1.0),
        ("calf_calls_in_flight{tenant=\"acme\"}", 0.0),
        ("calf_quota_refusals_total{tenant=\"acme\"}", 0.0),
        (
            "calf_processes_by_status{tenant=\"acme\",status=\"waiting\"}",
            1.0,
        ),
        (
            "calf_calls_total{tenant=\"acme\",subject=\"greet\",outcome=\"ok\"}",
            5.0,
        ),
        (
            "calf_calls_total{tenant=\"acme\",subject=\"nobody.home\",outcome=\"no_responders\"}",
            2.0,
        ),
        (
            "calf_call_retries_total{tenant=\"acme\",subject=\"greet\"}",
            0.0,
        ),
        (
            "calf_call_retries_total{tenant=\"acme\",subject=\"nobody.home\"}",
            4.0,
        ),
        (
            "calf_call_duration_seconds_count{tenant=\"acme\",subject=\"greet\"}",
            5.0,
        ),
        (
            "calf_call_duration_seconds_bucket{tenant=\"acme\",subject=\"greet\",le=\"+Inf\"}",
            5.0,
        ),
        ("calf_mailbox_messages{tenant=\"acme\"}", 0.0),
    ];
    for (series, value) in expect {
        assert_eq!(
            sample(&scrape, series),
            Some(value),
            "{series} in:\n{scrape}"
        );
    }
    let reductions = sample(&scrape, "calf_reductions_total{tenant=\"acme\"}").expect("reductions");
    assert!(reductions > 0.0, "{scrape}");
    assert!(scrape.contains("# TYPE calf_call_duration_seconds histogram"));

    // A message waiting in the mailbox shows; globex sees none of acme's.
    ok("calf send", serve.verb(ACME, &["send", &job, "[:not-yet]"]));
    eventually("the mailbox length", || {
        let (_, scrape) = http(&address, "GET", "/metrics", &[&acme], "");
        (sample(&scrape, "calf_mailbox_messages{tenant=\"acme\"}") == Some(1.0))
            .then_some(())
            .ok_or(scrape)
    });
    let (status, theirs) = http(&address, "GET", "/metrics", &[&basic(GLOBEX)], "");
    assert_eq!(status, 200);
    assert!(
        !theirs.contains("acme"),
        "globex sees acme's series:\n{theirs}"
    );
    assert!(
        theirs.contains("calf_processes{tenant=\"globex\"} 0"),
        "{theirs}"
    );
    let (_, all) = http(&address, "GET", "/metrics", &[&basic(OPERATOR)], "");
    assert!(
        all.contains("tenant=\"acme\"") && all.contains("tenant=\"globex\""),
        "{all}"
    );

    // No login, a wrong password, a user of no tenant: refused alike.
    assert_eq!(http(&address, "GET", "/metrics", &[], "").0, 401);
    for (name, password) in [("acme-dev", "guess"), ("nobody", "dev-acme")] {
        let login = basic(User { name, password });
        assert_eq!(http(&address, "GET", "/metrics", &[&login], "").0, 401);
    }
}

#[test]
fn the_api_keeps_tenants_apart_and_refuses_bad_requests() {
    let dir = scratch("dashboard-api");
    let (serve, address) = serve_with_dashboard(&dir, &[]);
    let job = submit(&serve, ACME, &dir, "waits.calf", "(receive [:stop] :ok)\n");
    let pid = job.trim_matches(|c| c == '<' || c == '>');
    let acme = basic(ACME);
    let globex = basic(GLOBEX);
    let json = "Content-Type: application/json";
    let csrf = "X-Calf-Dashboard: 1";

    let (status, view) = process_view(&address, &acme, &pid);
    assert_eq!(status, 200, "{view}");
    assert!(view.contains("\"status\""), "{view}");
    for path in [
        format!("/api/process?tenant=acme&pid={pid}"),
        "/api/tree?tenant=acme".to_string(),
    ] {
        let (status, body) = http(&address, "GET", &path, &[&globex], "");
        assert_eq!(status, 404, "globex reads {path}: {body}");
    }
    let kill = format!(r#"{{"tenant":"acme","pid":{pid}}}"#);
    let (status, body) = http(&address, "POST", "/api/kill", &[&globex, json, csrf], &kill);
    assert_eq!(status, 404, "globex kills acme's process: {body}");
    // Without the header a page of another site cannot send.
    let (status, body) = http(&address, "POST", "/api/kill", &[&acme, json], &kill);
    assert_eq!(status, 403, "{body}");
    for bad in ["{", "[1,2]", r#"{"tenant":"acme","pid":-1}"#] {
        let (status, body) = http(&address, "POST", "/api/send", &[&acme, json, csrf], bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let code = format!(r#"{{"tenant":"acme","pid":{pid},"message":"(exit-program 3)"}}"#);
    let (status, body) = http(&address, "POST", "/api/send", &[&acme, json, csrf], &code);
    assert_eq!(status, 200, "a list is data: {body}");
    let quoted = format!(r#"{{"tenant":"acme","pid":{pid},"message":"'x"}}"#);
    let (status, body) = http(&address, "POST", "/api/send", &[&acme, json, csrf], &quoted);
    assert_eq!(status, 400, "code is refused: {body}");
    let huge = format!(
        r#"{{"tenant":"acme","pid":{pid},"message":"{}"}}"#,
        "x".repeat(200_000)
    );
    let (status, _) = http(&address, "POST", "/api/send", &[&acme, json, csrf], &huge);
    assert_eq!(status, 413);
    let (status, body) = http(
        &address,
        "POST",
        "/api/login",
        &[json, csrf],
        r#"{"user":"acme-dev","password":"nope"}"#,
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("wrong user or password"), "{body}");
    let (status, _) = http(&address, "GET", "/nothing-here", &[&acme], "");
    assert_eq!(status, 404);
    let (status, page) = http(&address, "GET", "/", &[], "");
    assert_eq!(status, 200);
    assert!(page.contains("<title>calf serve</title>"));
    let kill = format!(r#"{{"tenant":"acme","pid":{pid},"reason":":enough"}}"#);
    let (status, body) = http(&address, "POST", "/api/kill", &[&acme, json, csrf], &kill);
    assert_eq!(status, 200, "{body}");
    eventually("the killed process gone", || {
        let (status, body) = process_view(&address, &acme, &pid);
        (status == 404).then_some(()).ok_or(body)
    });
}

/// The spans of a trace file, as JSON values.
fn spans(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn a_calls_trace_goes_into_the_python_worker_and_back() {
    let dir = scratch("dashboard-trace");
    let calf_spans = dir.join("calf-spans.jsonl");
    let worker_spans = dir.join("worker-spans.jsonl");
    let trace_arg = calf_spans.display().to_string();
    let (serve, _) = serve_with_dashboard(&dir, &["--trace", &trace_arg]);
    let _worker = Worker::start_with(
        &serve.url,
        ACME,
        &["--trace", &worker_spans.display().to_string()],
    );
    let program = "(println (call \"greet\" \"traced\"))\n(receive [:stop] :ok)\n";
    let job = submit(&serve, ACME, &dir, "traced.calf", program);
    let mut calf_span = serde_json::Value::Null;
    eventually("calf serve's span of the call", || {
        let found = spans(&calf_spans)
            .into_iter()
            .find(|s| s["name"] == "greet");
        calf_span = found.ok_or("no span yet")?;
        Ok(())
    });
    let trace_id = calf_span["trace_id"]
        .as_str()
        .expect("a trace id")
        .to_string();
    let span_id = calf_span["span_id"]
        .as_str()
        .expect("a span id")
        .to_string();
    assert_eq!(trace_id.len(), 32, "{calf_span}");
    assert_eq!(calf_span["attributes"]["calf.tenant"], "acme");
    assert_eq!(calf_span["attributes"]["calf.outcome"], "ok");
    assert_eq!(calf_span["attributes"]["calf.attempts"], 1);
    assert_eq!(
        calf_span["attributes"]["calf.pid"].to_string(),
        job.trim_matches(|c| c == '<' || c == '>')
    );
    let worker_span = spans(&worker_spans)
        .into_iter()
        .find(|s| s["name"] == "greet")
        .expect("the worker's span of the request");
    assert_eq!(worker_span["trace_id"], trace_id.as_str(), "{worker_span}");
    assert_eq!(
        worker_span["parent_span_id"],
        span_id.as_str(),
        "{worker_span}"
    );
    assert_eq!(
        worker_span["attributes"]["calf.call_id"],
        calf_span["attributes"]["calf.call_id"]
    );
    // The worker's answer came back to the program.
    let logs = ok("calf logs", serve.verb(ACME, &["logs", &job]));
    assert!(logs.contains("hello, traced, from acme"), "{logs}");
}

/// Where the dashboard's screenshots go, when asked for
/// (`scripts/dashboard-screenshots`).
fn screenshots() -> Option<PathBuf> {
    std::env::var_os("CALF_DASHBOARD_SCREENSHOTS").map(PathBuf::from)
}

#[test]
fn the_dashboard_in_a_headless_browser() {
    let driver = root().join("tests/dashboard");
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| Path::new("/usr/bin/chromium").exists(), |_| true);
    assert!(
        driver.join("node_modules/puppeteer-core").is_dir() && chromium,
        "run `bash scripts/setup-test-env` first: it installs chromium and tests/dashboard's packages"
    );
    let dir = scratch("dashboard-browser");
    let (serve, address) = serve_with_dashboard(&dir, &[]);
    let _worker = Worker::start(&serve.url, ACME);
    let acme_job = r#"
(defn acme-waiter [] (call "slow-add" [1 2 600000] {:timeout-ms 600000 :deadline-ms 600000}))
(defn acme-idle [] (receive [:stop] :ok))
(defn acme-unlucky []
  (try (call "nobody.home" 1 {:retry {:maximum-attempts 2 :initial-interval-ms 50}})
       (catch e nil))
  (sleep 300)
  (recur))
(spawn acme-unlucky)
(supervisor/start-link {:strategy :one-for-one}
  [{:id :idle :start [acme-idle] :restart :permanent}
   {:id :waiter :start [acme-waiter] :restart :temporary}])
(loop [i 0] (call "slow-add" [i 1 100]) (recur (inc i)))
"#;
    submit(&serve, ACME, &dir, "acme.calf", acme_job);
    let globex_job = "(defn globex-secret-loop [] (receive [:stop] :ok))\n(globex-secret-loop)\n";
    submit(&serve, GLOBEX, &dir, "globex.calf", globex_job);
    let mut waiter = String::new();
    eventually("acme's waiter calling", || {
        let ps = ok("calf ps", serve.verb(ACME, &["ps", "--json"]));
        let list: serde_json::Value = serde_json::from_str(&ps).map_err(|e| e.to_string())?;
        let found = list["processes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| {
                p["function"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("acme-waiter"))
                    && p["status"] == "calling"
            });
        waiter = found.ok_or(ps.clone())?["pid"].to_string();
        Ok(())
    });
    let mut node = Command::new("node");
    node.arg(driver.join("drive.mjs"))
        .current_dir(&driver)
        .env("CALF_DASHBOARD_URL", format!("http://{address}/"))
        .env("ACME_WAITER", &waiter)
        .env("GLOBEX_MARKER", "globex-secret-loop");
    if let Some(dir) = screenshots() {
        node.env("CALF_DASHBOARD_SCREENSHOTS", dir);
    }
    let output = node.output().expect("node runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the dashboard test failed:\n{said}"
    );
    assert!(said.contains("every step passed"), "{said}");
}

#[test]
fn a_durable_process_shows_its_node_and_last_save() {
    let dir = scratch("dashboard-durable");
    let (serve, address) =
        serve_with_dashboard(&dir, &["--durable", "dash-node", "--lease-ms", "1000"]);
    let program = "(defn keeps-waiting [] (receive [:stop] :ok))\n\
                   (spawn-durable keeps-waiting)\n\
                   (receive [:never] nil)\n";
    submit(&serve, ACME, &dir, "durable.calf", program);
    let acme = basic(ACME);
    eventually("the durable process saved, on the page's overview", || {
        let (status, body) = http(&address, "GET", "/api/overview", &[&acme], "");
        let overview: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{status} {e}"))?;
        let row = overview["tenants"][0]["top"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["durable"].is_object())
            .cloned()
            .ok_or(body.clone())?;
        if row["durable"]["node"] != "dash-node" || !row["durable"]["saved_at_ms"].is_i64() {
            return Err(body);
        }
        let pid = &row["pid"];
        let (status, view) = process_view(&address, &acme, &pid);
        let view: serde_json::Value =
            serde_json::from_str(&view).map_err(|e| format!("{status} {e}"))?;
        (view["process"]["durable"]["node"] == "dash-node")
            .then_some(())
            .ok_or(view.to_string())
    });
}
