//! `calf test`: finds `*_test.calf` files, runs each in a runtime of its
//! own (files in parallel), and reports like `cargo test`.
//!
//! A file runs as a small driver program: it requires `calf.test`, loads
//! the file (its `deftest`s register their tests) and returns what
//! `calf.test/-run-for-command` made of running them, a value this module
//! reads. Each test runs in a process of its own (see `stdlib/calf/test.calf`).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;

use calf_lang::span::add_source;
use calf_lang::value::print::pr_str;
use calf_lang::Value;
use calf_scheduler::{Config, Ending, Io, LoadPath};

/// Runs the tests of Calf files.
#[derive(Parser, Debug)]
#[command(
    name = "calf test",
    bin_name = "calf test",
    about = "Run the tests of *_test.calf files (calf.test; docs/testing.md)"
)]
struct TestCli {
    /// Files, or directories searched recursively for *_test.calf files
    /// (skipping hidden directories and target/). Default: the current
    /// directory.
    paths: Vec<PathBuf>,

    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// How long one test may run before it is stopped and reported as an
    /// error, in milliseconds (default: 60000). A deftest that says
    /// {:timeout-ms N} keeps its own.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
    timeout_ms: Option<u64>,

    /// Test files run at once (default: one per core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,

    /// Send foreign calls to this NATS server instead of the embedded bus.
    #[arg(long, value_name = "URL", env = "CALF_NATS_URL")]
    nats: Option<String>,
}

/// One assertion that failed or erred.
#[derive(Debug, Default, Clone)]
struct Problem {
    kind: String,
    file: String,
    line: i64,
    context: String,
    message: String,
    expected: String,
    actual: String,
}

/// One test and how it went.
#[derive(Debug, Clone)]
struct TestResult {
    name: String,
    ns: String,
    file: String,
    line: i64,
    ms: i64,
    /// `pass`, `fail` or `error`.
    status: String,
    problems: Vec<Problem>,
}

/// What running one file gave.
struct FileResult {
    path: String,
    tests: Vec<TestResult>,
    /// Why the file could not be run to the end (a load error, say).
    error: Option<String>,
    /// What the file's tests printed.
    output: String,
    elapsed: Duration,
}

impl FileResult {
    fn failed(&self) -> bool {
        self.error.is_some() || self.tests.iter().any(|t| t.status != "pass")
    }
}

/// `calf test ...`: returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    // args[0] is the program, args[1] the verb.
    let cli = match TestCli::try_parse_from(args.into_iter().skip(1)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let paths = if cli.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        cli.paths.clone()
    };
    let mut files = Vec::new();
    for path in &paths {
        if let Err(e) = find_test_files(path, &mut files) {
            eprintln!("error: cannot read {}: {e}", path.display());
            return crate::ERROR_STATUS;
        }
    }
    files.sort();
    files.dedup();
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nrunning the tests of {} file{}",
        files.len(),
        plural(files.len())
    );
    let _ = out.flush();
    let results = run_files(&files, &cli, &mut out);
    let elapsed = started.elapsed();
    let summary = report(&results, elapsed, &mut out);
    let _ = out.flush();
    if let Some(junit) = &cli.junit {
        if let Err(e) = std::fs::write(junit, junit_xml(&results, elapsed)) {
            eprintln!("error: cannot write {}: {e}", junit.display());
            return crate::ERROR_STATUS;
        }
    }
    if summary {
        0
    } else {
        crate::ERROR_STATUS
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Adds the test files of `path`: itself if it is a file, else every
/// `*_test.calf` below it, skipping hidden directories and `target/`.
fn find_test_files(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        files.push(clean(path));
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let child = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                find_test_files(&child, files)?;
            }
        } else if name.ends_with("_test.calf") {
            files.push(clean(&child));
        }
    }
    Ok(())
}

/// `./a/b` as `a/b`: how reports name a file.
fn clean(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}

/// Runs the files on a few threads, printing each file's tests as it ends.
fn run_files(files: &[PathBuf], cli: &TestCli, out: &mut impl Write) -> Vec<FileResult> {
    let jobs = cli
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut results = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            let nats = cli.nats.clone();
            let timeout_ms = cli.timeout_ms;
            // The compiler recurses over nested forms: a roomy stack, as
            // the command's main thread has.
            let spawned = std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn_scoped(scope, move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let result = run_file(file, nats.clone(), timeout_ms);
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                });
            if let Err(e) = spawned {
                eprintln!("error: cannot start a thread: {e}");
                break;
            }
        }
        drop(tx);
        for (i, result) in rx {
            print_file(&result, out);
            results.push((i, result));
        }
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Output captured from a runtime.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Runs one test file in a runtime of its own.
fn run_file(file: &Path, nats_url: Option<String>, timeout_ms: Option<u64>) -> FileResult {
    let started = Instant::now();
    let path = file.display().to_string();
    let run = match timeout_ms {
        Some(ms) => {
            format!("(binding [calf.test/*test-timeout-ms* {ms}] (calf.test/-run-for-command))")
        }
        None => "(calf.test/-run-for-command)".to_string(),
    };
    let driver = format!(
        "(require 'calf.test)\n(load-file {})\n{run}\n",
        pr_str(&Value::str(path.as_str()))
    );
    let source = add_source(format!("<calf test {path}>"), driver);
    // Paths of load-file start from the current directory; the file's
    // own directory comes next for its requires, as for a script.
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut load_path = LoadPath::for_program(None, None).with_dir(dir, dir);
    if let Some(calf_path) = std::env::var_os("CALF_PATH") {
        load_path = load_path.with_calf_path(&calf_path);
    }
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    let output = Captured::default();
    let io = Io {
        stdout: Box::new(output.clone()),
        stderr: Box::new(output.clone()),
        render: crate::render_failure,
        nats_url,
        durable: None,
        trace: None,
    };
    let globals = crate::globals_with_args(&[]);
    let ending = calf_scheduler::run_program(globals, config, load_path, source, io);
    let (tests, error) = match ending {
        Ending::Returned(value) => match read_results(&value) {
            Some(tests) => (tests, None),
            None => (
                Vec::new(),
                Some(format!("the test run returned {}", pr_str(&value))),
            ),
        },
        Ending::Failed(failure) => (Vec::new(), Some(crate::render_failure(&failure))),
        Ending::Exit(status) => (
            Vec::new(),
            Some(format!("the file called (exit-program {status})")),
        ),
    };
    FileResult {
        path,
        tests,
        error,
        output: output.text(),
        elapsed: started.elapsed(),
    }
}

fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    match map {
        Value::Map(m) => m.get(&Value::keyword(key)),
        _ => None,
    }
}

fn text(map: &Value, key: &str) -> String {
    match field(map, key) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(other) => pr_str(other),
    }
}

fn int(map: &Value, key: &str) -> i64 {
    match field(map, key) {
        Some(Value::Int(n)) => *n,
        _ => 0,
    }
}

/// The tests of `{:summary s :tests [...]}`.
fn read_results(value: &Value) -> Option<Vec<TestResult>> {
    let tests = field(value, "tests")?.as_seq()?;
    Some(
        tests
            .iter()
            .map(|t| TestResult {
                name: text(t, "name"),
                ns: text(t, "ns"),
                file: text(t, "file"),
                line: int(t, "line"),
                ms: int(t, "ms"),
                status: text(t, "status"),
                problems: field(t, "problems")
                    .and_then(Value::as_seq)
                    .map(|ps| {
                        ps.iter()
                            .map(|p| Problem {
                                kind: text(p, "type"),
                                file: text(p, "file"),
                                line: int(p, "line"),
                                context: text(p, "context"),
                                message: text(p, "message"),
                                expected: text(p, "expected"),
                                actual: text(p, "actual"),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    )
}

/// The `test NAME ... ok` lines of one file.
fn print_file(result: &FileResult, out: &mut impl Write) {
    for test in &result.tests {
        let verdict = if test.status == "pass" {
            "ok"
        } else {
            "FAILED"
        };
        let _ = writeln!(out, "test {} ... {verdict}", test.name);
    }
    if result.error.is_some() {
        let _ = writeln!(out, "test {} ... FAILED", result.path);
    }
    let _ = out.flush();
}

/// One failed assertion as people read it.
fn describe(problem: &Problem) -> String {
    let mut s = String::new();
    let kind = if problem.kind == "error" {
        "ERROR"
    } else {
        "FAIL"
    };
    let _ = writeln!(s, "{kind} at {}:{}", problem.file, problem.line);
    if let Some(text) = source_line(&problem.file, problem.line) {
        let _ = writeln!(s, " {} │ {text}", problem.line);
    }
    if !problem.context.is_empty() {
        let _ = writeln!(s, "{}", problem.context);
    }
    if !problem.message.is_empty() {
        let _ = writeln!(s, "{}", problem.message);
    }
    let _ = writeln!(s, "expected: {}", problem.expected);
    let _ = writeln!(s, "  actual: {}", problem.actual);
    s
}

/// Line `line` of `file` (a path from the current directory, as the
/// tests name their files), shown under a failure as errors show theirs;
/// `None` when it cannot be read.
fn source_line(file: &str, line: i64) -> Option<String> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let text = std::fs::read_to_string(file).ok()?;
    let found = text.lines().nth(index)?;
    Some(found.trim_end().to_string())
}

/// Prints the failures and the summary line; returns whether all passed.
fn report(results: &[FileResult], elapsed: Duration, out: &mut impl Write) -> bool {
    let mut failed_names = Vec::new();
    let mut sections = String::new();
    let (mut passed, mut failed) = (0, 0);
    for file in results {
        for test in &file.tests {
            if test.status == "pass" {
                passed += 1;
                continue;
            }
            failed += 1;
            failed_names.push(test.name.clone());
            let _ = writeln!(
                sections,
                "---- {} ({}:{}) ----",
                test.name, test.file, test.line
            );
            for problem in &test.problems {
                let _ = writeln!(sections, "{}", describe(problem));
            }
        }
        if let Some(error) = &file.error {
            failed += 1;
            failed_names.push(file.path.clone());
            let _ = writeln!(sections, "---- {} ----", file.path);
            let _ = writeln!(sections, "{}", error.trim_end());
            let _ = writeln!(sections);
        }
        if file.failed() && !file.output.trim().is_empty() {
            let _ = writeln!(sections, "---- {} output ----", file.path);
            let _ = writeln!(sections, "{}", file.output.trim_end());
            let _ = writeln!(sections);
        }
    }
    if !failed_names.is_empty() {
        let _ = writeln!(out, "\nfailures:\n\n{sections}failures:");
        for name in &failed_names {
            let _ = writeln!(out, "    {name}");
        }
    }
    let ok = failed == 0;
    let _ = writeln!(
        out,
        "\ntest result: {}. {passed} passed; {failed} failed; finished in {:.2}s\n",
        if ok { "ok" } else { "FAILED" },
        elapsed.as_secs_f64()
    );
    ok
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The results as JUnit XML: a test suite per file.
fn junit_xml(results: &[FileResult], elapsed: Duration) -> String {
    let count =
        |f: &FileResult, status: &str| f.tests.iter().filter(|t| t.status == status).count();
    let tests: usize = results
        .iter()
        .map(|f| f.tests.len() + usize::from(f.error.is_some()))
        .sum();
    let failures: usize = results.iter().map(|f| count(f, "fail")).sum();
    let errors: usize = results
        .iter()
        .map(|f| count(f, "error") + usize::from(f.error.is_some()))
        .sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"calf test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        elapsed.as_secs_f64()
    );
    for file in results {
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
            xml_escape(&file.path),
            file.tests.len() + usize::from(file.error.is_some()),
            count(file, "fail"),
            count(file, "error") + usize::from(file.error.is_some()),
            file.elapsed.as_secs_f64()
        );
        for test in &file.tests {
            let short = test.name.rsplit('/').next().unwrap_or(&test.name);
            let _ = write!(
                xml,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"{:.3}\"",
                xml_escape(short),
                xml_escape(&test.ns),
                xml_escape(&test.file),
                test.line,
                test.ms as f64 / 1000.0
            );
            if test.problems.is_empty() && test.status == "pass" {
                xml.push_str("/>\n");
                continue;
            }
            xml.push_str(">\n");
            let tag = if test.status == "error" {
                "error"
            } else {
                "failure"
            };
            let first = test.problems.first().cloned().unwrap_or_default();
            let message = if first.message.is_empty() {
                format!("{}:{}: {}", first.file, first.line, first.expected)
            } else {
                format!("{}:{}: {}", first.file, first.line, first.message)
            };
            let body: String = test.problems.iter().map(describe).collect();
            let _ = writeln!(
                xml,
                "      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>",
                xml_escape(&message),
                xml_escape(&first.kind),
                xml_escape(&body)
            );
            xml.push_str("    </testcase>\n");
        }
        if let Some(error) = &file.error {
            let _ = writeln!(
                xml,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">\n      <error message=\"the file could not be run\" type=\"load\">{}</error>\n    </testcase>",
                xml_escape(&file.path),
                xml_escape(&file.path),
                file.elapsed.as_secs_f64(),
                xml_escape(error)
            );
        }
        if !file.output.is_empty() {
            let _ = writeln!(
                xml,
                "    <system-out>{}</system-out>",
                xml_escape(&file.output)
            );
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}
