//! Values during evaluation.
//!
//! A value borrows from the manifest or the IR wherever it can: reading a field
//! of a manifest never copies it. Only computed values (lists built by a
//! comprehension, strings built by a helper) own their data.

use crate::json::{Json, Key, same_text};
use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::Arc;

/// The empty list, shared by every computed list that comes out empty.
static EMPTY_ARRAY: Json = Json::Array(Vec::new());

/// A value during evaluation.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// `null`, also the value of every absent field.
    Null,
    /// `true`. (The two booleans are variants of their own rather than a
    /// `Bool(bool)`: a one-byte payload made every move of a value copy it
    /// in odd-sized pieces, and reading those back stalled the processor.)
    True,
    /// `false`.
    False,
    /// A 64-bit integer.
    Int(i64),
    /// A float (quantities, JSON floats).
    Float(f64),
    /// A string borrowed from the manifest or the IR. (A reference to the
    /// `String` rather than a `&str`, and an `Rc<String>` below: thin
    /// pointers keep a value at two words, which the evaluator returns from
    /// every node in registers.)
    Str(&'a crate::json::Text),
    /// A member name of an object borrowed from the manifest or the IR (the
    /// key of a `for` over a map): a string like the others to every
    /// operation.
    Name(&'a Key),
    /// A computed string.
    String(Rc<String>),
    /// A JSON array or object borrowed from the manifest or the IR.
    Json(&'a Json),
    /// A computed list.
    List(Rc<Vec<Value<'a>>>),
    /// A computed object (member order kept).
    Object(Rc<Vec<(Arc<str>, Value<'a>)>>),
}

impl<'a> Value<'a> {
    /// Wraps a borrowed JSON value, turning scalars into their own variants.
    pub fn from_json(json: &'a Json) -> Value<'a> {
        match json {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::bool(*flag),
            Json::Number(number) => number
                .as_i64()
                .map(Value::Int)
                .unwrap_or_else(|| Value::Float(number.as_f64().unwrap_or(f64::NAN))),
            Json::String(text) => Value::Str(text),
            Json::Array(_) | Json::Object(_) => Value::Json(json),
        }
    }

    /// A boolean.
    #[inline(always)]
    pub fn bool(flag: bool) -> Value<'a> {
        if flag { Value::True } else { Value::False }
    }

    /// A computed list. An empty one is the empty JSON array, which needs
    /// no allocation: a filter that keeps nothing (`[x for x in xs if ...]`
    /// over a clean manifest) is the common case.
    #[inline]
    pub fn list(items: Vec<Value<'a>>) -> Value<'a> {
        if items.is_empty() {
            Value::Json(&EMPTY_ARRAY)
        } else {
            Value::List(Rc::new(items))
        }
    }

    /// A computed string.
    pub fn string(text: impl Into<String>) -> Value<'a> {
        Value::String(Rc::new(text.into()))
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Only the boolean `true` counts as true: a condition that is null or
    /// not a boolean does not fire.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::True)
    }

    /// The string inside, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text.as_str()),
            Value::Name(name) => Some(name.as_str()),
            Value::String(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The number inside as a float, if the value is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(number) => Some(*number as f64),
            Value::Float(number) => Some(*number),
            _ => None,
        }
    }

    /// A member of an object; null for anything else or an absent member.
    pub fn field(&self, name: &str) -> Value<'a> {
        match self {
            Value::Json(json) => json.get(name).map_or(Value::Null, Value::from_json),
            Value::Object(members) => members
                .iter()
                .find(|(key, _)| same_text(key, name))
                .map(|(_, value)| value.clone())
                .unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// An element of a list (negative counts from the end) or a member of an
    /// object; null when out of range or absent.
    pub fn index(&self, index: &Value<'_>) -> Value<'a> {
        match index {
            Value::Int(position) => {
                let length = self.length_of_list();
                let Some(length) = length else {
                    return Value::Null;
                };
                let position = if *position < 0 {
                    length as i64 + *position
                } else {
                    *position
                };
                if position < 0 {
                    return Value::Null;
                }
                self.element(position as usize).unwrap_or(Value::Null)
            }
            _ => match index.as_str() {
                Some(key) => self.field(key),
                None => Value::Null,
            },
        }
    }

    fn length_of_list(&self) -> Option<usize> {
        match self {
            Value::Json(Json::Array(items)) => Some(items.len()),
            Value::List(items) => Some(items.len()),
            _ => None,
        }
    }

    fn element(&self, position: usize) -> Option<Value<'a>> {
        match self {
            Value::Json(Json::Array(items)) => items.get(position).map(Value::from_json),
            Value::List(items) => items.get(position).cloned(),
            _ => None,
        }
    }

    /// Number of elements of a list or map, or characters of a string.
    pub fn count(&self) -> Option<usize> {
        match self {
            Value::Json(Json::Array(items)) => Some(items.len()),
            Value::Json(Json::Object(members)) => Some(members.len()),
            Value::List(items) => Some(items.len()),
            Value::Object(members) => Some(members.len()),
            Value::Str(text) => Some(text.chars().count()),
            Value::Name(name) => Some(name.chars().count()),
            Value::String(text) => Some(text.chars().count()),
            _ => None,
        }
    }

    /// Visits each element of a list (with its index) or each member of a map
    /// (with its key); anything else has no elements. The visitor returns
    /// `false` to stop early.
    pub fn for_each<E>(
        &self,
        mut visit: impl FnMut(Value<'a>, Value<'a>) -> Result<bool, E>,
    ) -> Result<(), E> {
        match self {
            Value::Json(Json::Array(items)) => {
                for (position, item) in items.iter().enumerate() {
                    if !visit(Value::Int(position as i64), Value::from_json(item))? {
                        break;
                    }
                }
            }
            Value::Json(Json::Object(members)) => {
                for (key, item) in members {
                    if !visit(Value::Name(key), Value::from_json(item))? {
                        break;
                    }
                }
            }
            Value::List(items) => {
                for (position, item) in items.iter().enumerate() {
                    if !visit(Value::Int(position as i64), item.clone())? {
                        break;
                    }
                }
            }
            Value::Object(members) => {
                for (key, item) in members.iter() {
                    if !visit(Value::string(&**key), item.clone())? {
                        break;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Deep equality; integers and floats compare by numeric value.
    pub fn equals(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::True, Value::True) | (Value::False, Value::False) => true,
            (Value::Int(left), Value::Int(right)) => left == right,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                self.as_f64() == other.as_f64()
            }
            _ => {
                if let (Some(left), Some(right)) = (self.as_str(), other.as_str()) {
                    return same_text(left, right);
                }
                self.equals_structure(other)
            }
        }
    }

    fn equals_structure(&self, other: &Value<'_>) -> bool {
        let (Some(left_length), Some(right_length)) =
            (self.structure_kind(), other.structure_kind())
        else {
            return false;
        };
        if left_length != right_length {
            return false;
        }
        match left_length.0 {
            StructureKind::List => {
                let mut equal = true;
                let mut position = 0usize;
                let _ = self.for_each::<()>(|_, item| {
                    let other_item = other.index(&Value::Int(position as i64));
                    position += 1;
                    equal = item.equals(&other_item);
                    Ok(equal)
                });
                equal
            }
            StructureKind::Map => {
                let mut equal = true;
                let _ = self.for_each::<()>(|key, item| {
                    let key = key.as_str().unwrap_or_default().to_owned();
                    equal = other.has_key(&key) && item.equals(&other.field(&key));
                    Ok(equal)
                });
                equal
            }
        }
    }

    fn structure_kind(&self) -> Option<(StructureKind, usize)> {
        match self {
            Value::Json(Json::Array(items)) => Some((StructureKind::List, items.len())),
            Value::List(items) => Some((StructureKind::List, items.len())),
            Value::Json(Json::Object(members)) => Some((StructureKind::Map, members.len())),
            Value::Object(members) => Some((StructureKind::Map, members.len())),
            _ => None,
        }
    }

    /// Whether a map has the key (even with a null value).
    pub fn has_key(&self, key: &str) -> bool {
        match self {
            Value::Json(Json::Object(members)) => members.contains_key(key),
            Value::Object(members) => members.iter().any(|(name, _)| &**name == key),
            _ => false,
        }
    }

    /// Order between numbers, or between strings; `None` for anything else
    /// (every ordering comparison with null, say, is false).
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(left), Value::Int(right)) => Some(left.cmp(right)),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                self.as_f64()?.partial_cmp(&other.as_f64()?)
            }
            _ => Some(self.as_str()?.cmp(other.as_str()?)),
        }
    }

    /// Whether `self` is an element of the list, a key of the map, or a
    /// substring of the string `collection`.
    pub fn is_in(&self, collection: &Value<'_>) -> bool {
        match collection {
            Value::Json(Json::Object(_)) | Value::Object(_) => {
                self.as_str().is_some_and(|key| collection.has_key(key))
            }
            Value::Str(_) | Value::Name(_) | Value::String(_) => {
                match (self.as_str(), collection.as_str()) {
                    (Some(part), Some(whole)) => whole.contains(part),
                    _ => false,
                }
            }
            _ => {
                let mut found = false;
                let _ = collection.for_each::<()>(|_, item| {
                    found = item.equals(self);
                    Ok(!found)
                });
                found
            }
        }
    }

    /// Converts to JSON (for fixes, reports and messages).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::True => Json::Bool(true),
            Value::False => Json::Bool(false),
            Value::Int(number) => Json::from(*number),
            Value::Float(number) => serde_json::Number::from_f64(*number)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Str(text) => Json::String((*text).clone()),
            Value::Name(name) => Json::String(crate::json::Text::new(name.as_str())),
            Value::String(text) => Json::String(crate::json::Text::new(text.as_str())),
            Value::Json(json) => (*json).clone(),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(members) => Json::Object(
                members
                    .iter()
                    .map(|(key, value)| (key.to_string(), value.to_json()))
                    .collect(),
            ),
        }
    }

    /// How the value reads inside a message: strings bare, everything else as
    /// compact JSON.
    pub fn to_message_text(&self) -> String {
        match self {
            Value::Str(text) => text.to_string(),
            Value::Name(name) => name.to_string(),
            Value::String(text) => (**text).clone(),
            Value::Null => "null".to_owned(),
            Value::True => "true".to_owned(),
            Value::False => "false".to_owned(),
            Value::Int(number) => number.to_string(),
            Value::Float(number) => format_float(*number),
            other => other.to_json().to_string(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StructureKind {
    List,
    Map,
}

/// Formats a float without a trailing `.0` when it is whole, so that
/// quantities read naturally in messages.
pub fn format_float(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}")
    }
}
