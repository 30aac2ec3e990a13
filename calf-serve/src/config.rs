//! `calf.toml`: the NATS server, the tenants, their users and quotas.
//! Documented in docs/serve.md.
//!
//! The file is read in two steps. serde reads it into the `Raw*` structs
//! below, which keep every value's place in the text (`toml::Spanned`)
//! and refuse unknown keys; then [`check`] turns them into a
//! [`ServeConfig`], validating as it goes, so that every error, from
//! either step, names the file, the line and the column, shows the line,
//! and says what to do.
//!
//! ```toml
//! nats_url = "nats://127.0.0.1:4222"   # default
//! threads = 8                          # default: one per core
//!
//! [operator]                           # the scheduler's login in the operator account
//! user = "calf-operator"
//! password_env = "CALF_OPERATOR_PASSWORD"
//!
//! [defaults]                           # quotas of every tenant
//! max_processes = 10000
//! max_output = "1MiB"
//!
//! [tenants.acme]
//! scheduler = { user = "acme-scheduler", password = "..." }
//! users = [{ user = "acme-dev", password = "..." }]
//!
//! [tenants.acme.quotas]                # overrides [defaults]
//! max_processes = 50000
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// The whole file, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    /// Where the file was read from (re-read on SIGHUP).
    pub path: PathBuf,
    pub nats_url: String,
    /// Threads that run processes (default: one per core).
    pub threads: Option<usize>,
    /// The scheduler's login in the operator account.
    pub operator: User,
    /// By name, sorted.
    pub tenants: Vec<Tenant>,
}

/// One tenant: a NATS account of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    /// The account's name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// The scheduler's own login in this account.
    pub scheduler: User,
    /// People, the CLI and the tenant's workers log in as these.
    pub users: Vec<User>,
    pub quotas: Quotas,
}

/// A login. User names are unique across the whole file: nats-server
/// refuses a name that two accounts share.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// Read from the file, or from the environment variable it names.
    pub password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What one tenant may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Enforced by the scheduler.
    pub max_processes: usize,
    pub max_calls_in_flight: usize,
    pub max_mailbox: usize,
    /// Bytes of output kept per job (a ring: the oldest goes first).
    pub max_output: usize,
    pub cpu_share: u32,
    /// Enforced by nats-server, in the account it prints.
    pub max_connections: i64,
    pub max_subscriptions: i64,
    pub max_payload: i64,
    pub jetstream_max_memory: i64,
    pub jetstream_max_storage: i64,
}

/// Where the scheduler finds NATS when `nats_url` is not given.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// Names a tenant cannot take: the accounts the nats-server configuration
/// adds beside the tenants' (`CALF_OPERATOR`, `SYS`), and names a reader
/// would take for them.
pub const RESERVED_TENANT_NAMES: &[&str] = &[
    "operator",
    "calf_operator",
    "calf-operator",
    "system",
    "sys",
    "global",
];

const MIB: i64 = 1024 * 1024;

impl Quotas {
    /// What a tenant gets when neither `[defaults]` nor its own
    /// `quotas` table says otherwise. `-1` is unlimited (nats-server's
    /// own word for it).
    pub const BUILT_IN: Quotas = Quotas {
        max_processes: 100_000,
        max_calls_in_flight: 1_000,
        max_mailbox: 100_000,
        max_output: MIB as usize,
        cpu_share: 1,
        max_connections: -1,
        max_subscriptions: -1,
        max_payload: -1,
        jetstream_max_memory: 256 * MIB,
        jetstream_max_storage: 1024 * MIB,
    };
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas::BUILT_IN
    }
}

impl Tenant {
    /// The scheduler's login first, then the tenant's users.
    pub fn all_users(&self) -> impl Iterator<Item = &User> {
        std::iter::once(&self.scheduler).chain(&self.users)
    }
}

impl ServeConfig {
    /// Reads and checks `path`; `password_env` names are looked up in
    /// this process's environment.
    pub fn load(path: &Path) -> Result<ServeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            location: None,
            message: format!("cannot read {}: {e}", path.display()),
            help: "give the path of an existing calf.toml (examples/serve/calf.toml is one to start from)"
                .to_string(),
        })?;
        ServeConfig::parse(&text, path)
    }

    /// Checks `text`, the contents of `path` (named in errors and kept in
    /// [`ServeConfig::path`]); `password_env` names are looked up in this
    /// process's environment.
    pub fn parse(text: &str, path: &Path) -> Result<ServeConfig, ConfigError> {
        ServeConfig::parse_with_env(text, path, |name| std::env::var(name).ok())
    }

    /// [`ServeConfig::parse`] with the environment given as a function
    /// from a variable's name to its value.
    pub fn parse_with_env(
        text: &str,
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().to_string();
            let help = toml_help(&message);
            ConfigError::at(path, text, e.span(), message, help)
        })?;
        check(raw, path, &env).map_err(|p| ConfigError::at(path, text, p.span, p.message, p.help))
    }

    /// The tenant named `name`.
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tenants[i])
    }
}

/// What to do about an error of the TOML reader, from its message.
fn toml_help(message: &str) -> String {
    if message.starts_with("unknown field") {
        "remove it or correct its spelling: docs/serve.md lists every key of calf.toml".to_string()
    } else if message.contains(NOT_A_SIZE) {
        "write a whole number of bytes, or one with a unit: \"512KiB\", \"64MiB\", \"1GiB\" \
         (KiB, MiB, GiB, TiB are powers of 1024; kB, MB, GB, TB of 1000), or \"unlimited\" \
         where nats-server enforces the limit"
            .to_string()
    } else if message.starts_with("missing field") {
        "add it: docs/serve.md lists every key of calf.toml and which are required".to_string()
    } else {
        "calf.toml is TOML: docs/serve.md describes its keys and their values".to_string()
    }
}

/// A calf.toml that cannot be used: what is wrong, where, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    path: PathBuf,
    location: Option<Box<Location>>,
    message: String,
    help: String,
}

/// A place in the file, 1-based, with its line's text.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Location {
    line: usize,
    column: usize,
    /// The line (or, when it is long, the part of it around the column).
    source: String,
    /// Where the marker starts in `source` and how wide it is, in chars.
    marker_start: usize,
    marker_width: usize,
}

/// How much of a long source line an error shows.
const SHOWN_LINE: usize = 100;

impl ConfigError {
    fn at(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: String,
        help: String,
    ) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            location: span.map(|span| Box::new(Location::of(text, span))),
            message,
            help,
        }
    }

    /// The file the error is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The line it is on (1-based), when it is about a place in the file.
    pub fn line(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.line)
    }

    /// The column (1-based, in characters), with [`ConfigError::line`].
    pub fn column(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.column)
    }
}

impl Location {
    fn of(text: &str, span: Range<usize>) -> Location {
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_text = text[line_start..line_end].trim_end_matches('\r');
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let end = floor_char_boundary(text, span.end.clamp(start, line_end));
        let width = text[start..end].chars().count().max(1);
        // Show at most SHOWN_LINE characters, from a little before the
        // column on.
        let chars: Vec<char> = line_text.chars().collect();
        let from = (column - 1).saturating_sub(SHOWN_LINE / 4);
        let from = if chars.len() <= SHOWN_LINE { 0 } else { from };
        let to = (from + SHOWN_LINE).min(chars.len());
        let mut source: String = chars[from..to].iter().collect();
        let mut marker_start = column - 1 - from;
        if from > 0 {
            source.insert_str(0, "...");
            marker_start += 3;
        }
        if to < chars.len() {
            source.push_str("...");
        }
        let marker_width = width.min(to.saturating_sub(column - 1).max(1));
        Location {
            line,
            column,
            source: source.replace('\t', " "),
            marker_start,
            marker_width,
        }
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl fmt::Display for ConfigError {
    /// ```text
    /// calf.toml:7:10: `Acme` is not a tenant name
    ///   |
    /// 7 | [tenants.Acme]
    ///   |          ^^^^
    ///   = help: a tenant name has lowercase letters, digits, `-` and `_` only
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.location {
            None => {
                writeln!(f, "{path}: {}", self.message)?;
                write_help(f, "", &self.help)
            }
            Some(at) => {
                let number = at.line.to_string();
                let pad = " ".repeat(number.len());
                writeln!(f, "{path}:{}:{}: {}", at.line, at.column, self.message)?;
                writeln!(f, "{pad} |")?;
                writeln!(f, "{number} | {}", at.source)?;
                writeln!(
                    f,
                    "{pad} | {}{}",
                    " ".repeat(at.marker_start),
                    "^".repeat(at.marker_width)
                )?;
                write_help(f, &pad, &self.help)
            }
        }
    }
}

/// `= help: ...`, its further lines lined up under its first.
fn write_help(f: &mut fmt::Formatter<'_>, pad: &str, help: &str) -> fmt::Result {
    let mut lines = help.lines();
    write!(f, "{pad} = help: {}", lines.next().unwrap_or(""))?;
    for line in lines {
        write!(f, "\n{pad}         {line}")?;
    }
    Ok(())
}

impl std::error::Error for ConfigError {}

/// An error of [`check`], before it is placed in the text.
struct Problem {
    span: Option<Range<usize>>,
    message: String,
    help: String,
}

impl Problem {
    fn new(span: Range<usize>, message: impl Into<String>, help: impl Into<String>) -> Problem {
        Problem {
            span: Some(span),
            message: message.into(),
            help: help.into(),
        }
    }
}

// The file as serde reads it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    nats_url: Option<Spanned<String>>,
    threads: Option<Spanned<i64>>,
    operator: Option<Spanned<RawUser>>,
    #[serde(default)]
    defaults: RawQuotas,
    #[serde(default)]
    tenants: BTreeMap<Spanned<String>, Spanned<RawTenant>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    scheduler: Option<Spanned<RawUser>>,
    #[serde(default)]
    users: Vec<Spanned<RawUser>>,
    #[serde(default)]
    quotas: RawQuotas,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    user: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuotas {
    max_processes: Option<Spanned<Amount>>,
    max_calls_in_flight: Option<Spanned<Amount>>,
    max_mailbox: Option<Spanned<Amount>>,
    max_output: Option<Spanned<Amount>>,
    cpu_share: Option<Spanned<Amount>>,
    max_connections: Option<Spanned<Amount>>,
    max_subscriptions: Option<Spanned<Amount>>,
    max_payload: Option<Spanned<Amount>>,
    jetstream_max_memory: Option<Spanned<Amount>>,
    jetstream_max_storage: Option<Spanned<Amount>>,
}

/// A quota's value as written: a number, a size (`"1MiB"`), or
/// `"unlimited"`. Which of them a quota takes is [`check`]'s business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Amount {
    Number(i64),
    Bytes(i64),
    Unlimited,
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        struct AmountVisitor;

        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number, a size such as \"64MiB\", or \"unlimited\"")
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Amount, E> {
                Ok(Amount::Number(n))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Amount, E> {
                i64::try_from(n)
                    .map(Amount::Number)
                    .map_err(|_| E::custom(format!("{n} is too large")))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Amount, E> {
                if text.trim().eq_ignore_ascii_case("unlimited") {
                    return Ok(Amount::Unlimited);
                }
                parse_size(text)
                    .map(Amount::Bytes)
                    .ok_or_else(|| E::custom(format!("\"{text}\" {NOT_A_SIZE}")))
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

const NOT_A_SIZE: &str = "is not a size";

/// `"1MiB"`, `"64 MB"`, `"100B"`, `"4096"`: bytes. `KiB`, `MiB`, `GiB`,
/// `TiB` are powers of 1024, `kB`, `MB`, `GB`, `TB` powers of 1000 (the
/// letters' case does not matter).
fn parse_size(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return None;
    }
    let number: i64 = text[..digits].parse().ok()?;
    let unit = text[digits..].trim().to_ascii_lowercase();
    let scale: i64 = match unit.as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

// From the raw file to the checked one.

const DOCS: &str = "docs/serve.md";

fn check(
    raw: RawFile,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServeConfig, Problem> {
    let nats_url = match raw.nats_url {
        None => DEFAULT_NATS_URL.to_string(),
        Some(url) => {
            let text = url.get_ref().trim();
            if text.is_empty() || text.contains(char::is_whitespace) {
                return Err(Problem::new(
                    url.span(),
                    format!("\"{}\" is not a NATS URL", url.get_ref()),
                    format!("write the server's URL, such as \"{DEFAULT_NATS_URL}\", or leave nats_url out for that default"),
                ));
            }
            text.to_string()
        }
    };
    let threads = match raw.threads {
        None => None,
        Some(threads) => match usize::try_from(*threads.get_ref()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(Problem::new(
                    threads.span(),
                    format!("threads = {} is not a number of threads", threads.get_ref()),
                    "write 1 or more, or leave threads out for one per core",
                ))
            }
        },
    };
    let Some(operator) = raw.operator else {
        return Err(Problem {
            span: None,
            message: "there is no [operator] table".to_string(),
            help: format!(
                "add the scheduler's login in the operator account:\n\
                 [operator]\nuser = \"calf-operator\"\npassword_env = \"CALF_OPERATOR_PASSWORD\"\n(see {DOCS})"
            ),
        });
    };
    let mut names = UserNames::default();
    let operator = user(operator, "the operator", true, env, &mut names)?;
    let defaults = quotas(Quotas::BUILT_IN, &raw.defaults)?;
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    for (name, tenant) in raw.tenants {
        let name_span = name.span();
        let name = name.into_inner();
        tenant_name(&name, name_span.clone())?;
        let tenant = tenant.into_inner();
        let owner = format!("tenant {name}");
        let Some(scheduler) = tenant.scheduler else {
            return Err(Problem::new(
                name_span,
                format!("tenant {name} has no scheduler login"),
                format!(
                    "add the scheduler's own user in this tenant's account to [tenants.{name}]:\n\
                     scheduler = {{ user = \"{name}-scheduler\", password_env = \"...\" }}"
                ),
            ));
        };
        let scheduler = user(scheduler, &owner, true, env, &mut names)?;
        let users = tenant
            .users
            .into_iter()
            .map(|u| user(u, &owner, false, env, &mut names))
            .collect::<Result<Vec<_>, _>>()?;
        let quotas = quotas(defaults, &tenant.quotas)?;
        tenants.push(Tenant {
            name,
            scheduler,
            users,
            quotas,
        });
    }
    // A BTreeMap's keys came in order, but say it where it matters.
    tenants.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ServeConfig {
        path: path.to_path_buf(),
        nats_url,
        threads,
        operator,
        tenants,
    })
}

fn tenant_name(name: &str, span: Range<usize>) -> Result<(), Problem> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(Problem::new(
            span,
            format!("\"{name}\" is not a tenant name"),
            "a tenant name has lowercase letters, digits, `-` and `_` only (it names the tenant's NATS account)",
        ));
    }
    if name.len() > 64 {
        return Err(Problem::new(
            span,
            format!("the tenant name \"{name}\" is longer than 64 characters"),
            "choose a shorter name",
        ));
    }
    if RESERVED_TENANT_NAMES.contains(&name) {
        return Err(Problem::new(
            span,
            format!("\"{name}\" is reserved and cannot name a tenant"),
            format!(
                "choose another name: {} are kept for the accounts calf serve adds beside the tenants'",
                RESERVED_TENANT_NAMES.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The user names met so far, with who owns each and where it was
/// written: a name two logins share is an error naming both.
#[derive(Default)]
struct UserNames(BTreeMap<String, (String, Range<usize>)>);

/// One login of `owner`. The scheduler logs in with the password of its
/// own logins (`scheduler`), so theirs cannot be a bcrypt hash.
fn user(
    raw: Spanned<RawUser>,
    owner: &str,
    scheduler: bool,
    env: &dyn Fn(&str) -> Option<String>,
    names: &mut UserNames,
) -> Result<User, Problem> {
    let span = raw.span();
    let raw = raw.into_inner();
    let Some(name) = raw.user else {
        return Err(Problem::new(
            span,
            format!("a login of {owner} has no `user`"),
            "write its name: { user = \"...\", password = \"...\" }",
        ));
    };
    let name_span = name.span();
    let name = name.into_inner();
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::new(
            name_span,
            format!("{name:?} is not a user name"),
            "a user name is not empty and has no spaces or control characters",
        ));
    }
    if let Some((first_owner, first_span)) = names.0.get(&name) {
        // Point at the later of the two in the file.
        let (here, there, span) = if first_span.start > name_span.start {
            (first_owner.as_str(), owner, first_span.clone())
        } else {
            (owner, first_owner.as_str(), name_span)
        };
        let message = if here == there {
            format!("the user name \"{name}\" is used twice in {here}")
        } else {
            format!("the user name \"{name}\" is used by both {there} and {here}")
        };
        return Err(Problem::new(
            span,
            message,
            "give each login its own name: user names are unique across calf.toml, because nats-server refuses a name that two accounts share",
        ));
    }
    names.0.insert(name.clone(), (owner.to_string(), name_span));
    let password = match (raw.password, raw.password_env) {
        (Some(_), Some(variable)) => {
            return Err(Problem::new(
                variable.span(),
                format!("user \"{name}\" has both `password` and `password_env`"),
                "keep one of them: `password_env` names the environment variable that holds the password",
            ))
        }
        (None, None) => {
            return Err(Problem::new(
                span,
                format!("user \"{name}\" has no password"),
                "add `password_env = \"VARIABLE\"` (the environment variable that holds it) or `password = \"...\"`",
            ))
        }
        (Some(password), None) => {
            if password.get_ref().is_empty() {
                return Err(Problem::new(
                    password.span(),
                    format!("the password of user \"{name}\" is empty"),
                    "write a password, or use `password_env` to read it from the environment",
                ));
            }
            password.into_inner()
        }
        (None, Some(variable)) => {
            let var_name = variable.get_ref();
            if var_name.is_empty() {
                return Err(Problem::new(
                    variable.span(),
                    format!("the password_env of user \"{name}\" is empty"),
                    "write the name of the environment variable that holds the password",
                ));
            }
            match env(var_name) {
                Some(value) if !value.is_empty() => value,
                Some(_) => {
                    return Err(Problem::new(
                        variable.span(),
                        format!(
                            "the environment variable {var_name}, the password of user \"{name}\", is empty"
                        ),
                        format!("set {var_name} to the password before starting"),
                    ))
                }
                None => {
                    return Err(Problem::new(
                        variable.span(),
                        format!(
                            "the environment variable {var_name}, the password of user \"{name}\", is not set"
                        ),
                        format!("set {var_name} to the password before starting (export {var_name}=...)"),
                    ))
                }
            }
        }
    };
    if scheduler && password.starts_with("$2") {
        return Err(Problem::new(
            span,
            format!("the password of user \"{name}\" starts with `$2`"),
            "nats-server reads such a password as a bcrypt hash, and the scheduler needs the password itself to log in as this user: choose another",
        ));
    }
    Ok(User { name, password })
}

/// `base` with what `raw` sets instead.
fn quotas(base: Quotas, raw: &RawQuotas) -> Result<Quotas, Problem> {
    let mut q = base;
    set_count(&mut q.max_processes, &raw.max_processes, "max_processes")?;
    set_count(
        &mut q.max_calls_in_flight,
        &raw.max_calls_in_flight,
        "max_calls_in_flight",
    )?;
    set_count(&mut q.max_mailbox, &raw.max_mailbox, "max_mailbox")?;
    if let Some(value) = &raw.max_output {
        let n = finite(value, "max_output", true)?;
        q.max_output = usize::try_from(n).map_err(|_| too_large(value, "max_output"))?;
    }
    if let Some(value) = &raw.cpu_share {
        let n = finite(value, "cpu_share", false)?;
        q.cpu_share = u32::try_from(n).map_err(|_| too_large(value, "cpu_share"))?;
    }
    set_nats(
        &mut q.max_connections,
        &raw.max_connections,
        "max_connections",
        false,
    )?;
    set_nats(
        &mut q.max_subscriptions,
        &raw.max_subscriptions,
        "max_subscriptions",
        false,
    )?;
    set_nats(&mut q.max_payload, &raw.max_payload, "max_payload", true)?;
    set_nats(
        &mut q.jetstream_max_memory,
        &raw.jetstream_max_memory,
        "jetstream_max_memory",
        true,
    )?;
    set_nats(
        &mut q.jetstream_max_storage,
        &raw.jetstream_max_storage,
        "jetstream_max_storage",
        true,
    )?;
    Ok(q)
}

fn set_count(dst: &mut usize, value: &Option<Spanned<Amount>>, key: &str) -> Result<(), Problem> {
    if let Some(value) = value {
        let n = finite(value, key, false)?;
        *dst = usize::try_from(n).map_err(|_| too_large(value, key))?;
    }
    Ok(())
}

/// A quota the scheduler enforces: 1 or more, a size only if `bytes`.
fn finite(value: &Spanned<Amount>, key: &str, bytes: bool) -> Result<i64, Problem> {
    let n = match *value.get_ref() {
        Amount::Number(n) => n,
        Amount::Bytes(n) if bytes => n,
        Amount::Bytes(_) => {
            return Err(Problem::new(
                value.span(),
                format!("{key} is a count, not a size"),
                format!("write a whole number: {key} = 1000"),
            ))
        }
        Amount::Unlimited => {
            return Err(Problem::new(
                value.span(),
                format!("{key} cannot be unlimited"),
                format!("write a limit, 1 or more (the scheduler enforces {key})"),
            ))
        }
    };
    if n < 1 {
        let help = if key == "cpu_share" {
            "a share is 1 or more: a tenant with share 2 gets twice the CPU of one with share 1 when both are busy".to_string()
        } else {
            "write 1 or more (to refuse everything, remove the tenant instead)".to_string()
        };
        return Err(Problem::new(
            value.span(),
            format!("{key} = {n} is not allowed"),
            help,
        ));
    }
    Ok(n)
}

/// A limit nats-server enforces: 1 or more, or `-1` (`"unlimited"`).
fn set_nats(
    dst: &mut i64,
    value: &Option<Spanned<Amount>>,
    key: &str,
    bytes: bool,
) -> Result<(), Problem> {
    let Some(value) = value else { return Ok(()) };
    let n = match *value.get_ref() {
        Amount::Unlimited | Amount::Number(-1) => -1,
        Amount::Bytes(_) if !bytes => {
            return Err(Problem::new(
                value.span(),
                format!("{key} is a count, not a size"),
                format!("write a whole number, or -1 for unlimited: {key} = 1000"),
            ))
        }
        Amount::Number(n) | Amount::Bytes(n) if n >= 1 => n,
        Amount::Number(n) | Amount::Bytes(n) => {
            return Err(Problem::new(
                value.span(),
                format!("{key} = {n} is not allowed"),
                "write 1 or more, or -1 (or \"unlimited\") for no limit",
            ))
        }
    };
    *dst = n;
    Ok(())
}

fn too_large(value: &Spanned<Amount>, key: &str) -> Problem {
    Problem::new(
        value.span(),
        format!("{key} is too large"),
        "write a smaller limit",
    )
}
