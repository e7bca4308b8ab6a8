//! The canonical layout of `.rampart` files, as `rampart fmt` writes it.
//!
//! - two spaces of indentation per open brace, bracket or parenthesis (a
//!   line that opens several only indents the next line by one level);
//! - continuation lines of a statement (`at`, `message`, `fix` after a rule,
//!   `and ...` after a long condition) one level deeper than the statement;
//! - trailing whitespace removed, at most one blank line anywhere, exactly
//!   one blank line between top-level items, one line break at the end;
//! - a single space around `== != < <= > >= ?? + * % = += ->` and where the
//!   source had any whitespace; `-` and `/` keep their spacing, because they
//!   also occur inside policy ids and kind names;
//! - comments and strings byte for byte.
//!
//! The formatter works on its own token stream (see `lexer`) rather than on
//! pest's tree, because the grammar drops comments; the parser is still run
//! first so that a file with a syntax error is refused, not mangled.

mod lexer;

use crate::ast::Span;
use crate::diagnostic::{Diagnostic, Level, LineColumn, Reporter};
use lexer::{Token, TokenKind};

const INDENT: &str = "  ";

/// Operators that always get one space on each side.
const SPACED_OPERATORS: [&str; 13] = [
    "==", "!=", "<=", ">=", "<", ">", "??", "+=", "=", "->", "+", "*", "%",
];

/// Binary operators that, at the start of a line inside brackets, continue
/// the line before (`-` is left out: it may be a negative element).
const CONTINUING_OPERATORS: [&str; 15] = [
    "and", "or", "in", "not", "==", "!=", "<=", ">=", "<", ">", "??", "+", "*", "/", "%",
];

/// Words that begin a statement, a policy entry, a test entry or an item:
/// a line in a block that starts with anything else continues the line before.
const STATEMENT_STARTS: [&str; 21] = [
    "let",
    "for",
    "if",
    "else",
    "deny",
    "warn",
    "policy",
    "fn",
    "test",
    "title",
    "severity",
    "controls",
    "remediation",
    "since",
    "until",
    "overrides",
    "param",
    "match",
    "given",
    "expect",
    "version",
];

/// Formats one policy file. A file that does not parse is refused with its
/// first syntax error (its `file` is empty: the caller knows the name).
///
/// ```
/// let formatted = rampart_lang::format::format("policy a.b {\nseverity   low\n    match pods\n}\n").unwrap();
/// assert_eq!(formatted, "policy a.b {\n  severity low\n  match pods\n}\n");
/// ```
pub fn format(source: &str) -> Result<String, Box<Diagnostic>> {
    check_syntax(source)?;
    let Some(tokens) = lexer::tokenize(source) else {
        return Err(internal_error("the file could not be split into tokens"));
    };
    let formatted = layout(&split_lines(tokens));
    // A formatter bug must never turn a working file into a broken one.
    if check_syntax(&formatted).is_err() {
        return Err(internal_error(
            "formatting would break the file; it is left as it is",
        ));
    }
    Ok(formatted)
}

fn check_syntax(source: &str) -> Result<(), Box<Diagnostic>> {
    let mut reporter = Reporter::new("", source);
    let _ = crate::parse::parse(source, &mut reporter);
    match reporter
        .diagnostics
        .into_iter()
        .find(|diagnostic| diagnostic.level == Level::Error)
    {
        Some(diagnostic) => Err(Box::new(diagnostic)),
        None => Ok(()),
    }
}

fn internal_error(message: &str) -> Box<Diagnostic> {
    let start = LineColumn { line: 1, column: 1 };
    Box::new(Diagnostic {
        code: "E0001",
        level: Level::Error,
        message: message.to_owned(),
        file: String::new(),
        span: Span { start: 0, end: 0 },
        start,
        end: start,
        help: None,
    })
}

/// One output line: its tokens, and whether a blank line precedes it.
struct Line<'source> {
    tokens: Vec<Token<'source>>,
    blank_before: bool,
}

impl<'source> Line<'source> {
    fn first_code(&self) -> Option<&Token<'source>> {
        self.tokens.iter().find(|token| !token.is_comment())
    }
}

fn is_opener(token: &Token<'_>) -> bool {
    token.is("{") || token.is("[") || token.is("(")
}

fn is_closer(token: &Token<'_>) -> bool {
    token.is("}") || token.is("]") || token.is(")")
}

/// Groups tokens into lines as the source has them, except that a top-level
/// item always starts on a line of its own after one blank line.
fn split_lines(tokens: Vec<Token<'_>>) -> Vec<Line<'_>> {
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut depth = 0usize;
    let mut item_ended = false;
    for token in tokens {
        let trailing_comment = token.kind == TokenKind::LineComment && token.newlines_before == 0;
        let new_line = token.newlines_before > 0 || (item_ended && !trailing_comment);
        if is_opener(&token) {
            depth += 1;
        }
        let closes_item = token.is("}") && depth == 1;
        if is_closer(&token) {
            depth = depth.saturating_sub(1);
        }
        match lines.last_mut() {
            Some(line) if !new_line => line.tokens.push(token),
            previous => {
                let blank_before = previous.is_some() && (token.newlines_before >= 2 || item_ended);
                lines.push(Line {
                    tokens: vec![token],
                    blank_before,
                });
                item_ended = false;
            }
        }
        if closes_item {
            item_ended = true;
        }
    }
    lines
}

/// An open brace, bracket or parenthesis.
struct Open {
    /// The indentation level of the line it is on.
    line_level: usize,
    /// Whether it holds statements (a policy, test, function, `for` or `if`
    /// body) rather than an expression's members or elements.
    block: bool,
    /// Whether a code line has been laid out inside it yet.
    has_lines: bool,
}

/// The layout state while lines are written.
struct Layout<'tokens, 'source> {
    stack: Vec<Open>,
    top_level_has_lines: bool,
    /// The last two code tokens, most recent first: they tell a block's `{`
    /// from an object's.
    recent: [Option<&'tokens Token<'source>>; 2],
}

impl<'tokens, 'source> Layout<'tokens, 'source> {
    /// The level of a line whose first code token is `first`. A comment line
    /// is laid out for the code line after it, but never at a closer's level.
    fn level(&self, first: &Token<'_>, comment_line: bool) -> usize {
        if is_closer(first) {
            let closer_level = self.stack.last().map_or(0, |open| open.line_level);
            if !comment_line {
                return closer_level;
            }
        }
        let (base, has_lines) = match self.stack.last() {
            None => (0, self.top_level_has_lines),
            Some(open) if open.block => (open.line_level + 1, open.has_lines),
            // Inside brackets, elements and clauses line up; only a line that
            // starts with a binary operator continues the one before it.
            Some(open) => {
                let continues = open.has_lines
                    && CONTINUING_OPERATORS
                        .iter()
                        .any(|operator| first.is(operator));
                return open.line_level + 1 + usize::from(continues);
            }
        };
        let starts_statement = STATEMENT_STARTS.iter().any(|start| first.is(start))
            || first.kind == TokenKind::LineComment
            || (comment_line && is_closer(first));
        if has_lines && !starts_statement {
            base + 1
        } else {
            base
        }
    }

    /// Updates the bracket stack with the code tokens of one line laid out at `level`.
    fn advance(&mut self, line: &'tokens Line<'source>, level: usize) {
        match self.stack.last_mut() {
            Some(open) => open.has_lines = true,
            None => self.top_level_has_lines = true,
        }
        for token in line.tokens.iter().filter(|token| !token.is_comment()) {
            if is_opener(token) {
                let block = token.is("{") && self.opens_block();
                self.stack.push(Open {
                    line_level: level,
                    block,
                    has_lines: false,
                });
            } else if is_closer(token) {
                self.stack.pop();
                if self.stack.is_empty() {
                    self.top_level_has_lines = false;
                }
            }
            self.recent = [Some(token), self.recent[0]];
        }
    }

    /// Whether a `{` after the recent tokens opens a block: it follows a
    /// policy id, a test name, a `for`/`if` head, `else` or a function head;
    /// an object follows an operator, `:`, `,`, an opener, `given [Kind]` or `labels`.
    fn opens_block(&self) -> bool {
        let [Some(previous), before] = self.recent else {
            return false;
        };
        let after_given = before.is_some_and(|token| token.is("given"));
        match previous.kind {
            TokenKind::Word => {
                !["given", "labels", "then", "in", "and", "or", "not"]
                    .iter()
                    .any(|word| previous.is(word))
                    && !after_given
            }
            TokenKind::String | TokenKind::Number => true,
            TokenKind::Punctuation => previous.is(")") || previous.is("]") || previous.is("}"),
            TokenKind::LineComment | TokenKind::BlockComment => false,
        }
    }
}

fn layout(lines: &[Line<'_>]) -> String {
    let mut state = Layout {
        stack: Vec::new(),
        top_level_has_lines: false,
        recent: [None, None],
    };
    let mut output = String::new();
    for (index, line) in lines.iter().enumerate() {
        let level = match line.first_code() {
            Some(first) => state.level(first, false),
            None => match lines.iter().skip(index + 1).find_map(Line::first_code) {
                Some(next) => state.level(next, true),
                None => state.stack.last().map_or(0, |open| open.line_level + 1),
            },
        };
        if line.blank_before {
            output.push('\n');
        }
        for _ in 0..level {
            output.push_str(INDENT);
        }
        write_tokens(&line.tokens, &mut output);
        output.push('\n');
        if line.first_code().is_some() {
            state.advance(line, level);
        }
    }
    output
}

/// Writes one line's tokens with canonical spacing between them.
fn write_tokens(tokens: &[Token<'_>], output: &mut String) {
    let mut previous: Option<&Token<'_>> = None;
    for token in tokens {
        if let Some(previous) = previous {
            let spaced =
                |token: &Token<'_>| SPACED_OPERATORS.iter().any(|operator| token.is(operator));
            if token.kind == TokenKind::LineComment
                || token.space_before
                || spaced(token)
                || spaced(previous)
            {
                output.push(' ');
            }
        }
        output.push_str(token.text);
        previous = Some(token);
    }
}
