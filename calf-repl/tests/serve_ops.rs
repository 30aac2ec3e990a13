//! `calf serve` operated as docs/serve.md tells an operator to: a tenant
//! added at runtime (nats-server reloaded, then calf serve sent SIGHUP, or
//! left to see the file changed), a calf.toml that does not load on SIGHUP, a
//! tenant's quota reached, and the NATS server going away and coming
//! back. Real nats-server, real `calf serve`, the verbs through the
//! `calf` binary, the tenant's Python worker.

use std::path::{Path, PathBuf};

mod support {
    pub mod serve;
}
use support::serve::{
    eventually, example_text, ok, refused, scratch, stderr, submit, write_nats_config, Nats, Serve,
    User, Worker, ACME,
};

const INITECH: User = User {
    name: "initech-dev",
    password: "dev-initech",
};

/// A program that prints, then waits for `[:stop]`.
const WAITS: &str = "(println \"hi\")\n(receive [:stop] :ok)\n";

/// examples/serve/calf.toml with a third tenant, initech.
fn with_initech() -> String {
    format!(
        "{}\n[tenants.initech]\n\
         scheduler = {{ user = \"initech-scheduler\", password = \"dev-initech-scheduler\" }}\n\
         users = [{{ user = \"{}\", password = \"{}\" }}]\n",
        example_text(),
        INITECH.name,
        INITECH.password
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("writable");
}

/// nats-server on the configuration printed for the calf.toml `for_nats`,
/// and calf serve reading `for_serve` as its calf.toml (in `dir`): the
/// two may name different tenants. Their files: calf.toml and nats.conf.
fn start_with(dir: &Path, for_nats: &str, for_serve: &str) -> (Serve, PathBuf, PathBuf) {
    let calf_toml = dir.join("calf.toml");
    let nats_conf = dir.join("nats.conf");
    write(&calf_toml, for_nats);
    write_nats_config(&calf_toml, &nats_conf);
    write(&calf_toml, for_serve);
    let nats = Nats::start(&nats_conf, &dir.join("jetstream"));
    (
        Serve::start_on(nats, &calf_toml, ACME),
        calf_toml,
        nats_conf,
    )
}

#[test]
fn a_tenant_added_at_runtime_serves_and_the_others_keep_running() {
    let dir = scratch("add-tenant");
    // calf serve reads calf.toml; the nats-server runs what was printed
    // for it. Both start with acme and globex only.
    let (serve, calf_toml, nats_conf) = start_with(&dir, &example_text(), &example_text());

    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);

    // initech is nobody to nats-server yet.
    let error = refused("calf ps as initech", serve.verb(INITECH, &["ps"]));
    assert!(error.contains("refused these credentials"), "{error}");

    // The operator adds initech: to calf.toml (in a copy first, so that
    // calf serve, which reads calf.toml on SIGHUP only, runs on), to the
    // printed configuration, and has nats-server read it.
    let three = dir.join("three.toml");
    write(&three, &with_initech());
    write_nats_config(&three, &nats_conf);
    serve.nats.reload();

    // initech's users log in now, but no calf serve answers them: the
    // error of a tenant that calf serve does not know.
    let error = refused("calf ps as initech", serve.verb(INITECH, &["ps"]));
    assert!(
        error.contains("no `calf serve` answers in this account"),
        "{error}"
    );
    assert!(
        ok("calf ps as acme", serve.verb(ACME, &["ps"])).contains(&pid),
        "the reload of nats-server left acme's job"
    );

    // Then calf.toml, and SIGHUP.
    let mark = serve.log_mark();
    std::fs::rename(&three, &calf_toml).expect("calf.toml replaced");
    serve.hangup();
    serve.wait_for_log(mark, "SIGHUP: reloading");
    eventually("initech served", || {
        let ps = serve.verb(INITECH, &["ps"]);
        if ps.status.success() {
            Ok(())
        } else {
            Err(stderr(&ps))
        }
    });
    let theirs = submit(
        &serve,
        INITECH,
        &dir,
        "hello.calf",
        "(println \"initech here\")\n",
    );
    let logs = serve.verb(INITECH, &["logs", &theirs, "-f"]);
    assert_eq!(ok("initech's calf logs -f", logs), "initech here\n");

    // acme's job waited through both reloads.
    let ps = ok("calf ps as acme", serve.verb(ACME, &["ps"]));
    let row = ps.lines().find(|l| l.starts_with(&pid));
    assert!(
        row.is_some_and(|r| r.contains("waiting")),
        "acme's job is still waiting: {ps}"
    );
    assert!(
        !ok("calf ps as initech", serve.verb(INITECH, &["ps"])).contains(&pid),
        "initech sees acme's job"
    );
    ok("calf send", serve.verb(ACME, &["send", &pid, "[:stop]"]));
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    assert_eq!(ok("calf logs -f", logs.clone()), "hi\n");
    assert!(
        stderr(&logs).contains(":normal (status 0)"),
        "how the job ended: {}",
        stderr(&logs)
    );
}

/// Polls until initech's `calf ps` succeeds.
fn until_initech_is_served(serve: &Serve) {
    eventually("initech served", || {
        let ps = serve.verb(INITECH, &["ps"]);
        if ps.status.success() {
            Ok(())
        } else {
            Err(stderr(&ps))
        }
    });
}

#[test]
fn a_calf_toml_written_is_read_again_without_a_signal() {
    let dir = scratch("reread");
    let (serve, calf_toml, _) = start_with(&dir, &with_initech(), &example_text());
    let three = dir.join("three.toml");
    write(&three, &with_initech());
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);
    let error = refused("calf ps as initech", serve.verb(INITECH, &["ps"]));
    assert!(error.contains("no `calf serve` answers"), "{error}");
    let mark = serve.log_mark();
    std::fs::rename(&three, &calf_toml).expect("calf.toml replaced");
    serve.wait_for_log(mark, "calf.toml changed: reloading");
    until_initech_is_served(&serve);
    assert!(ok("calf ps as acme", serve.verb(ACME, &["ps"])).contains(&pid));
}

#[test]
fn a_tenant_nats_does_not_know_yet_is_served_once_it_does() {
    let dir = scratch("retry-tenant");
    // calf serve starts with initech, nats-server without it.
    let (serve, calf_toml, nats_conf) = start_with(&dir, &example_text(), &with_initech());
    let error = refused("calf ps as initech", serve.verb(INITECH, &["ps"]));
    assert!(error.contains("refused these credentials"), "{error}");
    // The operator has nats-server read its configuration for initech;
    // calf serve, told nothing, logs in within a few seconds.
    write_nats_config(&calf_toml, &nats_conf);
    serve.nats.reload();
    until_initech_is_served(&serve);
}

#[test]
fn a_calf_toml_that_does_not_load_on_sighup_is_logged_and_changes_nothing() {
    let dir = scratch("broken-reload");
    let calf_toml = dir.join("calf.toml");
    write(&calf_toml, &example_text());
    let mut serve = Serve::start(&calf_toml, &dir, ACME);
    let pid = submit(&serve, ACME, &dir, "waits.calf", WAITS);

    let mark = serve.log_mark();
    write(
        &calf_toml,
        &example_text().replace("[tenants.globex]", "[tenants.globex\n"),
    );
    serve.hangup();
    let logged = serve.wait_for_log(mark, "does not load, nothing changed");
    assert!(
        logged.contains("calf.toml"),
        "the log names the file: {logged}"
    );

    assert!(serve.is_running(), "calf serve exited:\n{}", serve.log());
    let ps = ok("calf ps after a bad reload", serve.verb(ACME, &["ps"]));
    assert!(ps.contains(&pid), "acme's job is still there: {ps}");
    ok(
        "globex is still served",
        serve.verb(support::serve::GLOBEX, &["ps"]),
    );
    ok("calf send", serve.verb(ACME, &["send", &pid, "[:stop]"]));
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    assert_eq!(ok("calf logs -f", logs), "hi\n");
}

/// Spawns waiting processes until `spawn` throws; prints what it threw,
/// then stops them all.
const SPAWN_BOMB: &str = r#"
(defn waiter [] (receive [:stop] :ok))
(def outcome
  (loop [pids []]
    (let [spawned (try (spawn waiter) (catch e (ex-data e)))]
      (cond
        (map? spawned) [spawned pids]
        (> (count pids) 1000) [{:type :no-limit} pids]
        :else (recur (conj pids spawned))))))
(let [[refusal pids] outcome]
  (println (:type refusal) (:quota refusal) (:limit refusal) (count pids))
  (doseq [p pids] (send p [:stop])))
"#;

#[test]
fn a_spawn_bomb_meets_the_tenants_max_processes_and_serve_answers_on() {
    let dir = scratch("quota");
    let calf_toml = dir.join("calf.toml");
    let example = example_text();
    let small = example.replacen("max_processes = 20000", "max_processes = 50", 1);
    assert_ne!(small, example, "the example sets acme's max_processes");
    write(&calf_toml, &small);
    let serve = Serve::start(&calf_toml, &dir, ACME);

    let pid = submit(&serve, ACME, &dir, "bomb.calf", SPAWN_BOMB);
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    let printed = ok("calf logs -f", logs.clone());
    // The main process is one of the 50: it spawned 49.
    assert_eq!(printed, ":calf/quota-exceeded :max-processes 50 49\n");
    assert!(
        stderr(&logs).contains(":normal (status 0)"),
        "the job caught the refusal and ended: {}",
        stderr(&logs)
    );

    let summary = ok(
        "calf ps --summary --json",
        serve.verb(ACME, &["ps", "--summary", "--json"]),
    );
    let summary: serde_json::Value = serde_json::from_str(&summary).expect("JSON");
    assert!(
        summary["quota_refusals"].as_u64() > Some(0),
        "the refusal is counted: {summary}"
    );
    assert_eq!(summary["quotas"]["max_processes"], 50, "{summary}");

    // Its processes gone, the tenant runs jobs again.
    eventually("the bomb's processes gone", || {
        let ps = ok("calf ps", serve.verb(ACME, &["ps"]));
        match ps.lines().count() {
            1 => Ok(()),
            _ => Err(ps),
        }
    });
    let after = submit(&serve, ACME, &dir, "after.calf", "(println \"after\")\n");
    let logs = serve.verb(ACME, &["logs", &after, "-f"]);
    assert_eq!(ok("calf logs -f", logs), "after\n");
}

/// `slow-add` 20 times through the tenant's worker, each result printed.
const CALLS: &str = r#"
(dotimes [i 20]
  (println (call "slow-add" [i 1000 200] {:timeout-ms 2000 :deadline-ms 30000})))
"#;

#[test]
fn the_nats_server_goes_away_and_comes_back_and_a_jobs_calls_complete() {
    let dir = scratch("outage");
    let mut serve = Serve::start(&support::serve::example_config(), &dir, ACME);
    let worker = Worker::start(&serve.url, ACME);

    let pid = submit(&serve, ACME, &dir, "calls.calf", CALLS);
    eventually("a few calls answered", || {
        let logs = ok("calf logs", serve.verb(ACME, &["logs", &pid]));
        match logs.lines().count() {
            n if n >= 3 => Ok(()),
            _ => Err(logs),
        }
    });

    serve.nats.kill();
    let error = refused("calf ps with no NATS server", serve.verb(ACME, &["ps"]));
    assert!(error.contains("cannot connect to NATS"), "{error}");
    serve.nats.start_again();

    // calf serve and the worker reconnect by themselves.
    eventually("calf serve answering again", || {
        let ps = serve.verb(ACME, &["ps"]);
        if ps.status.success() {
            Ok(())
        } else {
            Err(stderr(&ps))
        }
    });
    let logs = serve.verb(ACME, &["logs", &pid, "-f"]);
    let printed = ok("calf logs -f", logs.clone());
    let expected: String = (0..20).map(|i| format!("{}\n", i + 1000)).collect();
    assert_eq!(
        printed,
        expected,
        "every call answered, in order; the worker's log:\n{}",
        worker.log()
    );
    assert!(
        stderr(&logs).contains(":normal (status 0)"),
        "{}",
        stderr(&logs)
    );
    ok("calf ps", serve.verb(ACME, &["ps"]));
    // The outage did reach the job: a call was tried again.
    let log = serve.log_so_far();
    assert!(log.contains("call failed; retrying"), "{log}");
}
