//! Regular expressions, as `#"..."` and `re-pattern` make them.
//!
//! The `regex` crate matches with finite automata: time linear in the text
//! whatever the pattern, so a pattern from one tenant cannot stall a
//! runner by backtracking. The price is that look-around and
//! backreferences do not exist. A pattern compiles to at most
//! [`SIZE_LIMIT`] bytes, so a hostile one (`a{1000}{1000}`) is an error
//! rather than a memory blowup.

use std::sync::OnceLock;

/// The most memory one compiled pattern (and each of its lazy DFAs) may
/// take: far beyond any pattern written by hand.
pub const SIZE_LIMIT: usize = 1 << 20;

/// A compiled pattern and the text it was written as.
pub struct Regex {
    source: Box<str>,
    find: regex::Regex,
    /// The pattern anchored at both ends, for `re-matches`: a search that
    /// happens to cover the text is not the same question (`a|ab` finds
    /// `a` in `ab`, yet matches all of it). Built on first use.
    whole: OnceLock<Result<regex::Regex, String>>,
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => format!(
                "the pattern compiles to more than {limit} bytes; write a smaller one (fewer or smaller repetitions)"
            ),
            e => e.to_string(),
        })
}

impl Regex {
    /// Compiles `source`; the error says what is wrong with it.
    pub fn new(source: &str) -> Result<Regex, String> {
        Ok(Regex {
            find: compile(source)?,
            source: source.into(),
            whole: OnceLock::new(),
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The pattern, to search with.
    pub fn find(&self) -> &regex::Regex {
        &self.find
    }

    /// The pattern that must match the whole text.
    pub fn whole(&self) -> Result<&regex::Regex, &str> {
        self.whole
            .get_or_init(|| compile(&format!(r"\A(?:{})\z", self.source)))
            .as_ref()
            .map_err(String::as_str)
    }
}
