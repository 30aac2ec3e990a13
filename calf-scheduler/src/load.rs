//! Loading namespaces from files: the load path, and carrying out a
//! process's `require` (and finding the file of a `load-file`).
//!
//! The compiler and the VM read no files. `require` (and an `ns` form's
//! `:require` clause, which compiles to it) returns `Effect::Require`; the
//! host finds each namespace not loaded yet on the load path, evaluates its
//! file (which starts in `user` and says `(ns ...)`), makes the namespace
//! usable from the requiring one, and resumes the process. The requiring
//! file then continues in its own namespace.
//!
//! A namespace is loaded once per runtime: a namespace that exists is not
//! loaded again unless `:reload` asks. Requiring a namespace whose file is
//! still being evaluated is a cycle, reported with the whole chain.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use calf_lang::error::RuntimeError;
use calf_lang::prelude::bundled_source;
use calf_lang::require::source_path;
use calf_lang::span::{add_source, FileId};
use calf_lang::{Sym, Value};

/// The `:type` of a require whose namespace has no file on the load path.
pub const NOT_FOUND: &str = "calf/namespace-not-found";
/// The `:type` of a require of a namespace that is still loading.
pub const CYCLE: &str = "calf/cyclic-require";
/// The `:type` of a namespace file that exists but cannot be read.
pub const UNREADABLE: &str = "calf/load-error";

/// Where namespaces' files are looked for, in order: each directory, then
/// the `stdlib/` bundled in the binary.
#[derive(Clone, Debug, Default)]
pub struct LoadPath {
    dirs: Vec<LoadDir>,
    /// The files submitted with a job (`calf serve`), by `/`-separated
    /// relative path: looked in before the directories, of which a hosted
    /// job has none (it never reads the scheduler's disk).
    submitted: Option<Arc<BTreeMap<String, String>>>,
}

#[derive(Clone, Debug)]
struct LoadDir {
    path: PathBuf,
    /// How errors and source spans name the directory.
    shown: PathBuf,
}

/// A namespace's file, found: the name spans will use, and its text.
#[derive(Debug)]
pub struct Found {
    pub name: String,
    pub text: String,
}

/// Why a namespace's file was not found.
#[derive(Debug)]
pub enum Missing {
    /// No file: every place looked at, in order.
    NotFound { searched: Vec<String> },
    /// A file exists but could not be read.
    Unreadable { name: String, error: String },
}

impl LoadPath {
    /// The load path of a program: the directory of its script (the
    /// current directory when there is no script, as for `-e`), then each
    /// entry of `calf_path` (the value of `CALF_PATH`), then the bundled
    /// stdlib.
    pub fn for_program(script: Option<&Path>, calf_path: Option<&OsStr>) -> LoadPath {
        let dir = script
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let path = LoadPath::default().with_dir(dir, dir);
        match calf_path {
            Some(value) => path.with_calf_path(value),
            None => path,
        }
    }

    /// Adds a directory to look in, after those already there. `shown` is
    /// how errors and source spans name it (a path relative to where the
    /// user stands, say).
    pub fn with_dir(mut self, path: impl Into<PathBuf>, shown: impl Into<PathBuf>) -> LoadPath {
        self.dirs.push(LoadDir {
            path: path.into(),
            shown: shown.into(),
        });
        self
    }

    /// The load path of a submitted job: its files (relative path and
    /// text), then the bundled stdlib; no directory of the disk.
    pub fn submitted(files: impl IntoIterator<Item = (String, String)>) -> LoadPath {
        LoadPath {
            dirs: Vec::new(),
            submitted: Some(Arc::new(files.into_iter().collect())),
        }
    }

    /// The files submitted with a job, if this is a job's load path.
    pub fn submitted_files(&self) -> Option<&BTreeMap<String, String>> {
        self.submitted.as_deref()
    }

    /// The text of submitted file `relative`, if this is a job's load path
    /// and it has one.
    fn submitted_file(&self, relative: &str) -> Option<&str> {
        let files = self.submitted.as_ref()?;
        let relative = relative.strip_prefix("./").unwrap_or(relative);
        files.get(relative).map(String::as_str)
    }

    /// Adds the directories of a `CALF_PATH` value: separated by `:` (`;`
    /// on Windows), empty entries skipped.
    pub fn with_calf_path(mut self, value: &OsStr) -> LoadPath {
        for dir in std::env::split_paths(value) {
            if !dir.as_os_str().is_empty() {
                self = self.with_dir(dir.clone(), dir);
            }
        }
        self
    }

    /// Where a `load-file` path is: a relative one starts from the first
    /// directory (the script's). Returns the path to read and the name
    /// spans will use.
    pub fn file(&self, path: &str) -> (PathBuf, String) {
        let given = Path::new(path);
        match self.dirs.first() {
            Some(dir) if given.is_relative() => {
                let shown = if dir.shown == Path::new(".") {
                    given.to_path_buf()
                } else {
                    dir.shown.join(given)
                };
                (dir.path.join(given), shown.display().to_string())
            }
            _ => (given.to_path_buf(), path.to_string()),
        }
    }

    /// The directories, in the order they are searched (the bundled stdlib
    /// comes after them).
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|d| d.path.as_path())
    }

    /// Finds `relative` (a `/`-separated path like `app/util.calf`) in the
    /// first directory that has it, else in the bundled stdlib.
    pub fn find(&self, relative: &str) -> Result<Found, Missing> {
        let mut searched = Vec::new();
        if self.submitted.is_some() {
            match self.submitted_file(relative) {
                Some(text) => {
                    return Ok(Found {
                        name: relative.to_string(),
                        text: text.to_string(),
                    })
                }
                None => searched.push(format!("{relative} (submitted)")),
            }
        }
        for dir in &self.dirs {
            let path = relative
                .split('/')
                .fold(dir.path.clone(), |path, part| path.join(part));
            let shown = relative
                .split('/')
                .fold(dir.shown.clone(), |path, part| path.join(part))
                .display()
                .to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok(Found { name: shown, text }),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    searched.push(shown)
                }
                Err(e) => {
                    return Err(Missing::Unreadable {
                        name: shown,
                        error: e.to_string(),
                    })
                }
            }
        }
        let name = format!("stdlib/{relative}");
        match bundled_source(relative) {
            Some(text) => Ok(Found {
                name,
                text: text.to_string(),
            }),
            None => {
                searched.push(format!("{name} (bundled)"));
                Err(Missing::NotFound { searched })
            }
        }
    }
}

/// A thrown error that happened in the host, not in Calf code.
/// The error for requiring `ns` while it is still loading: `chain` is the
/// namespaces waiting on requires, outermost first, ending with the one
/// that asked again.
pub(crate) fn cycle_error(chain: &[Sym], ns: Sym) -> RuntimeError {
    let mut cycle = chain.to_vec();
    cycle.push(ns);
    let shown: Vec<&str> = cycle.iter().map(|s| s.name()).collect();
    RuntimeError::new(
        CYCLE,
        format!(
            "cyclic require: {} (a namespace cannot require one that is still loading)",
            shown.join(" -> ")
        ),
    )
    .with(
        "cycle",
        Value::vector(cycle.iter().map(|s| Value::Symbol(*s))),
    )
}

/// Finds and registers the source of namespace `ns`; returns the file and
/// the name it is shown under.
pub(crate) fn locate(load_path: &LoadPath, ns: Sym) -> Result<(FileId, String), RuntimeError> {
    let relative = source_path(ns);
    match load_path.find(&relative) {
        Ok(found) => {
            let shown = found.name.clone();
            Ok((add_source(found.name, found.text), shown))
        }
        Err(Missing::NotFound { searched }) => Err(RuntimeError::new(
            NOT_FOUND,
            format!(
                "could not find namespace {ns}; looked for:\n{}",
                searched
                    .iter()
                    .map(|s| format!("  {s}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        )
        .with("namespace", Value::Symbol(ns))
        .with(
            "searched",
            Value::vector(searched.iter().map(|s| Value::str(s.as_str()))),
        )),
        Err(Missing::Unreadable { name, error }) => Err(RuntimeError::new(
            UNREADABLE,
            format!("cannot read {name} for namespace {ns}: {error}"),
        )
        .with("namespace", Value::Symbol(ns))
        .with("file", Value::str(name))),
    }
}

/// Reads and registers the file a `load-file` names.
pub(crate) fn register_file(load_path: &LoadPath, path: &str) -> Result<FileId, RuntimeError> {
    if load_path.submitted.is_some() {
        return match load_path.submitted_file(path) {
            Some(text) => Ok(add_source(path.to_string(), text.to_string())),
            None => Err(RuntimeError::new(
                UNREADABLE,
                format!("load-file: no file {path} was submitted with this job"),
            )
            .with("file", Value::str(path))),
        };
    }
    let (file, shown) = load_path.file(path);
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(add_source(shown, text)),
        Err(e) => Err(RuntimeError::new(
            UNREADABLE,
            match e.kind() {
                std::io::ErrorKind::NotFound => format!("load-file: there is no file {shown}"),
                _ => format!("load-file: cannot read {shown}: {e}"),
            },
        )
        .with("file", Value::str(shown))),
    }
}

/// The error for a file that was loaded but did not define its namespace.
pub(crate) fn undefined_error(shown: &str, ns: Sym) -> RuntimeError {
    RuntimeError::new(
        NOT_FOUND,
        format!("{shown} was loaded for namespace {ns} but does not define it: it should start with (ns {ns})"),
    )
    .with("namespace", Value::Symbol(ns))
    .with("file", Value::str(shown))
}
