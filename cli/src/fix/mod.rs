//! Applying the fixes of findings (RFC 6902 JSON patches, relative to a
//! document) to a manifest file.
//!
//! YAML is edited as text (see `yaml_edit`), one operation at a time with
//! the file re-loaded after each, so that positions are always current and
//! two fixes that each create the same missing parent are merged: an `add`
//! of an object where an object now exists adds its members one by one.
//! JSON files are re-serialized (two-space indentation, key order kept).

pub mod diff;
mod render;
mod yaml_edit;

use rampart_engine::PatchOperation;
use rampart_engine::finding::{PatchKind, unescape_pointer_token};
use rampart_engine::json::Json as Value;
use rampart_engine::load::{self, Document, LoadLimits};
use std::collections::VecDeque;
use yaml_edit::{Edit, Node, Text};

/// One operation of one finding's fix, for one document of the file.
#[derive(Clone, Debug)]
pub struct DocumentOperation {
    /// The document's index in the file.
    pub document: usize,
    /// The operation, relative to the document.
    pub operation: PatchOperation,
    /// The policy whose fix it is (for problems).
    pub policy: String,
}

/// A file after its fixes.
pub struct Applied {
    /// The new text.
    pub text: String,
    /// How many operations changed the text.
    pub changed: usize,
    /// Operations that could not be applied, in words.
    pub problems: Vec<String>,
}

/// What to do with one operation, given the document as it is now.
enum Plan {
    /// Nothing: the document already says it.
    Skip,
    /// Apply this operation.
    Apply(PatchOperation),
    /// Apply these instead, in order.
    Expand(Vec<PatchOperation>),
    /// It cannot be applied.
    Refuse(String),
}

/// Applies `operations` to the text of a file (`json`: a JSON file).
pub fn apply(text: &str, json: bool, operations: &[DocumentOperation]) -> Applied {
    let mut applied = Applied {
        text: text.to_owned(),
        changed: 0,
        problems: Vec::new(),
    };
    let mut json_value = if json {
        serde_json::from_str::<Value>(text).ok()
    } else {
        None
    };
    let mut queue: VecDeque<DocumentOperation> = operations.iter().cloned().collect();
    while let Some(next) = queue.pop_front() {
        let outcome = if json_value.is_some() {
            None
        } else {
            Some(load::load_str(&applied.text, &LoadLimits::default()))
        };
        let document = outcome.as_ref().and_then(|outcome| {
            outcome
                .documents
                .iter()
                .find(|document| document.index == next.document)
        });
        let value = match (&json_value, document) {
            (Some(value), _) => value,
            (None, Some(document)) => &document.value,
            (None, None) => {
                applied.problems.push(format!(
                    "{}: document {} is no longer there",
                    next.policy, next.document
                ));
                continue;
            }
        };
        match plan(value, &next.operation) {
            Plan::Skip => {}
            Plan::Refuse(reason) => applied.problems.push(format!(
                "{}: {} {}: {reason}",
                next.policy,
                kind_name(next.operation.op),
                next.operation.path
            )),
            Plan::Expand(operations) => {
                for operation in operations.into_iter().rev() {
                    queue.push_front(DocumentOperation {
                        operation,
                        ..next.clone()
                    });
                }
            }
            Plan::Apply(operation) => {
                let result = match (&mut json_value, document) {
                    (Some(value), _) => apply_to_value(value, &operation),
                    (None, Some(document)) => {
                        edit(&applied.text, document, &operation).map(|edit| {
                            applied.text.replace_range(edit.start..edit.end, &edit.text);
                        })
                    }
                    (None, None) => Err("the document is gone".to_owned()),
                };
                match result {
                    Ok(()) => applied.changed += 1,
                    Err(reason) => applied.problems.push(format!(
                        "{}: {} {}: {reason}",
                        next.policy,
                        kind_name(operation.op),
                        operation.path
                    )),
                }
            }
        }
    }
    if let Some(value) = json_value.filter(|_| applied.changed > 0) {
        applied.text = serde_json::to_string_pretty(&value).unwrap_or(applied.text) + "\n";
    }
    applied
}

fn kind_name(kind: PatchKind) -> &'static str {
    match kind {
        PatchKind::Add => "add",
        PatchKind::Replace => "replace",
        PatchKind::Remove => "remove",
    }
}

/// `/a/b` to (`/a`, `b` unescaped).
fn split_pointer(pointer: &str) -> Option<(&str, String)> {
    let (parent, token) = pointer.rsplit_once('/')?;
    Some((parent, unescape_pointer_token(token).into_owned()))
}

fn child_pointer(parent: &str, key: &str) -> String {
    format!(
        "{parent}/{}",
        rampart_engine::finding::escape_pointer_token(key)
    )
}

/// Decides what an operation means for the document as it is now.
fn plan(value: &Value, operation: &PatchOperation) -> Plan {
    let Some((parent_pointer, token)) = split_pointer(&operation.path) else {
        return Plan::Refuse("the whole document cannot be replaced".to_owned());
    };
    let new = operation.value.clone().unwrap_or(Value::Null);
    let parent = value.pointer(parent_pointer);
    let existing = value.pointer(&operation.path);
    let with = |op: PatchKind, path: &str, value: Option<Value>| PatchOperation {
        op,
        path: path.to_owned(),
        value,
    };
    match operation.op {
        PatchKind::Remove => match (existing, parent) {
            (None, _) => Plan::Skip,
            // Emptying a block collection would leave `key:` (null); write `{}` or `[]`.
            (Some(_), Some(Value::Object(members)))
                if members.len() == 1 && !parent_pointer.is_empty() =>
            {
                Plan::Apply(with(
                    PatchKind::Replace,
                    parent_pointer,
                    Some(Value::Object(rampart_engine::json::Object::new())),
                ))
            }
            (Some(_), Some(Value::Array(items))) if items.len() == 1 => Plan::Apply(with(
                PatchKind::Replace,
                parent_pointer,
                Some(Value::Array(Vec::new())),
            )),
            (Some(_), _) => Plan::Apply(operation.clone()),
        },
        PatchKind::Add | PatchKind::Replace => match parent {
            Some(Value::Array(_)) if operation.op == PatchKind::Add => {
                Plan::Apply(operation.clone())
            }
            Some(Value::Object(_)) | Some(Value::Array(_)) => match existing {
                Some(existing) if *existing == new => Plan::Skip,
                Some(Value::Object(members)) if !members.is_empty() && new.is_object() => {
                    let additions = new
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(key, value)| {
                            with(
                                PatchKind::Add,
                                &child_pointer(&operation.path, key),
                                Some(value.clone()),
                            )
                        })
                        .collect();
                    Plan::Expand(additions)
                }
                Some(_) => Plan::Apply(with(PatchKind::Replace, &operation.path, Some(new))),
                None if parent.is_some_and(Value::is_object) => {
                    Plan::Apply(with(PatchKind::Add, &operation.path, Some(new)))
                }
                None => Plan::Refuse("the list has no such element".to_owned()),
            },
            // The parent is missing (or null) now: create it holding the value.
            None | Some(Value::Null) if !parent_pointer.is_empty() => {
                let mut object = rampart_engine::json::Object::new();
                let new = if token == "-" {
                    Value::Array(vec![new])
                } else {
                    new
                };
                object.insert(token, new);
                Plan::Expand(vec![with(
                    PatchKind::Add,
                    parent_pointer,
                    Some(Value::Object(object)),
                )])
            }
            _ => Plan::Refuse("its parent is not an object or a list".to_owned()),
        },
    }
}

/// The text edit of one planned operation on one document.
fn edit(text: &str, document: &Document, operation: &PatchOperation) -> Result<Edit, String> {
    let text = Text::new(text);
    let (parent_pointer, token) = split_pointer(&operation.path).ok_or("no parent")?;
    let value = &document.value;
    let new = operation.value.clone().unwrap_or(Value::Null);
    let parent = value
        .pointer(parent_pointer)
        .ok_or("the parent is missing")?;
    let parent_node = locate(&text, document, parent_pointer)?;
    let cannot = || "this YAML layout cannot be edited in place".to_owned();
    match operation.op {
        PatchKind::Replace => {
            let node = locate(&text, document, &operation.path)?;
            let key = parent.is_object().then_some(token.as_str());
            Ok(text.replace(node, key, &new))
        }
        PatchKind::Remove => text
            .remove(locate(&text, document, &operation.path)?)
            .ok_or_else(cannot),
        PatchKind::Add => match parent {
            Value::Object(members) => match members.keys().next() {
                None => text
                    .fill_empty(
                        parent_node,
                        &format!(
                            "{}: {}",
                            render::flow(&Value::from(token)),
                            render::flow(&new)
                        ),
                    )
                    .ok_or_else(cannot),
                Some(first) => {
                    let first = locate(&text, document, &child_pointer(parent_pointer, first))?;
                    Ok(text.add_member(parent_node, first, &token, &new))
                }
            },
            Value::Array(items) => {
                let index = if token == "-" {
                    items.len()
                } else {
                    token.parse().map_err(|_| "not a list index")?
                };
                if items.is_empty() {
                    return text
                        .fill_empty(parent_node, &render::flow(&new))
                        .ok_or_else(cannot);
                }
                if index >= items.len() {
                    let first = locate(&text, document, &format!("{parent_pointer}/0"))?;
                    return Ok(text.append_item(parent_node, first, &new));
                }
                let before = locate(&text, document, &format!("{parent_pointer}/{index}"))?;
                text.insert_item(before, &new).ok_or_else(cannot)
            }
            _ => Err("the parent is not an object or a list".to_owned()),
        },
    }
}

/// Where the node at `pointer` is.
fn locate(text: &Text<'_>, document: &Document, pointer: &str) -> Result<Node, String> {
    let position = document
        .positions
        .locate(&document.value, pointer)
        .ok_or("no position")?;
    let offset = text.offset(position).ok_or("no position")?;
    let Some((parent_pointer, _)) = split_pointer(pointer) else {
        return Ok(text.document(offset));
    };
    let node = match document.value.pointer(parent_pointer) {
        Some(Value::Array(_)) => text.element(offset),
        _ => text.member(offset),
    };
    node.ok_or_else(|| format!("cannot read the YAML at line {}", position.line))
}

/// Applies one planned operation to a JSON value.
fn apply_to_value(value: &mut Value, operation: &PatchOperation) -> Result<(), String> {
    let (parent_pointer, token) = split_pointer(&operation.path).ok_or("no parent")?;
    let new = operation.value.clone().unwrap_or(Value::Null);
    let parent = value
        .pointer_mut(parent_pointer)
        .ok_or("the parent is missing")?;
    match (operation.op, parent) {
        (PatchKind::Remove, Value::Object(members)) => members
            .remove(&token)
            .map(drop)
            .ok_or("no such member".to_owned()),
        (PatchKind::Remove, Value::Array(items)) => {
            let index: usize = token.parse().map_err(|_| "not a list index")?;
            (index < items.len())
                .then(|| drop(items.remove(index)))
                .ok_or("no such element".to_owned())
        }
        (PatchKind::Add | PatchKind::Replace, Value::Object(members)) => {
            members.insert(token, new);
            Ok(())
        }
        (PatchKind::Add, Value::Array(items)) => {
            let index = if token == "-" {
                items.len()
            } else {
                token.parse().map_err(|_| "not a list index")?
            };
            (index <= items.len())
                .then(|| items.insert(index, new))
                .ok_or("no such element".to_owned())
        }
        (PatchKind::Replace, Value::Array(items)) => {
            let slot = token
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get_mut(index))
                .ok_or("no such element")?;
            *slot = new;
            Ok(())
        }
        _ => Err("the parent is not an object or a list".to_owned()),
    }
}
