//! Tab completion at the REPL: what the word before the cursor could
//! become.
//!
//! A word is completed from what the namespace the REPL is in can name:
//! special forms, its own vars, the vars it refers, the core library, and
//! namespaces (loaded or bundled); `alias/` and `ns/` from the public vars
//! of that namespace; `:` from the keywords read so far. Locals are not
//! known here: a line is completed before it is compiled.

use crate::compiler::SPECIAL_FORMS;
use crate::namespace::{Globals, Namespace};
use crate::prelude::BUNDLED;
use crate::Sym;

/// The word before byte `pos` of `line` and its completions: the byte
/// offset where the word starts, and every name it could become, sorted.
pub fn complete(globals: &Globals, ns: Sym, line: &str, pos: usize) -> (usize, Vec<String>) {
    let start = word_start(line, pos);
    let word = &line[start..pos];
    if word.is_empty() {
        return (start, Vec::new());
    }
    let mut names = if let Some(name) = word.strip_prefix(':') {
        Sym::read_keywords()
            .into_iter()
            .filter(|keyword| keyword.starts_with(name))
            .map(|keyword| format!(":{keyword}"))
            .collect()
    } else if let Some((prefix, _)) = word.split_once('/').filter(|(p, _)| !p.is_empty()) {
        qualified(globals, ns, prefix)
    } else {
        unqualified(globals, ns)
    };
    names.retain(|name| name.starts_with(word));
    names.sort();
    names.dedup();
    (start, names)
}

/// Where the word that ends at `pos` starts: after the last bracket,
/// quote, string delimiter or space before it.
fn word_start(line: &str, pos: usize) -> usize {
    let is_delimiter = |c: char| c.is_whitespace() || "()[]{}\"',;`~@^".contains(c);
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| is_delimiter(*c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// `prefix/name` for each var `prefix` (an alias or a namespace) offers.
fn qualified(globals: &Globals, ns: Sym, prefix: &str) -> Vec<String> {
    let current = globals.namespace(ns);
    let prefix_sym = Sym::new(prefix);
    let target = current.alias(prefix_sym).unwrap_or(prefix_sym);
    let Some(target) = globals.find_namespace(target) else {
        return Vec::new();
    };
    let include_private = target.name == ns;
    public_names(&target, include_private)
        .map(|name| format!("{prefix}/{name}"))
        .collect()
}

/// Every name usable unqualified in `ns`, and every namespace's name.
fn unqualified(globals: &Globals, ns: Sym) -> Vec<String> {
    let current = globals.namespace(ns);
    let mut names: Vec<String> = SPECIAL_FORMS.iter().map(|s| s.to_string()).collect();
    names.extend(public_names(&current, true));
    names.extend(current.referred_names().iter().map(|s| s.to_string()));
    names.extend(public_names(globals.core(), false));
    names.extend(current.aliases().iter().map(|(alias, _)| alias.to_string()));
    names.extend(globals.namespace_names().iter().map(|s| s.to_string()));
    names.extend(
        BUNDLED
            .iter()
            .filter_map(|(path, _)| bundled_namespace(path)),
    );
    names
}

/// The names of the vars of `ns`, private ones only when asked.
fn public_names(ns: &Namespace, include_private: bool) -> impl Iterator<Item = String> {
    ns.vars()
        .into_iter()
        .filter(move |var| include_private || !var.is_private())
        .map(|var| var.name.local_name().to_string())
}

/// The namespace a bundled file defines: `calf/set.calf` is `calf.set`.
fn bundled_namespace(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".calf")?;
    Some(stem.replace('/', ".").replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namespace::USER;
    use crate::Value;

    fn globals() -> std::sync::Arc<Globals> {
        let globals = crate::prelude::new_globals();
        let user = globals.namespace(Sym::new(USER));
        user.intern(Sym::new("twice")).set(Value::Int(2));
        user.intern(Sym::new("twirl")).set(Value::Int(3));
        let util = globals.namespace(Sym::new("app.util"));
        util.intern(Sym::new("greet")).set(Value::Nil);
        user.add_alias(Sym::new("u"), Sym::new("app.util"));
        user.refer(Sym::new("greet"), util.intern(Sym::new("greet")));
        globals
    }

    /// Completions of the text before `|` in `marked`.
    fn completions(marked: &str) -> Vec<String> {
        let globals = globals();
        let pos = marked.find('|').expect("a cursor mark");
        let line = marked.replacen('|', "", 1);
        let (start, names) = complete(&globals, Sym::new(USER), &line, pos);
        for name in &names {
            assert!(name.starts_with(&line[start..pos]), "{name} for {marked}");
        }
        names
    }

    #[test]
    fn completes_vars_of_the_namespace_and_the_core_library() {
        assert_eq!(completions("(twi|"), ["twice", "twirl"]);
        assert_eq!(completions("(map (fn [x] (twic|"), ["twice"]);
        assert!(completions("(redu|").contains(&"reduce".to_string()));
        assert!(completions("(gre|").contains(&"greet".to_string()));
    }

    #[test]
    fn completes_special_forms_and_namespaces() {
        assert!(completions("(rec|").contains(&"receive".to_string()));
        assert!(completions("(recur|").contains(&"recur".to_string()));
        let namespaces = completions("(require 'calf.|");
        assert!(
            namespaces.contains(&"calf.core".to_string()),
            "{namespaces:?}"
        );
        assert!(
            namespaces.contains(&"calf.set".to_string()),
            "{namespaces:?}"
        );
        assert!(completions("(super|").contains(&"supervisor".to_string()));
    }

    #[test]
    fn completes_names_after_an_alias_or_a_namespace() {
        assert_eq!(completions("(u/g|"), ["u/greet"]);
        assert_eq!(completions("(app.util/|"), ["app.util/greet"]);
        assert!(completions("(string/upper|").contains(&"string/upper-case".to_string()));
        assert!(completions("(nowhere/x|").is_empty());
    }

    /// Asserts that each of `names` completes and has a doc string.
    fn offered_with_docs(names: &[&str]) {
        let globals = globals();
        for name in names {
            assert!(
                completions(&format!("({name}|")).contains(&name.to_string()),
                "{name}"
            );
            let var = globals
                .resolve(Sym::new(USER), Sym::new(name))
                .expect("bound");
            assert!(var.meta().doc.is_some_and(|d| !d.is_empty()), "{name}");
        }
    }

    #[test]
    fn offers_characters_regexes_and_sorted_collections_with_their_docs() {
        offered_with_docs(&[
            "char",
            "char?",
            "re-find",
            "re-matches",
            "re-seq",
            "re-pattern",
        ]);
        assert!(completions("(string/replace|").contains(&"string/replace-first".to_string()));
    }

    #[test]
    fn offers_polymorphism_and_dynamic_bindings_with_their_docs() {
        offered_with_docs(&[
            "defmulti",
            "defmethod",
            "prefer-method",
            "derive",
            "underive",
            "isa?",
            "ancestors",
            "make-hierarchy",
            "defprotocol",
            "extend-type",
            "extend-protocol",
            "defrecord",
            "record?",
            "reify",
            "satisfies?",
            "binding",
            "bound-fn",
            "with-out-str",
            "get-thread-bindings",
        ]);
        assert!(completions("(alter-var|").contains(&"alter-var-root".to_string()));
    }

    #[test]
    fn offers_lazy_seqs_and_transducers_with_their_docs() {
        offered_with_docs(&[
            "lazy-seq",
            "lazy-cat",
            "iterate",
            "cycle",
            "realized?",
            "doall",
            "dorun",
            "transduce",
            "sequence",
            "eduction",
            "completing",
            "ensure-reduced",
            "cat",
            "halt-when",
        ]);
    }

    #[test]
    fn completes_keywords_read_so_far() {
        crate::reader::read_str("<test>", "{:completion-test/kw 1}").expect("reads");
        assert_eq!(
            completions("(get m :completion-test/k|"),
            [":completion-test/kw"]
        );
    }

    #[test]
    fn an_empty_word_has_no_completions() {
        assert!(completions("(|").is_empty());
        assert!(completions("|").is_empty());
    }
}
