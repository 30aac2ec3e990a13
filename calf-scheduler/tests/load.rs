//! Loading namespaces through the host: the load path's order, what a
//! missing namespace reports, and the bundled stdlib.

use std::fs;
use std::path::{Path, PathBuf};

use calf_lang::prelude::{new_globals, BUNDLED};
use calf_lang::{Sym, Value};
use calf_scheduler::load::Missing;
use calf_scheduler::{Ending, Failure, LoadPath};

mod support;
use support::run_captured;

/// A fresh directory for one test, with `files` (relative path, text).
fn dir_with(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("load")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("creatable");
        fs::write(path, text).expect("writable");
    }
    fs::create_dir_all(&dir).expect("creatable");
    dir
}

/// Runs `source` with `load_path` in `globals`; its stdout, or the message
/// of its error.
fn run_in(
    globals: std::sync::Arc<calf_lang::namespace::Globals>,
    source: &str,
    load_path: LoadPath,
) -> Result<String, String> {
    let (text, ending) = run_captured(globals, source, load_path);
    match ending {
        Ending::Returned(_) | Ending::Exit(0) => Ok(text),
        Ending::Failed(Failure::Thrown(thrown)) => Err(calf_lang::error::message_of(&thrown.value)),
        other => Err(format!("{other:?}")),
    }
}

fn run(source: &str, load_path: LoadPath) -> Result<String, String> {
    run_in(new_globals(), source, load_path)
}

#[test]
fn the_first_directory_that_has_the_file_wins() {
    let first = dir_with(
        "first",
        &[("app/util.calf", "(ns app.util) (def who :first)")],
    );
    let second = dir_with(
        "second",
        &[
            ("app/util.calf", "(ns app.util) (def who :second)"),
            ("app/only_here.calf", "(ns app.only-here) (def who :second)"),
        ],
    );
    let path = LoadPath::default()
        .with_dir(&first, "first")
        .with_dir(&second, "second");
    let out = run(
        "(require '[app.util :as u] '[app.only-here :as o]) (prn u/who o/who)",
        path,
    );
    assert_eq!(out.as_deref(), Ok(":first :second\n"));
}

#[test]
fn a_missing_namespace_names_every_place_looked_at() {
    let a = dir_with("missing-a", &[]);
    let b = dir_with("missing-b", &[]);
    let path = LoadPath::default().with_dir(&a, "a").with_dir(&b, "b");
    match path.find("app/gone.calf") {
        Err(Missing::NotFound { searched }) => assert_eq!(
            searched,
            [
                Path::new("a")
                    .join("app")
                    .join("gone.calf")
                    .display()
                    .to_string(),
                Path::new("b")
                    .join("app")
                    .join("gone.calf")
                    .display()
                    .to_string(),
                "stdlib/app/gone.calf (bundled)".to_string(),
            ]
        ),
        other => panic!("expected not found, got {other:?}"),
    }
    let error = run("(require 'app.gone)", path).expect_err("missing");
    assert!(
        error.starts_with("could not find namespace app.gone"),
        "{error}"
    );
}

#[test]
fn calf_path_entries_come_in_order_and_empty_ones_are_skipped() {
    let value = std::env::join_paths(["one", "", "two"]).expect("joinable");
    let path = LoadPath::for_program(Some(Path::new("scripts/main.calf")), Some(&value));
    let dirs: Vec<&Path> = path.dirs().collect();
    assert_eq!(
        dirs,
        [Path::new("scripts"), Path::new("one"), Path::new("two")]
    );
    let bare = LoadPath::for_program(Some(Path::new("main.calf")), None);
    assert_eq!(bare.dirs().collect::<Vec<_>>(), [Path::new(".")]);
    let eval = LoadPath::for_program(None, None);
    assert_eq!(eval.dirs().collect::<Vec<_>>(), [Path::new(".")]);
}

#[test]
fn a_directory_on_the_path_shadows_the_bundled_stdlib() {
    let dir = dir_with(
        "shadow",
        &[("calf/set.calf", "(ns calf.set) (defn union [& _] :mine)")],
    );
    let out = run(
        "(require '[calf.set :as s]) (prn (s/union #{1} #{2}))",
        LoadPath::default().with_dir(&dir, "dir"),
    );
    assert_eq!(out.as_deref(), Ok(":mine\n"));
    let out = run(
        "(require '[calf.set :as s]) (prn (s/union #{1} #{2}))",
        LoadPath::default(),
    );
    assert_eq!(out.as_deref(), Ok("#{1 2}\n"));
}

/// Every bundled namespace loads, and each of its public functions and
/// macros has a docstring.
#[test]
fn every_bundled_namespace_loads_and_is_documented() {
    for (path, _) in BUNDLED {
        let ns = path
            .strip_suffix(".calf")
            .expect("a .calf file")
            .replace('/', ".")
            .replace('_', "-");
        let globals = new_globals();
        let result = run_in(
            globals.clone(),
            &format!("(require '{ns})"),
            LoadPath::default(),
        );
        assert!(result.is_ok(), "bundled {path} does not load: {result:?}");
        let namespace = globals.find_namespace(Sym::new(&ns)).expect("defined");
        let undocumented: Vec<String> = namespace
            .vars()
            .iter()
            .filter(|v| (matches!(v.get(), Some(Value::Fn(_))) || v.is_macro()) && !v.is_private())
            .filter(|v| v.meta().doc.is_none_or(|d| d.trim().is_empty()))
            .map(|v| v.name.to_string())
            .collect();
        assert!(
            undocumented.is_empty(),
            "bundled {path}: no docstring for {}",
            undocumented.join(", ")
        );
    }
}
