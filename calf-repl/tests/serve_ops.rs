//! `calf serve` operated as docs/serve.md and docs/serve-config.md tell
//! an operator to: a tenant added at runtime (nats-server reloaded, then
//! calf serve sent SIGHUP), a calf.toml that does not load on SIGHUP, a
//! tenant's quota reached, and the NATS server going away and coming
//! back. Real nats-server, real `calf serve`, the verbs through the
//! `calf` binary, the tenant's Python worker.

use std::path::Path;

mod support {
    pub mod serve;
}
use support::serve::{
    eventually, example_text, ok, refused, scratch, stderr, submit, write_nats_config, Nats, Serve,
    User, ACME,
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

#[test]
fn a_tenant_added_at_runtime_serves_and_the_others_keep_running() {
    let dir = scratch("add-tenant");
    // calf serve reads calf.toml; the nats-server runs what was printed
    // for it. Both start with acme and globex only.
    let calf_toml = dir.join("calf.toml");
    write(&calf_toml, &example_text());
    let nats_conf = dir.join("nats.conf");
    write_nats_config(&calf_toml, &nats_conf);
    let nats = Nats::start(&nats_conf, &dir.join("jetstream"));
    let serve = Serve::start_on(nats, &calf_toml, ACME);

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
