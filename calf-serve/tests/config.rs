//! calf.toml: the example reads; every mistake is an error that names its
//! line and says what to do.

mod support;

use std::path::Path;

use calf_serve::config::{ConfigError, Quotas, ServeConfig, DEFAULT_NATS_URL};

/// A minimal file's start: the operator's login.
const OPERATOR: &str = "[operator]\nuser = \"calf-operator\"\npassword = \"op\"\n";

fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
    ServeConfig::parse_with_env(text, Path::new("calf.toml"), |name| match name {
        "ACME_SCHEDULER_PASSWORD" => Some("from-the-env".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    })
}

fn ok(text: &str) -> ServeConfig {
    parse(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The error of `text`, checked to be on `line` and to contain `needle`.
fn error(text: &str, line: usize, needle: &str) -> ConfigError {
    let e = match parse(text) {
        Ok(config) => panic!("expected an error, read {config:?}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    assert_eq!(e.line(), Some(line), "wrong line in:\n{shown}");
    assert!(
        e.message().contains(needle),
        "expected {needle:?} in the message of:\n{shown}"
    );
    assert!(!e.help().is_empty(), "no help in:\n{shown}");
    assert!(
        shown.starts_with(&format!("calf.toml:{line}:")),
        "no file:line in:\n{shown}"
    );
    assert!(shown.contains("= help: "), "no help in:\n{shown}");
    e
}

fn tenant(name: &str, extra: &str) -> String {
    format!("[tenants.{name}]\nscheduler = {{ user = \"{name}-scheduler\", password = \"s\" }}\n{extra}")
}

#[test]
fn the_example_reads() {
    let config = support::example();
    assert_eq!(config.path, support::example_path());
    assert_eq!(config.nats_url, "nats://127.0.0.1:4222");
    assert_eq!(config.threads, None);
    assert_eq!(config.operator.name, "calf-operator");
    let names: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["acme", "globex"]);
    let acme = config.tenant("acme").expect("acme");
    assert_eq!(acme.scheduler.name, "acme-scheduler");
    assert_eq!(acme.users.len(), 1);
    assert_eq!(acme.users[0].name, "acme-dev");
    assert_eq!(acme.users[0].password, "dev-acme");
    // Its own quotas over [defaults] over the built-in ones.
    assert_eq!(acme.quotas.max_processes, 20_000);
    assert_eq!(acme.quotas.cpu_share, 2);
    assert_eq!(acme.quotas.max_connections, 100);
    assert_eq!(acme.quotas.max_calls_in_flight, 500);
    assert_eq!(acme.quotas.jetstream_max_memory, 64 << 20);
    assert_eq!(acme.quotas.max_output, Quotas::BUILT_IN.max_output);
    let globex = config.tenant("globex").expect("globex");
    assert_eq!(globex.users[0].name, "globex-dev");
    assert_eq!(globex.users[0].password, "dev-globex");
    assert_eq!(globex.quotas.max_processes, 10_000);
    assert_eq!(globex.quotas.cpu_share, 1);
    assert_eq!(globex.quotas.max_connections, 50);
    assert!(config.tenant("initech").is_none());
}

#[test]
fn load_reads_the_file_and_names_a_missing_one() {
    let config = ServeConfig::load(&support::example_path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, support::example());
    let missing = Path::new("/nonexistent/calf.toml");
    let e = ServeConfig::load(missing).expect_err("no such file");
    assert_eq!(e.line(), None);
    assert!(e.to_string().contains("/nonexistent/calf.toml"), "{e}");
    assert!(e.to_string().contains("cannot read"), "{e}");
}

#[test]
fn what_is_left_out_takes_its_default() {
    let config = ok(&format!("{OPERATOR}{}", tenant("acme", "")));
    assert_eq!(config.nats_url, DEFAULT_NATS_URL);
    assert_eq!(config.threads, None);
    let acme = &config.tenants[0];
    assert!(acme.users.is_empty());
    assert_eq!(acme.quotas, Quotas::BUILT_IN);
    assert_eq!(Quotas::default(), Quotas::BUILT_IN);
    assert_eq!(Quotas::BUILT_IN.max_processes, 100_000);
    assert_eq!(Quotas::BUILT_IN.max_output, 1 << 20);
    assert_eq!(Quotas::BUILT_IN.max_connections, -1);
    assert_eq!(Quotas::BUILT_IN.jetstream_max_memory, 256 << 20);
    assert_eq!(Quotas::BUILT_IN.jetstream_max_storage, 1 << 30);
    // A file with nothing but the operator has no tenants.
    assert!(ok(OPERATOR).tenants.is_empty());
}

#[test]
fn tenants_are_sorted_by_name() {
    let text = format!(
        "{OPERATOR}{}{}{}",
        tenant("zeta", ""),
        tenant("alpha", ""),
        tenant("mid_1", "")
    );
    let names: Vec<String> = ok(&text).tenants.into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["alpha", "mid_1", "zeta"]);
}

#[test]
fn quotas_take_sizes_and_unlimited() {
    let text = format!(
        "{OPERATOR}[defaults]\nmax_output = \"64KiB\"\njetstream_max_memory = \"1GiB\"\n\
         {}[tenants.acme.quotas]\nmax_payload = \"512 kB\"\njetstream_max_storage = \"unlimited\"\n\
         max_subscriptions = -1\nmax_connections = 7\n",
        tenant("acme", "")
    );
    let q = ok(&text).tenants[0].quotas;
    assert_eq!(q.max_output, 64 * 1024);
    assert_eq!(q.jetstream_max_memory, 1 << 30);
    assert_eq!(q.max_payload, 512_000);
    assert_eq!(q.jetstream_max_storage, -1);
    assert_eq!(q.max_subscriptions, -1);
    assert_eq!(q.max_connections, 7);
}

#[test]
fn a_password_can_come_from_the_environment() {
    let text = format!(
        "{OPERATOR}[tenants.acme]\nscheduler = {{ user = \"acme-scheduler\", password_env = \"ACME_SCHEDULER_PASSWORD\" }}\n"
    );
    assert_eq!(ok(&text).tenants[0].scheduler.password, "from-the-env");

    let unset = "[operator]\nuser = \"op\"\npassword_env = \"CALF_NOT_SET\"\n";
    let e = error(unset, 3, "CALF_NOT_SET");
    assert!(e.message().contains("not set"), "{e}");
    assert!(e.help().contains("CALF_NOT_SET"), "{e}");
    error(
        "[operator]\nuser = \"op\"\npassword_env = \"EMPTY\"\n",
        3,
        "is empty",
    );
    error(
        "[operator]\nuser = \"op\"\npassword = \"x\"\npassword_env = \"EMPTY\"\n",
        4,
        "both",
    );
    error("[operator]\nuser = \"op\"\n", 1, "no password");
    error("[operator]\nuser = \"op\"\npassword = \"\"\n", 3, "empty");
}

#[test]
fn the_real_environment_is_read_by_parse() {
    // PATH is set wherever tests run; its value is the password.
    let path = std::env::var("PATH").expect("PATH is set");
    let text = "[operator]\nuser = \"op\"\npassword_env = \"PATH\"\n";
    let config = ServeConfig::parse(text, Path::new("calf.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.operator.password, path);
}

#[test]
fn a_user_name_is_unique_across_the_file() {
    // Two tenants.
    let text = format!(
        "{OPERATOR}{}{}",
        tenant("acme", "users = [{ user = \"dev\", password = \"a\" }]\n"),
        tenant("globex", "users = [{ user = \"dev\", password = \"b\" }]\n"),
    );
    let e = error(&text, 9, "\"dev\"");
    assert!(
        e.message().contains("tenant acme") && e.message().contains("tenant globex"),
        "{e}"
    );
    assert!(e.help().contains("nats-server"), "{e}");

    // A tenant and the operator.
    let text = format!(
        "{OPERATOR}{}",
        tenant(
            "acme",
            "users = [{ user = \"calf-operator\", password = \"a\" }]\n"
        )
    );
    let e = error(&text, 6, "calf-operator");
    assert!(
        e.message().contains("the operator") && e.message().contains("tenant acme"),
        "{e}"
    );

    // Twice in one tenant; the error is at the later one in the file,
    // whatever order the tenants sort in.
    let text = format!(
        "{OPERATOR}{}",
        tenant(
            "acme",
            "users = [{ user = \"acme-scheduler\", password = \"a\" }]\n"
        )
    );
    let e = error(&text, 6, "used twice in tenant acme");
    assert_eq!(e.column(), Some(19));
    let text = format!(
        "{OPERATOR}{}{}",
        tenant("zeta", ""),
        tenant(
            "alpha",
            "users = [{ user = \"zeta-scheduler\", password = \"a\" }]\n"
        ),
    );
    error(&text, 8, "zeta-scheduler");
}

#[test]
fn unknown_keys_are_named() {
    let e = error(&format!("nats_ulr = \"x\"\n{OPERATOR}"), 1, "`nats_ulr`");
    assert_eq!(e.column(), Some(1));
    error(&format!("{OPERATOR}colour = 1\n"), 4, "`colour`");
    error(
        &format!(
            "{OPERATOR}{}",
            tenant("acme", "[tenants.acme.quotas]\nmax_proceses = 3\n")
        ),
        7,
        "`max_proceses`",
    );
    error(&format!("{OPERATOR}[defaults]\ncpu = 2\n"), 5, "`cpu`");
    error(
        &format!("{OPERATOR}[tenants.acme]\nscheduler = {{ user = \"s\", pass = \"p\" }}\n"),
        5,
        "`pass`",
    );
    error(
        &format!("{OPERATOR}{}", tenant("acme", "quota = {}\n")),
        6,
        "`quota`",
    );
}

#[test]
fn tenant_names_are_checked() {
    for bad in ["Acme", "\"ac.me\"", "\"a b\"", "\"\""] {
        let text = format!(
            "{OPERATOR}[tenants.{bad}]\nscheduler = {{ user = \"s\", password = \"p\" }}\n"
        );
        error(&text, 4, "is not a tenant name");
    }
    for reserved in ["operator", "sys", "system", "calf_operator"] {
        let text = format!("{OPERATOR}{}", tenant(reserved, ""));
        let e = error(&text, 4, "reserved");
        assert_eq!(e.column(), Some(10), "{e}");
    }
    ok(&format!("{OPERATOR}{}", tenant("a-b_c9", "")));
}

#[test]
fn a_tenant_needs_its_scheduler_login() {
    let e = error(
        &format!("{OPERATOR}[tenants.acme]\nusers = []\n"),
        4,
        "no scheduler",
    );
    assert!(e.help().contains("scheduler = {"), "{e}");
    // A tenant written only as its quotas table.
    error(
        &format!("{OPERATOR}[tenants.acme.quotas]\nmax_processes = 3\n"),
        4,
        "no scheduler",
    );
    error(
        &format!("{OPERATOR}[tenants.acme]\nscheduler = {{ password = \"p\" }}\n"),
        5,
        "no `user`",
    );
    error(
        &format!("{OPERATOR}[tenants.acme]\nscheduler = {{ user = \"a b\", password = \"p\" }}\n"),
        5,
        "not a user name",
    );
    // The scheduler logs in with its password: not a bcrypt hash.
    error(
        &format!(
            "{OPERATOR}[tenants.acme]\nscheduler = {{ user = \"s\", password = \"$2a$11$x\" }}\n"
        ),
        5,
        "$2",
    );
    // A tenant's user may be given as one.
    ok(&format!(
        "{OPERATOR}{}",
        tenant(
            "acme",
            "users = [{ user = \"u\", password = \"$2a$11$x\" }]\n"
        )
    ));
}

#[test]
fn a_file_without_operator_says_so() {
    let e = parse("").expect_err("no operator");
    assert_eq!(e.line(), None);
    assert!(e.message().contains("[operator]"), "{e}");
    assert!(e.help().contains("user = "), "{e}");
}

#[test]
fn quotas_are_checked() {
    let in_tenant = |quota: &str| {
        format!(
            "{OPERATOR}{}[tenants.acme.quotas]\n{quota}\n",
            tenant("acme", "")
        )
    };
    // Line 7 is the quota's.
    error(&in_tenant("max_processes = 0"), 7, "max_processes = 0");
    error(
        &in_tenant("max_calls_in_flight = -3"),
        7,
        "max_calls_in_flight",
    );
    error(
        &in_tenant("max_mailbox = \"unlimited\""),
        7,
        "cannot be unlimited",
    );
    error(
        &in_tenant("max_mailbox = \"1MiB\""),
        7,
        "a count, not a size",
    );
    error(&in_tenant("max_output = 0"), 7, "max_output = 0");
    let e = error(&in_tenant("cpu_share = 0"), 7, "cpu_share = 0");
    assert!(e.help().contains("share"), "{e}");
    error(&in_tenant("cpu_share = 5000000000"), 7, "too large");
    error(&in_tenant("max_connections = 0"), 7, "max_connections = 0");
    error(
        &in_tenant("max_connections = -2"),
        7,
        "max_connections = -2",
    );
    error(
        &in_tenant("max_subscriptions = \"2KiB\""),
        7,
        "a count, not a size",
    );
    error(
        &in_tenant("jetstream_max_memory = 0"),
        7,
        "jetstream_max_memory = 0",
    );
    let e = error(&in_tenant("max_payload = \"1 zb\""), 7, "not a size");
    assert!(e.help().contains("MiB"), "{e}");
    error(&in_tenant("max_payload = 1.5"), 7, "invalid type");
    // In [defaults] too.
    error(
        &format!("{OPERATOR}[defaults]\nmax_processes = 0\n"),
        5,
        "max_processes = 0",
    );
    error(&format!("threads = 0\n{OPERATOR}"), 1, "threads = 0");
    error(&format!("nats_url = \"\"\n{OPERATOR}"), 1, "not a NATS URL");
}

#[test]
fn an_error_shows_its_line_with_a_marker() {
    let text = format!("{OPERATOR}{}", tenant("Acme", ""));
    let e = parse(&text).expect_err("bad name");
    assert_eq!(
        e.to_string(),
        "calf.toml:4:10: \"Acme\" is not a tenant name\n\
         \x20 |\n\
         4 | [tenants.Acme]\n\
         \x20 |          ^^^^\n\
         \x20 = help: a tenant name has lowercase letters, digits, `-` and `_` only (it names the tenant's NATS account)"
    );
    // A long line is shown around the column.
    let long = format!(
        "[operator]\nuser = \"op\"\npassword = \"p\"\n[defaults]\nmax_processes = 1 {}# {}\n",
        "",
        "x".repeat(500)
    );
    ok(&long);
    let long = format!(
        "{OPERATOR}[defaults]\nmax_processes = {{ a = 1, b = \"{}\" }}\n",
        "y".repeat(500)
    );
    let shown = parse(&long).expect_err("not a number").to_string();
    assert!(shown.lines().all(|l| l.len() < 200), "{shown}");
}

#[test]
fn the_printed_configuration_names_its_source_and_no_address() {
    let config = support::example();
    let text = calf_serve::nats_config::render(&config);
    let first = text.lines().next().expect("a header");
    assert!(first.starts_with('#'), "{first}");
    assert!(
        text.contains(&format!(
            "generated from {}",
            support::example_path().display()
        )),
        "{text}"
    );
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for key in ["listen", "port", "store_dir", "host"] {
            assert!(!line.contains(key), "{line}");
        }
    }
    assert!(text.contains("system_account = \"SYS\""), "{text}");
    assert!(text.contains("\"CALF_OPERATOR\" {"), "{text}");
    assert!(
        text.contains("{ user = \"acme-dev\", password = \"dev-acme\" }"),
        "{text}"
    );
    assert!(text.contains("max_connections = 100"), "{text}");
}
