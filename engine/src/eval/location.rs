//! Where a value sits in the resource, kept alongside loop variables and lets
//! so that a finding can name the JSON pointer of what it is about.
//!
//! Locations are nodes of a table that lives as long as one evaluation of a
//! resource: a location is the index of its node, and a node names its parent
//! and one step. Binding a loop variable to the next element pushes one node
//! (no allocation once the table has grown), and member names are borrowed
//! from the policy or the resource. The pointer string is only built when a
//! finding is actually produced.

use crate::finding::escape_pointer_token;
use std::borrow::Cow;
use std::sync::Arc;

/// A position in the resource: an index into [`Places`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location(u32);

/// One step of a location, from the root. A member's name is borrowed
/// from the policy or the resource (only a computed name is owned): a
/// finding's pointer is built from these, and findings are many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// An object member.
    Member(Cow<'a, str>),
    /// A list element.
    Element(usize),
}

/// A node: plain data, so that forgetting the nodes of the previous policy
/// is a truncation, not a walk over them.
#[derive(Clone, Copy, Debug)]
enum Node<'v> {
    Root,
    Member(Location, &'v str),
    /// A member whose name was computed (`x[key]` with a built string): the
    /// name is at this position of [`Places::computed`].
    ComputedMember(Location, usize),
    Element(Location, usize),
}

/// The table of locations of one evaluation.
#[derive(Debug)]
pub struct Places<'v> {
    nodes: Vec<Node<'v>>,
    /// The computed member names, kept for the whole evaluation.
    computed: Vec<Arc<str>>,
}

impl<'v> Places<'v> {
    /// A table holding only the root, with room for `capacity` locations.
    pub fn with_capacity(capacity: usize) -> Places<'v> {
        let mut nodes = Vec::with_capacity(capacity.max(1));
        nodes.push(Node::Root);
        Places {
            nodes,
            computed: Vec::new(),
        }
    }

    /// Forgets every location made after the first `kept` (the root is
    /// always kept).
    pub fn truncate(&mut self, kept: usize) {
        self.nodes.truncate(kept.max(1));
    }

    /// How many locations there are.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The resource itself.
    pub fn root(&self) -> Location {
        Location(0)
    }

    #[inline]
    fn push(&mut self, node: Node<'v>) -> Location {
        let index = self.nodes.len();
        if index >= u32::MAX as usize {
            // Four billion places in one evaluation cannot happen within the
            // step budget; point at the root rather than at a wrong node.
            return Location(0);
        }
        self.nodes.push(node);
        Location(index as u32)
    }

    /// The member `name` of the object at `parent`.
    pub fn member(&mut self, parent: Location, name: &'v str) -> Location {
        self.push(Node::Member(parent, name))
    }

    /// The member `name` (a computed string) of the object at `parent`.
    pub fn computed_member(&mut self, parent: Location, name: Arc<str>) -> Location {
        self.computed.push(name);
        self.push(Node::ComputedMember(parent, self.computed.len() - 1))
    }

    /// The element `index` of the list at `parent`.
    pub fn element(&mut self, parent: Location, index: usize) -> Location {
        self.push(Node::Element(parent, index))
    }

    /// The steps from the root to `location`.
    pub fn segments(&self, location: Location) -> Vec<Segment<'v>> {
        let mut segments = Vec::new();
        let mut index = location.0 as usize;
        while let Some(node) = self.nodes.get(index) {
            match node {
                Node::Root => break,
                Node::Member(parent, name) => {
                    segments.push(Segment::Member(Cow::Borrowed(name)));
                    index = parent.0 as usize;
                }
                Node::ComputedMember(parent, name) => {
                    let name = self.computed.get(*name).map_or("", |name| &**name);
                    segments.push(Segment::Member(Cow::Owned(name.to_owned())));
                    index = parent.0 as usize;
                }
                Node::Element(parent, position) => {
                    segments.push(Segment::Element(*position));
                    index = parent.0 as usize;
                }
            }
        }
        segments.reverse();
        segments
    }
}

/// The RFC 6901 pointer of a list of segments.
pub fn pointer_of(segments: &[Segment<'_>]) -> String {
    let mut pointer = String::new();
    for segment in segments {
        pointer.push('/');
        match segment {
            Segment::Member(name) => pointer.push_str(&escape_pointer_token(name)),
            Segment::Element(index) => pointer.push_str(&index.to_string()),
        }
    }
    pointer
}
