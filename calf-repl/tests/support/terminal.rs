//! A `calf` REPL (local, or attached to `calf serve`) driven through a
//! pseudo-terminal, as a person would use it. What it writes is fed to a
//! terminal emulator (vt100), so assertions are about the screen a person
//! would see.

// Each test crate that includes this uses part of it.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::Session;

/// Wide enough that no line of the session wraps, tall enough that none
/// scrolls off: a row of the screen is a line of the session.
pub const COLUMNS: u16 = 200;
const ROWS: u16 = 1000;

/// How long the REPL may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(30);

pub struct Terminal {
    pub repl: Session,
    pub screen: vt100::Parser,
    /// `XDG_DATA_HOME` of the session: where its history goes.
    pub data: PathBuf,
}

impl Terminal {
    /// The local REPL: `calf` alone.
    pub fn start() -> Terminal {
        Terminal::start_with(&[])
    }

    /// `calf ARGS...` in a pty (`attach` and its flags, say), its history
    /// in a directory of its own.
    pub fn start_with(args: &[&str]) -> Terminal {
        let data = std::env::temp_dir().join(format!(
            "calf-repl-test-{}-{}",
            std::process::id(),
            args.first().unwrap_or(&"repl")
        ));
        let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
        command
            .args(args)
            .env("XDG_DATA_HOME", &data)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .env_remove("CALF_NATS_URL");
        let mut repl = Session::spawn(command).expect("the calf binary starts in a pty");
        repl.get_process_mut()
            .set_window_size(COLUMNS, ROWS)
            .expect("the pty takes a size");
        repl.set_expect_timeout(Some(PATIENCE));
        let mut terminal = Terminal {
            repl,
            screen: vt100::Parser::new(
                ROWS.try_into().expect("rows"),
                COLUMNS.try_into().expect("columns"),
                0,
            ),
            data,
        };
        terminal.wait_until("the first prompt", |t| t.prompt_row().is_some());
        terminal
    }

    /// Reads what the REPL writes until `ready` holds; fails showing the
    /// screen if it does not within [`PATIENCE`].
    pub fn wait_until(&mut self, what: &str, ready: impl Fn(&Terminal) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        let mut buffer = [0u8; 4096];
        loop {
            if ready(self) {
                return;
            }
            match self.repl.try_read(&mut buffer) {
                Ok(0) => panic!("the REPL ended waiting for {what}:\n{}", self.contents()),
                Ok(n) => self.screen.process(&buffer[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        panic!("no {what} on the screen:\n{}", self.contents());
                    }
                    // Polling for output, not waiting for an event.
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!(
                    "reading the pty waiting for {what}: {e}\n{}",
                    self.contents()
                ),
            }
        }
    }

    pub fn row(&self, row: u16) -> String {
        self.screen
            .screen()
            .rows(0, COLUMNS)
            .nth(row as usize)
            .unwrap_or_default()
            .trim_end()
            .to_string()
    }

    /// The screen's text down to the cursor's row.
    pub fn contents(&self) -> String {
        let (last, _) = self.screen.screen().cursor_position();
        (0..=last)
            .map(|r| self.row(r))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The cursor's row when it stands after an empty prompt (`ns=> ` or
    /// the continuation `#_=> `).
    pub fn prompt_row(&self) -> Option<u16> {
        let (row, column) = self.screen.screen().cursor_position();
        let text = self.row(row);
        (text.ends_with("=>") && column as usize == text.chars().count() + 1).then_some(row)
    }

    pub fn cursor_row(&self) -> u16 {
        self.screen.screen().cursor_position().0
    }

    pub fn send(&mut self, keys: &str) {
        self.repl.send(keys).expect("typing");
    }

    /// Types `line` and Enter at the prompt (after what is typed already);
    /// returns the rows printed between it and the next prompt.
    pub fn eval(&mut self, line: &str) -> String {
        let start = self.cursor_row();
        self.send(&format!("{line}\r"));
        self.wait_until(&format!("a prompt after {line:?}"), |t| {
            t.prompt_row().is_some_and(|row| row > start)
        });
        let prompt = self.cursor_row();
        assert!(
            self.row(start).ends_with(line),
            "the line as typed: {:?}",
            self.row(start)
        );
        (start + 1..prompt)
            .map(|r| self.row(r))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn assert_prints(&mut self, line: &str, output: &str) {
        let printed = self.eval(line);
        assert!(
            printed.contains(output),
            "after {line:?}, expected {output:?} in {printed:?}"
        );
    }

    /// Types `line`, waits for it to print `started` on a row of its own,
    /// presses Ctrl-C, and returns the rows printed up to the next prompt.
    pub fn interrupt(&mut self, line: &str, started: &str) -> Vec<String> {
        self.send(&format!("{line}\r"));
        let row = format!("\n{started}");
        self.wait_until("the line running", |t| t.contents().contains(&row));
        let start = self.cursor_row();
        self.send("\x03");
        self.wait_until("a prompt after Ctrl-C", |t| {
            t.prompt_row().is_some_and(|row| row > start)
        });
        (start..self.cursor_row()).map(|r| self.row(r)).collect()
    }
}
