//! Reading an AdmissionReview under the same limits as a manifest file.
//!
//! The review is read with the engine's JSON reader and its load limits
//! ([`rampart_engine::limits`]): the object at `request.object` may nest as
//! deep as a manifest that `rampart check` accepts, and no deeper. When the
//! objects are what the reader refuses (too deep, a duplicate key), the
//! review is still answered, per the failure policy: a linear scan finds
//! `request.object` and `request.oldObject`, and the review is read again
//! without them, for its uid and what the audit log records. An object the
//! command line would refuse is thus never allowed as if judged, and never
//! judged differently.

use crate::error::RequestError;
use rampart_engine::json::Json;
use rampart_engine::limits::{LoadLimits, read_json_envelope, read_json_manifest};
use std::ops::Range;

/// A review as read: its JSON, and why its objects could not be read, if
/// they could not (they are `null` in the JSON then).
#[derive(Debug)]
pub struct Envelope {
    /// The review.
    pub review: Json,
    /// The reader's error about `request.object` or `request.oldObject`.
    pub unreadable_objects: Option<String>,
}

/// Reads `body`; `Err` is the message of a 400 (not JSON, or not even the
/// review around the objects is readable).
pub fn read(body: &[u8]) -> Result<Envelope, RequestError> {
    let limits = LoadLimits::default();
    let error = match read_json_envelope(body, &limits) {
        Ok(review) => {
            return Ok(Envelope {
                review,
                unreadable_objects: None,
            });
        }
        Err(error) => error,
    };
    let not_json = || RequestError::NotJson(error.to_string());
    let Some(ranges) = object_ranges(body) else {
        return Err(not_json());
    };
    if ranges.is_empty() {
        return Err(not_json());
    }
    // The object read alone gives the error `rampart check` gives for it as
    // a file (its own depth and position, not the envelope's).
    let object_error = ranges
        .iter()
        .filter_map(|range| body.get(range.clone()))
        .find_map(|object| read_json_manifest(object, &limits).err())
        .map_or_else(|| error.to_string(), |error| error.to_string());
    let mut without_objects = body.to_vec();
    for range in ranges.into_iter().rev() {
        without_objects.splice(range, *b"null");
    }
    match read_json_envelope(&without_objects, &limits) {
        Ok(review) => Ok(Envelope {
            review,
            unreadable_objects: Some(object_error),
        }),
        Err(_) => Err(not_json()),
    }
}

/// The byte ranges of the values of `request.object` and
/// `request.oldObject`, in order; `None` when the text is not an object
/// holding a `request` object as far as the scan can tell.
fn object_ranges(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let start = skip_whitespace(bytes, 0);
    let request = members(bytes, start)?
        .into_iter()
        .rev()
        .find(|(key, _)| key == "request")?
        .1;
    let ranges = members(bytes, request.start)?
        .into_iter()
        .filter(|(key, _)| key == "object" || key == "oldObject")
        .map(|(_, range)| range)
        .collect();
    Some(ranges)
}

/// The members of the object that starts at `start`: each key and the byte
/// range of its value. Values are skipped, not read, so that any depth costs
/// only time.
fn members(bytes: &[u8], start: usize) -> Option<Vec<(String, Range<usize>)>> {
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut found = Vec::new();
    let mut position = skip_whitespace(bytes, start + 1);
    if bytes.get(position) == Some(&b'}') {
        return Some(found);
    }
    loop {
        let key_end = skip_string(bytes, position)?;
        let key: String = serde_json::from_slice(bytes.get(position..key_end)?).ok()?;
        position = skip_whitespace(bytes, key_end);
        if bytes.get(position) != Some(&b':') {
            return None;
        }
        let value_start = skip_whitespace(bytes, position + 1);
        let value_end = skip_value(bytes, value_start)?;
        found.push((key, value_start..value_end));
        position = skip_whitespace(bytes, value_end);
        match bytes.get(position) {
            Some(b',') => position = skip_whitespace(bytes, position + 1),
            Some(b'}') => return Some(found),
            _ => return None,
        }
    }
}

fn skip_whitespace(bytes: &[u8], mut position: usize) -> usize {
    while bytes
        .get(position)
        .is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
    {
        position += 1;
    }
    position
}

/// The end (exclusive) of the string that starts at `start`.
fn skip_string(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let mut position = start + 1;
    loop {
        match bytes.get(position)? {
            b'"' => return Some(position + 1),
            b'\\' => position += 2,
            _ => position += 1,
        }
    }
}

/// The end (exclusive) of the value that starts at `start`: containers are
/// matched by counting brackets outside strings, scalars end at the next
/// delimiter.
fn skip_value(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => skip_string(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0_usize;
            let mut position = start;
            loop {
                match bytes.get(position)? {
                    b'"' => {
                        position = skip_string(bytes, position)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(position + 1);
                        }
                    }
                    _ => {}
                }
                position += 1;
            }
        }
        _ => {
            let length = bytes
                .get(start..)?
                .iter()
                .position(|byte| matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'));
            Some(length.map_or(bytes.len(), |length| start + length))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_objects_whatever_they_hold() {
        let text = br#" {"kind": "AdmissionReview", "request": {"uid": "u\"}", "object": [[{"a": "]"}]], "x": 1, "oldObject" : null } }"#;
        let ranges = object_ranges(text).unwrap();
        let values: Vec<&[u8]> = ranges.iter().map(|range| &text[range.clone()]).collect();
        assert_eq!(values, [&br#"[[{"a": "]"}]]"#[..], b"null"]);
        assert_eq!(
            object_ranges(br#"{"request": {}}"#).unwrap(),
            Vec::<Range<usize>>::new()
        );
        assert!(object_ranges(b"{}").is_none());
        assert!(object_ranges(b"[1]").is_none());
        assert!(object_ranges(br#"{"request": {"object": [[}"#).is_none());
    }

    #[test]
    fn an_unreadable_object_leaves_the_review_readable() {
        let deep = format!("{}{}", "[".repeat(400), "]".repeat(400));
        let body = format!(
            r#"{{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {{"uid": "u", "object": {deep}}}}}"#
        );
        let envelope = read(body.as_bytes()).unwrap();
        assert!(
            envelope
                .unreadable_objects
                .unwrap()
                .starts_with("nesting deeper than 256 levels, the limit at line 1, column 257")
        );
        assert_eq!(
            envelope
                .review
                .get("request")
                .and_then(|request| request.get("uid")),
            Some(&Json::from("u"))
        );
        assert!(matches!(read(b"{not json"), Err(RequestError::NotJson(_))));
        assert!(read(deep.as_bytes()).is_err());
    }
}
