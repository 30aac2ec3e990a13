//! Which error replies the caller retries (docs/protocol.md, "Which
//! errors are retried"). The worker's verdict (`Calf-Retryable`) decides
//! when it gives one; otherwise the code does: a decimal number from 400
//! to 499 is final, everything else may succeed on another attempt.
//!
//! A code is a decimal number when it is ASCII digits and nothing else
//! (spaces around it aside): the NATS services frameworks write the code
//! as a plain integer, and the caller's `:non-retryable` list compares
//! codes as text, so a sign or a fraction (`+400`, `400.0`) makes a word,
//! not the number 400.

/// Whether an error reply may be retried, from its `Nats-Service-Error-Code`
/// and its `Calf-Retryable` header (each `None` when absent).
pub fn is_retryable(code: Option<&str>, verdict: Option<&str>) -> bool {
    verdict
        .and_then(parse_verdict)
        .unwrap_or_else(|| default_retryable(code))
}

/// The rule without a verdict: a code that is a decimal number from 400
/// to 499 is not retryable; every other code, and no code, is.
pub fn default_retryable(code: Option<&str>) -> bool {
    !code.is_some_and(is_client_error)
}

/// A `Calf-Retryable` value: `true` or `false` in any letter case; any
/// other value counts as no verdict.
pub fn parse_verdict(value: &str) -> Option<bool> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The `Calf-Retryable` value that says `retryable`.
pub fn verdict(retryable: bool) -> &'static str {
    if retryable {
        "true"
    } else {
        "false"
    }
}

/// A code from 400 to 499, written as decimal digits only.
fn is_client_error(code: &str) -> bool {
    let code = code.trim();
    !code.is_empty()
        && code.bytes().all(|b| b.is_ascii_digit())
        && matches!(code.parse::<u64>(), Ok(400..=499))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_a_number_only_when_it_is_digits() {
        // The caller read `+400` as 400 (Rust's integer parser takes a
        // sign) and did not retry it; the worker SDK retried it.
        assert!(default_retryable(Some("+400")));
        assert!(default_retryable(Some("-400")));
        assert!(default_retryable(Some("400.0")));
        assert!(default_retryable(Some("4xx")));
        assert!(default_retryable(Some("")));
        assert!(!default_retryable(Some("0400")));
        assert!(!default_retryable(Some(" 404 ")));
        assert!(default_retryable(Some("99999999999999999999999")));
    }

    #[test]
    fn a_verdict_is_true_or_false_in_any_case() {
        assert_eq!(parse_verdict("TRUE"), Some(true));
        assert_eq!(parse_verdict(" false "), Some(false));
        assert_eq!(parse_verdict("yes"), None);
        assert_eq!(parse_verdict(""), None);
        for retryable in [true, false] {
            assert_eq!(parse_verdict(verdict(retryable)), Some(retryable));
        }
    }
}
