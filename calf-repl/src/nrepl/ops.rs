//! The ops: what each request asks, and the replies editors expect of
//! Clojure's nREPL and of the middleware CIDER and Calva use
//! (`completions`/`complete`, `info`/`lookup`/`eldoc`).
//!
//! `eval` and `load-file` are queued on their session and answered as they
//! run; everything else is answered at once.

use std::sync::Arc;

use calf_lang::namespace::USER;
use calf_lang::Sym;

use super::bencode::Bencode;
use super::connection::Connection;
use super::lookup::{self, Info};
use super::message::{dict, Reply, Request};
use super::session::{Interrupted, Session, Work};

/// Every op served, for `describe`.
const OPS: &[&str] = &[
    "clone",
    "close",
    "complete",
    "completions",
    "describe",
    "eldoc",
    "eval",
    "info",
    "interrupt",
    "load-file",
    "lookup",
    "ls-sessions",
    "stdin",
];

/// The nREPL protocol version this server follows.
const NREPL_VERSION: (i64, i64, i64) = (1, 0, 0);

pub async fn handle(connection: &mut Connection, request: Request) {
    let id = request.id();
    let named = match request.text("session") {
        Some(name) => match connection.server.session(&name) {
            Some(session) => Some(session),
            None => {
                Reply::new(id.as_ref(), &name)
                    .text("err", format!("no session {name}: it was closed, or the server restarted; clone a new one"))
                    .status(&["error", "unknown-session", "done"])
                    .send(&connection.outbox);
                return;
            }
        },
        None => None,
    };
    let op = request.op();
    match op.as_str() {
        "clone" => clone(connection, &request, named.as_deref()),
        "close" => close(connection, &request, named.as_deref()),
        "describe" => describe(connection, &request, named.as_deref()),
        "ls-sessions" => {
            let ids = connection.server.session_ids();
            reply(&request, named.as_deref())
                .with("sessions", Bencode::strs(ids))
                .status(&["done"])
                .send(&connection.outbox);
        }
        "eval" | "load-file" => {
            let Some(session) = session_for(connection, &request, named) else {
                return;
            };
            evaluate(connection, &request, &op, &session);
        }
        "interrupt" => {
            let Some(session) = session_for(connection, &request, named) else {
                return;
            };
            interrupt(connection, &request, &session);
        }
        "stdin" => {
            // Calf reads no standard input (there is no `read-line`): what
            // is sent is taken and dropped.
            let session = session_for(connection, &request, named);
            if let Some(session) = session {
                reply(&request, Some(&session))
                    .status(&["done"])
                    .send(&connection.outbox);
            }
        }
        "completions" | "complete" => completions(connection, &request, named.as_deref()),
        "info" | "lookup" | "eldoc" => info(connection, &request, &op, named.as_deref()),
        _ => {
            let why = if op.is_empty() {
                "the request has no op".to_string()
            } else {
                format!(
                    "unknown op {op:?}; this server's ops are {} (describe lists them)",
                    OPS.join(", ")
                )
            };
            reply(&request, named.as_deref())
                .text("op", op)
                .text("err", why)
                .status(&["error", "unknown-op", "done"])
                .send(&connection.outbox);
        }
    }
}

/// A reply to `request`, in `session` or the one the request names.
fn reply(request: &Request, session: Option<&Session>) -> Reply {
    let name = match session {
        Some(session) => session.id.clone(),
        None => request.text("session").unwrap_or_default(),
    };
    Reply::new(request.id().as_ref(), &name)
}

/// The session a request runs in: the one it names, else the
/// connection's own (made at the first request that names none). `None`
/// when no session could start, which has been answered.
fn session_for(
    connection: &mut Connection,
    request: &Request,
    named: Option<Arc<Session>>,
) -> Option<Arc<Session>> {
    if named.is_some() {
        return named;
    }
    if let Some(session) = connection
        .default_session
        .as_deref()
        .and_then(|id| connection.server.session(id))
    {
        return Some(session);
    }
    let session = new_session(connection, request)?;
    connection.default_session = Some(session.id.clone());
    Some(session)
}

fn new_session(connection: &mut Connection, request: &Request) -> Option<Arc<Session>> {
    match connection.server.new_session() {
        Ok(session) => {
            connection.opened.push(session.id.clone());
            Some(session)
        }
        Err(why) => {
            reply(request, None)
                .text("err", why)
                .status(&["error", "session-not-started", "done"])
                .send(&connection.outbox);
            None
        }
    }
}

fn clone(connection: &mut Connection, request: &Request, from: Option<&Session>) {
    let Some(session) = new_session(connection, request) else {
        return;
    };
    reply(request, from.or(Some(&session)))
        .text("new-session", session.id.clone())
        .status(&["done"])
        .send(&connection.outbox);
}

fn close(connection: &mut Connection, request: &Request, session: Option<&Session>) {
    let Some(session) = session else {
        reply(request, None)
            .text("err", "close needs the session to close")
            .status(&["error", "unknown-session", "done"])
            .send(&connection.outbox);
        return;
    };
    connection.server.close_session(&session.id);
    connection.opened.retain(|id| *id != session.id);
    reply(request, Some(session))
        .status(&["done", "session-closed"])
        .send(&connection.outbox);
}

fn describe(connection: &Connection, request: &Request, session: Option<&Session>) {
    let ops = dict(OPS.iter().map(|op| (*op, dict([]))));
    let version = |(major, minor, incremental): (i64, i64, i64), text: String| {
        dict([
            ("major", Bencode::Int(major)),
            ("minor", Bencode::Int(minor)),
            ("incremental", Bencode::Int(incremental)),
            ("version-string", Bencode::str(text)),
        ])
    };
    let calf = env!("CARGO_PKG_VERSION");
    let mut parts = calf.split('.').map(|n| n.parse().unwrap_or(0));
    let calf_version = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    let (major, minor, incremental) = NREPL_VERSION;
    let versions = dict([
        (
            "nrepl",
            version(NREPL_VERSION, format!("{major}.{minor}.{incremental}")),
        ),
        ("calf", version(calf_version, calf.to_string())),
    ]);
    let ns = session.map_or(USER, |s| s.ns().name());
    reply(request, session)
        .with("ops", ops)
        .with("versions", versions)
        .with("aux", dict([("current-ns", Bencode::str(ns))]))
        .status(&["done"])
        .send(&connection.outbox);
}

fn evaluate(connection: &Connection, request: &Request, op: &str, session: &Session) {
    let load = op == "load-file";
    let (code, file) = if load {
        let file = request
            .text("file-path")
            .or_else(|| request.text("file-name"))
            .unwrap_or_else(|| "<load-file>".to_string());
        (request.str("file"), file)
    } else {
        let file = request
            .text("file")
            .unwrap_or_else(|| "<nrepl>".to_string());
        (request.str("code"), file)
    };
    let Some(code) = code else {
        let field = if load { "file" } else { "code" };
        reply(request, Some(session))
            .text("err", format!("{op} needs the {field} to evaluate"))
            .status(&["error", &format!("no-{field}"), "done"])
            .send(&connection.outbox);
        return;
    };
    let ns = if load { None } else { request.text("ns") };
    if let Some(ns) = &ns {
        if connection
            .server
            .globals
            .find_namespace(Sym::new(ns))
            .is_none()
        {
            // As Clojure's server answers: the editor says to load the
            // file that makes it.
            reply(request, Some(session))
                .text("ns", ns.clone())
                .status(&["error", "namespace-not-found", "done"])
                .send(&connection.outbox);
            return;
        }
    }
    let position = |key| {
        request
            .int(key)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1)
    };
    let work = Work {
        id: request.id(),
        outbox: connection.outbox.clone(),
        code,
        ns: ns.map(|ns| Sym::new(&ns)),
        file,
        line: if load { 1 } else { position("line") },
        column: if load { 1 } else { position("column") },
        keeps_ns: load,
    };
    if !session.submit(work) {
        reply(request, Some(session))
            .text("err", "the session is closed: clone a new one")
            .status(&["error", "unknown-session", "done"])
            .send(&connection.outbox);
    }
}

fn interrupt(connection: &Connection, request: &Request, session: &Session) {
    let only = request.get("interrupt-id");
    let statuses: &[&str] = match session.interrupt(only) {
        Interrupted::Running(_) => &["interrupted", "done"],
        Interrupted::Idle => &["session-idle", "done"],
        Interrupted::Mismatch => &["error", "interrupt-id-mismatch", "done"],
    };
    reply(request, Some(session))
        .status(statuses)
        .send(&connection.outbox);
}

/// The namespace a lookup is made in: the one named, when it exists, else
/// the session's, else `user`. A lookup never makes a namespace.
fn lookup_ns(connection: &Connection, request: &Request, session: Option<&Session>) -> Sym {
    let globals = &connection.server.globals;
    request
        .text("ns")
        .and_then(|ns| globals.find_namespace(Sym::new(&ns)))
        .map(|ns| ns.name)
        .or_else(|| session.map(|s| s.ns()))
        .unwrap_or_else(|| Sym::new(USER))
}

fn completions(connection: &Connection, request: &Request, session: Option<&Session>) {
    let prefix = request
        .str("prefix")
        .or_else(|| request.str("symbol"))
        .unwrap_or_default();
    let ns = lookup_ns(connection, request, session);
    let candidates = lookup::completions(&connection.server.globals, ns, &prefix)
        .into_iter()
        .map(|c| {
            let mut entries = vec![
                ("candidate", Bencode::str(c.candidate)),
                ("type", Bencode::str(c.kind)),
            ];
            if let Some(ns) = c.ns {
                entries.push(("ns", Bencode::str(ns)));
            }
            dict(entries)
        })
        .collect();
    reply(request, session)
        .with("completions", Bencode::List(candidates))
        .status(&["done"])
        .send(&connection.outbox);
}

fn info(connection: &Connection, request: &Request, op: &str, session: Option<&Session>) {
    let symbol = request
        .text("sym")
        .or_else(|| request.text("symbol"))
        .unwrap_or_default();
    let ns = lookup_ns(connection, request, session);
    let found = lookup::info(&connection.server.globals, ns, &symbol);
    let reply = reply(request, session);
    let reply = match (op, found) {
        ("lookup", found) => reply
            .with("info", dict(found.as_ref().map(fields).unwrap_or_default()))
            .status(&["done"]),
        ("eldoc", Some(info)) => reply
            .with(
                "eldoc",
                Bencode::List(info.arglists.iter().cloned().map(Bencode::strs).collect()),
            )
            .text("name", info.name.clone())
            .text("ns", info.ns.clone())
            .text("type", info.kind)
            .text("docstring", info.doc.clone().unwrap_or_default())
            .status(&["done"]),
        ("eldoc", None) => reply.status(&["no-eldoc", "done"]),
        (_, Some(info)) => fields(&info)
            .into_iter()
            .fold(reply, |reply, (key, value)| reply.with(key, value))
            .status(&["done"]),
        (_, None) => reply.status(&["no-info", "done"]),
    };
    reply.send(&connection.outbox);
}

/// The fields `info` answers with (and `lookup`, in its `info` map):
/// strings, as CIDER reads them.
fn fields(info: &Info) -> Vec<(&'static str, Bencode)> {
    let mut fields = vec![
        ("name", Bencode::str(info.name.clone())),
        ("ns", Bencode::str(info.ns.clone())),
    ];
    if let Some(doc) = &info.doc {
        fields.push(("doc", Bencode::str(doc.clone())));
    }
    if !info.arglists.is_empty() {
        fields.push(("arglists-str", Bencode::str(info.arglists_str())));
        fields.push(("arglists", Bencode::str(info.arglists_str())));
    }
    if let Some(file) = &info.file {
        fields.push(("file", Bencode::str(file.clone())));
    }
    if let Some(line) = info.line {
        fields.push(("line", Bencode::Int(line as i64)));
    }
    if let Some(column) = info.column {
        fields.push(("column", Bencode::Int(column as i64)));
    }
    match info.kind {
        "macro" => fields.push(("macro", Bencode::str("true"))),
        "special-form" => fields.push(("special-form", Bencode::str("true"))),
        _ => {}
    }
    fields
}
