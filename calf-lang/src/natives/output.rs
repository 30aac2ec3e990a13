//! Natives that act on the world: they return an [`Effect`] for the host to
//! carry out, and the host resumes the process with the effect's value
//! (`nil` for output and `sleep`, the time for `now-ms`).

use super::helpers::{illegal, int_arg};
use super::strings::join_printed;
use crate::error::RuntimeError;
use crate::value::Value;
use crate::vm::Effect;

fn stdout(text: String) -> Result<Effect, RuntimeError> {
    Ok(Effect::Print {
        text,
        to_stderr: false,
    })
}

fn stderr(text: String) -> Result<Effect, RuntimeError> {
    Ok(Effect::Print {
        text,
        to_stderr: true,
    })
}

fn print(args: &[Value]) -> Result<Effect, RuntimeError> {
    stdout(join_printed(args, false, false)?)
}

fn println(args: &[Value]) -> Result<Effect, RuntimeError> {
    stdout(join_printed(args, false, true)?)
}

fn pr(args: &[Value]) -> Result<Effect, RuntimeError> {
    stdout(join_printed(args, true, false)?)
}

fn prn(args: &[Value]) -> Result<Effect, RuntimeError> {
    stdout(join_printed(args, true, true)?)
}

fn newline(_: &[Value]) -> Result<Effect, RuntimeError> {
    stdout("\n".to_string())
}

fn eprint(args: &[Value]) -> Result<Effect, RuntimeError> {
    stderr(join_printed(args, false, false)?)
}

fn eprintln(args: &[Value]) -> Result<Effect, RuntimeError> {
    stderr(join_printed(args, false, true)?)
}

fn sleep(args: &[Value]) -> Result<Effect, RuntimeError> {
    let ms = int_arg("sleep", args, 0)?;
    let ms = u64::try_from(ms)
        .map_err(|_| illegal("sleep", format!("cannot sleep a negative time ({ms} ms)")))?;
    Ok(Effect::Sleep { ms })
}

fn exit_program(args: &[Value]) -> Result<Effect, RuntimeError> {
    let status = match args.first() {
        None => 0,
        Some(_) => {
            let n = int_arg("exit-program", args, 0)?;
            i32::try_from(n)
                .map_err(|_| illegal("exit-program", format!("{n} is not an exit status")))?
        }
    };
    Ok(Effect::ExitProgram { status })
}

fn now_ms(_: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::NowMs)
}

natives! {
    effect "print" "0.." print,
        "Prints the values for humans, separated by spaces.";
    effect "println" "0.." println,
        "Prints the values for humans, separated by spaces, then a newline.";
    effect "pr" "0.." pr,
        "Prints the values readably (strings quoted), separated by spaces.";
    effect "prn" "0.." prn,
        "Prints the values readably (strings quoted), separated by spaces, then a newline.";
    effect "newline" "0" newline,
        "Prints a newline.";
    effect "eprint" "0.." eprint,
        "Prints the values for humans to standard error, separated by spaces.";
    effect "eprintln" "0.." eprintln,
        "Prints the values for humans to standard error, separated by spaces, then a newline.";
    effect "sleep" "1" sleep,
        "Pauses this process for a number of milliseconds, without blocking others.";
    effect "exit-program" "0..=1" exit_program,
        "Ends the whole program with the exit status (0).";
    effect "now-ms" "0" now_ms,
        "Returns the wall-clock time in milliseconds since the Unix epoch.";
}

#[cfg(test)]
mod tests {
    use super::super::helpers::{ILLEGAL_ARGUMENT, TYPE_ERROR};
    use super::super::testing::*;
    use crate::value::Value;
    use crate::vm::Effect;

    #[track_caller]
    fn printed(name: &str, args: &[Value], text: &str, to_stderr: bool) {
        match call_effect(name, args) {
            Ok(Effect::Print {
                text: t,
                to_stderr: e,
            }) => {
                assert_eq!((t.as_str(), e), (text, to_stderr), "({name} {args:?})")
            }
            other => panic!("({name} {args:?}) gave {other:?}"),
        }
    }

    #[track_caller]
    fn effect_err(name: &str, args: &[Value], kind: &str) {
        match call_effect(name, args) {
            Err(e) => assert_eq!(e.kind, kind),
            other => panic!("({name} {args:?}) gave {other:?}"),
        }
    }

    #[test]
    fn printing() {
        printed("print", &[s("a"), i(1), nil()], "a 1 nil", false);
        printed("println", &[s("a"), v(&[s("b")])], "a [b]\n", false);
        printed("println", &[], "\n", false);
        printed("pr", &[s("a"), kw("k")], "\"a\" :k", false);
        printed("prn", &[s("a\n")], "\"a\\n\"\n", false);
        printed("newline", &[], "\n", false);
        printed("eprint", &[s("oops")], "oops", true);
        printed("eprintln", &[s("oops"), i(1)], "oops 1\n", true);
    }

    #[test]
    fn time_and_exit() {
        assert!(matches!(
            call_effect("sleep", &[i(10)]),
            Ok(Effect::Sleep { ms: 10 })
        ));
        effect_err("sleep", &[i(-1)], ILLEGAL_ARGUMENT);
        effect_err("sleep", &[f(1.5)], TYPE_ERROR);
        assert!(matches!(
            call_effect("exit-program", &[i(3)]),
            Ok(Effect::ExitProgram { status: 3 })
        ));
        assert!(matches!(
            call_effect("exit-program", &[]),
            Ok(Effect::ExitProgram { status: 0 })
        ));
        effect_err("exit-program", &[i(1 << 40)], ILLEGAL_ARGUMENT);
        assert!(matches!(call_effect("now-ms", &[]), Ok(Effect::NowMs)));
    }
}
