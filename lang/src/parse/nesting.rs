//! A linear scan of the source for nesting, before the grammar runs.
//!
//! pest's parser recurses once per level of the grammar, so ten thousand
//! `(` would overflow the stack before any rule could refuse them. The
//! grammar only recurses through brackets and `if … then … else`
//! expressions; this scan counts both, skipping strings and comments, and
//! reports where [`crate::limits::MAX_NESTING`] is passed.
//!
//! An `if` counts as an expression when the token before it cannot end an
//! operand (`=`, `then`, `(`, an operator…): after a name, a literal, a
//! closing bracket or `{` it starts a statement, a comprehension's filter or
//! an object key, which the grammar does not nest. An `if` right after `else` continues a chain,
//! which the grammar reads as a repetition. An expression cannot reach past
//! a statement keyword of its own bracket level, so those close the
//! expression `if`s opened at that level. The count is an upper bound of the
//! grammar's nesting, never below it.

/// Where the source first nests deeper than `limit`: the byte offset of the
/// bracket or `if` that goes one level too deep.
pub(crate) fn first_too_deep(text: &str, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    // One entry per open bracket: the expression `if`s open at that level.
    let mut levels: Vec<usize> = vec![0];
    let mut depth = 0usize;
    let mut previous = Previous::Start;
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => index += 1,
            b'/' if bytes.get(index + 1) == Some(&b'/') => {
                index = line_end(bytes, index);
            }
            b'/' if bytes.get(index + 1) == Some(&b'*') => {
                index = comment_end(bytes, index + 2);
            }
            b'"' => {
                index = string_end(bytes, index);
                previous = Previous::Operand;
            }
            b'r' if bytes.get(index + 1) == Some(&b'"') => {
                index = raw_string_end(bytes, index + 2);
                previous = Previous::Operand;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(index);
                }
                levels.push(0);
                previous = if byte == b'{' {
                    Previous::BraceOpen
                } else {
                    Previous::Other
                };
                index += 1;
            }
            b')' | b']' | b'}' => {
                if levels.len() > 1 {
                    let closed = levels.pop().unwrap_or(0);
                    depth = depth.saturating_sub(closed + 1);
                }
                previous = Previous::Operand;
                index += 1;
            }
            _ if is_word_byte(byte) => {
                let start = index;
                while bytes.get(index).copied().is_some_and(is_word_byte) {
                    index += 1;
                }
                let word = text.get(start..index).unwrap_or_default();
                match word {
                    "if" if matches!(
                        previous,
                        Previous::Else | Previous::Operand | Previous::BraceOpen
                    ) =>
                    {
                        previous = Previous::Other;
                    }
                    "if" => {
                        depth += 1;
                        if depth > limit {
                            return Some(start);
                        }
                        if let Some(open) = levels.last_mut() {
                            *open += 1;
                        }
                        previous = Previous::Other;
                    }
                    "else" => previous = Previous::Else,
                    "let" | "deny" | "warn" | "for" | "param" | "match" | "policy" | "fn"
                    | "test" | "given" | "expect" => {
                        // A statement or entry starts: the expressions of this
                        // level before it have ended (`for` inside brackets is
                        // a comprehension's, whose level closes with them).
                        if let Some(open) = levels.last_mut() {
                            depth = depth.saturating_sub(*open);
                            *open = 0;
                        }
                        previous = Previous::Other;
                    }
                    "then" | "and" | "or" | "not" | "in" | "at" | "message" | "fix" => {
                        previous = Previous::Other;
                    }
                    _ => previous = Previous::Operand,
                }
            }
            _ => {
                previous = Previous::Other;
                index += 1;
            }
        }
    }
    None
}

/// What kind of token came before the current one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    Start,
    /// A name, a literal or a closing bracket: something an operand ends with.
    Operand,
    /// `else`.
    Else,
    /// `{`: a block's first statement or an object's first key follows,
    /// never an expression `if`.
    BraceOpen,
    /// An operator, an opening bracket or a keyword that needs an operand after it.
    Other,
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes
        .iter()
        .skip(from)
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |offset| from + offset)
}

fn comment_end(bytes: &[u8], from: usize) -> usize {
    let mut index = from;
    while index < bytes.len() {
        if bytes.get(index) == Some(&b'*') && bytes.get(index + 1) == Some(&b'/') {
            return index + 2;
        }
        index += 1;
    }
    bytes.len()
}

/// The end of a `"…"` or `"""…"""` string starting at `from`.
fn string_end(bytes: &[u8], from: usize) -> usize {
    if bytes.get(from..from + 3) == Some(b"\"\"\"") {
        let mut index = from + 3;
        while index < bytes.len() {
            if bytes.get(index..index + 3) == Some(b"\"\"\"") {
                return index + 3;
            }
            index += 1;
        }
        return bytes.len();
    }
    let mut index = from + 1;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'\\' => index += 2,
            b'"' | b'\n' => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// The end of a raw string whose body starts at `from`.
fn raw_string_end(bytes: &[u8], from: usize) -> usize {
    bytes
        .iter()
        .skip(from)
        .position(|&byte| byte == b'"')
        .map_or(bytes.len(), |offset| from + offset + 1)
}

#[cfg(test)]
mod tests {
    use super::first_too_deep;

    #[test]
    fn brackets_count_outside_strings_and_comments() {
        assert_eq!(first_too_deep("((()))", 3), None);
        assert_eq!(first_too_deep("(((())))", 3), Some(3));
        assert_eq!(first_too_deep("[{(\"((((\" r\"[[[[\")}]", 3), None);
        assert_eq!(first_too_deep("( // ((((\n /* [[[[ */ )", 1), None);
        assert_eq!(first_too_deep("\"\"\"\n((((\n\"\"\" (", 1), None);
    }

    #[test]
    fn expression_ifs_nest_and_chains_do_not() {
        let chain = format!(
            "let x = if a then 1 {}else 0",
            "else if a then 1 ".repeat(500)
        );
        assert_eq!(first_too_deep(&chain, 2), None);
        assert!(
            first_too_deep(
                "let x = if if if a then b else c then d else e then f else g",
                2
            )
            .is_some()
        );
        assert!(
            first_too_deep(
                "let x = if a then b else not if c then d else not if e then f else g",
                2
            )
            .is_some()
        );
    }

    #[test]
    fn statements_close_the_expressions_of_their_level() {
        let statements = "if a { deny b }\n".repeat(200);
        assert_eq!(
            first_too_deep(&format!("policy p {{ {statements} }}"), 3),
            None
        );
        let lets = "let x = if a then b else c\n".repeat(200);
        assert_eq!(first_too_deep(&format!("policy p {{ {lets} }}"), 3), None);
        let filters = "[x for x in xs if x]";
        assert_eq!(first_too_deep(filters, 1), None);
    }
}
