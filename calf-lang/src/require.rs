//! Requiring namespaces: what a require spec says, which file holds a
//! namespace, and making a loaded namespace's vars visible where it was
//! required.
//!
//! Finding and reading that file is I/O, so it is the host's job: `require`
//! (and an `ns` form's `:require` clause, which compiles to a call of it)
//! returns [`crate::vm::Effect::Require`]; the host loads what is missing,
//! then calls [`refer`] for each lib and resumes the process. This module is
//! the pure part on both sides of that.

use crate::error::RuntimeError;
use crate::namespace::{Globals, CORE};
use crate::value::print::pr_str;
use crate::value::{Sym, Value};

/// The `:type` of a require spec that makes no sense.
pub const BAD_SPEC: &str = "calf/illegal-argument";
/// The `:type` of a `:refer` of a name the namespace does not define, or
/// keeps private.
pub const REFER_ERROR: &str = "calf/refer-error";

/// One lib of a require: `app.util` or `[app.util :as u :refer [f g]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LibSpec {
    pub ns: Sym,
    pub alias: Option<Sym>,
    pub refer: Refer,
}

/// Which vars of a required namespace become usable without a prefix.
#[derive(Clone, Debug, PartialEq)]
pub enum Refer {
    Nothing,
    Names(Vec<Sym>),
    /// `:refer :all`: every public var.
    All,
}

/// The arguments of one `require`: its libs, and whether `:reload` asks to
/// load them again even if they are loaded already.
#[derive(Clone, Debug, PartialEq)]
pub struct Require {
    pub libs: Vec<LibSpec>,
    pub reload: bool,
}

/// Parses the (evaluated) arguments of `require`: symbols, vectors
/// `[ns :as alias :refer [names...]]`, and the flag `:reload`.
pub fn parse_require(args: &[Value]) -> Result<Require, RuntimeError> {
    let mut libs = Vec::new();
    let mut reload = false;
    for arg in args {
        match arg {
            Value::Keyword(k) if k.name() == "reload" || k.name() == "reload-all" => reload = true,
            _ => libs
                .push(parse_libspec(arg).map_err(|message| RuntimeError::new(BAD_SPEC, message))?),
        }
    }
    Ok(Require { libs, reload })
}

/// Parses one lib: a symbol, or a vector of a symbol and options.
pub fn parse_libspec(spec: &Value) -> Result<LibSpec, String> {
    let usage = "a lib is a symbol or a vector like [app.util :as u :refer [f g]]";
    let (ns, options) = match spec {
        Value::Symbol(ns) => (*ns, &[][..]),
        Value::Vector(items) => match items.front() {
            Some(Value::Symbol(ns)) => {
                let rest: Vec<Value> = items.iter().skip(1).cloned().collect();
                return parse_options(*ns, &rest, spec);
            }
            _ => return Err(format!("bad lib {}: {usage}", pr_str(spec))),
        },
        _ => return Err(format!("bad lib {}: {usage}", pr_str(spec))),
    };
    parse_options(ns, options, spec)
}

fn parse_options(ns: Sym, options: &[Value], spec: &Value) -> Result<LibSpec, String> {
    if ns.namespace().is_some() {
        return Err(format!(
            "bad lib {}: a namespace name has no `/`",
            pr_str(spec)
        ));
    }
    let mut lib = LibSpec {
        ns,
        alias: None,
        refer: Refer::Nothing,
    };
    if !options.len().is_multiple_of(2) {
        return Err(format!(
            "bad lib {}: options come in pairs, like :as u or :refer [f g]",
            pr_str(spec)
        ));
    }
    for pair in options.chunks(2) {
        match (&pair[0], &pair[1]) {
            (Value::Keyword(k), Value::Symbol(alias))
                if k.name() == "as" && alias.namespace().is_none() =>
            {
                lib.alias = Some(*alias)
            }
            (Value::Keyword(k), Value::Keyword(all)) if k.name() == "refer" && all.name() == "all" => {
                lib.refer = Refer::All
            }
            (Value::Keyword(k), Value::Vector(names)) if k.name() == "refer" => {
                let mut syms = Vec::new();
                for name in names.iter() {
                    match name {
                        Value::Symbol(s) if s.namespace().is_none() => syms.push(*s),
                        other => {
                            return Err(format!(
                                "bad lib {}: :refer takes plain names, not {}",
                                pr_str(spec),
                                pr_str(other)
                            ))
                        }
                    }
                }
                lib.refer = Refer::Names(syms);
            }
            (key, _) => {
                return Err(format!(
                    "bad lib {}: unknown option {} (Calf knows :as name, :refer [names] and :refer :all)",
                    pr_str(spec),
                    pr_str(key)
                ))
            }
        }
    }
    Ok(lib)
}

/// The file that holds namespace `ns`, relative to a directory of the load
/// path: dots become directory separators and dashes underscores, as in
/// Clojure: `app.http-util` is `app/http_util.calf`.
pub fn source_path(ns: Sym) -> String {
    format!("{}.calf", ns.name().replace('.', "/").replace('-', "_"))
}

/// Makes the loaded namespace of `lib` usable from namespace `current`:
/// its alias, and the vars it refers.
pub fn refer(globals: &Globals, current: Sym, lib: &LibSpec) -> Result<(), RuntimeError> {
    let here = globals.namespace(current);
    let Some(there) = globals.find_namespace(lib.ns) else {
        return Err(RuntimeError::new(
            "calf/namespace-not-found",
            format!("namespace {} is not loaded", lib.ns),
        )
        .with("namespace", Value::Symbol(lib.ns)));
    };
    if let Some(alias) = lib.alias {
        here.add_alias(alias, lib.ns);
    }
    match &lib.refer {
        Refer::Nothing => {}
        Refer::All => {
            for var in there.vars() {
                if !var.is_private() {
                    here.refer(Sym::new(var.name.local_name()), var);
                }
            }
        }
        Refer::Names(names) => {
            for name in names {
                let refer_error = |message: String| {
                    RuntimeError::new(REFER_ERROR, message)
                        .with("namespace", Value::Symbol(lib.ns))
                        .with("name", Value::Symbol(*name))
                };
                let Some(var) = there.lookup(*name) else {
                    return Err(refer_error(format!(
                        "{name} is not defined in namespace {}, so it cannot be referred",
                        lib.ns
                    )));
                };
                if var.is_private() && lib.ns.name() != CORE && lib.ns != current {
                    return Err(refer_error(format!(
                        "{} is private to namespace {}, so it cannot be referred",
                        var.name, lib.ns
                    )));
                }
                here.refer(*name, var);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader;

    fn read(text: &str) -> Value {
        reader::read_str("<test>", text)
            .expect("readable")
            .forms
            .remove(0)
    }

    fn check(text: &str, expect: Result<LibSpec, &str>) {
        match (parse_libspec(&read(text)), expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
            (got, want) => panic!("{text}: got {got:?}, expected {want:?}"),
        }
    }

    fn lib(ns: &str, alias: Option<&str>, refer: Refer) -> LibSpec {
        LibSpec {
            ns: Sym::new(ns),
            alias: alias.map(Sym::new),
            refer,
        }
    }

    #[test]
    fn libspecs() {
        check("app.util", Ok(lib("app.util", None, Refer::Nothing)));
        check("[app.util]", Ok(lib("app.util", None, Refer::Nothing)));
        check(
            "[app.util :as u]",
            Ok(lib("app.util", Some("u"), Refer::Nothing)),
        );
        check(
            "[app.util :refer [f g] :as u]",
            Ok(lib(
                "app.util",
                Some("u"),
                Refer::Names(vec![Sym::new("f"), Sym::new("g")]),
            )),
        );
        check(
            "[app.util :refer :all]",
            Ok(lib("app.util", None, Refer::All)),
        );
        check("[app.util :as]", Err("options come in pairs"));
        check("[app.util :rename {f g}]", Err("unknown option :rename"));
        check("[app.util :refer [a/b]]", Err(":refer takes plain names"));
        check("[:app]", Err("bad lib [:app]"));
        check("\"app\"", Err("bad lib \"app\""));
        check("app/util", Err("no `/`"));
    }

    #[test]
    fn require_arguments_and_flags() {
        let parsed =
            parse_require(&[read("app.a"), read("[app.b :as b]"), read(":reload")]).expect("valid");
        assert!(parsed.reload);
        assert_eq!(parsed.libs.len(), 2);
        let error = parse_require(&[Value::Int(1)]).expect_err("invalid");
        assert_eq!(error.kind, BAD_SPEC);
    }

    #[test]
    fn source_paths_follow_clojure() {
        assert_eq!(source_path(Sym::new("app.util")), "app/util.calf");
        assert_eq!(source_path(Sym::new("app.http-util")), "app/http_util.calf");
        assert_eq!(source_path(Sym::new("single")), "single.calf");
    }
}
