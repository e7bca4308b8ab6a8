//! Where a value sits in the resource, kept alongside loop variables so that a
//! finding can name the JSON pointer of what it is about.
//!
//! Locations are a linked list of shared nodes: binding a loop variable to the
//! next element costs one small allocation, and the pointer string is only
//! built when a finding is actually produced.

use crate::finding::escape_pointer_token;
use std::rc::Rc;
use std::sync::Arc;

/// A position in the resource.
#[derive(Clone, Debug)]
pub struct Location(Rc<Node>);

#[derive(Debug)]
enum Node {
    Root,
    Member(Location, Arc<str>),
    Element(Location, usize),
}

/// One step of a location, from the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Member(Arc<str>),
    /// A list element.
    Element(usize),
}

impl Location {
    /// The resource itself.
    pub fn root() -> Location {
        Location(Rc::new(Node::Root))
    }

    /// The member `name` of the object here.
    pub fn member(&self, name: Arc<str>) -> Location {
        Location(Rc::new(Node::Member(self.clone(), name)))
    }

    /// The element `index` of the list here.
    pub fn element(&self, index: usize) -> Location {
        Location(Rc::new(Node::Element(self.clone(), index)))
    }

    /// The steps from the root to here.
    pub fn segments(&self) -> Vec<Segment> {
        let mut segments = Vec::new();
        let mut node = &self.0;
        loop {
            match &**node {
                Node::Root => break,
                Node::Member(parent, name) => {
                    segments.push(Segment::Member(name.clone()));
                    node = &parent.0;
                }
                Node::Element(parent, index) => {
                    segments.push(Segment::Element(*index));
                    node = &parent.0;
                }
            }
        }
        segments.reverse();
        segments
    }

    /// The RFC 6901 pointer from the root to here.
    pub fn pointer(&self) -> String {
        pointer_of(&self.segments())
    }
}

/// The RFC 6901 pointer of a list of segments.
pub fn pointer_of(segments: &[Segment]) -> String {
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
