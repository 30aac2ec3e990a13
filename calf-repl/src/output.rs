//! Where the output of the REPL's processes goes: straight to the terminal
//! while a line is evaluated, and above the prompt while one is typed, so
//! that a process printing in the background does not break the line being
//! edited.
//!
//! Above the prompt means through rustyline's external printer, which
//! clears the line being edited, prints, and draws the line again. A
//! printer may block until the editor takes the text, so it is fed from a
//! thread of its own: a process that prints never waits for the editor.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use rustyline::ExternalPrinter;

/// Whether the prompt is shown (a line is being typed). Set by the REPL
/// around each read of a line.
#[derive(Clone, Default)]
pub struct PromptShown(Arc<AtomicBool>);

impl PromptShown {
    pub fn set(&self, shown: bool) {
        self.0.store(shown, Ordering::SeqCst);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A stream of the runtime's output: written to `direct` while the prompt
/// is not shown; else printed above the prompt, a whole line at a time.
pub struct AbovePrompt {
    direct: Box<dyn Write + Send>,
    prompt: PromptShown,
    /// Text for the printer thread; `None`: no terminal to print above.
    printer: Option<Sender<String>>,
    /// The start of a line printed at the prompt, until its end comes.
    partial: Vec<u8>,
}

impl AbovePrompt {
    /// Output to `direct`, or above the prompt through `printer` while
    /// `prompt` is shown. Without a printer (not a terminal), all output
    /// goes to `direct`.
    pub fn new(
        direct: impl Write + Send + 'static,
        prompt: PromptShown,
        printer: Option<impl ExternalPrinter + Send + 'static>,
    ) -> AbovePrompt {
        let printer = printer.map(|mut printer| {
            let (text, texts) = channel::<String>();
            std::thread::spawn(move || {
                for text in texts {
                    if printer.print(text).is_err() {
                        break;
                    }
                }
            });
            text
        });
        AbovePrompt {
            direct: Box::new(direct),
            prompt,
            printer,
            partial: Vec::new(),
        }
    }

    /// Prints `bytes` above the prompt, or directly if the printer is
    /// gone.
    fn print_above(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        match &self.printer {
            Some(printer) if printer.send(text).is_ok() => Ok(()),
            _ => self.direct.write_all(bytes),
        }
    }

    /// Writes the start of a line kept back at the prompt, now that the
    /// prompt is gone.
    fn write_partial(&mut self) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            self.direct.write_all(&partial)?;
        }
        Ok(())
    }
}

impl Write for AbovePrompt {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.prompt.get() || self.printer.is_none() {
            self.write_partial()?;
            return self.direct.write(buf);
        }
        self.partial.extend_from_slice(buf);
        // Whole lines only: the printer ends each text with a newline.
        if let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.partial.drain(..=end).collect();
            self.print_above(&lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.prompt.get() && !self.partial.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            return self.print_above(&partial);
        }
        self.write_partial()?;
        self.direct.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// An external printer that records what it was given.
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl ExternalPrinter for Recorder {
        fn print(&mut self, msg: String) -> rustyline::Result<()> {
            self.0.lock().expect("recorder").push(msg);
            Ok(())
        }
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Waits for the printer thread to have printed `count` texts.
    fn printed(recorded: &Arc<Mutex<Vec<String>>>, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let texts = recorded.lock().expect("recorder").clone();
            if texts.len() >= count || std::time::Instant::now() > deadline {
                return texts;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn whole_lines_go_above_the_prompt_and_the_rest_when_it_is_gone() {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let direct = Buffer::default();
        let prompt = PromptShown::default();
        let mut out = AbovePrompt::new(
            direct.clone(),
            prompt.clone(),
            Some(Recorder(recorded.clone())),
        );

        out.write_all(b"evaluating\n").expect("write");
        prompt.set(true);
        out.write_all(b"one\ntw").expect("write");
        out.write_all(b"o\nthr").expect("write");
        assert_eq!(printed(&recorded, 2), ["one\n", "two\n"]);
        prompt.set(false);
        out.write_all(b"ee\n").expect("write");
        assert_eq!(
            String::from_utf8_lossy(&direct.0.lock().expect("buffer")),
            "evaluating\nthree\n"
        );
    }

    #[test]
    fn without_a_printer_everything_is_written_directly() {
        let direct = Buffer::default();
        let prompt = PromptShown::default();
        prompt.set(true);
        let mut out = AbovePrompt::new(direct.clone(), prompt, None::<Recorder>);
        out.write_all(b"a\nb").expect("write");
        assert_eq!(direct.0.lock().expect("buffer").as_slice(), b"a\nb");
    }
}
