//! The nats-server configuration for a [`ServeConfig`], which `calf serve
//! nats-config calf.toml` prints. Documented in docs/serve.md.
//!
//! One account per tenant, holding the tenant's scheduler login and its
//! users, with the tenant's NATS limits; the operator account
//! [`OPERATOR_ACCOUNT`] with the scheduler's operator login; and the
//! system account [`SYSTEM_ACCOUNT`], with no users. Accounts share no
//! subjects (no exports or imports): a tenant's traffic, its JetStream
//! included, is invisible to every other account.
//!
//! It sets no `listen`, `port` or JetStream `store_dir`: the operator gives
//! them on the command line (`nats-server -c nats.conf -a 127.0.0.1 -p 4222
//! -sd DIR`), so that one printed file serves any address.

use std::fmt::Write as _;

use crate::config::{Quotas, ServeConfig, User};

/// The account of the scheduler's operator login.
pub const OPERATOR_ACCOUNT: &str = "CALF_OPERATOR";

/// nats-server's system account (`system_account`), with no users.
pub const SYSTEM_ACCOUNT: &str = "SYS";

/// The nats-server configuration, as text.
pub fn render(config: &ServeConfig) -> String {
    let mut out = String::new();
    let source = comment_safe(&config.path.display().to_string());
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "\
# nats-server configuration for calf serve, generated from {source}
# by `calf serve nats-config`: edit calf.toml and print this again rather
# than editing it. It holds passwords: keep it private.
#
# It sets no address, port or JetStream directory; give them on the
# command line:
#     nats-server -c nats.conf -a 127.0.0.1 -p 4222 -sd /var/lib/calf/jetstream
# After printing it again (a tenant added, a password changed):
#     nats-server --signal reload=PID

jetstream {{}}

accounts {{
"
    );
    for tenant in &config.tenants {
        let _ = writeln!(out, "  # Tenant {}.", comment_safe(&tenant.name));
        let _ = writeln!(out, "  {} {{", quote(&tenant.name));
        users(&mut out, tenant.all_users());
        limits(&mut out, &tenant.quotas);
        let _ = writeln!(out, "  }}");
    }
    let _ = writeln!(out, "  # The scheduler's own account: no tenant sees it.");
    let _ = writeln!(out, "  {} {{", quote(OPERATOR_ACCOUNT));
    users(&mut out, std::iter::once(&config.operator));
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "  # nats-server's system account, with no users.");
    let _ = writeln!(out, "  {} {{}}", quote(SYSTEM_ACCOUNT));
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "system_account = {}", quote(SYSTEM_ACCOUNT));
    out
}

fn users<'a>(out: &mut String, users: impl Iterator<Item = &'a User>) {
    let _ = writeln!(out, "    users = [");
    for user in users {
        let _ = writeln!(
            out,
            "      {{ user = {}, password = {} }}",
            quote(&user.name),
            quote(&user.password)
        );
    }
    let _ = writeln!(out, "    ]");
}

/// The limits nats-server enforces in a tenant's account (`-1`: none).
fn limits(out: &mut String, quotas: &Quotas) {
    let _ = write!(
        out,
        "    jetstream {{
      max_memory = {}
      max_file = {}
    }}
    limits {{
      max_connections = {}
      max_subscriptions = {}
      max_payload = {}
    }}
",
        quotas.jetstream_max_memory,
        quotas.jetstream_max_storage,
        quotas.max_connections,
        quotas.max_subscriptions,
        quotas.max_payload,
    );
}

/// `text` as a double-quoted string of nats-server's configuration
/// format, which knows the escapes `\\`, `\"`, `\t`, `\n`, `\r` and
/// `\xXX`; any other character stands for itself (a `$` in quotes is no
/// variable).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` on one comment line.
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_the_format_reads_as_syntax() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("t\tn\nr\r"), r#""t\tn\nr\r""#);
        assert_eq!(quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(quote("$HOME é #x"), "\"$HOME é #x\"");
    }
}
