//! From loaded documents to the Kubernetes objects policies run on.

use crate::json::Json;

use super::{Document, LoadError, Position};

/// One Kubernetes object: a whole document, or an item of a `List` document.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource<'a> {
    /// The document the object comes from.
    pub document: &'a Document,
    /// JSON pointer of the object within the document: `""` for the document
    /// itself, `"/items/3"` for an item of a `kind: List` document.
    pub pointer: String,
    /// The object, a mapping with string `apiVersion` and `kind`.
    pub value: &'a Json,
}

/// Lists the Kubernetes objects of `documents`, in order.
///
/// A document whose `kind` ends in `List` (`List`, `PodList`, ...) and that
/// has an `items` array stands for its items, which are listed instead of
/// it. A document or item that is not a Kubernetes object (not a mapping,
/// or without a string `apiVersion` or `kind`) is reported in `errors` with
/// its document index and position, and left out. Empty documents (a bare
/// `---`, only comments, or an explicit `null`) are skipped silently.
pub fn resources<'a>(documents: &'a [Document], errors: &mut Vec<LoadError>) -> Vec<Resource<'a>> {
    let mut found = Vec::with_capacity(documents.len());
    for document in documents {
        let value = &document.value;
        if value.is_null() {
            continue;
        }
        if let Some(items) = list_items(value) {
            for (ordinal, item) in items.iter().enumerate() {
                let pointer = format!("/items/{ordinal}");
                match object_problem(item) {
                    None => found.push(Resource {
                        document,
                        pointer,
                        value: item,
                    }),
                    Some(problem) => errors.push(LoadError {
                        document: Some(document.index),
                        position: document.positions.locate(value, &pointer),
                        message: format!(
                            "item {ordinal} (`{pointer}`) of document {} is not a Kubernetes object: {problem}",
                            document.index + 1
                        ),
                    }),
                }
            }
            continue;
        }
        match object_problem(value) {
            None => found.push(Resource {
                document,
                pointer: String::new(),
                value,
            }),
            Some(problem) => errors.push(not_an_object(document, problem)),
        }
    }
    found
}

/// The `items` of a list document, if `value` is one.
fn list_items(value: &Json) -> Option<&Vec<Json>> {
    let kind = value.get("kind")?.as_str()?;
    if !kind.ends_with("List") {
        return None;
    }
    value.get("items")?.as_array()
}

/// Why `value` is not a Kubernetes object, if it is not.
fn object_problem(value: &Json) -> Option<String> {
    let Json::Object(members) = value else {
        let found = match value {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a sequence",
            Json::Object(_) => "a mapping",
        };
        return Some(format!("it is {found}, not a mapping"));
    };
    let mut missing = Vec::new();
    for field in ["apiVersion", "kind"] {
        match members.get(field) {
            Some(Json::String(_)) => {}
            Some(_) => return Some(format!("`{field}` is not a string")),
            None => missing.push(format!("`{field}`")),
        }
    }
    (!missing.is_empty()).then(|| format!("missing {}", missing.join(" and ")))
}

/// Error for a whole document that is not a Kubernetes object.
fn not_an_object(document: &Document, problem: String) -> LoadError {
    let position: Option<Position> = document.positions.root();
    LoadError {
        document: Some(document.index),
        position,
        message: format!(
            "document {} is not a Kubernetes object: {problem}",
            document.index + 1
        ),
    }
}
