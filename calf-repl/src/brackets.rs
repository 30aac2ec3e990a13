//! Which bracket matches the one at the cursor, for highlighting it while a
//! line is typed.
//!
//! Brackets inside strings and comments are not code, so they are skipped,
//! and `(]` is no pair: a line is scanned the way the reader would.

/// The byte offset of the bracket that pairs with the one under the cursor
/// at byte `pos`, or else with the one just before it; `None` when neither
/// is a bracket with a partner on this line.
pub fn matching_bracket(line: &str, pos: usize) -> Option<usize> {
    let pairs = pairs(line);
    let partner = |at: usize| {
        pairs.iter().find_map(|&(open, close)| match at {
            _ if at == open => Some(close),
            _ if at == close => Some(open),
            _ => None,
        })
    };
    partner(pos).or_else(|| pos.checked_sub(1).and_then(partner))
}

/// Every pair of matching brackets of `line` that is code, as (open,
/// close) byte offsets.
fn pairs(line: &str) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut open: Vec<(usize, u8)> = Vec::new();
    let mut in_string = false;
    let mut bytes = line.bytes().enumerate();
    while let Some((i, b)) = bytes.next() {
        if in_string {
            match b {
                b'\\' => {
                    bytes.next();
                }
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b';' => break,
            b'(' | b'[' | b'{' => open.push((i, b)),
            b')' | b']' | b'}' => match open.pop() {
                Some((start, opener)) if closer_of(opener) == b => pairs.push((start, i)),
                // A stray or mismatched closer pairs with nothing, and the
                // brackets around it cannot be trusted either.
                _ => open.clear(),
            },
            _ => {}
        }
    }
    pairs
}

fn closer_of(opener: u8) -> u8 {
    match opener {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

#[cfg(test)]
mod tests {
    use super::matching_bracket;

    /// The partner of the bracket at or before `cursor` (marked `|` in
    /// `line`), shown as its offset in the line without the mark.
    fn check(marked: &str, expected: Option<usize>) {
        let cursor = marked.find('|').expect("a cursor mark");
        let line = marked.replacen('|', "", 1);
        assert_eq!(matching_bracket(&line, cursor), expected, "{marked}");
    }

    #[test]
    fn finds_the_partner_of_the_bracket_at_or_before_the_cursor() {
        check("(+ 1 (* 2 3))|", Some(0));
        check("(+ 1 (* 2 3)|)", Some(0));
        check("(+ 1 (* 2 3)| )", Some(5));
        check("|(+ 1 (* 2 3))", Some(12));
        check("(let [x 1]| x)", Some(5));
        check("{:a #{1}}|", Some(0));
        check("(+ 1| 2)", None);
        check("(+ 1 2|", None);
    }

    #[test]
    fn brackets_in_strings_and_comments_are_not_code() {
        check("(str \")\" x)|", Some(0));
        check("(str \"\\\")\" x)|", Some(0));
        check("(f x) ; (g)|", None);
        check("(f x)| ; (", Some(0));
    }

    #[test]
    fn mismatched_brackets_pair_with_nothing() {
        check("(f x]|", None);
        check("[1 (2]|", None);
    }
}
