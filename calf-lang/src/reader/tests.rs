use proptest::prelude::*;

use super::*;
use crate::value::print::pr_str;

/// Reads `input` and compares the printed forms, joined by spaces.
#[track_caller]
fn check(input: &str, expected: &str) {
    let forms = match read_str("<test>", input) {
        Ok(forms) => forms,
        Err(e) => panic!("{input:?} failed: {} ({:?})", e.message, e.hint),
    };
    let printed: Vec<String> = forms.forms.iter().map(pr_str).collect();
    assert_eq!(printed.join(" "), expected, "reading {input:?}");
    assert_eq!(forms.form_spans.len(), forms.forms.len());
}

fn read_one(input: &str) -> Value {
    let mut forms = read_str("<test>", input).expect("reads").forms;
    assert_eq!(forms.len(), 1, "{input:?}");
    forms.remove(0)
}

fn line_col(span: Span) -> (usize, usize) {
    source(span.file).line_col(span.start as usize)
}

fn text_of(span: Span) -> String {
    source(span.file).text[span.start as usize..span.end as usize].to_string()
}

/// Reads `input`, expecting an error whose message contains `message`, at
/// 1-based `line` and `col`.
#[track_caller]
fn check_err(input: &str, message: &str, (line, col): (usize, usize)) -> SourceError {
    let e = match read_str("<test>", input) {
        Ok(forms) => panic!("{input:?} read as {:?}", forms.forms),
        Err(e) => e,
    };
    assert!(
        e.message.contains(message),
        "{input:?}: expected {message:?}, got {:?}",
        e.message
    );
    assert_eq!(line_col(e.span), (line, col), "{input:?}: {}", e.message);
    e
}

// ---- atoms ----------------------------------------------------------------

#[test]
fn nil_booleans_comments_commas_and_discard() {
    check("nil true false", "nil true false");
    check("1 ; a comment (\n 2 ;; another", "1 2");
    check("[1,2,,3]", "[1 2 3]");
    check("#_ 1 2", "2");
    check("[1 #_ 2 3]", "[1 3]");
    check("#_#_ 1 2 3", "3");
    check("(a #_(b c) d)", "(a d)");
    check("#_ ; comment\n x y", "y");
    check("'#_a b", "(quote b)");
    check("#!/usr/bin/env calf\n(run)", "(run)");
    check("\u{feff}(run)", "(run)");
    check("{:a #_ 1 2}", "{:a 2}");
    check("", "");
    check("  ;; only a comment", "");
    check("nil? truthy false-ish", "nil? truthy false-ish");
}

#[test]
fn integers() {
    check("42 -7 +3 0 -0 0x1f -0xFF", "42 -7 3 0 0 31 -255");
    check(
        "9223372036854775807 -9223372036854775808",
        "9223372036854775807 -9223372036854775808",
    );
    assert!(matches!(read_one("42"), Value::Int(42)));
    let e = check_err(
        "(+ 1 9223372036854775808)",
        "does not fit in 64 bits",
        (1, 6),
    );
    assert!(e.hint.unwrap().contains("9223372036854775807"));
    assert_eq!(e.span.len(), 19);
    assert!(!e.incomplete);
    check_err("-9223372036854775809", "does not fit in 64 bits", (1, 1));
    check_err("99999999999999999999999999", "does not fit", (1, 1));
    check_err("x 007", "leading zeros", (1, 3));
}

#[test]
fn floats() {
    check(
        "1.5 -2e3 1e10 1. 2.5E-3 +0.5 1e-7",
        "1.5 -2000.0 10000000000.0 1.0 0.0025 0.5 1e-7",
    );
    assert!(matches!(read_one("1e10"), Value::Float(x) if x == 1e10));
    check("##Inf ##-Inf ##NaN", "##Inf ##-Inf ##NaN");
    check("[##Inf]", "[##Inf]");
    check_err("1e999", "out of range", (1, 1));
    check_err("##Infinity", "unknown symbolic value `##Infinity`", (1, 1));
    check_err("##", "unknown symbolic value", (1, 1));
}

#[test]
fn leading_dot_is_not_a_number() {
    let e = check_err("(f .5)", "`.5` is not a number", (1, 4));
    assert!(e.hint.unwrap().contains("0.5"));
    check_err("-.5", "is not a number", (1, 1));
    // Other symbols starting with a dot are fine.
    check(".method ..", ".method ..");
}

#[test]
fn invalid_numbers() {
    for (input, hint) in [
        ("1/2", "ratios"),
        ("12N", "big integers"),
        ("1.5M", "big decimals"),
        ("2r101", "radix"),
        ("1abc", "cannot start with a digit"),
        ("1.2.3", "numbers look like"),
    ] {
        let e = check_err(input, "invalid number", (1, 1));
        assert!(e.hint.unwrap().contains(hint), "{input}");
    }
}

#[test]
fn strings() {
    assert_eq!(
        read_one(r#""a\nb\t\r\"q\"\\ \u00e9 \uD83D\uDE00 plain ü""#),
        Value::str("a\nb\t\r\"q\"\\ é 😀 plain ü")
    );
    check(r#""""#, r#""""#);
    check("\"two\nlines\"", r#""two\nlines""#);
    check(r#"("a" "b")"#, r#"("a" "b")"#);
}

#[test]
fn string_errors() {
    let e = check_err(r#""ab\qc""#, "unknown escape `\\q` in string", (1, 4));
    assert_eq!(e.span.len(), 2);
    assert!(!e.incomplete);
    check_err("\"a\\\nb\"", "unknown escape", (1, 3));
    check_err(r#""\u12""#, "four hex digits", (1, 2));
    check_err(r#""\u12xy""#, "four hex digits", (1, 2));
    check_err(r#""x\uD83D""#, "surrogate", (1, 3));
    check_err(r#""x\uDE00""#, "surrogate", (1, 3));
    check_err(r#""x\uD83D\u0041""#, "surrogate", (1, 3));
    let e = check_err("(f \"abc", "unterminated string", (1, 4));
    assert!(e.incomplete);
    let e = check_err("\"abc\\", "unterminated string", (1, 1));
    assert!(e.incomplete);
    let e = check_err("\"multi\nline", "unterminated string", (1, 1));
    assert!(e.incomplete);
}

#[test]
fn character_literals() {
    check(
        r"\a \( \; \é \newline \space \tab \return \backspace \formfeed",
        r"\a \( \; \é \newline \space \tab \return \backspace \formfeed",
    );
    check(r"\u0041 \o101 \u00e9 \o0 \u0000", r"\A \A \é \u0000 \u0000");
    check(r"(str \a\b) [\x]", r"(str \a \b) [\x]");
    check(r"\u \o", r"\u \o");
    assert!(matches!(read_one(r"\n"), Value::Char('n')));
    check_err(r"(str \ab)", "unknown character literal `\\ab`", (1, 6));
    check_err(r"\u12", "four hex digits", (1, 1));
    check_err(r"\ud800", "surrogate", (1, 1));
    check_err(r"\o400", "octal", (1, 1));
    let e = check_err("\\", "must be followed by a character", (1, 1));
    assert!(e.incomplete);
}

#[test]
fn regex_literals_keep_their_escapes() {
    check(
        r##"#"a+" #"\d+\.\s" #"a\"b" #"\\""##,
        r##"#"a+" #"\d+\.\s" #"a\"b" #"\\""##,
    );
    check(r##"[#"x"#"y"]"##, r##"[#"x" #"y"]"##);
    let Value::Regex(r) = &read_one(r##"#"\d""##) else {
        panic!("not a regex")
    };
    assert_eq!(r.source(), r"\d");
    check_err(r##"(f #"a(")"##, "invalid regular expression", (1, 4));
    check_err(r##"#"(?=a)""##, "look-around", (1, 1));
    let e = check_err(r##"#"a{1000}{1000}""##, "more than", (1, 1));
    assert!(e.message.contains("smaller"));
    let e = check_err(r##"#"abc"##, "unterminated regular expression", (1, 1));
    assert!(e.incomplete);
}

#[test]
fn symbols() {
    let all = "foo ns/foo + - ->> a.b/c foo? x# % %1 %& / clojure.core// a'b *ns* <=> héllo";
    check(all, all);
    assert_eq!(read_one("ns/foo"), Value::symbol("ns/foo"));
    assert!(matches!(read_one("foo"), Value::Symbol(s) if s == crate::value::Sym::new("foo")));
    check("foo@bar", "foo (deref bar)");
    check("a~b", "a (unquote b)");
    for bad in ["foo/", "/foo", "a/b/c", "a:", "a::b", "ns/1x"] {
        check_err(bad, "invalid symbol", (1, 1));
    }
}

#[test]
fn keywords() {
    check(":a :ns/a :a.b/c-d? :1 :nil", ":a :ns/a :a.b/c-d? :1 :nil");
    assert_eq!(read_one(":ns/a"), Value::keyword("ns/a"));
    // Auto-resolved keywords keep their `:` for the compiler.
    assert_eq!(read_one("::a"), Value::keyword(":a"));
    assert_eq!(read_one("::str/a"), Value::keyword(":str/a"));
    let e = check_err("[:::a]", "invalid keyword", (1, 2));
    assert!(e.hint.unwrap().contains("::alias/name"));
    check_err("::", "invalid keyword", (1, 1));
    check_err("::a/", "invalid keyword", (1, 1));
    check_err(": x", "`:` must be followed by a keyword name", (1, 1));
    check_err(":a/", "invalid keyword", (1, 1));
}

// ---- collections ----------------------------------------------------------

#[test]
fn collections() {
    check("() [] {} #{}", "() [] {} #{}");
    check("(1 [2 {:a #{3}}])", "(1 [2 {:a #{3}}])");
    check("{:a 1}", "{:a 1}");
    check("( a\n\tb )", "(a b)");
    assert_eq!(
        read_one("{:a 1, :b [2]}"),
        Value::map([
            (Value::keyword("a"), Value::Int(1)),
            (Value::keyword("b"), Value::vector([Value::Int(2)])),
        ])
    );
    assert_eq!(
        read_one("#{1 :x}"),
        Value::set([Value::Int(1), Value::keyword("x")])
    );
    assert!(matches!(read_one("[1]"), Value::Vector(_)));
    assert!(matches!(read_one("(1)"), Value::List(_)));
}

#[test]
fn map_and_set_errors() {
    let e = check_err(
        "[0\n {:a 1 :b}]",
        "map literal must contain an even number of forms",
        (2, 2),
    );
    assert_eq!(text_of(e.span), "{:a 1 :b}");
    assert!(!e.incomplete);
    let e = check_err("{:a 1 :a 2}", "duplicate key `:a` in map literal", (1, 7));
    assert_eq!(e.span.len(), 2);
    check_err("{[1] 1 (1) 2}", "duplicate key `(1)`", (1, 8));
    check_err("#{1 2 1}", "duplicate item `1` in set literal", (1, 7));
}

#[test]
fn quote_family() {
    check(
        "'x `x ~x ~@x @x",
        "(quote x) (syntax-quote x) (unquote x) (unquote-splicing x) (deref x)",
    );
    check("'(a 'b)", "(quote (a (quote b)))");
    check("' x", "(quote x)");
    check("''x", "(quote (quote x))");
    check(
        "`(a ~b ~@c)",
        "(syntax-quote (a (unquote b) (unquote-splicing c)))",
    );
    check("@@a", "(deref (deref a))");
    check("#'f #'ns/g", "(var f) (var ns/g)");
    check("'[1 2]", "(quote [1 2])");
}

#[test]
fn metadata_on_a_definition_name_becomes_its_attribute_map() {
    check("(def ^:private x 1)", "(def x {:private true} 1)");
    check(
        "(defn ^:private ^String f \"doc\" [^long n] n)",
        "(defn f \"doc\" {:tag String, :private true} [n] n)",
    );
    check("(defn ^{:a 1} f {:b 2} [] 0)", "(defn f {:a 1, :b 2} [] 0)");
    // No room for an attribute map: the metadata is dropped.
    check("(def ^:dynamic x)", "(def x)");
    check("(foo ^:k x)", "(foo x)");
}

#[test]
fn anonymous_functions() {
    check("#(+ % 1)", "(fn [%1] (+ %1 1))");
    check("#(f %2)", "(fn [%1 %2] (f %2))");
    check("#(%1 %)", "(fn [%1] (%1 %1))");
    check("#(apply f % %&)", "(fn [%1 & %&] (apply f %1 %&))");
    check("#(g %&)", "(fn [& %&] (g %&))");
    check("#(foo)", "(fn [] (foo))");
    check("#()", "(fn [] ())");
    check("#(f [%] {:k %3})", "(fn [%1 %2 %3] (f [%1] {:k %3}))");
    check("#(f '%)", "(fn [%1] (f (quote %1)))");
    check("#(f %) %", "(fn [%1] (f %1)) %");
    check(
        "#(f %20)",
        &format!(
            "(fn [{}] (f %20))",
            (1..=20)
                .map(|i| format!("%{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    let e = check_err("#(f #(g %))", "nested `#()` are not allowed", (1, 5));
    assert!(e.hint.unwrap().contains("(fn"));
    check_err("#(f %x)", "invalid parameter `%x`", (1, 5));
    check_err("#(f %0)", "invalid parameter `%0`", (1, 5));
    check_err("#(f %01)", "invalid parameter", (1, 5));
    check_err("#(f %21)", "at most 20 parameters", (1, 5));
    check_err("#(f %99999999999999999999999)", "invalid parameter", (1, 5));
}

#[test]
fn unsupported_dispatch_and_metadata() {
    let e = check_err("(def ^1 x 2)", "metadata must be a map", (1, 7));
    assert!(e.hint.is_some());
    check_err("(def ^:private", "`^` must be followed by a form", (1, 6));
    check_err("#?(:clj 1)", "reader conditionals", (1, 1));
    check_err("#:a{:b 1}", "namespaced maps", (1, 1));
    check_err("[#inst \"2020\"]", "tagged literals like `#inst`", (1, 2));
    check_err("#", "`#` must be followed by", (1, 1));
    check_err("# x", "`#` must be followed by", (1, 1));
}

// ---- brackets -------------------------------------------------------------

#[test]
fn unclosed_brackets_are_incomplete() {
    let e = check_err("(1 2", "unclosed `(` opened here", (1, 1));
    assert!(e.incomplete);
    assert_eq!(e.span.len(), 1);
    let e = check_err("(def x\n  [1 (2", "unclosed `(` opened here", (2, 6));
    assert!(e.incomplete);
    let e = check_err("x #{1", "unclosed `#{` opened here", (1, 3));
    assert!(e.incomplete && e.span.len() == 2);
    check_err("{:a", "unclosed `{`", (1, 1));
    check_err("#(f", "unclosed `#(`", (1, 1));
    let e = check_err("(f '", "`'` must be followed by a form", (1, 4));
    assert!(e.incomplete);
    let e = check_err("#_", "`#_` must be followed by a form to discard", (1, 1));
    assert!(e.incomplete);
    check_err("~@", "`~@` must be followed by a form", (1, 1));
}

#[test]
fn stray_and_mismatched_closers() {
    let e = check_err("(a) b)", "unexpected `)`", (1, 6));
    assert!(!e.incomplete && e.hint.is_some());
    check_err("]", "unexpected `]`", (1, 1));
    let e = check_err(
        "(]",
        "mismatched `]`: the `(` opened at line 1, column 1",
        (1, 2),
    );
    assert!(!e.incomplete);
    assert!(e.hint.unwrap().contains("close the `(` with `)`"));
    check_err(
        "[\n  #{1)",
        "mismatched `)`: the `#{` opened at line 2, column 3",
        (2, 6),
    );
    let e = check_err("(f ')", "`'` must be followed by a form", (1, 4));
    assert!(!e.incomplete);
    check_err("[#_]", "`#_` must be followed by a form to discard", (1, 2));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let e = check_err(
        &"(".repeat(100_000),
        "nested too deeply",
        (1, MAX_DEPTH + 1),
    );
    assert!(!e.incomplete);
    check_err(
        &("'".repeat(100_000) + "x"),
        "nested too deeply",
        (1, MAX_DEPTH + 1),
    );
    check_err(
        &"#_".repeat(100_000),
        "nested too deeply",
        (1, 2 * MAX_DEPTH + 1),
    );
    check_err(
        &"[".repeat(100_000),
        "nested too deeply",
        (1, MAX_DEPTH + 1),
    );
    let deepest = "(".repeat(MAX_DEPTH) + &")".repeat(MAX_DEPTH);
    let forms = read_str("<test>", &deepest).unwrap();
    assert_eq!(forms.forms.len(), 1);
    // Closed forms do not count against the limit.
    let wide = "(())".repeat(100_000);
    assert_eq!(read_str("<test>", &wide).unwrap().forms.len(), 100_000);
}

// ---- spans ----------------------------------------------------------------

#[test]
fn spans_of_collections_and_items() {
    let forms = read_str("<test>", "(a\n  [b \"c\"]) :k\n{:x 1}").unwrap();
    let list = &forms.forms[0];
    assert_eq!(forms.form_spans.len(), 3);
    assert_eq!(text_of(forms.form_spans[0]), "(a\n  [b \"c\"])");
    assert_eq!(text_of(forms.form_spans[1]), ":k");
    assert_eq!(line_col(forms.form_spans[2]), (3, 1));
    let spans = forms.spans.get(list).unwrap();
    assert_eq!(spans.span, forms.form_spans[0]);
    assert_eq!(spans.items.len(), 2);
    assert_eq!(line_col(spans.items[0]), (1, 2));
    assert_eq!(text_of(spans.items[1]), "[b \"c\"]");
    let vector = &list.as_seq().unwrap()[1];
    assert_eq!(forms.spans.span_of(vector), Some(spans.items[1]));
    assert_eq!(line_col(spans.items[1]), (2, 3));
    let c = forms.spans.item_span(vector, 1).unwrap();
    assert_eq!(text_of(c), "\"c\"");
    assert_eq!(line_col(c), (2, 6));
    let map = forms.spans.get(&forms.forms[2]).unwrap();
    assert_eq!(text_of(map.span), "{:x 1}");
    assert!(map.items.is_empty());
}

#[test]
fn spans_use_character_columns() {
    let forms = read_str("<test>", "(\"héllo\" wörld [x])").unwrap();
    let spans = forms.spans.get(&forms.forms[0]).unwrap();
    assert_eq!(line_col(spans.items[1]), (1, 10));
    assert_eq!(line_col(spans.items[2]), (1, 16));
    check_err("(\"é\" é)]", "unexpected `]`", (1, 8));
}

#[test]
fn spans_of_sugar() {
    let forms = read_str("<test>", "  'x").unwrap();
    let quote = &forms.forms[0];
    let spans = forms.spans.get(quote).unwrap();
    assert_eq!(text_of(spans.span), "'x");
    assert_eq!(forms.form_spans[0], spans.span);
    assert_eq!(text_of(spans.items[0]), "'");
    assert_eq!(text_of(spans.items[1]), "x");

    let forms = read_str("<test>", "~@(f)").unwrap();
    let spans = forms.spans.get(&forms.forms[0]).unwrap();
    assert_eq!(text_of(spans.span), "~@(f)");
    assert_eq!(text_of(spans.items[0]), "~@");
    let inner = &forms.forms[0].as_seq().unwrap()[1];
    assert_eq!(text_of(forms.spans.span_of(inner).unwrap()), "(f)");

    let forms = read_str("<test>", "#(f %2)").unwrap();
    let f = &forms.forms[0];
    let spans = forms.spans.get(f).unwrap();
    assert_eq!(text_of(spans.span), "#(f %2)");
    assert_eq!(text_of(spans.items[0]), "#(");
    assert_eq!(text_of(spans.items[2]), "(f %2)");
    let items = f.as_seq().unwrap();
    let params = forms.spans.get(&items[1]).unwrap();
    assert_eq!(text_of(params.span), "#(");
    assert_eq!(text_of(params.items[0]), "#(");
    assert_eq!(text_of(params.items[1]), "%2");
    let body = forms.spans.get(&items[2]).unwrap();
    assert_eq!(body.span, spans.items[2]);
    assert_eq!(text_of(body.items[1]), "%2");

    // `#_` leaves no top-level form behind.
    let forms = read_str("<test>", "#_a b").unwrap();
    assert_eq!(forms.form_spans.len(), 1);
    assert_eq!(text_of(forms.form_spans[0]), "b");
}

#[test]
fn read_file_reads_a_registered_source() {
    let file = crate::span::add_source("lib.calf", "(ns lib)\n(def x 1)");
    let forms = read_file(file).unwrap();
    assert_eq!(forms.forms.len(), 2);
    assert_eq!(forms.form_spans[1].file, file);
    assert_eq!(forms.form_spans[1].location(), "lib.calf:2:1");
}

#[test]
fn a_megabyte_reads_quickly() {
    let chunk = "(defn f [x y] {:a [1 2.5 \"str\\n\"] :b #{:k 'q} :c #(+ % x)}) ; c\n";
    let text = chunk.repeat(1_000_000 / chunk.len());
    let started = std::time::Instant::now();
    let forms = read_str("<big>", &text).unwrap();
    assert_eq!(forms.forms.len(), 1_000_000 / chunk.len());
    // Generous, to stay reliable on slow unoptimized builds.
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

// ---- properties -------------------------------------------------------------

fn never_panics(text: &str) {
    if let Err(e) = read_str("<prop>", text) {
        assert!(e.span.end as usize <= text.len());
        assert!(e.span.start <= e.span.end);
        assert!(text.is_char_boundary(e.span.start as usize));
        assert!(text.is_char_boundary(e.span.end as usize));
        assert!(!e.message.is_empty());
    }
}

/// `.5`, `+.0`: rejected by the reader as malformed numbers.
fn looks_like_fraction(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    unsigned.starts_with('.') && unsigned[1..].starts_with(|c: char| c.is_ascii_digit())
}

fn symbol_name() -> impl Strategy<Value = String> {
    let name = "[a-zA-Z*+!?<>=_-][a-zA-Z0-9*+!?<>=_.#'-]{0,6}".prop_filter("not a symbol", |s| {
        !matches!(s.as_str(), "nil" | "true" | "false")
            && !super::number::starts_number(s)
            && !s.ends_with(':')
            && !looks_like_fraction(s)
    });
    (proptest::option::of(name.clone()), name).prop_map(|(ns, name)| match ns {
        Some(ns) if !name.starts_with(|c: char| c.is_ascii_digit()) => format!("{ns}/{name}"),
        _ => name,
    })
}

fn form() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |x| !x.is_nan())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::str),
        symbol_name().prop_map(|s| Value::symbol(&s)),
        symbol_name().prop_map(|s| Value::keyword(&s)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::list),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::vector),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::set),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::map),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        never_panics(&text);
    }

    #[test]
    fn random_syntax_never_panics(
        text in r#"([()\[\]{}#_'`~@^\\"%&:;/.,+\-0-9eExuND a-z\n]|\\u|##|é){0,40}"#
    ) {
        never_panics(&text);
    }

    #[test]
    fn printed_forms_read_back_equal(value in form()) {
        let printed = pr_str(&value);
        let forms = read_str("<prop>", &printed)
            .map_err(|e| TestCaseError::fail(format!("{printed}: {}", e.message)))?;
        prop_assert_eq!(forms.forms.len(), 1);
        prop_assert_eq!(&forms.forms[0], &value, "{}", printed);
        prop_assert_eq!(forms.form_spans[0].len(), printed.len());
    }
}

#[test]
fn pids_read_as_they_print() {
    check("#pid<12> [#pid<3.12>]", "#pid<12> [#pid<3.12>]");
    assert_eq!(
        read_one("#pid<3.12>"),
        Value::Pid(crate::value::Pid::on_node(3, 12))
    );
    check_err("[#pid<3.>]", "is not a pid", (1, 2));
    check_err("#pid<1048576.1>", "is not a pid", (1, 1));
    check_err("#pid<12", "closing `>`", (1, 1));
    let long = format!("#pid<{}>", "1".repeat(40));
    check_err(&long, "closing `>`", (1, 1));
}
