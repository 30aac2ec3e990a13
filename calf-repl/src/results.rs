//! `*1 *2 *3` and `*e` of a REPL: the last three results and the last
//! error, as vars of `calf.core` (so that every namespace sees them, as
//! Clojure's are in `clojure.core`), which the terminal REPL and nREPL
//! sessions set after each evaluation.

use std::sync::Arc;

use calf_lang::namespace::{Globals, CORE};
use calf_lang::{Sym, Value};
use calf_scheduler::Failure;

/// Sets `*1 *2 *3` after a result, or `*e` after an error, in `calf.core`.
pub struct Results {
    globals: Arc<Globals>,
}

impl Results {
    /// The results of evaluations compiled in `globals`, starting unset.
    pub fn new(globals: Arc<Globals>) -> Results {
        let results = Results { globals };
        results.init();
        results
    }

    fn var(&self, name: &str) -> Arc<calf_lang::namespace::Var> {
        self.globals
            .namespace(Sym::new(CORE))
            .intern(Sym::new(name))
    }

    pub fn init(&self) {
        for name in ["*1", "*2", "*3", "*e"] {
            let var = self.var(name);
            if !var.is_bound() {
                var.set(Value::Nil);
            }
        }
    }

    pub fn value(&self, value: &Value) {
        let get = |name| self.var(name).get().unwrap_or(Value::Nil);
        let (one, two) = (get("*1"), get("*2"));
        self.var("*3").set(two);
        self.var("*2").set(one);
        self.var("*1").set(value.clone());
    }

    pub fn error(&self, failure: &Failure) {
        let value = match failure {
            Failure::Thrown(thrown) => thrown.value.clone(),
            Failure::Source(error) => error.to_value("calf/syntax-error"),
        };
        self.var("*e").set(value);
    }
}
