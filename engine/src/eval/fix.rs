//! Turns a rule's fixes into a JSON patch that applies cleanly to the resource
//! as it is: a missing parent object is created by the patch itself, so that
//! `fix c.securityContext.runAsNonRoot = true` works on a container that has
//! no `securityContext` yet.

use super::location::{Segment, pointer_of};
use crate::finding::{PatchKind, PatchOperation};
use crate::json::Json;

/// A patch that sets the value at `segments` to `value`.
pub fn set(resource: &Json, segments: &[Segment<'_>], value: Json) -> Vec<PatchOperation> {
    let (existing, missing) = split_existing(resource, segments);
    if missing.is_empty() {
        return vec![PatchOperation {
            op: PatchKind::Replace,
            path: pointer_of(segments),
            value: Some(value),
        }];
    }
    create(existing, missing, value)
}

/// A patch that appends `value` to the list at `segments`, creating it when absent.
pub fn append(resource: &Json, segments: &[Segment<'_>], value: Json) -> Vec<PatchOperation> {
    let (existing, missing) = split_existing(resource, segments);
    if missing.is_empty() && matches!(lookup(resource, segments), Some(Json::Array(_))) {
        return vec![PatchOperation {
            op: PatchKind::Add,
            path: format!("{}/-", pointer_of(segments)),
            value: Some(value),
        }];
    }
    if missing.is_empty() {
        return vec![PatchOperation {
            op: PatchKind::Replace,
            path: pointer_of(segments),
            value: Some(Json::Array(vec![value])),
        }];
    }
    create(existing, missing, Json::Array(vec![value]))
}

/// A patch that removes the value at `segments`; empty when it is absent.
pub fn remove(resource: &Json, segments: &[Segment<'_>]) -> Vec<PatchOperation> {
    match lookup(resource, segments) {
        Some(_) => vec![PatchOperation {
            op: PatchKind::Remove,
            path: pointer_of(segments),
            value: None,
        }],
        None => Vec::new(),
    }
}

/// Adds the first missing member, holding the rest of the path as nested objects.
fn create(existing: &[Segment<'_>], missing: &[Segment<'_>], value: Json) -> Vec<PatchOperation> {
    let mut nested = value;
    for segment in missing.iter().skip(1).rev() {
        let mut object = crate::json::Object::new();
        let key = match segment {
            Segment::Member(name) => name.to_string(),
            // An index under a missing parent cannot be created as a list
            // element; an object member with that name is the faithful reading.
            Segment::Element(index) => index.to_string(),
        };
        object.insert(key, nested);
        nested = Json::Object(object);
    }
    let mut path = existing.to_vec();
    if let Some(first) = missing.first() {
        path.push(first.clone());
    }
    vec![PatchOperation {
        op: PatchKind::Add,
        path: pointer_of(&path),
        value: Some(nested),
    }]
}

/// Splits the path into the part that exists (and is not null) and the rest.
fn split_existing<'s>(
    resource: &Json,
    segments: &'s [Segment],
) -> (&'s [Segment<'s>], &'s [Segment<'s>]) {
    let mut current = resource;
    for (position, segment) in segments.iter().enumerate() {
        let next = match (segment, current) {
            (Segment::Member(name), Json::Object(members)) => members.get(name.as_ref()),
            (Segment::Element(index), Json::Array(items)) => items.get(*index),
            _ => None,
        };
        match next {
            Some(value) if !value.is_null() => current = value,
            _ => return segments.split_at(position),
        }
    }
    (segments, &[])
}

fn lookup<'j>(resource: &'j Json, segments: &[Segment<'_>]) -> Option<&'j Json> {
    let mut current = resource;
    for segment in segments {
        current = match (segment, current) {
            (Segment::Member(name), Json::Object(members)) => members.get(name.as_ref())?,
            (Segment::Element(index), Json::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(current)
}
