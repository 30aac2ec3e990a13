//! Calf data sent from outside (`send`'s message, `kill`'s reason): text
//! read by calf-lang's reader into one value that is never evaluated.
//!
//! The reader reads code too, and code read is data: `'x` reads as
//! `(quote x)`, `#(...)` as a `fn` form. Someone writing those expects
//! them evaluated, which a message never is, so they are refused, saying
//! why, rather than delivered as lists the receiver does not expect.

use calf_lang::Value;

/// The list heads the reader's sugar produces.
const SUGAR: [(&str, &str); 6] = [
    ("quote", "'"),
    ("syntax-quote", "`"),
    ("unquote", "~"),
    ("unquote-splicing", "~@"),
    ("deref", "@"),
    ("fn", "#(...)"),
];

/// Reads `text` (named `what` in errors) as one plain value.
pub fn read(what: &str, text: &str) -> Result<Value, String> {
    let forms = calf_lang::reader::read_data(what, text).map_err(|e| {
        let hint = e.hint.map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{what} does not read as Calf data: {}{hint}", e.message)
    })?;
    let mut forms = forms.forms.into_iter();
    let (Some(value), None) = (forms.next(), forms.next()) else {
        return Err(format!(
            "{what} must be exactly one Calf value, as `[:stop]` or `:done`"
        ));
    };
    check_plain(what, &value)?;
    Ok(value)
}

/// Refuses code: the lists the reader's sugar makes. Walks with a stack of
/// its own, as the reader bounds the nesting anyway.
fn check_plain(what: &str, value: &Value) -> Result<(), String> {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::List(items) => {
                if let Some(head) = items.iter().next().and_then(Value::as_symbol) {
                    let sugar = SUGAR
                        .iter()
                        .find(|(name, _)| head.namespace().is_none() && head.name() == *name);
                    if let Some((_, sugar)) = sugar {
                        return Err(format!(
                            "{what} is data, never evaluated: `{sugar}` (or `({head} ...)`) \
                             would arrive as a list, not what it means in code"
                        ));
                    }
                }
                pending.extend(items.iter());
            }
            Value::Vector(items) => pending.extend(items.iter()),
            Value::Set(items) => pending.extend(items.iter()),
            Value::Map(map) => {
                for (key, val) in map.iter() {
                    pending.push(key);
                    pending.push(val);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calf_lang::value::print::pr_str;

    #[test]
    fn plain_data_reads_as_itself() {
        for text in [
            "[:stop]",
            ":done",
            "{:a [1 2.5 \"s\"] :b #{sym nil true}}",
            "(1 2)",
        ] {
            let value = read("the message", text).expect("plain data");
            assert_eq!(
                read("again", &pr_str(&value)).map(|v| pr_str(&v)),
                Ok(pr_str(&value))
            );
        }
    }

    #[test]
    fn code_and_bad_text_are_refused_saying_why() {
        let refused = |text| read("the message", text).expect_err("refused");
        assert!(
            refused("'x").contains("never evaluated"),
            "{}",
            refused("'x")
        );
        assert!(refused("[#(inc %)]").contains("#(...)"));
        assert!(refused("{:a @x}").contains("`@`"));
        assert!(refused("[:open").contains("does not read"));
        assert!(refused("1 2").contains("exactly one"));
        assert!(refused("").contains("exactly one"));
    }
}
