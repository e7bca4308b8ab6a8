//! A small lexer for the formatter. Unlike the pest grammar it keeps
//! comments as tokens, and it records the whitespace before every token, so
//! that the formatter can rebuild lines without ever looking inside a string
//! or a comment.

/// What a token is, as far as layout is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// An identifier or keyword (`policy`, `c`, `securityContext`, `v1`).
    Word,
    /// An integer or a float.
    Number,
    /// A quoted, raw or triple-quoted string, kept byte for byte.
    String,
    /// `// ...` or `/// ...` up to the end of its line (trailing whitespace cut).
    LineComment,
    /// `/* ... */`, kept byte for byte (it may span lines).
    BlockComment,
    /// Operators and punctuation: one character, or `== != <= >= ?? += ->`.
    Punctuation,
}

/// One token with the whitespace that preceded it.
#[derive(Clone, Debug)]
pub(super) struct Token<'source> {
    /// Its kind.
    pub(super) kind: TokenKind,
    /// Its exact text.
    pub(super) text: &'source str,
    /// How many line breaks the whitespace before it held.
    pub(super) newlines_before: usize,
    /// Whether any whitespace preceded it (on its line or before it).
    pub(super) space_before: bool,
}

impl Token<'_> {
    /// Whether the token is a comment of either kind.
    pub(super) fn is_comment(&self) -> bool {
        matches!(self.kind, TokenKind::LineComment | TokenKind::BlockComment)
    }

    /// Whether the token is this punctuation or word.
    pub(super) fn is(&self, text: &str) -> bool {
        !self.is_comment() && self.kind != TokenKind::String && self.text == text
    }
}

const TWO_CHARACTER_OPERATORS: [&str; 7] = ["==", "!=", "<=", ">=", "??", "+=", "->"];

/// Splits `source` into tokens; `None` for text that cannot be tokenized (an
/// unterminated string or comment), which the parser reports better.
pub(super) fn tokenize(source: &str) -> Option<Vec<Token<'_>>> {
    let mut tokens = Vec::new();
    let mut offset = 0;
    let mut newlines = 0;
    let mut space = false;
    while let Some(character) = source.get(offset..).and_then(|rest| rest.chars().next()) {
        if character.is_whitespace() || character == '\u{FEFF}' {
            if character == '\n' {
                newlines += 1;
            }
            space = true;
            offset += character.len_utf8();
            continue;
        }
        let rest = source.get(offset..)?;
        let (kind, length) = if rest.starts_with("//") {
            let line_length = rest.find('\n').unwrap_or(rest.len());
            (
                TokenKind::LineComment,
                rest.get(..line_length)?.trim_end().len(),
            )
        } else if rest.starts_with("/*") {
            (TokenKind::BlockComment, rest.get(2..)?.find("*/")? + 4)
        } else if rest.starts_with("\"\"\"") {
            (TokenKind::String, rest.get(3..)?.find("\"\"\"")? + 6)
        } else if rest.starts_with('"') {
            (TokenKind::String, quoted_length(rest.as_bytes())?)
        } else if rest.starts_with("r\"") {
            (TokenKind::String, rest.get(2..)?.find('"')? + 3)
        } else if character.is_ascii_alphabetic() || character == '_' || character == '$' {
            let length = rest
                .bytes()
                .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_' || *byte == b'$')
                .count();
            (TokenKind::Word, length)
        } else if character.is_ascii_digit() {
            (TokenKind::Number, number_length(rest.as_bytes()))
        } else if TWO_CHARACTER_OPERATORS
            .iter()
            .any(|operator| rest.starts_with(operator))
        {
            (TokenKind::Punctuation, 2)
        } else {
            (TokenKind::Punctuation, character.len_utf8())
        };
        let text = source.get(offset..offset + length)?;
        tokens.push(Token {
            kind,
            text,
            newlines_before: newlines,
            space_before: space,
        });
        offset += length;
        // A line comment stops before its line break (and trailing blanks),
        // which the whitespace scan above then counts.
        newlines = 0;
        space = false;
    }
    Some(tokens)
}

/// The length of a `"..."` string at the start of `bytes`, escapes skipped.
fn quoted_length(bytes: &[u8]) -> Option<usize> {
    let mut index = 1;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'\\' => index += 2,
            b'"' => return Some(index + 1),
            b'\n' => return None,
            _ => index += 1,
        }
    }
    None
}

/// The length of `12` or `1.5` at the start of `bytes`; `1.` followed by a
/// non-digit is the integer `1` (then a field step, as in a version `v1.30`
/// split into `v1` `.` `30`).
fn number_length(bytes: &[u8]) -> usize {
    let digits = |from: usize| {
        bytes
            .iter()
            .skip(from)
            .take_while(|byte| byte.is_ascii_digit())
            .count()
    };
    let whole = digits(0);
    let fraction_follows =
        bytes.get(whole) == Some(&b'.') && bytes.get(whole + 1).is_some_and(u8::is_ascii_digit);
    if fraction_follows {
        whole + 1 + digits(whole + 1)
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn comments_and_strings_are_single_tokens() {
        let tokens =
            tokenize("a /* b \n c */ \"x // y\" // tail  \n r\"\\d\" \"\"\"t\n\"\"\"").unwrap();
        let texts: Vec<&str> = tokens.iter().map(|token| token.text).collect();
        assert_eq!(
            texts,
            [
                "a",
                "/* b \n c */",
                "\"x // y\"",
                "// tail",
                "r\"\\d\"",
                "\"\"\"t\n\"\"\""
            ]
        );
        assert_eq!(tokens[4].newlines_before, 1);
    }

    #[test]
    fn operators_and_numbers() {
        let tokens = tokenize("x>=1.5??-2 v1.30 a+=b").unwrap();
        let texts: Vec<&str> = tokens.iter().map(|token| token.text).collect();
        assert_eq!(
            texts,
            [
                "x", ">=", "1.5", "??", "-", "2", "v1", ".", "30", "a", "+=", "b"
            ]
        );
    }

    #[test]
    fn unterminated_text_is_refused() {
        assert!(tokenize("\"abc").is_none());
        assert!(tokenize("/* abc").is_none());
    }
}
