//! The one diagnostic type: every error the compiler reports, with a stable
//! code, a location and an optional help line. The terminal renders it with a
//! code frame; JSON, SARIF and the playground serialize it as it is.

use crate::ast::Span;
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The file does not compile.
    Error,
    /// It compiles, but something is likely wrong.
    Warning,
}

/// A line and column, both 1-based (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LineColumn {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// A problem found in a policy file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `E0201`; see docs/language.md.
    pub code: &'static str,
    /// Error or warning.
    pub level: Level,
    /// What is wrong: lowercase, user input in backticks.
    pub message: String,
    /// The file.
    pub file: String,
    /// Byte range in the file.
    #[serde(skip)]
    pub span: Span,
    /// Where it starts.
    pub start: LineColumn,
    /// Where it ends.
    pub end: LineColumn,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Maps byte offsets of one source text to lines and columns.
pub struct LineIndex<'s> {
    text: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    /// Indexes `text`.
    pub fn new(text: &'s str) -> LineIndex<'s> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(offset, _)| offset + 1));
        LineIndex { text, line_starts }
    }

    /// The line and column of a byte offset.
    pub fn locate(&self, offset: usize) -> LineColumn {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1)
            - 1;
        let line_start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |prefix| prefix.chars().count());
        LineColumn {
            line: line + 1,
            column: column + 1,
        }
    }
}

/// Collects the diagnostics of one file.
pub struct Reporter<'s> {
    file: String,
    index: LineIndex<'s>,
    /// What has been reported so far.
    pub diagnostics: Vec<Diagnostic>,
}

impl<'s> Reporter<'s> {
    /// A reporter for `file` holding `text`.
    pub fn new(file: &str, text: &'s str) -> Reporter<'s> {
        Reporter {
            file: file.to_owned(),
            index: LineIndex::new(text),
            diagnostics: Vec::new(),
        }
    }

    /// Reports an error.
    pub fn error(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Level::Error, code, span, message.into())
    }

    /// Reports a warning.
    pub fn warning(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Level::Warning, code, span, message.into())
    }

    fn push(
        &mut self,
        level: Level,
        code: &'static str,
        span: Span,
        message: String,
    ) -> &mut Diagnostic {
        let diagnostic = Diagnostic {
            code,
            level,
            message,
            file: self.file.clone(),
            span,
            start: self.index.locate(span.start),
            end: self.index.locate(span.end),
            help: None,
        };
        self.diagnostics.push(diagnostic);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// The source text of this file.
    pub fn text(&self) -> &'s str {
        self.index.text
    }

    /// The line and column of a byte offset in this file.
    pub fn locate(&self, offset: usize) -> LineColumn {
        self.index.locate(offset)
    }

    /// How many errors have been reported so far.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.level == Level::Error)
            .count()
    }

    /// Whether any error (not warning) was reported.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|diagnostic| diagnostic.level == Level::Error)
    }
}

impl Diagnostic {
    /// Adds a help line.
    pub fn with_help(&mut self, help: impl Into<String>) -> &mut Diagnostic {
        self.help = Some(help.into());
        self
    }
}
