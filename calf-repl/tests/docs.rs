//! Every example of `docs/language.md` runs: each ```calf block is a script
//! of its own, and when an ```output block follows it, the script's stdout
//! must be exactly that block. Every example must exit with status 0.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

mod support {
    pub mod script;
}
use support::script::run_script;

/// One example of the page.
struct Example {
    /// The line of the opening ```calf fence, counting from 1.
    line: usize,
    source: String,
    expected: Option<String>,
}

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("docs")
        .join("language.md")
}

/// The fenced block opening at `lines[start]` (the fence line): its body
/// and the index of the line after its closing fence.
fn block(lines: &[&str], start: usize) -> (String, usize) {
    let mut body = String::new();
    let mut i = start + 1;
    while i < lines.len() && lines[i].trim_end() != "```" {
        body.push_str(lines[i]);
        body.push('\n');
        i += 1;
    }
    (body, i + 1)
}

/// The examples of a markdown text: each ```calf block, with the ```output
/// block that follows it (blank lines between them allowed), if any.
fn examples(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_end();
        if fence == "```calf" {
            let line = i + 1;
            let (source, after) = block(&lines, i);
            let mut next = after;
            while next < lines.len() && lines[next].trim().is_empty() {
                next += 1;
            }
            let expected = if next < lines.len() && lines[next].trim_end() == "```output" {
                let (output, end) = block(&lines, next);
                i = end;
                Some(output)
            } else {
                i = after;
                None
            };
            found.push(Example {
                line,
                source,
                expected,
            });
            continue;
        }
        if fence.starts_with("```") {
            // Skip any other fenced block whole.
            let (_, after) = block(&lines, i);
            i = after;
            continue;
        }
        i += 1;
    }
    found
}

/// Why an example fails, or `None` when it passes.
fn check(dir: &Path, index: usize, example: &Example) -> Option<String> {
    let script = dir.join(format!("example_{index}.calf"));
    if let Err(e) = fs::write(&script, &example.source) {
        return Some(format!("cannot write {}: {e}", script.display()));
    }
    let (status, out, err) = match run_script(&script) {
        Ok(result) => result,
        Err(why) => return Some(why),
    };
    let mut problems = Vec::new();
    if status != 0 {
        problems.push(format!("exit status {status}, stderr:\n{err}"));
    }
    if let Some(expected) = &example.expected {
        if &out != expected {
            problems.push(format!(
                "stdout differs\n--- expected\n{expected}--- got\n{out}"
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}

#[test]
fn every_example_of_the_language_page_prints_its_output() {
    let path = doc_path();
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let all = examples(&text);
    assert!(!all.is_empty(), "no ```calf examples in {}", path.display());

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-examples");
    fs::create_dir_all(&dir).expect("create the examples directory");

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .min(16);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(example) = all.get(index) else {
                    break;
                };
                if let Some(why) = check(&dir, index, example) {
                    failures
                        .lock()
                        .expect("failures lock")
                        .push((example.line, why));
                }
            });
        }
    });

    let mut failures = failures.into_inner().expect("failures lock");
    failures.sort();
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .map(|(line, why)| format!("docs/language.md:{line}: {why}"))
            .collect();
        panic!(
            "{} of {} examples failed:\n\n{}",
            failures.len(),
            all.len(),
            report.join("\n\n")
        );
    }
}

#[test]
fn examples_are_found_with_their_outputs() {
    let text = "# t\n\n```calf\n(println 1)\n```\n\n```output\n1\n```\n\n```\nnot calf\n```\n\n```calf\n(+ 1 2)\n```\ntext\n";
    let found = examples(text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].line, 3);
    assert_eq!(found[0].source, "(println 1)\n");
    assert_eq!(found[0].expected.as_deref(), Some("1\n"));
    assert_eq!(found[1].line, 15);
    assert_eq!(found[1].expected, None);
}
