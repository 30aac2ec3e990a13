//! The `calf` binary's load path: the script's directory, then `CALF_PATH`,
//! then the bundled stdlib, from whatever directory it runs in.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory for one test, with `files` (relative path, text).
fn dir_with(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("calf-path")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creatable");
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("creatable");
        fs::write(path, text).expect("writable");
    }
    dir
}

/// Runs `calf args...` in `cwd` with `CALF_PATH` set to `calf_path` (or
/// unset).
fn calf(cwd: &Path, calf_path: Option<&[&Path]>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calf"));
    command.current_dir(cwd).args(args).env_remove("CALF_PATH");
    if let Some(dirs) = calf_path {
        command.env("CALF_PATH", std::env::join_paths(dirs).expect("joinable"));
    }
    command.output().expect("calf runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn namespaces_come_from_the_script_dir_then_calf_path_then_the_stdlib() {
    let root = dir_with(
        "order",
        &[
            (
                "project/main.calf",
                "(ns app.main
                   (:require [app.local :as local]
                             [shared.util :as util]
                             [shared.more :as more]
                             [calf.set :as set]))
                 (println local/where util/where more/where (set/union #{1} #{2}))",
            ),
            (
                "project/app/local.calf",
                "(ns app.local) (def where :script-dir)",
            ),
            // Also on CALF_PATH: the script's directory comes first.
            (
                "libs1/app/local.calf",
                "(ns app.local) (def where :calf-path)",
            ),
            (
                "libs1/shared/util.calf",
                "(ns shared.util) (def where :libs1)",
            ),
            (
                "libs2/shared/util.calf",
                "(ns shared.util) (def where :libs2)",
            ),
            (
                "libs2/shared/more.calf",
                "(ns shared.more) (def where :libs2)",
            ),
            ("elsewhere/.keep", ""),
        ],
    );
    let path = [root.join("libs1"), root.join("libs2")];
    let path: Vec<&Path> = path.iter().map(PathBuf::as_path).collect();
    // Run from an unrelated directory: the script's own directory counts,
    // not the current one.
    let script = root.join("project").join("main.calf");
    let output = calf(
        &root.join("elsewhere"),
        Some(&path),
        &[script.to_str().expect("a UTF-8 path")],
    );
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), ":script-dir :libs1 :libs2 #{1 2}\n");
    assert!(output.status.success());
}

#[test]
fn without_calf_path_only_the_script_dir_and_the_stdlib_count() {
    let root = dir_with(
        "unset",
        &[
            (
                "main.calf",
                "(require '[calf.set :as set]) (prn (set/difference #{1 2} #{2})) (require 'shared.util)",
            ),
            ("libs/shared/util.calf", "(ns shared.util)"),
        ],
    );
    let output = calf(&root, None, &["main.calf"]);
    assert_eq!(stdout(&output), "#{1}\n");
    let err = stderr(&output);
    assert!(
        err.contains("could not find namespace shared.util; looked for:"),
        "{err}"
    );
    assert!(err.contains("./shared/util.calf"), "{err}");
    assert!(err.contains("stdlib/shared/util.calf (bundled)"), "{err}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_missing_namespace_lists_the_calf_path_entries() {
    let root = dir_with("missing", &[("main.calf", "(require 'no.such-lib)")]);
    let libs = root.join("libs");
    let output = calf(&root, Some(&[libs.as_path()]), &["main.calf"]);
    let err = stderr(&output);
    let in_libs = libs.join("no").join("such_lib.calf");
    assert!(err.contains(&in_libs.display().to_string()), "{err}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn eval_loads_from_the_current_directory_and_calf_path() {
    let root = dir_with(
        "eval",
        &[
            ("here/app/greet.calf", "(ns app.greet) (defn hi [] :hi)"),
            ("libs/app/more.calf", "(ns app.more) (defn more [] :more)"),
        ],
    );
    let libs = root.join("libs");
    let output = calf(
        &root.join("here"),
        Some(&[libs.as_path()]),
        &[
            "-e",
            "(do (require '[app.greet :as g] '[app.more :as m]) [(g/hi) (m/more)])",
        ],
    );
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), "[:hi :more]\n");
}

#[test]
fn disasm_prints_each_form_before_running_it() {
    let root = dir_with(
        "disasm",
        &[
            (
                "main.calf",
                "(ns app.main (:require [app.loud :as loud])) (loud/f)",
            ),
            (
                "app/loud.calf",
                "(ns app.loud) (println \"loading\") (defn f [] 1)",
            ),
        ],
    );
    let output = calf(&root, None, &["--disasm", "main.calf"]);
    assert_eq!(stderr(&output), "");
    let out = stdout(&output);
    let at = |text: &str| {
        out.find(text)
            .unwrap_or_else(|| panic!("no {text} in {out}"))
    };
    assert!(at("calf.core/require") < at("loading"), "{out}");
    assert!(at("loading") < at("app.loud/f"), "{out}");
    assert!(output.status.success());
}
