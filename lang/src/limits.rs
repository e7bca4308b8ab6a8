//! How deeply a policy may nest, checked while parsing.
//!
//! Every stage after the parser (type checking, lowering, the formatter,
//! serializing the IR, reading it back in a host, evaluating it) walks
//! expressions and statements recursively. These limits are what makes that
//! safe on every host's stack: anything the parser accepts, every stage and
//! every host can handle, so `check` at start-up, a hot reload in the webhook
//! and a Wasm bundle never disagree about a policy. A policy past a limit is
//! error E0005 at the place where it goes too deep; nothing deeper is ever
//! built, so even dropping the syntax tree stays shallow.
//!
//! The limits are far above what policies need: the standard library nests
//! at most 5 brackets, 4 statements and 12 expression levels deep.

/// Brackets (`(`, `[`, `{`) and `if … then … else` expressions open at once,
/// counted in the source before the grammar runs (the grammar is recursive
/// only through these; an `else if` chain is flat and counts once).
pub const MAX_NESTING: usize = 64;

/// Levels of one expression's syntax tree: `a or b or c` is three levels
/// (the chain nests to the left), `f(x.y)` three, `[[1]]` three.
pub const MAX_EXPRESSION_DEPTH: u32 = 128;

/// Levels of statements: a `for` or `if` body is one level deeper than the
/// statement holding it, and each `else if` of a chain one more.
pub const MAX_STATEMENT_DEPTH: u32 = 64;

/// The error code of every nesting limit.
pub const NESTING_CODE: &str = "E0005";
