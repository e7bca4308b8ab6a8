//! Every limit on what loading a manifest may build, in one place, so that
//! the command line, the bundle and the webhook refuse the same input with
//! the same error.
//!
//! The limits bound the work and memory one input can cost: nesting depth
//! (the readers keep a stack per level), nodes (each is some 32 bytes of
//! value and 12 of position), and what YAML aliases copy (a short file can
//! name a large node many times: counted in nodes and in bytes of scalar
//! text, and the whole loaded value is held to a size relative to the
//! input). [`LoadLimits::default`] is made of these constants; every host
//! uses it.
//!
//! JSON bodies (the bundle's input, an AdmissionReview) are read with
//! [`read_json_manifest`] and [`read_json_envelope`], which apply the same
//! depth and node limits as the manifest loader, instead of a JSON library's
//! own recursion limit.

use crate::json::Json;
use crate::load::Position;

/// Most nested sequences and mappings (arrays and objects) around any node
/// of a document, the root container counting as one: 256 nested levels
/// load, 257 do not. Far beyond any Kubernetes object (a pod spec is some 10
/// levels deep), low enough that no reader's stack is at risk.
pub const MAX_DEPTH: usize = 256;

/// Most nodes (scalars, sequences, mappings; keys are not counted) per
/// file, aliases expanded.
pub const MAX_NODES: usize = 5_000_000;

/// Most nodes that YAML aliases may produce, per file (an alias to a
/// mapping of ten members produces eleven).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Most bytes of scalar text (string values and keys) that YAML aliases may
/// copy, per file. Counted apart from nodes because one node can hold a long
/// string: 20,000 aliases to one 10 KB string are few nodes but 200 MB.
pub const MAX_ALIAS_BYTES: usize = 4 << 20;

/// How many times the size of its input the loaded value of a file may be,
/// plus [`EXPANSION_ALLOWANCE`]. Its size is its scalar text plus
/// [`NODE_SIZE`] bytes per node. Input without aliases stays below this
/// bound whatever it holds: a node takes at least two bytes of input
/// (`0,`), and escapes make scalar text at most 1.5 times its source (`\L`
/// is three bytes); what is left is room for aliases. The copies the YAML
/// loader keeps of anchored nodes (for their aliases) are held to the same
/// bound on their own: anchors nested in anchors copy the same text once
/// per level.
pub const MAX_EXPANSION: usize = 32;

/// The size every loaded file may have on top of [`MAX_EXPANSION`] times its
/// input, so that a short file can still use aliases.
pub const EXPANSION_ALLOWANCE: usize = 1 << 20;

/// What a node counts for in the loaded size (about what a value takes in
/// memory, without its text).
pub const NODE_SIZE: usize = 32;

/// Levels that an envelope adds around the manifest it carries: an
/// AdmissionReview holds its object at `request.object`, a Kubewarden
/// ValidationRequest at `request.object` too. [`read_json_envelope`] allows
/// these levels on top of [`MAX_DEPTH`], so that a manifest judged through a
/// webhook may nest exactly as deep as one read from a file.
pub const ENVELOPE_DEPTH: usize = 2;

/// Bounds on what one file may make the loader build, so that hostile input
/// (deep nesting, alias bombs) is refused in bounded time and memory. The
/// default is made of this module's constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Most nodes per file, after alias expansion ([`MAX_NODES`]).
    pub max_nodes: usize,
    /// Most nested sequences and mappings in a document ([`MAX_DEPTH`]).
    pub max_depth: usize,
    /// Most nodes produced by alias expansion, per file
    /// ([`MAX_ALIAS_NODES`]).
    pub max_alias_expansion: usize,
    /// Most bytes of scalar text copied by alias expansion, per file
    /// ([`MAX_ALIAS_BYTES`]).
    pub max_alias_bytes: usize,
    /// Most times its input's size the loaded value may be, plus
    /// `expansion_allowance` ([`MAX_EXPANSION`]).
    pub max_expansion: usize,
    /// Loaded size allowed on top of `max_expansion` times the input
    /// ([`EXPANSION_ALLOWANCE`]).
    pub expansion_allowance: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_nodes: MAX_NODES,
            max_depth: MAX_DEPTH,
            max_alias_expansion: MAX_ALIAS_NODES,
            max_alias_bytes: MAX_ALIAS_BYTES,
            max_expansion: MAX_EXPANSION,
            expansion_allowance: EXPANSION_ALLOWANCE,
        }
    }
}

impl LoadLimits {
    /// The largest loaded size (scalar text plus [`NODE_SIZE`] per node)
    /// allowed for an input of `input_len` bytes.
    pub fn max_loaded_size(&self, input_len: usize) -> usize {
        input_len
            .saturating_mul(self.max_expansion)
            .saturating_add(self.expansion_allowance)
    }
}

/// Why [`read_json_manifest`] or [`read_json_envelope`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadJsonError {
    /// The bytes are not UTF-8.
    NotUtf8(NotUtf8),
    /// Nothing but whitespace.
    Empty,
    /// Not JSON, or a duplicate key; the message says which.
    Invalid {
        /// Where.
        position: Position,
        /// What, lowercase.
        message: String,
    },
    /// A limit of [`LoadLimits`] was exceeded; the message names it.
    Limit {
        /// Where.
        position: Position,
        /// What, lowercase.
        message: String,
    },
    /// More than one JSON value.
    TrailingValue {
        /// Where the second value starts.
        position: Position,
    },
}

impl std::fmt::Display for ReadJsonError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadJsonError::NotUtf8(error) => error.fmt(formatter),
            ReadJsonError::Empty => formatter.write_str("no JSON value: the input is empty"),
            ReadJsonError::Invalid { position, message }
            | ReadJsonError::Limit { position, message } => write!(
                formatter,
                "{message} at line {}, column {}",
                position.line, position.column
            ),
            ReadJsonError::TrailingValue { position } => write!(
                formatter,
                "more than one JSON value: another starts at line {}, column {}",
                position.line, position.column
            ),
        }
    }
}

impl std::error::Error for ReadJsonError {}

/// Text that is not UTF-8: where its first bad byte is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8 {
    /// 0-based offset of the first byte that is not part of valid UTF-8.
    pub offset: usize,
    /// The byte at that offset.
    pub byte: u8,
    /// Its line (1-based) and column (1-based, in characters, as
    /// [`Position`] counts).
    pub position: Position,
}

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "not UTF-8 text: byte 0x{:02x} at line {}, column {} (byte offset {}) is not valid UTF-8",
            self.byte, self.position.line, self.position.column, self.offset
        )
    }
}

impl std::error::Error for NotUtf8 {}

/// The bytes as text, or where the first byte that is not UTF-8 is.
pub fn utf8_text(bytes: &[u8]) -> Result<&str, NotUtf8> {
    std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        // Everything before the bad byte is valid: count lines and
        // characters in it.
        let valid = bytes
            .get(..offset)
            .and_then(|prefix| std::str::from_utf8(prefix).ok())
            .unwrap_or_default();
        let line_start = valid.rfind('\n').map_or(0, |newline| newline + 1);
        let line = valid.bytes().filter(|&byte| byte == b'\n').count() + 1;
        let mut column = valid.get(line_start..).unwrap_or_default().chars().count() + 1;
        // A byte order mark at the start of the text is not a column.
        if line == 1 && valid.starts_with('\u{FEFF}') {
            column -= 1;
        }
        NotUtf8 {
            offset,
            byte: bytes.get(offset).copied().unwrap_or_default(),
            position: Position {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            },
        }
    })
}

/// Reads one JSON value (a manifest, a `kind: List`) under `limits`: the
/// nesting depth and node limits the manifest loader applies to a file, a
/// duplicate key refused as the loader refuses it. What the bundle's guest
/// reads its input with, so that it refuses exactly what the command line
/// refuses.
pub fn read_json_manifest(bytes: &[u8], limits: &LoadLimits) -> Result<Json, ReadJsonError> {
    let text = utf8_text(bytes).map_err(ReadJsonError::NotUtf8)?;
    crate::load::read_json_value(text, limits)
}

/// Reads one JSON envelope (an AdmissionReview, a Kubewarden
/// ValidationRequest) under `limits`, allowing [`ENVELOPE_DEPTH`] more
/// levels: the manifest it carries at `request.object` may then nest as deep
/// as [`read_json_manifest`] allows, and no deeper.
pub fn read_json_envelope(bytes: &[u8], limits: &LoadLimits) -> Result<Json, ReadJsonError> {
    let enveloped = LoadLimits {
        max_depth: limits.max_depth.saturating_add(ENVELOPE_DEPTH),
        ..*limits
    };
    read_json_manifest(bytes, &enveloped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadLimits as Reexported, load_str};

    /// `levels` nested arrays around `0`, as JSON.
    fn nested_json(levels: usize) -> String {
        format!("{}0{}", "[".repeat(levels), "]".repeat(levels))
    }

    /// `levels` nested block mappings, as YAML.
    fn nested_yaml(levels: usize) -> String {
        (0..levels)
            .map(|level| format!("{:width$}k:\n", "", width = level * 2))
            .collect::<String>()
            + &format!("{:width$}v: 0\n", "", width = levels * 2)
    }

    #[test]
    fn the_default_limits_are_the_constants() {
        let limits = Reexported::default();
        assert_eq!(limits.max_depth, MAX_DEPTH);
        assert_eq!(limits.max_nodes, MAX_NODES);
        assert_eq!(limits.max_alias_expansion, MAX_ALIAS_NODES);
        assert_eq!(limits.max_alias_bytes, MAX_ALIAS_BYTES);
        assert_eq!(
            limits.max_loaded_size(100),
            100 * MAX_EXPANSION + EXPANSION_ALLOWANCE
        );
    }

    #[test]
    fn every_reader_allows_exactly_max_depth_levels() {
        let limits = LoadLimits::default();
        let at_limit = nested_json(MAX_DEPTH);
        let past_limit = nested_json(MAX_DEPTH + 1);
        // The JSON fast path of the loader.
        assert!(load_str(&at_limit, &limits).errors.is_empty());
        let errors = load_str(&past_limit, &limits).errors;
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "nesting deeper than 256 levels, the limit"
        );
        // The YAML builder (block mappings: flow nesting stops earlier in
        // the YAML scanner).
        assert!(
            load_str(&nested_yaml(MAX_DEPTH - 1), &limits)
                .errors
                .is_empty()
        );
        let errors = load_str(&nested_yaml(MAX_DEPTH), &limits).errors;
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "nesting deeper than 256 levels, the limit"
        );
        // The JSON body reader.
        assert!(read_json_manifest(at_limit.as_bytes(), &limits).is_ok());
        let error = read_json_manifest(past_limit.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            error.to_string(),
            "nesting deeper than 256 levels, the limit at line 1, column 257"
        );
        assert!(matches!(error, ReadJsonError::Limit { .. }));
    }

    #[test]
    fn an_envelope_adds_its_own_levels() {
        let limits = LoadLimits::default();
        let review = |levels: usize| {
            format!(
                r#"{{"kind": "AdmissionReview", "request": {{"object": {}}}}}"#,
                nested_json(levels)
            )
        };
        assert!(read_json_envelope(review(MAX_DEPTH).as_bytes(), &limits).is_ok());
        assert!(read_json_envelope(review(MAX_DEPTH + 1).as_bytes(), &limits).is_err());
        assert!(read_json_manifest(review(MAX_DEPTH).as_bytes(), &limits).is_err());
    }

    #[test]
    fn the_json_reader_reads_one_value_and_refuses_the_rest() {
        let limits = LoadLimits::default();
        let value = read_json_manifest(b"\xEF\xBB\xBF {\"a\": [1, \"x\", null]}\n", &limits);
        assert_eq!(value.unwrap().to_string(), r#"{"a":[1,"x",null]}"#);
        assert_eq!(
            read_json_manifest(b"  \n", &limits),
            Err(ReadJsonError::Empty)
        );
        assert_eq!(
            read_json_manifest(b"{}\n{}", &limits)
                .unwrap_err()
                .to_string(),
            "more than one JSON value: another starts at line 2, column 1"
        );
        assert_eq!(
            read_json_manifest(b"{\"a\": 1, \"a\": 2}", &limits)
                .unwrap_err()
                .to_string(),
            "duplicate key `a` at line 1, column 10"
        );
        assert!(matches!(
            read_json_manifest(b"{\"a\": yes}", &limits),
            Err(ReadJsonError::Invalid { .. })
        ));
        let few_nodes = LoadLimits {
            max_nodes: 3,
            ..LoadLimits::default()
        };
        assert!(read_json_manifest(b"[1, 2]", &few_nodes).is_ok());
        assert!(matches!(
            read_json_manifest(b"[1, 2, 3]", &few_nodes),
            Err(ReadJsonError::Limit { .. })
        ));
    }

    #[test]
    fn not_utf8_names_line_column_and_offset() {
        let error = utf8_text(b"a: 1\nb: \"\xC3\xA9\xFF\"\n").unwrap_err();
        assert_eq!(error.offset, 11);
        assert_eq!(error.byte, 0xFF);
        assert_eq!(error.position, Position { line: 2, column: 6 });
        assert_eq!(
            error.to_string(),
            "not UTF-8 text: byte 0xff at line 2, column 6 (byte offset 11) is not valid UTF-8"
        );
        // A truncated sequence at the very end.
        let error = utf8_text(b"\xEF\xBB\xBFab\xC3").unwrap_err();
        assert_eq!((error.offset, error.byte), (5, 0xC3));
        assert_eq!(error.position, Position { line: 1, column: 3 });
        assert_eq!(
            read_json_manifest(b"[\"\x80\"]", &LoadLimits::default())
                .unwrap_err()
                .to_string(),
            "not UTF-8 text: byte 0x80 at line 1, column 3 (byte offset 2) is not valid UTF-8"
        );
    }
}
