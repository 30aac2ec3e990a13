//! Rendering errors for people: the message, the source line with the span
//! underlined (miette), a hint, and the Calf call stack.

use std::fmt;

use calf_lang::error::{message_of, SourceError};
use calf_lang::span::{source, Span};
use calf_lang::value::print::pr_str;
use calf_lang::vm::Thrown;
use calf_lang::Value;
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteSpanContents, SourceCode,
};

/// One error pointing into one source file.
#[derive(Debug)]
struct Report {
    message: String,
    label: String,
    help: Option<String>,
    source: Option<(Excerpt, miette::SourceSpan)>,
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

fn located(span: Span) -> (Excerpt, miette::SourceSpan) {
    let file = source(span.file);
    let text = file.text.as_str();
    let start = (span.start as usize).min(text.len());
    let mut len = span.len().min(text.len() - start);
    let (line_start, line_end) = line_around(text, start);
    if line_end - line_start > WIDEST_LINE {
        // Underlined only as far as the excerpt of its line goes.
        len = len.min(line_end - start).min(WIDEST_LINE - BEFORE_SPAN);
    }
    (Excerpt(file), miette::SourceSpan::new(start.into(), len))
}

/// Where the line holding byte `at` starts and ends (before its newline).
fn line_around(text: &str, at: usize) -> (usize, usize) {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

/// Lines longer than this are cut around the span when shown.
const WIDEST_LINE: usize = 160;

/// Bytes shown before the span's start on a line that is cut.
const BEFORE_SPAN: usize = 60;

/// A source file as an error shows it: whole lines around the span, but
/// of a line too long to read (a generated file, minified data: once a
/// single line of 500 KB, echoed whole) only the part around the span.
#[derive(Debug)]
struct Excerpt(std::sync::Arc<calf_lang::span::SourceFile>);

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let text = self.0.text.as_str();
        let whole = text.read_span(span, before, after)?;
        let lines_fit = whole
            .data()
            .split(|b| *b == b'\n')
            .all(|line| line.len() <= WIDEST_LINE);
        if lines_fit {
            return Ok(Box::new(MietteSpanContents::new_named(
                self.0.name.clone(),
                whole.data(),
                *whole.span(),
                whole.line(),
                whole.column(),
                whole.line_count(),
            )));
        }
        // Only the span's own line, from a little before the span (from
        // the span itself when asked for no context: that is where the
        // header's line and column come from) to a line's width further.
        let start = span.offset().min(text.len());
        let (line_start, line_end) = line_around(text, start);
        let lead = if before == 0 && after == 0 {
            0
        } else {
            BEFORE_SPAN
        };
        let from = floor_char_boundary(text, start.saturating_sub(lead).max(line_start));
        let to = floor_char_boundary(text, (from + WIDEST_LINE).min(line_end));
        let line = text[..from].bytes().filter(|b| *b == b'\n').count();
        Ok(Box::new(MietteSpanContents::new_named(
            self.0.name.clone(),
            &text.as_bytes()[from..to],
            miette::SourceSpan::new(from.into(), to - from),
            line,
            from - line_start,
            1,
        )))
    }
}

/// The start of the character that byte `at` is in.
fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
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

#[cfg(test)]
mod tests {
    use super::*;
    use calf_lang::span::add_source;

    /// A reader error in file `name` holding `text`, at byte `at`, rendered.
    fn rendered_error_at(name: &str, text: &str, at: usize) -> String {
        let file = add_source(name, text);
        source_error(&SourceError::new(
            "unmatched delimiter: ]",
            Span {
                file,
                start: at as u32,
                end: at as u32 + 1,
            },
        ))
    }

    #[test]
    fn a_long_line_is_cut_around_the_span() {
        let line = format!(
            "(println {} ] {})",
            "x".repeat(300_000),
            "y".repeat(300_000)
        );
        let at = line.find(']').expect("the bracket");
        let text = format!("(ns long)\n{line}\n(println :after)\n");
        let out = rendered_error_at("long.calf", &text, text.find(']').expect("the bracket"));
        assert!(out.len() < 2_000, "{} bytes rendered", out.len());
        assert!(out.contains(&format!("[long.calf:2:{}]", at + 1)), "{out}");
        assert!(out.contains("xxxx ] yyyy"), "{out}");
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        let out = rendered_error_at("short.calf", "(ns short)\n(println 1 ])\n", 21);
        assert!(out.contains("[short.calf:2:11]"), "{out}");
        assert!(out.contains(" 2 │ (println 1 ])\n"), "{out}");
    }

    #[test]
    fn a_span_on_a_long_line_is_placed_at_its_own_column() {
        let line = format!("(println (f {}))", "x ".repeat(100_000));
        let out = rendered_error_at("call.calf", &line, 9);
        assert!(out.len() < 2_000, "{} bytes rendered", out.len());
        assert!(out.contains("[call.calf:1:10]"), "{out}");
        assert!(out.contains(" 1 │ (println (f x x"), "{out}");
    }
}
