//! `calf --version` and `calf help [TOPIC]`, as a newcomer types them.

use std::process::Command;

/// Runs `calf ARGS`; its exit status, stdout and stderr.
fn calf(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_calf"))
        .args(args)
        .output()
        .expect("calf runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn version_is_the_workspace_version() {
    for flag in ["--version", "-V"] {
        let (status, out, _) = calf(&[flag]);
        assert_eq!(status, 0);
        assert_eq!(out.trim(), format!("calf {}", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn help_lists_the_topics_and_shows_one() {
    let (status, out, _) = calf(&["help"]);
    assert_eq!(status, 0);
    for name in ["run", "repl", "test", "serve", "attach", "durable"] {
        assert!(
            out.contains(&format!("\n  {name} ")),
            "{name} missing from\n{out}"
        );
    }

    let (status, out, _) = calf(&["help", "logs"]);
    assert_eq!(status, 0);
    assert!(out.starts_with("calf logs: "), "{out}");
    assert!(out.contains("-f") && out.contains("docs/serve.md") && out.contains("--creds"));

    let (status, out, err) = calf(&["help", "deploy"]);
    assert_eq!((status, out.as_str()), (1, ""));
    assert!(
        err.contains("no help topic \"deploy\"") && err.contains("durable"),
        "{err}"
    );
}

#[test]
fn a_lazy_seq_value_is_printed_realized() {
    // The value `-e` prints is realized by the process first (the REPL's
    // lines too): printed as it stood, it would be `(...)`.
    let (status, out, _) = calf(&["-e", "(map inc (take 3 (range)))"]);
    assert_eq!(status, 0);
    assert_eq!(out, "(1 2 3)\n");
}
