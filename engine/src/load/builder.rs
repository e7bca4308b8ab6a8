//! Builds `serde_json::Value` documents and their position trees straight
//! from saphyr-parser's events, with an explicit stack (no recursion per
//! nesting level) and the limits of [`LoadLimits`].

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use super::positions::{PositionTree, Slot};
use super::{Document, LoadError, LoadLimits, LoadOutcome, Position, scalar};

/// Loads every document of `text`; see [`super::load_str`].
pub(super) fn load(text: &str, limits: &LoadLimits) -> LoadOutcome {
    let mut outcome = LoadOutcome {
        documents: Vec::new(),
        errors: Vec::new(),
    };
    let mut budget = Budget {
        limits,
        nodes: 0,
        alias_nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    let mut document_index = 0usize;
    // `None` between documents and after an error in the current document,
    // whose remaining events are then ignored up to its end.
    let mut current: Option<DocumentBuilder> = None;

    while let Some(result) = parser.next_event() {
        let (event, span) = match result {
            Ok(pair) => pair,
            Err(error) => {
                outcome.errors.push(LoadError {
                    document: Some(document_index),
                    position: Some(position_of(*error.marker())),
                    message: format!("syntax error: {}", error.info()),
                });
                // The parser cannot resume: it returns the same error again.
                break;
            }
        };
        match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart => {}
            Event::DocumentStart(_) => current = Some(DocumentBuilder::default()),
            Event::DocumentEnd => {
                if let Some(document) = current.take().and_then(|b| b.finish(document_index)) {
                    outcome.documents.push(document);
                }
                document_index += 1;
            }
            event => {
                let Some(builder) = current.as_mut() else {
                    continue;
                };
                if let Err(failure) = builder.on_event(event, span, &mut budget) {
                    outcome.errors.push(LoadError {
                        document: Some(document_index),
                        position: Some(failure.position),
                        message: failure.message,
                    });
                    current = None;
                    if failure.whole_file {
                        break;
                    }
                }
            }
        }
    }
    outcome
}

/// Converts saphyr's marker (1-based line, 0-based column) to a [`Position`].
fn position_of(marker: Marker) -> Position {
    Position {
        line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
        column: u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
    }
}

/// Why building stopped.
struct Failure {
    position: Position,
    message: String,
    /// A per-file limit was exceeded: the rest of the file is not loaded.
    whole_file: bool,
}

impl Failure {
    fn document(position: Position, message: String) -> Self {
        Self {
            position,
            message,
            whole_file: false,
        }
    }
}

/// Per-file counters checked against the limits.
struct Budget<'limits> {
    limits: &'limits LoadLimits,
    nodes: usize,
    alias_nodes: usize,
}

impl Budget<'_> {
    fn count_nodes(&mut self, count: usize, position: Position) -> Result<(), Failure> {
        self.nodes = self.nodes.saturating_add(count);
        if self.nodes > self.limits.max_nodes {
            return Err(Failure {
                position,
                message: format!(
                    "the file has more than {} nodes, the limit",
                    self.limits.max_nodes
                ),
                whole_file: true,
            });
        }
        Ok(())
    }

    /// Counts the nodes an alias is about to produce, before they are
    /// copied, so that an alias bomb is refused without being expanded.
    fn count_alias(&mut self, count: usize, position: Position) -> Result<(), Failure> {
        self.alias_nodes = self.alias_nodes.saturating_add(count);
        if self.alias_nodes > self.limits.max_alias_expansion {
            return Err(Failure {
                position,
                message: format!(
                    "aliases expand to more than {} nodes, the limit (an alias bomb?)",
                    self.limits.max_alias_expansion
                ),
                whole_file: true,
            });
        }
        self.count_nodes(count, position)
    }
}

/// State while one document is being built.
#[derive(Default)]
struct DocumentBuilder {
    /// Open sequences and mappings, innermost last.
    frames: Vec<Frame>,
    /// Positions in depth-first order (see [`PositionTree`]).
    slots: Vec<Slot>,
    /// Completed anchored nodes of this document, by saphyr's anchor id.
    anchors: HashMap<usize, Anchor>,
    root: Option<Value>,
}

/// An open sequence or mapping.
struct Frame {
    container: Container,
    /// saphyr's anchor id, 0 for none.
    anchor: usize,
    /// Index of the container's own slot.
    slot_index: usize,
    /// Nesting levels of the subtree, the container included.
    height: usize,
}

enum Container {
    Sequence(Vec<Value>),
    Mapping(MappingFrame),
}

struct MappingFrame {
    members: Map<String, Value>,
    /// The key whose value is being built.
    pending_key: Option<PendingKey>,
    /// Values of `<<` keys, merged when the mapping ends so that explicit
    /// keys win wherever they are written.
    merges: Vec<MergeSource>,
}

struct PendingKey {
    key: String,
    is_merge: bool,
    /// Index of the slot that holds the key's position and stands for the
    /// value (an object member is located at its key).
    value_slot: usize,
}

/// A completed anchored node, copied for each alias to it.
struct Anchor {
    value: Value,
    slots: Vec<Slot>,
    height: usize,
}

/// The value of a `<<` key with its slots (taken out of the main arena).
struct MergeSource {
    value: Value,
    slots: Vec<Slot>,
    position: Position,
}

impl DocumentBuilder {
    fn on_event(
        &mut self,
        event: Event<'_>,
        span: Span,
        budget: &mut Budget<'_>,
    ) -> Result<(), Failure> {
        let position = position_of(span.start);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if self.awaiting_key() {
                    // Only an untagged plain `<<` is a merge key; `"<<"` is a key.
                    let is_merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                    return self.accept_key(text.into_owned(), is_merge, position, anchor);
                }
                let value = scalar::resolve(text, style, tag.as_deref())
                    .map_err(|message| Failure::document(position, message))?;
                budget.count_nodes(1, position)?;
                let slot = open_slot(&self.frames, &mut self.slots, position);
                self.complete(value, slot, anchor, 0)
            }
            Event::Alias(anchor_id) => self.expand_alias(anchor_id, position, budget),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.awaiting_key() {
                    return Err(Failure::document(
                        position,
                        "a mapping key must be a scalar, not a sequence or mapping".to_owned(),
                    ));
                }
                if self.frames.len() >= budget.limits.max_depth {
                    return Err(depth_failure(position, budget.limits.max_depth));
                }
                budget.count_nodes(1, position)?;
                let slot_index = open_slot(&self.frames, &mut self.slots, position);
                let container = if matches!(event, Event::SequenceStart(..)) {
                    Container::Sequence(Vec::new())
                } else {
                    Container::Mapping(MappingFrame {
                        members: Map::new(),
                        pending_key: None,
                        merges: Vec::new(),
                    })
                };
                self.frames.push(Frame {
                    container,
                    anchor,
                    slot_index,
                    height: 1,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => self.close_container(position),
            _ => Ok(()),
        }
    }

    /// Whether the next node is the key of a mapping member.
    fn awaiting_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                container: Container::Mapping(MappingFrame {
                    pending_key: None,
                    ..
                }),
                ..
            })
        )
    }

    fn accept_key(
        &mut self,
        key: String,
        is_merge: bool,
        position: Position,
        anchor: usize,
    ) -> Result<(), Failure> {
        self.slots.push(Slot {
            position,
            subtree_len: 1,
        });
        let value_slot = self.slots.len() - 1;
        if anchor != 0 {
            // An anchored key can be aliased as a value elsewhere.
            self.anchors.insert(
                anchor,
                Anchor {
                    value: Value::String(key.clone()),
                    slots: vec![Slot {
                        position,
                        subtree_len: 1,
                    }],
                    height: 0,
                },
            );
        }
        if let Some(Frame {
            container: Container::Mapping(mapping),
            ..
        }) = self.frames.last_mut()
        {
            mapping.pending_key = Some(PendingKey {
                key,
                is_merge,
                value_slot,
            });
            return Ok(());
        }
        Err(internal_failure(position))
    }

    fn expand_alias(
        &mut self,
        anchor_id: usize,
        position: Position,
        budget: &mut Budget<'_>,
    ) -> Result<(), Failure> {
        let Some(anchor) = self.anchors.get(&anchor_id) else {
            // saphyr resolves anchor names across documents and registers an
            // anchor before its node is complete; YAML allows neither use.
            return Err(Failure::document(
                position,
                "alias to an anchor of another document, or to a node that contains it".to_owned(),
            ));
        };
        if self.awaiting_key() {
            let key = match &anchor.value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Bool(boolean) => boolean.to_string(),
                Value::Null => "null".to_owned(),
                _ => {
                    return Err(Failure::document(
                        position,
                        "a mapping key must be a scalar, not an alias to a sequence or mapping"
                            .to_owned(),
                    ));
                }
            };
            return self.accept_key(key, false, position, 0);
        }
        if self.frames.len() + anchor.height > budget.limits.max_depth {
            return Err(depth_failure(position, budget.limits.max_depth));
        }
        // Checked before copying anything: this is what stops alias bombs.
        budget.count_alias(anchor.slots.len(), position)?;
        let value = anchor.value.clone();
        let height = anchor.height;
        let slot = open_slot(&self.frames, &mut self.slots, position);
        // Every node produced by an alias is located at the alias.
        self.slots
            .extend(anchor.slots.iter().skip(1).map(|copied| Slot {
                position,
                subtree_len: copied.subtree_len,
            }));
        if let (Some(target), Some(source)) = (self.slots.get_mut(slot), anchor.slots.first()) {
            target.subtree_len = source.subtree_len;
        }
        self.complete(value, slot, 0, height)
    }

    fn close_container(&mut self, position: Position) -> Result<(), Failure> {
        let Some(frame) = self.frames.pop() else {
            return Err(internal_failure(position));
        };
        let value = match frame.container {
            Container::Sequence(items) => Value::Array(items),
            Container::Mapping(mapping) => Value::Object(self.apply_merges(mapping)?),
        };
        let subtree_len = self.slots.len().saturating_sub(frame.slot_index);
        if let Some(slot) = self.slots.get_mut(frame.slot_index) {
            slot.subtree_len = u32::try_from(subtree_len).unwrap_or(u32::MAX);
        }
        self.complete(value, frame.slot_index, frame.anchor, frame.height)
    }

    /// Hands a finished node to its parent (or makes it the root).
    fn complete(
        &mut self,
        value: Value,
        slot_index: usize,
        anchor: usize,
        height: usize,
    ) -> Result<(), Failure> {
        if anchor != 0 {
            let slots = self.slots.get(slot_index..).unwrap_or_default().to_vec();
            self.anchors.insert(
                anchor,
                Anchor {
                    value: value.clone(),
                    slots,
                    height,
                },
            );
        }
        let Some(frame) = self.frames.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        frame.height = frame.height.max(height + 1);
        match &mut frame.container {
            Container::Sequence(items) => items.push(value),
            Container::Mapping(mapping) => {
                let Some(pending) = mapping.pending_key.take() else {
                    return Err(internal_failure(Position { line: 0, column: 0 }));
                };
                let key_position = self
                    .slots
                    .get(pending.value_slot)
                    .map_or(Position { line: 0, column: 0 }, |slot| slot.position);
                if pending.is_merge {
                    let slots = self
                        .slots
                        .split_off(pending.value_slot.min(self.slots.len()));
                    mapping.merges.push(MergeSource {
                        value,
                        slots,
                        position: key_position,
                    });
                } else {
                    match mapping.members.entry(pending.key) {
                        Entry::Vacant(entry) => {
                            entry.insert(value);
                        }
                        Entry::Occupied(entry) => {
                            return Err(Failure::document(
                                key_position,
                                format!("duplicate key `{}`", entry.key()),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds the members of `<<` values that the mapping does not already
    /// have; earlier merge sources win over later ones, as YAML specifies.
    fn apply_merges(&mut self, mapping: MappingFrame) -> Result<Map<String, Value>, Failure> {
        let MappingFrame {
            mut members,
            merges,
            ..
        } = mapping;
        for source in merges {
            match source.value {
                Value::Object(source_members) => merge_members(
                    &mut members,
                    &mut self.slots,
                    source_members,
                    source.slots.get(1..).unwrap_or_default(),
                ),
                Value::Array(items) => {
                    let mut cursor = 1;
                    for item in items {
                        let item_slot = source.slots.get(cursor).copied();
                        let item_len = item_slot.map_or(1, |slot| slot.subtree_len as usize);
                        let Value::Object(item_members) = item else {
                            let position = item_slot.map_or(source.position, |slot| slot.position);
                            return Err(merge_failure(position));
                        };
                        let member_slots = source
                            .slots
                            .get(cursor + 1..cursor + item_len)
                            .unwrap_or_default();
                        merge_members(&mut members, &mut self.slots, item_members, member_slots);
                        cursor += item_len;
                    }
                }
                _ => return Err(merge_failure(source.position)),
            }
        }
        Ok(members)
    }

    fn finish(self, index: usize) -> Option<Document> {
        if !self.frames.is_empty() {
            return None;
        }
        Some(Document {
            index,
            value: self.root.unwrap_or(Value::Null),
            positions: PositionTree::from_slots(self.slots),
        })
    }
}

/// Returns the slot that stands for the node starting at `position`: the
/// pending key's slot inside a mapping, a new slot elsewhere.
fn open_slot(frames: &[Frame], slots: &mut Vec<Slot>, position: Position) -> usize {
    if let Some(Frame {
        container:
            Container::Mapping(MappingFrame {
                pending_key: Some(pending),
                ..
            }),
        ..
    }) = frames.last()
    {
        return pending.value_slot;
    }
    slots.push(Slot {
        position,
        subtree_len: 1,
    });
    slots.len() - 1
}

/// Copies the members of one merged mapping (and their slots, which follow
/// each other in `member_slots`) that `target` lacks.
fn merge_members(
    target: &mut Map<String, Value>,
    slots: &mut Vec<Slot>,
    source_members: Map<String, Value>,
    member_slots: &[Slot],
) {
    let mut cursor = 0;
    for (key, value) in source_members {
        let member_len = member_slots
            .get(cursor)
            .map_or(1, |slot| slot.subtree_len as usize);
        if !target.contains_key(&key) {
            slots.extend_from_slice(
                member_slots
                    .get(cursor..cursor + member_len)
                    .unwrap_or_default(),
            );
            target.insert(key, value);
        }
        cursor += member_len;
    }
}

fn depth_failure(position: Position, max_depth: usize) -> Failure {
    Failure::document(
        position,
        format!("nesting deeper than {max_depth} levels, the limit"),
    )
}

fn merge_failure(position: Position) -> Failure {
    Failure::document(
        position,
        "the value of merge key `<<` must be a mapping or a list of mappings".to_owned(),
    )
}

/// An event sequence saphyr should never produce; reported rather than
/// panicking.
fn internal_failure(position: Position) -> Failure {
    Failure::document(
        position,
        "internal error: unexpected yaml event order".to_owned(),
    )
}
