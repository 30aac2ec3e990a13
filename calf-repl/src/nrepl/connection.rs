//! One client's connection: bencoded requests read off the socket and
//! handed to `ops`, replies written by a task of their own (a session
//! evaluating writes its output there while the connection reads on).
//!
//! A malformed or oversized message is answered with an error and ends
//! this connection only: the rest of its stream cannot be framed. When a
//! connection ends, the sessions it opened are closed: their processes
//! stop (an evaluation running with them), what they spawned keeps
//! running.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::bencode::{self, Bencode, Decoded, MAX_MESSAGE};
use super::message::{Outbox, Reply, Request};
use super::Server;

/// How long replies already queued may take to go out after the client
/// has gone.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// What a connection keeps between its requests.
pub struct Connection {
    pub server: Arc<Server>,
    pub outbox: Outbox,
    /// The sessions opened here (`clone`, or the one made for requests
    /// that name none), closed with it.
    pub opened: Vec<String>,
    /// The session of requests that name none, once one came.
    pub default_session: Option<String>,
}

pub async fn serve(server: Arc<Server>, stream: TcpStream) {
    let (mut reader, writer) = stream.into_split();
    let (outbox, replies) = mpsc::unbounded_channel();
    let writing = tokio::spawn(write(writer, replies));
    let mut connection = Connection {
        server,
        outbox,
        opened: Vec::new(),
        default_session: None,
    };
    let mut buffer: Vec<u8> = Vec::new();
    let mut needed = 1;
    let mut chunk = vec![0u8; 64 << 10];
    'reading: loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        while buffer.len() >= needed {
            match bencode::decode(&buffer) {
                Ok(Decoded::Value(value, used)) => {
                    buffer.drain(..used);
                    needed = 1;
                    connection.request(value).await;
                }
                Ok(Decoded::Incomplete(_)) if buffer.len() > MAX_MESSAGE => {
                    refuse(
                        &connection.outbox,
                        &format!("a message is longer than the limit of {MAX_MESSAGE} bytes"),
                    );
                    break 'reading;
                }
                Ok(Decoded::Incomplete(more)) => {
                    needed = more;
                    break;
                }
                Err(malformed) => {
                    refuse(&connection.outbox, &malformed.to_string());
                    break 'reading;
                }
            }
        }
    }
    for id in std::mem::take(&mut connection.opened) {
        connection.server.close_session(&id);
    }
    // The writer ends once every sender is gone; a process the sessions
    // spawned may hold one for as long as it prints, so the replies
    // already queued get a moment to go out, and the rest are dropped.
    drop(connection);
    let mut writing = writing;
    if tokio::time::timeout(LINGER, &mut writing).await.is_err() {
        writing.abort();
    }
}

impl Connection {
    async fn request(&mut self, value: Bencode) {
        match Request::new(value) {
            Some(request) => super::ops::handle(self, request).await,
            None => Reply::new(None, "")
                .text("err", "an nREPL request is a bencoded dictionary")
                .status(&["error", "malformed-request", "done"])
                .send(&self.outbox),
        }
    }
}

/// Answers bytes that are not a message, before the connection closes.
fn refuse(outbox: &Outbox, why: &str) {
    Reply::new(None, "")
        .text(
            "err",
            format!(
                "{why}; closing this connection (nREPL speaks bencode: is this an nREPL client?)"
            ),
        )
        .status(&["error", "malformed-request", "done"])
        .send(outbox);
}

async fn write(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    mut replies: mpsc::UnboundedReceiver<Bencode>,
) {
    while let Some(reply) = replies.recv().await {
        let mut bytes = reply.encode();
        // Whatever is waiting goes in the same write.
        while let Ok(reply) = replies.try_recv() {
            bytes.extend_from_slice(&reply.encode());
            if bytes.len() > 1 << 20 {
                break;
            }
        }
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}
