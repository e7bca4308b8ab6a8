//! The manifest loader: YAML (multi-document) or JSON text to
//! documents (`crate::json::Json`) that keep the line and column of every
//! node, so that a finding's JSON pointer can be shown as `file:line:column`.
//!
//! This module takes text and never touches the filesystem (it builds for
//! `wasm32-unknown-unknown`); finding and reading files is done elsewhere.
//!
//! ```
//! use rampart_engine::load::{LoadLimits, load_str, resources};
//!
//! let outcome = load_str("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n", &LoadLimits::default());
//! let mut errors = outcome.errors;
//! let objects = resources(&outcome.documents, &mut errors);
//! let pod = &objects[0];
//! let name = pod.document.positions.locate(&pod.document.value, "/metadata/name");
//! assert_eq!(name.map(|p| (p.line, p.column)), Some((4, 3)));
//! ```
//!
//! JSON needs nothing special: YAML 1.2 is a superset of JSON, so the same
//! parser reads it, with positions (columns matter on single-line JSON).

use crate::json::{Json, KeyFilter};
use serde::Serialize;

#[cfg(test)]
mod alias_tests;
mod build_failure;
mod builder;
mod json;
#[cfg(test)]
mod json_tests;
mod members;
mod positions;
mod resources;
mod scalar;
#[cfg(test)]
mod scalar_tests;
#[cfg(test)]
mod tests;

pub use crate::limits::LoadLimits;
pub use positions::{Position, PositionTree};
pub use resources::{Resource, resources};

/// One document of a file, with the positions of its nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 0-based position of the document in the file. Every YAML document
    /// counts, empty ones (a bare `---`, only comments) included, so the
    /// index matches what a user counts with `---` separators: in
    /// `a: 1\n---\n---\nb: 2`, `b: 2` has index 2. Text with no document at
    /// all (empty, or only comments) has no documents.
    pub index: usize,
    /// The document's content: `null` for an empty document.
    pub value: Json,
    /// Where each node of `value` starts in the text.
    pub positions: PositionTree,
    /// Every member name in `value` (or more: a YAML document's holds every
    /// key read in it, merge keys included), made while reading it (`None`
    /// for a document built otherwise): pass it on in
    /// [`crate::Subject::keys`].
    pub keys: Option<KeyFilter>,
}

/// A problem with the text: a syntax error, a limit exceeded, a duplicate
/// key, a document that is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    /// 0-based index of the document concerned (see [`Document::index`]),
    /// when there is one. Messages name documents 1-based ("document 2" is
    /// index 1), the way a person counts them.
    pub document: Option<usize>,
    /// Where the problem is in the text, when known.
    pub position: Option<Position>,
    /// Lowercase description, with user input in backticks.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(position) = self.position {
            write!(formatter, "{}:{}: ", position.line, position.column)?;
        }
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// What [`load_str`] produced: the documents it could load and the errors
/// it met. Both may be non-empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOutcome {
    /// Loaded documents, in file order (indexes may skip documents that
    /// failed).
    pub documents: Vec<Document>,
    /// Problems met, in file order.
    pub errors: Vec<LoadError>,
}

/// Loads every document of `text`, YAML or JSON.
///
/// - Plain scalars resolve as Kubernetes' own YAML reader resolves them
///   (YAML 1.1: see below); quoted and block scalars are strings. `.inf`
///   and `.nan` stay strings, since JSON has no such numbers. A plain
///   mapping key is named as that reader names it (`on:` is the key
///   `"true"`); a null key is an error.
/// - Anchors, aliases and merge keys (`<<`, explicit keys win) are expanded;
///   every node an alias produces is located at the alias.
/// - A duplicate key, a non-scalar key, or nesting deeper than
///   [`LoadLimits::max_depth`] is an error that drops that document; loading
///   goes on with the next one.
/// - A syntax error is reported with its position and document index; the
///   documents before it are kept but nothing after it is loaded, since the
///   parser cannot resume after a syntax error.
/// - Exceeding [`LoadLimits::max_nodes`], [`LoadLimits::max_alias_expansion`],
///   [`LoadLimits::max_alias_bytes`] or the loaded size bound
///   ([`LoadLimits::max_loaded_size`]), all counted per file, stops the file.
/// - A byte order mark, CRLF line ends and tabs (where YAML allows them:
///   not in indentation) are accepted.
///
/// Scalar resolution, as go-yaml v2 (under `kubectl`) does it: `null`,
/// `Null`, `NULL`, `~` and empty are null; `true`, `yes`, `on`, `y` and
/// `false`, `no`, `off`, `n` (lowercase, capitalized or uppercase; `y` and
/// `n` either case) are booleans; integers read as Go's `ParseInt(text, 0,
/// 64)` with `_` removed (`0x1F`, `0o17`, `0b101`, `0755` octal, `1_000`);
/// decimal floats are numbers; everything else is a string. `!!str`,
/// `!!int`, `!!float`, `!!bool` and `!!null` tags force the type; other tags
/// are ignored.
pub fn load_str(text: &str, limits: &LoadLimits) -> LoadOutcome {
    let first = text
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .as_bytes()
        .first();
    if matches!(first, Some(b'{' | b'[')) {
        let (documents, failure) = json::load(text, limits);
        match failure {
            None => {
                return LoadOutcome {
                    documents,
                    errors: Vec::new(),
                };
            }
            // Flow-style YAML (`{a: 1}`) starts like JSON: if nothing was read
            // as JSON, let the YAML reader have it (and report its errors).
            Some(failure) if failure.may_be_yaml && documents.is_empty() => {}
            Some(failure) => {
                let error = LoadError {
                    document: Some(documents.len()),
                    position: Some(failure.position),
                    message: failure.message,
                };
                return LoadOutcome {
                    documents,
                    errors: vec![error],
                };
            }
        }
    }
    builder::load(text, limits)
}

/// Reads one JSON value of `text` under `limits`; see
/// [`crate::limits::read_json_manifest`].
pub(crate) fn read_json_value(
    text: &str,
    limits: &LoadLimits,
) -> Result<Json, crate::limits::ReadJsonError> {
    json::read_one(text, limits)
}
