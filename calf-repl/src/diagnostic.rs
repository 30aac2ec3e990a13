//! Rendering errors for people: the message, the source line with the span
//! underlined (miette), a hint, and the Calf call stack.

use std::fmt;

use calf_lang::error::{message_of, SourceError};
use calf_lang::span::{source, Span};
use calf_lang::value::print::pr_str;
use calf_lang::vm::Thrown;
use calf_lang::Value;
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

/// One error pointing into one source file.
#[derive(Debug)]
struct Report {
    message: String,
    label: String,
    help: Option<String>,
    source: Option<(NamedSource<String>, miette::SourceSpan)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|(s, _)| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            *span,
        ))))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

fn located(span: Span) -> (NamedSource<String>, miette::SourceSpan) {
    let file = source(span.file);
    let named = NamedSource::new(file.name.clone(), file.text.clone()).with_language("clojure");
    let start = (span.start as usize).min(file.text.len());
    let len = span.len().min(file.text.len() - start);
    (named, miette::SourceSpan::new(start.into(), len))
}

fn render(report: &Report) -> String {
    let mut out = String::new();
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    if handler.render_report(&mut out, report).is_err() {
        out = format!("error: {}\n", report.message);
    }
    out
}

/// A reader or compiler error.
pub fn source_error(error: &SourceError) -> String {
    render(&Report {
        message: error.message.clone(),
        label: "here".to_string(),
        help: error.hint.clone(),
        source: Some(located(error.span)),
    })
}

/// An uncaught throw: its message, where it was thrown, and the Calf stack.
pub fn thrown(thrown: &Thrown) -> String {
    let data = match &thrown.value {
        Value::Map(m) => m.get(&Value::keyword("data")).cloned(),
        _ => None,
    };
    let message = match &thrown.value {
        Value::Map(m) if m.contains_key(&Value::keyword("message")) => message_of(&thrown.value),
        other => format!("uncaught throw of {}", pr_str(other)),
    };
    let origin = thrown.trace.iter().find_map(|t| t.span);
    let help = data
        .filter(|d| match d {
            Value::Nil => false,
            Value::Map(m) => !m.is_empty(),
            _ => true,
        })
        .map(|d| format!("ex-data: {}", pr_str(&d)));
    let mut out = render(&Report {
        message,
        label: "thrown here".to_string(),
        help,
        source: origin.map(located),
    });
    if !thrown.trace.is_empty() {
        out.push_str("Calf stack (innermost first):\n");
        for entry in thrown.trace.iter().take(20) {
            let name = entry
                .function
                .map_or("<top level>".to_string(), |n| n.to_string());
            let at = entry.span.map_or("?".to_string(), |s| s.location());
            match entry.times {
                1 => out.push_str(&format!("  at {name} ({at})\n")),
                n => out.push_str(&format!("  at {name} ({at}), {n} frames deep\n")),
            }
        }
        if thrown.trace.len() > 20 {
            out.push_str(&format!("  ... {} more\n", thrown.trace.len() - 20));
        }
    }
    out
}
