//! Builds documents (`crate::json::Json`) and their position trees straight
//! from saphyr-parser's events, with an explicit stack (no recursion per
//! nesting level) and the limits of [`LoadLimits`].

use std::borrow::Cow;
use std::collections::HashMap;

use crate::json::{Json, Key, KeyFilter, Object, name_hash};
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

use super::build_failure::{
    Budget, Failure, anchor_copies_failure, depth_failure, duplicate_failure, internal_failure,
    merge_failure, position_of,
};
use super::members::Members;
use super::positions::{PositionTree, Slot};
use super::{Document, LoadError, LoadLimits, LoadOutcome, Position, scalar};

/// Loads every document of `text`; see [`super::load_str`].
pub(super) fn load(text: &str, limits: &LoadLimits) -> LoadOutcome {
    let mut outcome = LoadOutcome {
        documents: Vec::new(),
        errors: Vec::new(),
    };
    let mut budget = Budget::new(limits, text.len());
    let mut parser = Parser::new_from_str(text);
    let mut document_index = 0usize;
    // One builder for the whole file: its stacks keep their memory from one
    // document to the next instead of growing from nothing for each.
    let mut builder = DocumentBuilder {
        max_anchor_copies: limits.max_loaded_size(text.len()),
        ..DocumentBuilder::default()
    };
    // False between documents and after an error in the current document,
    // whose remaining events are then ignored up to its end.
    let mut building = false;

    while let Some(result) = parser.next_event() {
        // Matched in one go, the event's fields moved straight to where they
        // are used: an event is some 150 bytes, and copying it whole from
        // one binding to the next was a measurable part of the loading time.
        let step = match result {
            Err(error) => {
                outcome.errors.push(LoadError {
                    document: Some(document_index),
                    position: Some(position_of(*error.marker())),
                    message: format!("syntax error: {}", error.info()),
                });
                // The parser cannot resume: it returns the same error again.
                break;
            }
            Ok((Event::StreamEnd, _)) => break,
            Ok((Event::Nothing | Event::StreamStart, _)) => continue,
            Ok((Event::DocumentStart(_), _)) => {
                builder.reset();
                building = true;
                continue;
            }
            Ok((Event::DocumentEnd, _)) => {
                if building && let Some(document) = builder.finish(document_index) {
                    outcome.documents.push(document);
                }
                building = false;
                document_index += 1;
                continue;
            }
            Ok(_) if !building => continue,
            Ok((Event::Scalar(text, style, anchor, tag), span)) => {
                let position = position_of(span.start);
                builder.on_scalar(text, style, anchor, tag.as_deref(), position, &mut budget)
            }
            Ok((Event::Alias(anchor_id), span)) => {
                builder.expand_alias(anchor_id, position_of(span.start), &mut budget)
            }
            Ok((Event::SequenceStart(anchor, _), span)) => {
                builder.open_container(true, anchor, position_of(span.start), &mut budget)
            }
            Ok((Event::MappingStart(anchor, _), span)) => {
                builder.open_container(false, anchor, position_of(span.start), &mut budget)
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, span)) => {
                builder.close_container(position_of(span.start), &budget)
            }
        };
        if let Err(failure) = step {
            outcome.errors.push(LoadError {
                document: Some(document_index),
                position: Some(failure.position),
                message: failure.message,
            });
            building = false;
            if failure.whole_file {
                break;
            }
        }
    }
    outcome
}

/// State while one document is being built; reset and reused for the next
/// document of the file.
#[derive(Default)]
struct DocumentBuilder {
    /// Open sequences and mappings, innermost last.
    frames: Vec<Frame>,
    /// Positions in depth-first order (see [`PositionTree`]).
    slots: Vec<Slot>,
    /// Finished nodes not yet placed in their sequence or mapping, innermost
    /// container's last. A container's vector or map is built at its final
    /// size from its run when it ends, instead of growing item by item.
    values: Vec<Json>,
    /// The keys of the mapping members whose values are on `values`, in the
    /// same order.
    keys: Vec<Key>,
    /// Completed anchored nodes of this document, by saphyr's anchor id.
    anchors: HashMap<usize, Anchor>,
    /// The size of the copies kept of anchored nodes in this file (see
    /// [`DocumentBuilder::keep_anchor`]), and its bound: the file's loaded
    /// size bound ([`LoadLimits::max_loaded_size`]). Not reset between
    /// documents.
    anchor_copies: usize,
    max_anchor_copies: usize,
    /// Every key read in the document: a superset of the keys of its value,
    /// since aliases and merges only repeat what was read before them in
    /// the same document (anchors do not cross documents).
    key_filter: KeyFilter,
    root: Option<Json>,
}

/// An open sequence or mapping.
struct Frame {
    container: Container,
    /// Where the container's items (or member values) start on `values`.
    first_value: usize,
    /// saphyr's anchor id, 0 for none.
    anchor: usize,
    /// Index of the container's own slot.
    slot_index: usize,
    /// Nesting levels of the subtree, the container included.
    height: usize,
    /// The budget's `text_bytes` when the container opened: what it holds
    /// is what was counted since.
    text_at_open: usize,
}

enum Container {
    Sequence,
    Mapping(MappingFrame),
}

struct MappingFrame {
    /// Its members so far (their values start at the frame's `first_value`).
    members: Members,
    /// The key whose value is being built.
    pending_key: Option<PendingKey>,
    /// Values of `<<` keys, merged when the mapping ends so that explicit
    /// keys win wherever they are written.
    merges: Vec<MergeSource>,
}

struct PendingKey {
    key: Key,
    is_merge: bool,
    /// Index of the slot that holds the key's position and stands for the
    /// value (an object member is located at its key).
    value_slot: usize,
}

/// A completed anchored node, copied for each alias to it.
struct Anchor {
    value: Json,
    slots: Vec<Slot>,
    height: usize,
    /// Bytes of scalar text (keys included) in the node: what each alias
    /// to it copies.
    text_bytes: usize,
}

/// The value of a `<<` key with its slots (taken out of the main arena).
struct MergeSource {
    value: Json,
    slots: Vec<Slot>,
    position: Position,
}

impl DocumentBuilder {
    /// Forgets the previous document (finished or failed), keeping the
    /// memory of the stacks.
    fn reset(&mut self) {
        self.frames.clear();
        self.slots.clear();
        self.values.clear();
        self.keys.clear();
        self.anchors.clear();
        self.key_filter = KeyFilter::default();
        self.root = None;
    }

    fn on_scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        position: Position,
        budget: &mut Budget<'_>,
    ) -> Result<(), Failure> {
        let text_bytes = text.len();
        budget.count_text(text_bytes);
        if self.awaiting_key() {
            let plain = style == ScalarStyle::Plain && tag.is_none();
            // Only an untagged plain `<<` is a merge key; `"<<"` is a key.
            let is_merge = plain && text == "<<";
            // A plain key resolves as a value would, and names the member
            // as the Kubernetes reader writes that value (`on` is "true").
            let resolved = if plain && !is_merge {
                scalar::resolve_key(&text)
                    .map_err(|message| Failure::document(position, message))?
            } else {
                None
            };
            let anchored = if anchor == 0 {
                None
            } else {
                scalar::resolve(Cow::Borrowed(&text), style, tag).ok()
            };
            let key = resolved.unwrap_or_else(|| text.into_owned());
            return self.accept_key(key, is_merge, position, anchor, anchored);
        }
        let value = scalar::resolve(text, style, tag)
            .map_err(|message| Failure::document(position, message))?;
        budget.count_nodes(1, position)?;
        let slot = open_slot(&self.frames, &mut self.slots, position);
        self.complete(value, slot, anchor, 0, text_bytes)
    }

    fn open_container(
        &mut self,
        is_sequence: bool,
        anchor: usize,
        position: Position,
        budget: &mut Budget<'_>,
    ) -> Result<(), Failure> {
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
        let container = if is_sequence {
            Container::Sequence
        } else {
            Container::Mapping(MappingFrame {
                members: Members::open(&self.keys),
                pending_key: None,
                merges: Vec::new(),
            })
        };
        self.frames.push(Frame {
            container,
            first_value: self.values.len(),
            anchor,
            slot_index,
            height: 1,
            text_at_open: budget.text_bytes,
        });
        Ok(())
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

    /// Takes `key` as the name of the next member; an anchored key is kept
    /// as `anchored`, the value its scalar resolves to (or the key's text).
    fn accept_key(
        &mut self,
        key: String,
        is_merge: bool,
        position: Position,
        anchor: usize,
        anchored: Option<Json>,
    ) -> Result<(), Failure> {
        let hash = name_hash(key.as_bytes());
        self.key_filter.insert_hashed(hash);
        self.slots.push(Slot::leaf(position));
        let value_slot = self.slots.len() - 1;
        if anchor != 0 {
            // An anchored key can be aliased as a value elsewhere.
            self.anchors.insert(
                anchor,
                Anchor {
                    value: anchored.unwrap_or_else(|| Json::String(crate::json::Text::new(&key))),
                    slots: vec![Slot::leaf(position)],
                    height: 0,
                    text_bytes: key.len(),
                },
            );
        }
        if let Some(Frame {
            container: Container::Mapping(mapping),
            ..
        }) = self.frames.last_mut()
        {
            mapping.pending_key = Some(PendingKey {
                key: Key::from_string_hashed(key, hash),
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
                Json::String(text) => text.to_string(),
                Json::Array(_) | Json::Object(_) => {
                    return Err(Failure::document(
                        position,
                        "a mapping key must be a scalar, not an alias to a sequence or mapping"
                            .to_owned(),
                    ));
                }
                scalar => {
                    let text = scalar.to_string();
                    scalar::key_of_value(scalar, &text)
                        .map_err(|message| Failure::document(position, message))?
                        .unwrap_or(text)
                }
            };
            // A key is no node, but its text is copied like a value's.
            budget.count_alias(0, key.len(), position)?;
            return self.accept_key(key, false, position, 0, None);
        }
        if self.frames.len() + anchor.height > budget.limits.max_depth {
            return Err(depth_failure(position, budget.limits.max_depth));
        }
        // Checked before copying anything: this is what stops alias bombs.
        budget.count_alias(anchor.slots.len(), anchor.text_bytes, position)?;
        let value = anchor.value.clone();
        let height = anchor.height;
        let text_bytes = anchor.text_bytes;
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
        self.complete(value, slot, 0, height, text_bytes)
    }

    fn close_container(&mut self, position: Position, budget: &Budget<'_>) -> Result<(), Failure> {
        let Some(frame) = self.frames.pop() else {
            return Err(internal_failure(position));
        };
        let value = match frame.container {
            Container::Sequence => Json::Array(self.values.drain(frame.first_value..).collect()),
            Container::Mapping(mapping) => {
                let (keys, values) = (&mut self.keys, &mut self.values);
                let members = mapping.members.close(keys, values, frame.first_value);
                Json::Object(self.apply_merges(members, mapping.merges)?)
            }
        };
        let subtree_len = self.slots.len().saturating_sub(frame.slot_index);
        if let Some(slot) = self.slots.get_mut(frame.slot_index) {
            slot.subtree_len = u32::try_from(subtree_len).unwrap_or(u32::MAX);
        }
        let text_bytes = budget.text_bytes.saturating_sub(frame.text_at_open);
        self.complete(
            value,
            frame.slot_index,
            frame.anchor,
            frame.height,
            text_bytes,
        )
    }

    /// Hands a finished node, which holds `text_bytes` of scalar text, to
    /// its parent (or makes it the root).
    fn complete(
        &mut self,
        value: Json,
        slot_index: usize,
        anchor: usize,
        height: usize,
        text_bytes: usize,
    ) -> Result<(), Failure> {
        if anchor != 0 {
            self.keep_anchor(anchor, &value, slot_index, height, text_bytes)?;
        }
        let Some(frame) = self.frames.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        frame.height = frame.height.max(height + 1);
        let mapping = match &mut frame.container {
            Container::Sequence => {
                self.values.push(value);
                return Ok(());
            }
            Container::Mapping(mapping) => mapping,
        };
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
            return Ok(());
        }
        // Checked as each member completes: errors inside its value come
        // first. (A failed document's stacks are cleared by the next one.)
        self.values.push(value);
        mapping
            .members
            .add(&mut self.keys, pending.key)
            .map_err(|key| duplicate_failure(key_position, &key))
    }

    /// Keeps a copy of an anchored node for the aliases to it, counted
    /// against [`DocumentBuilder::max_anchor_copies`]: nested anchors copy
    /// the same text once per level (200 of them around a 100 KB string are
    /// 20 MB from a file of 100 KB, without a single alias). Out of line:
    /// anchors are rare, and the builder's loop is hot.
    #[cold]
    #[inline(never)]
    fn keep_anchor(
        &mut self,
        anchor: usize,
        value: &Json,
        slot_index: usize,
        height: usize,
        text_bytes: usize,
    ) -> Result<(), Failure> {
        let slots = self.slots.get(slot_index..).unwrap_or_default().to_vec();
        let size = slots
            .len()
            .saturating_mul(crate::limits::NODE_SIZE)
            .saturating_add(text_bytes);
        self.anchor_copies = self.anchor_copies.saturating_add(size);
        if self.anchor_copies > self.max_anchor_copies {
            let position = slots
                .first()
                .map_or(Position { line: 0, column: 0 }, |slot| slot.position);
            return Err(anchor_copies_failure(position, self.max_anchor_copies));
        }
        self.anchors.insert(
            anchor,
            Anchor {
                value: value.clone(),
                slots,
                height,
                text_bytes,
            },
        );
        Ok(())
    }

    /// Adds the members of `<<` values that the mapping does not already
    /// have; earlier merge sources win over later ones, as YAML specifies.
    fn apply_merges(
        &mut self,
        mut members: Object,
        merges: Vec<MergeSource>,
    ) -> Result<Object, Failure> {
        for source in merges {
            match source.value {
                Json::Object(source_members) => merge_members(
                    &mut members,
                    &mut self.slots,
                    source_members,
                    source.slots.get(1..).unwrap_or_default(),
                ),
                Json::Array(items) => {
                    let mut cursor = 1;
                    for item in items {
                        let item_slot = source.slots.get(cursor).copied();
                        let item_len = item_slot.map_or(1, |slot| slot.subtree_len as usize);
                        let Json::Object(item_members) = item else {
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

    fn finish(&mut self, index: usize) -> Option<Document> {
        if !self.frames.is_empty() {
            return None;
        }
        Some(Document {
            index,
            value: self.root.take().unwrap_or(Json::Null),
            // A copy at the exact size: the builder's slots keep their
            // capacity for the next document.
            positions: PositionTree::from_slots(self.slots.clone()),
            keys: Some(std::mem::take(&mut self.key_filter)),
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
    slots.push(Slot::leaf(position));
    slots.len() - 1
}

/// Copies the members of one merged mapping (and their slots, which follow
/// each other in `member_slots`) that `target` lacks.
fn merge_members(
    target: &mut Object,
    slots: &mut Vec<Slot>,
    source_members: Object,
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
