//! `calf test` through the real binary, on the sample test files of
//! `tests/calf-test/`: some pass, some fail on purpose, one does not read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Runs `calf test ARGS` from the workspace root.
fn calf_test(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calf"))
        .arg("test")
        .args(args)
        .current_dir(root())
        .env_remove("CALF_PATH")
        .env_remove("CALF_NATS_URL")
        .output()
        .expect("calf runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn passing_files_pass() {
    let output = calf_test(&[
        "tests/calf-test/passing_test.calf",
        "tests/calf-test/fixtures_test.calf",
        "tests/calf-test/stubs_test.calf",
    ]);
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "test passing-test/areas ... ok",
        "test passing-test/template ... ok",
        "test passing-test/errors-are-asserted ... ok",
        "test fixtures-test/first-test ... ok",
        "test fixtures-test/second-test ... ok",
        "test stubs-test/charges-then-mails ... ok",
        "test stubs-test/declined-cards ... ok",
        "test stubs-test/stubs-are-gone-afterwards ... ok",
        "test stubs-test/retried-calls-count-their-attempts ... ok",
    ] {
        assert!(has_line(&out, line), "no line {line:?} in:\n{out}");
    }
    assert!(
        out.contains("test result: ok. 9 passed; 0 failed; finished in"),
        "{out}"
    );
    assert!(!out.contains("failures:"), "{out}");
}

#[test]
fn failures_are_reported_with_their_line_and_fail_the_run() {
    let dir = tempdir("report");
    let junit = dir.join("junit.xml");
    let output = calf_test(&["tests/calf-test", "--junit", junit.to_str().unwrap()]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    for line in [
        "test failing-test/sums ... FAILED",
        "test failing-test/nothing-thrown ... FAILED",
        "test failing-test/errs ... FAILED",
        "test tests/calf-test/broken_test.calf ... FAILED",
        "test passing-test/areas ... ok",
        "---- failing-test/sums (tests/calf-test/failing_test.calf:4) ----",
        "FAIL at tests/calf-test/failing_test.calf:8",
        " 8 │       (is (= 5 (+ 2 2)) \"two and two\"))))",
        "with context nested",
        "two and two",
        "expected: (= 5 (+ 2 2))",
        "  actual: (not (= 5 4))",
        "FAIL at tests/calf-test/failing_test.calf:11",
        "expected: (thrown? :calf/type-error (+ 1 1))",
        "  actual: (nothing thrown)",
        "ERROR at tests/calf-test/failing_test.calf:13",
        " 13 │ (deftest errs",
        "uncaught error in the test: broken on purpose",
        "---- tests/calf-test/failing_test.calf output ----",
        "printed by errs",
        "    failing-test/sums",
        "test failing-test/wrong-message ... FAILED",
        "expected: (thrown-with-msg? :default #\"^broken$\" (throw (ex-info \"broken on purpose\" {})))",
    ] {
        assert!(has_line(&out, line), "no line {line:?} in:\n{out}");
    }
    assert!(out.contains("unclosed `(`"), "{out}");
    assert!(
        out.contains("test result: FAILED. 9 passed; 5 failed; finished in"),
        "{out}"
    );
    // The lib/ namespace beside the tests is not a test file.
    assert!(!out.contains("shapes.calf ..."), "{out}");

    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    check_well_formed(&xml);
    assert!(
        xml.contains(r#"<testsuites name="calf test" tests="14" failures="3" errors="2""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 14, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 3, "{xml}");
    assert_eq!(xml.matches("<error ").count(), 2, "{xml}");
    assert!(
        xml.contains(r#"<testcase name="sums" classname="failing-test" file="tests/calf-test/failing_test.calf" line="4""#),
        "{xml}"
    );
    assert!(xml.contains("expected: (= 5 (+ 2 2))"), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_is_searched_for_test_files_only() {
    let dir = tempdir("search");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join(".hidden")).unwrap();
    std::fs::create_dir_all(dir.join("target")).unwrap();
    let ok = "(ns t (:require [calf.test :refer [deftest is]]))\n(deftest one (is (= 1 1)))\n";
    let bad = "(ns u (:require [calf.test :refer [deftest is]]))\n(deftest two (is (= 1 2)))\n";
    std::fs::write(dir.join("sub/one_test.calf"), ok).unwrap();
    std::fs::write(dir.join("sub/helper.calf"), bad).unwrap();
    std::fs::write(dir.join(".hidden/two_test.calf"), bad).unwrap();
    std::fs::write(dir.join("target/two_test.calf"), bad).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_calf"))
        .arg("test")
        .current_dir(&dir)
        .output()
        .expect("calf runs");
    let out = stdout(&output);
    assert!(output.status.success(), "{out}");
    assert!(has_line(&out, "test t/one ... ok"), "{out}");
    assert!(out.contains("test result: ok. 1 passed; 0 failed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calf-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fails unless `xml` is well formed: one root, every tag closed in
/// order, attributes quoted, only the five predefined entities.
fn check_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("an XML declaration");
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = rest[start..].find('>').expect("a closed tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("a tag name");
            assert_eq!(tag[name.len()..].matches('"').count() % 2, 0, "<{tag}>");
            check_text(&tag[name.len()..]);
            if open.is_empty() {
                roots += 1;
            }
            if !self_closing {
                open.push(name.to_string());
            }
        }
        rest = &rest[end + 1..];
    }
    check_text(rest);
    assert!(open.is_empty(), "unclosed {open:?}");
    assert_eq!(roots, 1);
}

fn check_text(text: &str) {
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "a bare & in {text}"
        );
    }
}

/// Runs `calf test ARGS` in `dir`.
fn calf_test_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calf"))
        .arg("test")
        .args(args)
        .current_dir(dir)
        .env_remove("CALF_PATH")
        .env_remove("CALF_NATS_URL")
        .output()
        .expect("calf runs")
}

#[test]
fn a_test_runs_until_its_own_limit_or_the_commands() {
    let dir = tempdir("timeouts");
    std::fs::write(
        dir.join("timeouts_test.calf"),
        r#"(ns timeouts-test (:require [calf.test :refer [deftest is]]))

(deftest hangs
  (receive :never-sent nil))

(deftest has-its-own-limit {:timeout-ms 150}
  (sleep 60000))

(deftest is-slow-but-may-be {:timeout-ms 20000}
  (sleep 450)
  (is (= 1 1)))

(deftest quick
  (is (= 1 1)))
"#,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let output = calf_test_in(&dir, &["--timeout-ms", "300"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    for line in [
        "test timeouts-test/hangs ... FAILED",
        "test timeouts-test/has-its-own-limit ... FAILED",
        "test timeouts-test/is-slow-but-may-be ... ok",
        "test timeouts-test/quick ... ok",
        "ERROR at timeouts_test.calf:3",
        "timed out after 300 ms",
        "ERROR at timeouts_test.calf:6",
        "timed out after 150 ms",
    ] {
        assert!(has_line(&out, line), "no line {line:?} in:\n{out}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the limits were not kept: {:?}",
        started.elapsed()
    );

    // The limit must be a positive number of milliseconds, on the command
    // line and in a deftest.
    let zero = calf_test_in(&dir, &["--timeout-ms", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&zero.stderr).contains("--timeout-ms"),
        "{zero:?}"
    );
    std::fs::write(
        dir.join("timeouts_test.calf"),
        "(ns bad-test (:require [calf.test :refer [deftest is]]))\n\
         (deftest negative {:timeout-ms -5} (is true))\n",
    )
    .unwrap();
    let bad = calf_test_in(&dir, &[]);
    let out = stdout(&bad);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    for part in [
        "deftest negative: :timeout-ms must be a",
        "positive number of milliseconds, not -5",
        "2 │ (deftest negative {:timeout-ms -5} (is true))",
    ] {
        assert!(out.contains(part), "no {part:?} in:\n{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_macro_at_the_head_of_is_gets_its_forms_and_reports_its_value() {
    let dir = tempdir("macros");
    std::fs::write(
        dir.join("macros_test.calf"),
        r#"(ns macros-test (:require [calf.test :refer [deftest is]]))

(defmacro same-form?
  "Whether its two arguments are the same form, unevaluated."
  [a b]
  (= a b))

(defmacro between? [lo x hi] `(< ~lo ~x ~hi))

(deftest forms-not-values
  (is (same-form? (+ 1 2) (+ 1 2)))
  (is (between? 1 (+ 1 1) 3)))

(deftest failing-macros
  (is (same-form? (+ 1 2) 3))
  (is (between? 1 (+ 2 2) 3) "four is not between"))

(deftest a-local-is-a-function
  (let [between? (fn [lo x hi] (> lo x hi))]
    (is (between? 1 (+ 2 2) 3))))
"#,
    )
    .unwrap();
    let output = calf_test_in(&dir, &[]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    for line in [
        "test macros-test/forms-not-values ... ok",
        "test macros-test/failing-macros ... FAILED",
        "FAIL at macros_test.calf:15",
        "expected: (same-form? (+ 1 2) 3)",
        "  actual: false",
        "FAIL at macros_test.calf:16",
        "four is not between",
        "expected: (between? 1 (+ 2 2) 3)",
        "test macros-test/a-local-is-a-function ... FAILED",
        "FAIL at macros_test.calf:20",
        "  actual: (not (between? 1 4 3))",
    ] {
        assert!(has_line(&out, line), "no line {line:?} in:\n{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Test files run at once, each in a runtime of its own: two files whose
/// test sleeps take about one sleep, not two.
#[test]
fn test_files_run_in_parallel() {
    let dir = tempdir("parallel");
    for name in ["one", "two"] {
        std::fs::write(
            dir.join(format!("{name}_test.calf")),
            format!(
                "(ns {name}-test (:require [calf.test :refer [deftest is]]))\n\
                 (deftest sleeps (sleep 1000) (is true))\n"
            ),
        )
        .unwrap();
    }
    let started = std::time::Instant::now();
    let output = calf_test_in(&dir, &["--jobs", "2"]);
    let took = started.elapsed();
    let out = stdout(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("test result: ok. 2 passed"), "{out}");
    // One after the other would take 2 s at least.
    assert!(
        took < std::time::Duration::from_millis(1900),
        "the files ran one after the other: {took:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
