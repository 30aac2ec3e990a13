//! What the integration tests of the scheduler share.

use std::sync::Arc;

use calf_lang::namespace::Globals;
use calf_lang::span::add_source;
use calf_scheduler::{run_program, Config, Ending, Io, LoadPath};

/// Runs `source` in `globals` with `load_path`, its output captured: what
/// it printed, and how it ended.
pub fn run_captured(globals: Arc<Globals>, source: &str, load_path: LoadPath) -> (String, Ending) {
    let stdout = Buffer::default();
    let io = Io {
        stdout: Box::new(stdout.clone()),
        stderr: Box::new(Buffer::default()),
        render: |_| String::new(),
        nats_url: None,
        durable: None,
        trace: None,
    };
    let ending = run_program(
        globals,
        Config::default(),
        load_path,
        add_source("<test>", source),
        io,
    );
    (stdout.text(), ending)
}

/// Output captured from a program, readable after it ends.
#[derive(Clone, Default)]
pub struct Buffer(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Buffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("buffer")).into_owned()
    }
}

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
