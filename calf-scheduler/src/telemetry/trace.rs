//! W3C trace context for foreign calls, and the trace file.
//!
//! Every call gets a trace id and a span id of its own; each of its
//! requests carries them in a `traceparent` header
//! (`00-<trace id>-<span id>-01`), so a worker that uses OpenTelemetry
//! makes its span a child of the call's. When the runtime has a trace
//! file (`calf --trace FILE`, `calf serve --trace FILE`), each call
//! ended is written to it as one line of JSON (docs/dashboard.md has the
//! fields). The writing is done by a thread of its own: a call never
//! waits on the disk.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use super::CallRecord;

/// A call's place in a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: u128,
    pub span_id: u64,
}

impl TraceContext {
    /// A new trace, with the call as its root span. Neither id is zero
    /// (W3C: all zeros is invalid).
    pub fn new() -> TraceContext {
        let (high, low) = crate::call::random_pair();
        let (span, _) = crate::call::random_pair();
        TraceContext {
            trace_id: ((u128::from(high) << 64) | u128::from(low)).max(1),
            span_id: span.max(1),
        }
    }

    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }

    /// A `traceparent` header's value, when it is one: version 00's
    /// layout (a later version's first four fields read the same), ids
    /// not all zeros.
    pub fn parse(header: &str) -> Option<TraceContext> {
        let mut fields = header.trim().split('-');
        let version = fields.next()?;
        let trace = fields.next()?;
        let span = fields.next()?;
        let flags = fields.next()?;
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(version, 2)
            || version == "ff"
            || !hex(trace, 32)
            || !hex(span, 16)
            || !hex(flags, 2)
        {
            return None;
        }
        if version == "00" && fields.next().is_some() {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok()?;
        let span_id = u64::from_str_radix(span, 16).ok()?;
        (trace_id != 0 && span_id != 0).then_some(TraceContext { trace_id, span_id })
    }

    /// The `traceparent` header's value: version 00, sampled.
    pub fn traceparent(&self) -> String {
        format!("00-{:032x}-{:016x}-01", self.trace_id, self.span_id)
    }
}

impl Default for TraceContext {
    fn default() -> TraceContext {
        TraceContext::new()
    }
}

/// One call as a span of the trace file.
pub(crate) struct Span<'a> {
    pub trace: &'a TraceContext,
    pub tenant: Option<&'a str>,
    pub record: &'a CallRecord,
    pub start: SystemTime,
    pub end: SystemTime,
}

/// The trace file: spans as JSON lines, written by a thread of its own.
pub struct SpanSink {
    sender: Mutex<Option<mpsc::Sender<String>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl SpanSink {
    /// Appends spans to `path` (created if missing).
    pub fn create(path: &Path) -> std::io::Result<SpanSink> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let (sender, lines) = mpsc::channel::<String>();
        let shown = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("calf-trace".to_string())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(file);
                // Writes what has come, then flushes before waiting: a
                // reader of the file sees every span ended a moment ago.
                while let Ok(line) = lines.recv() {
                    let mut result = writeln!(out, "{line}");
                    while let Ok(more) = lines.try_recv() {
                        result = result.and_then(|()| writeln!(out, "{more}"));
                    }
                    if let Err(e) = result.and_then(|()| out.flush()) {
                        tracing::error!("cannot write the trace file {shown}: {e}; spans are lost");
                    }
                }
            })?;
        Ok(SpanSink {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    pub(crate) fn write(&self, span: &Span<'_>) {
        let record = span.record;
        let nanos = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
                .to_string()
        };
        let mut attributes = serde_json::Map::new();
        if let Some(tenant) = span.tenant {
            attributes.insert("calf.tenant".into(), tenant.into());
        }
        attributes.insert("calf.pid".into(), record.pid.0.into());
        attributes.insert("calf.subject".into(), record.subject.clone().into());
        attributes.insert("calf.call_id".into(), record.call_id.clone().into());
        attributes.insert("calf.attempts".into(), record.attempt_count.into());
        let outcome = record.outcome.map_or("unknown", |o| o.name());
        attributes.insert("calf.outcome".into(), outcome.into());
        if let Some(error) = &record.last_error {
            attributes.insert("calf.error".into(), error.clone().into());
        }
        let line = serde_json::json!({
            "trace_id": span.trace.trace_id_hex(),
            "span_id": span.trace.span_id_hex(),
            "parent_span_id": null,
            "name": record.subject,
            "kind": "client",
            "service": "calf",
            "start_time_unix_nano": nanos(span.start),
            "end_time_unix_nano": nanos(span.end),
            "status": if outcome == "ok" { "ok" } else { "error" },
            "attributes": attributes,
        });
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = sender.as_ref() {
            let _ = sender.send(line.to_string());
        }
    }

    /// Writes out every span ended so far and closes the file; spans
    /// ended after are dropped.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

impl Drop for SpanSink {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_w3c() {
        let t = TraceContext {
            trace_id: 0x0af7651916cd43dd8448eb211c80319c,
            span_id: 0xb7ad6b7169203331,
        };
        assert_eq!(
            t.traceparent(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert_eq!(TraceContext::parse(&t.traceparent()), Some(t));
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        let fresh = TraceContext::new();
        assert_ne!(fresh, TraceContext::new());
        assert_eq!(fresh.traceparent().len(), 55);
    }
}
