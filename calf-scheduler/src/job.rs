//! A job: a program's main process and every process it spawns, with the
//! namespaces they share, where they print, and who is told of the end.
//!
//! `calf FILE` runs one job, whose end is the program's. A hosted runtime
//! (`calf serve`) runs many, each submitted on its own: when one's main
//! process ends, its other processes are stopped, as when a script run by
//! `calf` ends, and the rest of the runtime goes on.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use calf_lang::namespace::Globals;
use calf_lang::snapshot::{write_image, Encoder, Hash, ImageCache, Kind, SnapshotError};
use calf_lang::span::{forget_source, FileId};
use calf_lang::value::Pid;
use tokio::sync::oneshot;

use crate::hosted::{JobEnd, JobOutput};
use crate::load::LoadPath;
use crate::runtime::{Ending, Failure};

pub(crate) struct Job {
    /// The namespaces its code is compiled in.
    pub globals: Arc<Globals>,
    /// Where its `require`s find namespaces' files.
    pub load_path: LoadPath,
    output: Output,
    /// Who hears of its end; taken by the first end.
    told: Mutex<Option<Told>>,
    /// Its main process, once spawned.
    main: AtomicU64,
    /// Whether its other processes are stopped when its main process
    /// ends: not those an attached REPL spawned, which outlive it.
    pub stops_with_main: bool,
    /// The sources of a hosted job (its files, its REPL's lines),
    /// forgotten when the job is dropped: a long-running scheduler would
    /// otherwise keep every file ever submitted.
    sources: Option<Mutex<Vec<FileId>>>,
    /// The images of its code made for the saves of its durable
    /// processes: each body is encoded once.
    pub images: Mutex<ImageCache>,
    /// The image of its namespaces last saved, kept while no namespace
    /// changes: a durable process's every save names it.
    pub namespaces_image: Mutex<Option<NamespacesImage>>,
}

/// A program's namespaces as a saved image, and when it was made.
#[derive(Clone)]
pub(crate) struct NamespacesImage {
    /// The count of namespace changes it was made at
    /// (`calf_lang::namespace::changes`).
    pub changes: u64,
    pub hash: Hash,
    pub bytes: Arc<[u8]>,
    /// The images its values name (their code, and its sources).
    pub needs: Vec<Hash>,
}

/// Where a job's processes print.
enum Output {
    /// A terminal or a file, buffered; flushed when a process waits.
    Streams {
        stdout: Mutex<Box<dyn Write + Send>>,
        /// Whether `stdout` holds output not flushed yet: every process
        /// about to wait flushes it, and most have printed nothing.
        unflushed: AtomicBool,
        stderr: Mutex<Box<dyn Write + Send>>,
    },
    /// A hosted job's kept output.
    Hosted(Arc<dyn JobOutput>),
    /// Another job's: durable processes restored after a crash print
    /// where the program that restored them does.
    Of(Arc<Job>),
}

/// Who is told how a job ended.
enum Told {
    /// The program waiting for its end (`run_program`, the REPL).
    Program(oneshot::Sender<Ending>),
    /// A hosted job's output keeps its end.
    Hosted,
}

impl Job {
    /// The job of a program run from the command line: it prints to
    /// `stdout` and `stderr`, and its end is sent to `ending`.
    pub fn program(
        globals: Arc<Globals>,
        load_path: LoadPath,
        stdout: Box<dyn Write + Send>,
        stderr: Box<dyn Write + Send>,
        ending: oneshot::Sender<Ending>,
    ) -> Job {
        Job {
            globals,
            load_path,
            output: Output::Streams {
                stdout: Mutex::new(stdout),
                unflushed: AtomicBool::new(false),
                stderr: Mutex::new(stderr),
            },
            told: Mutex::new(Some(Told::Program(ending))),
            main: AtomicU64::new(0),
            stops_with_main: true,
            sources: None,
            images: Mutex::default(),
            namespaces_image: Mutex::default(),
        }
    }

    /// The job of durable processes restored from a snapshot, with the
    /// namespaces read back from it, printing where `host` does. It ends
    /// with none of its processes: nobody waits for it as a program.
    pub fn restored(globals: Arc<Globals>, host: Arc<Job>, load_path: Option<LoadPath>) -> Job {
        Job {
            globals,
            load_path: load_path.unwrap_or_else(|| host.load_path.clone()),
            output: Output::Of(host),
            told: Mutex::new(None),
            main: AtomicU64::new(0),
            stops_with_main: false,
            sources: None,
            images: Mutex::default(),
            namespaces_image: Mutex::default(),
        }
    }

    /// A job of a hosted runtime, printing to (and ending in) `output`.
    pub fn hosted(
        globals: Arc<Globals>,
        load_path: LoadPath,
        output: Arc<dyn JobOutput>,
        stops_with_main: bool,
    ) -> Job {
        Job {
            globals,
            load_path,
            output: Output::Hosted(output),
            told: Mutex::new(Some(Told::Hosted)),
            main: AtomicU64::new(0),
            stops_with_main,
            sources: Some(Mutex::default()),
            images: Mutex::default(),
            namespaces_image: Mutex::default(),
        }
    }

    /// The image of this job's namespaces: made again only
    /// when a namespace has changed since the last one (the vars of a
    /// running program rarely do), not at every save.
    pub(crate) fn namespaces_image(
        &self,
        cache: &mut ImageCache,
    ) -> Result<NamespacesImage, SnapshotError> {
        let mut kept = self
            .namespaces_image
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let changes = calf_lang::namespace::changes();
        if let Some(image) = kept.as_ref().filter(|i| i.changes == changes) {
            return Ok(image.clone());
        }
        let mut encoder = Encoder::new(cache);
        let job = encoder.job(&self.globals)?;
        let needs = encoder.into_needs().into_iter().collect();
        let bytes = write_image(Kind::Job, &job)?;
        let image = NamespacesImage {
            changes,
            hash: Hash::of(&bytes),
            bytes: bytes.into(),
            needs,
        };
        *kept = Some(image.clone());
        Ok(image)
    }

    /// Notes a source of this job, to forget with it (a hosted job's).
    pub fn keep_source(&self, file: FileId) {
        if let Some(sources) = &self.sources {
            sources.lock().unwrap_or_else(|e| e.into_inner()).push(file);
        }
    }

    pub fn set_main(&self, pid: Pid) {
        self.main.store(pid.0, Ordering::Relaxed);
    }

    /// Its main process (0 before it is spawned).
    pub fn main(&self) -> Pid {
        Pid(self.main.load(Ordering::Relaxed))
    }

    pub fn write(&self, text: &str, to_stderr: bool) {
        match &self.output {
            Output::Streams {
                stdout,
                unflushed,
                stderr,
            } => {
                let stream = if to_stderr { stderr } else { stdout };
                let mut out = stream.lock().unwrap_or_else(|e| e.into_inner());
                // A closed stream (a reader that went away) is not the
                // program's error: its output just goes nowhere.
                let _ = out.write_all(text.as_bytes());
                if to_stderr {
                    let _ = out.flush();
                } else {
                    unflushed.store(true, Ordering::Release);
                }
            }
            Output::Hosted(output) => output.write(text, to_stderr),
            Output::Of(host) => host.write(text, to_stderr),
        }
    }

    /// Writes out what is buffered of stdout, if anything.
    pub fn flush_stdout(&self) {
        if let Output::Of(host) = &self.output {
            return host.flush_stdout();
        }
        if let Output::Streams {
            stdout, unflushed, ..
        } = &self.output
        {
            // Read before it is swapped: the flag is shared by every
            // thread, and most waits find it clear.
            if !unflushed.load(Ordering::Acquire) || !unflushed.swap(false, Ordering::AcqRel) {
                return;
            }
            let _ = stdout.lock().unwrap_or_else(|e| e.into_inner()).flush();
        }
    }

    pub fn flush(&self) {
        if let Output::Of(host) = &self.output {
            return host.flush();
        }
        if let Output::Streams { stdout, stderr, .. } = &self.output {
            let _ = stdout.lock().unwrap_or_else(|e| e.into_inner()).flush();
            let _ = stderr.lock().unwrap_or_else(|e| e.into_inner()).flush();
        }
    }

    /// Whether the job has ended.
    pub fn has_ended(&self) -> bool {
        self.told
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Ends the job (the first call wins); true for that first call.
    /// `render` shows a failure to a person.
    pub fn end(&self, ending: Ending, render: fn(&Failure) -> String) -> bool {
        let told = self.told.lock().unwrap_or_else(|e| e.into_inner()).take();
        match told {
            None => false,
            Some(Told::Program(tx)) => {
                let _ = tx.send(ending);
                true
            }
            Some(Told::Hosted) => {
                if let Output::Hosted(output) = &self.output {
                    output.ended(job_end(&ending, render));
                }
                true
            }
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(sources) = &self.sources {
            for file in sources.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                forget_source(file);
            }
        }
    }
}

/// How a hosted job's end is kept.
fn job_end(ending: &Ending, render: fn(&Failure) -> String) -> JobEnd {
    match ending {
        Ending::Returned(_) => JobEnd {
            reason: ":normal".to_string(),
            status: 0,
            failure: None,
        },
        Ending::Exit(status) => JobEnd {
            reason: format!("[:exit {status}]"),
            status: *status,
            failure: None,
        },
        Ending::Failed(failure) => JobEnd {
            reason: match failure {
                Failure::Thrown(thrown) => thrown.value.to_string(),
                Failure::Source(error) => error.to_value("calf/syntax-error").to_string(),
            },
            status: 1,
            failure: Some(render(failure)),
        },
    }
}
