//! The Clojure-only forms that editors evaluate by themselves, answered
//! in Calf.
//!
//! An editor connected to an nREPL server evaluates a few forms of its
//! own, written for Clojure, whose answers it relies on. CIDER, on
//! connecting, reads the REPL's namespace from the value of one (with
//! Emacs's `read`: with no value at all, it would ask the user to type a
//! Lisp expression), and after an evaluation fails, fills its error
//! buffer with what another prints. Calf has no `*ns*`, `clojure.core`
//! or `clojure.stacktrace`, so each of these forms is recognised here,
//! whitespace aside, and replaced by Calf code that answers what Clojure
//! would.

/// Calf code to evaluate instead of `code`, when `code` is one of the
/// forms editors send; `ns` is the namespace it is evaluated in, and
/// `last_error` how the last failed evaluation was reported.
pub fn calf_for(code: &str, ns: &str, last_error: Option<&str>) -> Option<String> {
    let form = squeeze(code);
    let string = |text: &str| calf_lang::value::print::pr_str(&calf_lang::Value::str(text));
    match form.as_str() {
        // CIDER 1.8 and later, on connecting: the REPL's first namespace.
        "(do (when (clojure.core/resolve 'clojure.main/repl-requires) \
         (clojure.core/map clojure.core/require clojure.main/repl-requires)) (str *ns*))"
        // Earlier CIDER sends the two halves apart.
        | "(str *ns*)" => Some(string(ns)),
        // Calva, on connecting, before it clones its session (it reads
        // the reply's `ns`): Clojure prints a namespace object, Calf has
        // only the name.
        "*ns*" => Some(format!("(quote {ns})")),
        "(when (clojure.core/resolve 'clojure.main/repl-requires) \
         (clojure.core/map clojure.core/require clojure.main/repl-requires))"
        // Recent CIDER's `cider-repl-init-code`, and Calva's
        // `autoEvaluateCode.onConnect.clj`, by default: the REPL
        // helpers (`doc`, `source`, ...), which Calf's core has already.
        | "(when-let [requires (resolve 'clojure.main/repl-requires)] \
         (clojure.core/apply clojure.core/require @requires))" => Some("nil".to_string()),
        // CIDER without its middleware, after an evaluation failed: the
        // error buffer shows what this prints (Calf's report of the
        // failure: message, source and stack, whose file:line:column
        // CIDER links).
        "(clojure.stacktrace/print-cause-trace *e)" => Some(match last_error {
            Some(text) => format!("(do (print {}) nil)", string(text)),
            None => "nil".to_string(),
        }),
        _ => None,
    }
}

/// `code` with each run of whitespace (commas included) made one space,
/// and none at the ends or inside brackets' edges.
fn squeeze(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut space = false;
    for c in code.chars() {
        if c.is_whitespace() || c == ',' {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !out.ends_with(['(', '[']) && !matches!(c, ')' | ']') {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciders_connecting_form_answers_the_namespace_as_a_string() {
        let sent = "(do (when (clojure.core/resolve 'clojure.main/repl-requires)\n                            (clojure.core/map clojure.core/require clojure.main/repl-requires))\n                           (str *ns*))";
        assert_eq!(calf_for(sent, "user", None).as_deref(), Some("\"user\""));
        assert_eq!(
            calf_for(" (str  *ns*)\n", "app.core", None).as_deref(),
            Some("\"app.core\"")
        );
    }

    #[test]
    fn the_repl_helpers_calva_and_cider_require_are_there_already() {
        let sent = "(when-let [requires (resolve 'clojure.main/repl-requires)]\n  (clojure.core/apply clojure.core/require @requires))";
        assert_eq!(calf_for(sent, "user", None).as_deref(), Some("nil"));
    }

    #[test]
    fn the_last_error_is_printed_for_ciders_error_buffer() {
        let form = "(clojure.stacktrace/print-cause-trace *e)";
        assert_eq!(
            calf_for(form, "user", Some("divide by zero\n")).as_deref(),
            Some("(do (print \"divide by zero\\n\") nil)")
        );
        assert_eq!(calf_for(form, "user", None).as_deref(), Some("nil"));
    }

    #[test]
    fn calvas_first_question_gets_the_namespace() {
        assert_eq!(
            calf_for("*ns*", "user", None).as_deref(),
            Some("(quote user)")
        );
    }

    #[test]
    fn other_code_is_left_alone() {
        assert_eq!(calf_for("(str *ns* 1)", "user", None), None);
        assert_eq!(calf_for("(+ 1 2)", "user", None), None);
    }
}
