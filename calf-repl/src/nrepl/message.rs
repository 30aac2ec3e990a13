//! An nREPL request as read, and the replies built for it: every reply
//! carries the request's `id` and `session`, which is how a client pairs
//! it with what it asked.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedSender;

use super::bencode::Bencode;

/// Where a connection's replies go: the task writing its socket.
pub type Outbox = UnboundedSender<Bencode>;

/// A request: a dictionary of (mostly) strings.
#[derive(Clone, Debug)]
pub struct Request {
    fields: BTreeMap<Vec<u8>, Bencode>,
}

impl Request {
    /// The request a dictionary holds; `None` for any other value.
    pub fn new(value: Bencode) -> Option<Request> {
        match value {
            Bencode::Dict(fields) => Some(Request { fields }),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Bencode> {
        self.fields.get(key.as_bytes())
    }

    /// A field's text; an integer is taken as its digits (some clients
    /// send `line` as a string, some as an integer).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Bencode::Int(n) => Some(n.to_string()),
            value => value.as_str().map(|s| s.into_owned()),
        }
    }

    /// A field's text, when there and not empty.
    pub fn text(&self, key: &str) -> Option<String> {
        self.str(key).filter(|s| !s.is_empty())
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Bencode::Int(n) => Some(*n),
            value => value.as_str()?.trim().parse().ok(),
        }
    }

    pub fn op(&self) -> String {
        self.str("op").unwrap_or_default()
    }

    /// The request's id, as sent (clients send a string; it is echoed
    /// whatever it is).
    pub fn id(&self) -> Option<Bencode> {
        self.get("id").cloned()
    }
}

/// A reply being built.
#[derive(Clone, Debug)]
pub struct Reply {
    fields: BTreeMap<Vec<u8>, Bencode>,
}

impl Reply {
    /// A reply to the request with id `id` in session `session`.
    pub fn new(id: Option<&Bencode>, session: &str) -> Reply {
        let mut fields = BTreeMap::new();
        if let Some(id) = id {
            fields.insert(b"id".to_vec(), id.clone());
        }
        if !session.is_empty() {
            fields.insert(b"session".to_vec(), Bencode::str(session));
        }
        Reply { fields }
    }

    pub fn with(mut self, key: &str, value: Bencode) -> Reply {
        self.fields.insert(key.as_bytes().to_vec(), value);
        self
    }

    pub fn text(self, key: &str, value: impl Into<String>) -> Reply {
        self.with(key, Bencode::str(value))
    }

    pub fn status(self, statuses: &[&str]) -> Reply {
        self.with("status", Bencode::strs(statuses.iter().copied()))
    }

    /// Sends it; a connection that has gone loses it, which is no error
    /// of the session's.
    pub fn send(self, outbox: &Outbox) {
        let _ = outbox.send(Bencode::Dict(self.fields));
    }
}

/// A dictionary with string keys.
pub fn dict<'a>(entries: impl IntoIterator<Item = (&'a str, Bencode)>) -> Bencode {
    Bencode::Dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect(),
    )
}
