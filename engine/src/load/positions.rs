//! Source positions of a loaded document, kept beside (not inside) the
//! `Json` tree so that the value stays a plain value.

use crate::finding::{pointer_index, unescape_pointer_token};
use crate::json::Json;
use serde::Serialize;

/// A place in the source text: 1-based line and 1-based column.
///
/// Columns count characters (Unicode scalar values), not bytes, so a
/// multi-byte character before a node moves its column by one. A byte order
/// mark at the start of the text is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number, starting at 1.
    pub column: u32,
}

/// One node of a [`PositionTree`].
///
/// Nodes are stored depth-first (pre-order), so the children of a node follow
/// it directly and `subtree_len` is enough to skip from one child to the next:
/// no per-node child vector, no keys (the value tree has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    /// For an object member, where its key starts (what a user wants
    /// highlighted); for an array element or the document root, where the
    /// value starts.
    pub(super) position: Position,
    /// Number of slots in this node's subtree, this slot included.
    pub(super) subtree_len: u32,
}

impl Slot {
    /// The slot of a node without children (yet).
    pub(super) fn leaf(position: Position) -> Self {
        Self {
            position,
            subtree_len: 1,
        }
    }
}

/// The positions of every node of one document, parallel to its value tree.
///
/// It is a flat arena of 12 bytes per node in depth-first order whose
/// children follow the order of the value's arrays and (insertion-ordered)
/// objects. It is only meaningful together with the value it was built with:
/// pass that value to [`PositionTree::locate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionTree {
    slots: Vec<Slot>,
}

impl PositionTree {
    /// Wraps slots produced by the builder.
    pub(super) fn from_slots(slots: Vec<Slot>) -> Self {
        Self { slots }
    }

    /// Position of the document's root node, if the document has one.
    pub fn root(&self) -> Option<Position> {
        self.slots.first().map(|slot| slot.position)
    }

    /// Number of nodes whose positions are recorded.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no position is recorded (a tree built for no value).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Finds where the node at `pointer` (an RFC 6901 JSON pointer, `""` for
    /// the root) starts in the source.
    ///
    /// `value` must be the value this tree was loaded with
    /// ([`super::Document::value`]). An object member is located at its key,
    /// an array element at the element. When the pointer goes past the
    /// existing nodes (a finding about an absent field, an index out of
    /// range, `-`), the position of the deepest existing ancestor is
    /// returned, so a finding can always be shown somewhere sensible.
    /// Returns `None` only for an empty tree or a pointer that is neither
    /// empty nor starts with `/`.
    pub fn locate(&self, value: &Json, pointer: &str) -> Option<Position> {
        let mut slot_index = 0usize;
        let mut position = self.slots.first()?.position;
        if pointer.is_empty() {
            return Some(position);
        }
        let mut node = value;
        for raw_token in pointer.strip_prefix('/')?.split('/') {
            let Some((ordinal, child)) = child_of(node, raw_token) else {
                return Some(position);
            };
            // Skip the subtrees of the preceding siblings.
            let mut child_slot = slot_index + 1;
            for _ in 0..ordinal {
                let Some(sibling) = self.slots.get(child_slot) else {
                    return Some(position);
                };
                child_slot += sibling.subtree_len.max(1) as usize;
            }
            let Some(slot) = self.slots.get(child_slot) else {
                return Some(position);
            };
            slot_index = child_slot;
            position = slot.position;
            node = child;
        }
        Some(position)
    }
}

/// The child of `node` named by one pointer token, with its ordinal among
/// the node's children.
fn child_of<'value>(node: &'value Json, raw_token: &str) -> Option<(usize, &'value Json)> {
    match node {
        Json::Object(members) => {
            let ordinal = members.position(&unescape_pointer_token(raw_token))?;
            members
                .get_index(ordinal)
                .map(|(_, child)| (ordinal, child))
        }
        Json::Array(items) => {
            let ordinal = pointer_index(raw_token)?;
            items.get(ordinal).map(|child| (ordinal, child))
        }
        _ => None,
    }
}
