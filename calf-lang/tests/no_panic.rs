//! No panic is reachable from source text: random programs, built from the
//! tokens real programs use, go through the reader, the compiler and the VM
//! (with a bounded number of instructions) and must end in a value or an
//! error, never a panic.

use std::sync::{Arc, OnceLock};

use calf_lang::compiler::{Compiler, TopLevel};
use calf_lang::namespace::{Globals, USER};
use calf_lang::reader;
use calf_lang::vm::{Outcome, Vm};
use calf_lang::{Sym, Value};
use proptest::prelude::*;

fn globals() -> &'static Arc<Globals> {
    static GLOBALS: OnceLock<Arc<Globals>> = OnceLock::new();
    GLOBALS.get_or_init(calf_lang::prelude::new_globals)
}

/// Reads, compiles and runs `text`, at most `fuel` instructions per form.
fn evaluate(text: &str, fuel: u32) {
    let Ok(forms) = reader::read_str("<prop>", text) else {
        return;
    };
    let globals = globals();
    for (form, span) in forms.forms.iter().zip(forms.form_spans.iter()) {
        let mut queue = vec![form.clone()];
        let mut steps = 0;
        while let Some(form) = queue.pop() {
            steps += 1;
            if steps > 50 {
                break;
            }
            let mut compiler = Compiler::new(globals, Sym::new(USER), &forms.spans, *span)
                .with_macro_fuel(fuel as u64);
            match compiler.expand_toplevel(&form) {
                Err(_) => {}
                Ok(TopLevel::Forms(inner)) => queue.extend(inner.into_iter().rev()),
                Ok(TopLevel::Code(code)) => {
                    let mut vm = Vm::new(code);
                    vm.set_max_depth(2_000);
                    let mut left = fuel;
                    loop {
                        match vm.run(1_000) {
                            Outcome::Done(_) | Outcome::Error(_) => break,
                            Outcome::Yield => {}
                            Outcome::Effect(_, effect) => vm.resume(effect, Value::Nil),
                            Outcome::Receive { answer, .. } => vm.resume_received(answer, None),
                        }
                        left = left.saturating_sub(1_000);
                        if left == 0 {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Tokens that real programs are made of, so random programs get deep into
/// the compiler and the VM instead of failing in the reader.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "#{",
        "'",
        "`",
        "~",
        "~@",
        "#(",
        "%",
        "%1",
        "%&",
        "#_",
        " ",
        " ",
        " ",
        "\n",
        "0",
        "1",
        "-1",
        "2",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "##NaN",
        "\"s\"",
        "\"\\n\"",
        "nil",
        "true",
        "false",
        ":k",
        ":a",
        "x",
        "y",
        "f",
        "&",
        "def",
        "if",
        "do",
        "let",
        "fn",
        "loop",
        "recur",
        "quote",
        "try",
        "catch",
        "finally",
        "throw",
        "defmacro",
        "defn",
        "cond",
        "and",
        "or",
        "when",
        "->",
        "->>",
        "if-let",
        "+",
        "-",
        "*",
        "/",
        "<",
        "=",
        "inc",
        "first",
        "rest",
        "nth",
        "get",
        "assoc",
        "conj",
        "cons",
        "count",
        "str",
        "apply",
        "vector",
        "list",
        "hash-map",
        "concat",
        "range",
        "reverse",
        "ex-info",
        "format",
        "\"%d\"",
        ":as",
        ":keys",
        ":or",
        "ns",
        "in-ns",
        "println",
    ])
}

/// Atoms: the tokens that are whole forms.
fn atom() -> impl Strategy<Value = String> {
    token()
        .prop_filter("a whole form", |t| {
            !matches!(
                *t,
                "(" | ")" | "[" | "]" | "{" | "}" | "#{" | "'" | "`" | "~" | "~@" | "#(" | "#_"
            )
        })
        .prop_map(str::to_string)
}

/// Balanced forms, so that most programs get past the reader.
fn form() -> impl Strategy<Value = String> {
    atom().prop_recursive(5, 64, 6, |inner| {
        let items = prop::collection::vec(inner.clone(), 0..6).prop_map(|v| v.join(" "));
        prop_oneof![
            items.clone().prop_map(|s| format!("({s})")),
            items.clone().prop_map(|s| format!("[{s}]")),
            items.clone().prop_map(|s| format!("`({s})")),
            inner.clone().prop_map(|s| format!("~{s}")),
            inner.clone().prop_map(|s| format!("'{s}")),
            items.prop_map(|s| format!("#({s})")),
        ]
    })
}

fn program() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(token(), 0..60).prop_map(|tokens| tokens.join(" ")),
        prop::collection::vec(form(), 1..4).prop_map(|forms| forms.join("\n")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_never_panic(text in program()) {
        evaluate(&text, 20_000);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,80}") {
        evaluate(&text, 20_000);
    }
}

/// Programs that once crashed, or that probe limits, kept as regressions.
#[test]
fn known_hard_inputs() {
    for text in [
        "(loop [] (recur))",
        "((fn f [] (f)))",
        "(defn f [x] (+ 1 (f x))) (f 1)",
        "(apply + (range 100000))",
        &"(".repeat(5000),
        &format!("{}1{}", "[".repeat(900), "]".repeat(900)),
        &format!("{}1{}", "(do ".repeat(900), ")".repeat(900)),
        "(defmacro m [] (m)) (m)",
        "(defmacro m [] '(m)) (m)",
        "(let [[a & b :as c] 1] a)",
        "(fn [& & x] x)",
        "(recur)",
        "(try (recur 1) (catch e e))",
        "(/ -9223372036854775808 -1)",
        "(- -9223372036854775808)",
        "(quot -9223372036854775808 -1)",
        "(format \"%d\" \"x\")",
    ] {
        evaluate(text, 100_000);
    }
}

/// Compiles and runs one form to its value, or to the message of its
/// compile error; any other ending fails the test. In globals of its own:
/// the random programs above may redefine anything in theirs.
fn value_or_compile_error(text: &str) -> Result<Value, String> {
    let forms = reader::read_str("<limits>", text).expect("readable");
    let [form] = &forms.forms[..] else {
        panic!("one form expected")
    };
    let globals = calf_lang::prelude::new_globals();
    let mut compiler = Compiler::new(&globals, Sym::new(USER), &forms.spans, forms.form_spans[0]);
    let code = match compiler.expand_toplevel(form) {
        Ok(TopLevel::Code(code)) => code,
        Ok(TopLevel::Forms(_)) => panic!("a single form expected"),
        Err(error) => return Err(error.message),
    };
    let mut vm = Vm::new(code);
    loop {
        match vm.run(100_000) {
            Outcome::Done(value) => return Ok(value),
            Outcome::Yield => {}
            other => panic!("{text:.40}... ended with {other:?}"),
        }
    }
}

/// Past the 16-bit operands of the instructions, a body either works (a
/// literal's items, a call's operands on the stack) or is a compile error
/// that says which limit it passed: never a panic.
#[test]
fn sizes_past_the_operand_limits() {
    let n = 70_000;
    let xs = vec!["x"; n].join(" ");
    let count = |literal: String| format!("(let [x 1] (count {literal}))");
    for literal in [
        format!("[{xs}]"),
        format!(
            "#{{{}}}",
            (0..n)
                .map(|i| format!("(+ x {i})"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        format!(
            "{{{}}}",
            (0..n)
                .map(|i| format!("{i} x"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        format!("'[{xs}]"),
    ] {
        assert_eq!(
            value_or_compile_error(&count(literal)),
            Ok(Value::Int(n as i64))
        );
    }
    let bindings: String = (0..n).map(|i| format!("b{i} {i} ")).collect();
    let names: String = (0..n).map(|i| format!("b{i} ")).collect();
    let too_many_locals = Err("too many locals in one function (at most 65535)".to_string());
    assert_eq!(
        value_or_compile_error(&format!("(let [{bindings}] b0)")),
        too_many_locals
    );
    assert_eq!(
        value_or_compile_error(&format!("(fn [{names}] b0)")),
        too_many_locals
    );
    let too_many_arguments = Err("too many arguments in one call".to_string());
    assert_eq!(
        value_or_compile_error(&format!("(let [x 1] (list {xs}))")),
        too_many_arguments
    );
    assert_eq!(
        value_or_compile_error(&format!("(let [x 1] (apply + {xs} []))")),
        too_many_arguments
    );
}
