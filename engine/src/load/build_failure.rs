//! What stops the YAML builder ([`super::builder`]): its failures, and the
//! per-file counters checked against the [`LoadLimits`].

use saphyr_parser::Marker;

use super::{LoadLimits, Position};

/// Converts saphyr's marker (1-based line, 0-based column) to a [`Position`].
pub(super) fn position_of(marker: Marker) -> Position {
    Position {
        line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
        column: u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
    }
}

/// Why building stopped.
pub(super) struct Failure {
    pub(super) position: Position,
    pub(super) message: String,
    /// A per-file limit was exceeded: the rest of the file is not loaded.
    pub(super) whole_file: bool,
}

impl Failure {
    pub(super) fn document(position: Position, message: String) -> Self {
        Self {
            position,
            message,
            whole_file: false,
        }
    }

    pub(super) fn file(position: Position, message: String) -> Self {
        Self {
            position,
            message,
            whole_file: true,
        }
    }
}

/// Per-file counters checked against the limits.
pub(super) struct Budget<'limits> {
    pub(super) limits: &'limits LoadLimits,
    pub(super) nodes: usize,
    pub(super) alias_nodes: usize,
    /// Bytes of scalar text (string values and keys, copies by aliases
    /// included) built so far.
    pub(super) text_bytes: usize,
    /// The part of `text_bytes` that aliases copied.
    pub(super) alias_bytes: usize,
    /// [`LoadLimits::max_loaded_size`] for this file.
    pub(super) max_loaded_size: usize,
}

impl<'limits> Budget<'limits> {
    /// The counters of a file of `input_len` bytes.
    pub(super) fn new(limits: &'limits LoadLimits, input_len: usize) -> Self {
        Self {
            limits,
            nodes: 0,
            alias_nodes: 0,
            text_bytes: 0,
            alias_bytes: 0,
            max_loaded_size: limits.max_loaded_size(input_len),
        }
    }

    pub(super) fn count_nodes(&mut self, count: usize, position: Position) -> Result<(), Failure> {
        self.nodes = self.nodes.saturating_add(count);
        if self.nodes > self.limits.max_nodes {
            let limit = self.limits.max_nodes;
            let message = format!("the file has more than {limit} nodes, the limit");
            return Err(Failure::file(position, message));
        }
        Ok(())
    }

    /// Counts the scalar text read from the file itself (not copied by an
    /// alias). Text read is at most one and a half times its source, so
    /// this alone cannot exceed the loaded size bound: only aliases are
    /// checked against it.
    #[inline]
    pub(super) fn count_text(&mut self, bytes: usize) {
        self.text_bytes = self.text_bytes.saturating_add(bytes);
    }

    /// Counts the nodes and the scalar text an alias is about to produce,
    /// before they are copied, so that an alias bomb is refused without
    /// being expanded: one of many nodes, or of few nodes with long text.
    pub(super) fn count_alias(
        &mut self,
        nodes: usize,
        bytes: usize,
        position: Position,
    ) -> Result<(), Failure> {
        self.alias_nodes = self.alias_nodes.saturating_add(nodes);
        if self.alias_nodes > self.limits.max_alias_expansion {
            let limit = self.limits.max_alias_expansion;
            let message =
                format!("aliases expand to more than {limit} nodes, the limit (an alias bomb?)");
            return Err(Failure::file(position, message));
        }
        self.alias_bytes = self.alias_bytes.saturating_add(bytes);
        if self.alias_bytes > self.limits.max_alias_bytes {
            let limit = self.limits.max_alias_bytes;
            let message = format!(
                "aliases expand to more than {limit} bytes of text, the limit (an alias bomb?)"
            );
            return Err(Failure::file(position, message));
        }
        self.count_text(bytes);
        self.count_nodes(nodes, position)?;
        let loaded_size = self
            .nodes
            .saturating_mul(crate::limits::NODE_SIZE)
            .saturating_add(self.text_bytes);
        if loaded_size > self.max_loaded_size {
            let limit = self.max_loaded_size;
            let message = format!(
                "aliases expand the file to more than {limit} bytes, {} times its size and {} more, the limit (an alias bomb?)",
                self.limits.max_expansion, self.limits.expansion_allowance
            );
            return Err(Failure::file(position, message));
        }
        Ok(())
    }
}

pub(super) fn anchor_copies_failure(position: Position, limit: usize) -> Failure {
    Failure::file(
        position,
        format!(
            "anchored nodes nest so that their copies pass {limit} bytes, the file's loaded size limit (anchors in anchors copy the same text once per level)"
        ),
    )
}

pub(super) fn depth_failure(position: Position, max_depth: usize) -> Failure {
    Failure::document(
        position,
        format!("nesting deeper than {max_depth} levels, the limit"),
    )
}

pub(super) fn duplicate_failure(position: Position, key: &str) -> Failure {
    Failure::document(position, format!("duplicate key `{key}`"))
}

pub(super) fn merge_failure(position: Position) -> Failure {
    Failure::document(
        position,
        "the value of merge key `<<` must be a mapping or a list of mappings".to_owned(),
    )
}

/// An event sequence saphyr should never produce; reported rather than
/// panicking.
pub(super) fn internal_failure(position: Position) -> Failure {
    Failure::document(
        position,
        "internal error: unexpected yaml event order".to_owned(),
    )
}
